"""The demo data, the `doorstep` command, and the refusal to run demo credentials in production."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from api.app import create_app
from api.auth.keys import generate_signing_key
from api.auth.safety import UnsafeConfiguration, check_configuration, check_credentials
from api.cli import app as cli
from api.demo import DEMO_CODE, load_demo
from api.models import AuditEntry, Case, PartnerClient, Signal, StaffUser
from api.platform.db import make_engine, migrate
from api.settings import Settings
from tests.factories import BSN_HMAC_KEY, BSN_KEYS, VAULT
from tests.processes import free_port, wait_until_up

runner = CliRunner()


@pytest.fixture
def demo_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    migrate(url)
    return url


def _env(url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"DOORSTEP_DATABASE_URL": url, "DOORSTEP_VAR_DIR": str(tmp_path / "var"), **extra}


def test_demo_loads_a_municipality_with_staff_partner_and_signals_grouped_into_cases_once(demo_db: str):
    engine = make_engine(demo_db)
    with Session(engine) as session:
        first = load_demo(session, vault=VAULT, now=datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
        session.commit()
        second = load_demo(session, vault=VAULT, now=datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
        session.commit()
        signals = session.exec(select(func.count()).select_from(Signal)).one()
        cases = session.exec(select(Case)).all()
        usernames = set(session.exec(select(StaffUser.username)).all())
        partners = session.exec(select(PartnerClient.client_id)).all()
        grouped = session.exec(select(func.count()).select_from(Signal).where(Signal.case_id.is_(None))).one()
    engine.dispose()

    assert first.created and not second.created
    assert signals == first.signals and 24 <= signals <= 60
    assert len(cases) == first.cases and grouped == 0
    assert {case.classification for case in cases} >= {"single", "multiple"}
    assert all(case.municipality_code == DEMO_CODE for case in cases)
    assert usernames == {"worker1", "worker2", "office", "admin"}
    assert partners == ["demo-partner"]


def test_demo_credentials_log_in_in_demo_mode(demo_db: str, tmp_path: Path):
    engine = make_engine(demo_db)
    with Session(engine) as session:
        load_demo(session, vault=VAULT, now=datetime.now(UTC))
        session.commit()
    settings = Settings(demo=True, database_url=demo_db, var_dir=tmp_path / "var")
    with TestClient(create_app(settings, engine=engine)) as client:
        staff = client.post(
            "/v1/auth/token", data={"grant_type": "password", "username": "worker1", "password": "demo"}
        )
        partner = client.post(
            "/v1/auth/token",
            data={"grant_type": "client_credentials", "client_id": "demo-partner", "client_secret": "demo-secret"},
        )
        assert staff.status_code == 200 and partner.status_code == 200
        headers = {"Authorization": f"Bearer {staff.json()['access_token']}"}
        assert client.get("/v1/cases", headers=headers).json()["items"]
        # The demo platform delivers under agreements and reads the feedback on what it delivered.
        platform = {"Authorization": f"Bearer {partner.json()['access_token']}"}
        delivered = client.post(
            "/v1/signals",
            headers=platform,
            json={
                "signals": [
                    {
                        "signal_id": "DEMO-API-1",
                        "partner_type": "Huur",
                        "creditor": "Ymere",
                        "signal_date": "2026-11-20",
                        "postcode": "1053KL",
                        "house_number": 99,
                    }
                ]
            },
        )
        assert delivered.status_code == 200, delivered.text
        feedback = client.get("/v1/signals/feedback", headers=platform)
        assert [(item["signal_id"], item["status"]) for item in feedback.json()["items"]] == [
            ("DEMO-API-1", "Nog niet opgepakt")
        ]
    # The generated demo key persists, so a restart keeps tokens valid.
    assert (tmp_path / "var" / "demo-signing-key.json").exists()
    engine.dispose()


def test_outside_demo_mode_the_service_refuses_demo_credentials(demo_db: str):
    engine = make_engine(demo_db)
    with Session(engine) as session:
        load_demo(session, vault=VAULT, now=datetime.now(UTC))
        session.commit()
    with pytest.raises(UnsafeConfiguration, match="worker1"):
        check_credentials(engine)
    with Session(engine) as session:
        for user in session.exec(select(StaffUser)):
            user.active = False
            session.add(user)
        session.commit()
    with pytest.raises(UnsafeConfiguration, match="demo-partner"):
        check_credentials(engine)
    engine.dispose()


def test_outside_demo_mode_the_service_refuses_to_run_without_its_own_signing_key():
    with pytest.raises(UnsafeConfiguration, match="DOORSTEP_JWT_SIGNING_KEYS"):
        check_configuration(Settings(demo=False))
    with pytest.raises(UnsafeConfiguration, match="demo signing key"):
        check_configuration(Settings(demo=False, jwt_signing_keys=[generate_signing_key(kid_prefix="demo-")]))
    with pytest.raises(UnsafeConfiguration, match="DOORSTEP_BSN_ENCRYPTION_KEYS"):
        check_configuration(Settings(demo=False, jwt_signing_keys=[generate_signing_key()]))
    check_configuration(
        Settings(
            demo=False,
            jwt_signing_keys=[generate_signing_key()],
            bsn_encryption_keys=BSN_KEYS,
            bsn_hmac_key=BSN_HMAC_KEY,
        )
    )


def test_cli_has_the_documented_commands():
    output = runner.invoke(cli, ["--help"]).output
    for command in ("serve", "migrate", "demo", "create-user", "create-municipality", "create-partner", "openapi"):
        assert command in output


def test_cli_demo_is_idempotent_and_prints_the_credentials(tmp_path: Path):
    env = _env(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path, DOORSTEP_DEMO="true")
    first = runner.invoke(cli, ["demo"], env=env)
    second = runner.invoke(cli, ["demo"], env=env)
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0 and "already present" in second.output
    for text in ("worker1", "worker2", "office", "admin", "demo-partner", "demo-secret", "/docs"):
        assert text in first.output


def test_cli_demo_refuses_outside_demo_mode(tmp_path: Path):
    result = runner.invoke(cli, ["demo"], env=_env(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, DOORSTEP_DEMO="false"))
    assert result.exit_code == 1 and "demo mode" in result.output


def test_cli_serve_refuses_without_a_signing_key(tmp_path: Path):
    result = runner.invoke(cli, ["serve"], env=_env(f"sqlite:///{tmp_path / 'x.db'}", tmp_path, DOORSTEP_DEMO="false"))
    assert result.exit_code == 1 and "Refusing to start" in result.output


def test_cli_serve_refuses_demo_credentials_in_production(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    assert runner.invoke(cli, ["demo"], env=_env(url, tmp_path, DOORSTEP_DEMO="true")).exit_code == 0
    keys = json.dumps([generate_signing_key().model_dump()])
    env = _env(
        url,
        tmp_path,
        DOORSTEP_DEMO="false",
        DOORSTEP_JWT_SIGNING_KEYS=keys,
        DOORSTEP_BSN_ENCRYPTION_KEYS=json.dumps([key.model_dump() for key in BSN_KEYS]),
        DOORSTEP_BSN_HMAC_KEY=BSN_HMAC_KEY,
    )
    result = runner.invoke(cli, ["serve"], env=env)
    assert result.exit_code == 1 and "Demo credentials are active" in result.output


def test_cli_creates_a_municipality_and_a_user(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'admin.db'}"
    env = _env(url, tmp_path)
    assert runner.invoke(cli, ["migrate"], env=env).exit_code == 0
    assert runner.invoke(cli, ["create-municipality", "0599", "Rotterdam"], env=env).exit_code == 0
    bad = runner.invoke(cli, ["create-municipality", "599", "Rotterdam"], env=env)
    assert bad.exit_code == 1
    result = runner.invoke(
        cli,
        [
            "create-user",
            "--municipality",
            "0599",
            "--username",
            "r.admin",
            "--role",
            "admin",
            "--display-name",
            "R. Admin",
        ],
        input="a strong passphrase\na strong passphrase\n",
        env=env,
    )
    assert result.exit_code == 0, result.output
    weak = runner.invoke(
        cli,
        ["create-user", "--municipality", "0599", "--username", "r.two", "--role", "admin", "--display-name", "R"],
        input="short\nshort\n",
        env=env,
    )
    assert weak.exit_code == 1 and "Not created" in weak.output
    engine = make_engine(url)
    with Session(engine) as session:
        assert session.exec(select(StaffUser.username)).all() == ["r.admin"]
    engine.dispose()


def test_invalid_configuration_is_a_clear_error(tmp_path: Path):
    result = runner.invoke(cli, ["migrate"], env=_env("sqlite://", tmp_path, DOORSTEP_ACCESS_TOKEN_TTL_SECONDS="3600"))
    assert result.exit_code == 2 and "access_token_ttl_seconds" in result.output


def test_cli_create_user_never_echoes_a_refused_password(tmp_path: Path):
    env = _env(f"sqlite:///{tmp_path / 'echo.db'}", tmp_path)
    runner.invoke(cli, ["migrate"], env=env)
    runner.invoke(cli, ["create-municipality", "0599", "Rotterdam"], env=env)
    result = runner.invoke(
        cli,
        ["create-user", "--municipality", "0599", "--username", "r.x", "--role", "admin", "--display-name", "R"],
        input="tiny-secret\ntiny-secret\n",
        env=env,
    )
    assert result.exit_code == 1 and "password" in result.output and "tiny-secret" not in result.output


def test_the_demo_database_is_readable_by_its_owner_only(tmp_path: Path):
    env = _env(f"sqlite:///{tmp_path / 'var' / 'doorstep.db'}", tmp_path, DOORSTEP_DEMO="true")
    assert runner.invoke(cli, ["demo"], env=env).exit_code == 0
    assert (tmp_path / "var" / "doorstep.db").stat().st_mode & 0o777 == 0o600
    for sidecar in (tmp_path / "var").glob("doorstep.db-*"):
        assert sidecar.stat().st_mode & 0o077 == 0, sidecar.name


def test_create_user_takes_the_password_from_stdin_never_from_the_command_line(tmp_path: Path):
    env = _env(f"sqlite:///{tmp_path / 'stdin.db'}", tmp_path)
    runner.invoke(cli, ["migrate"], env=env)
    runner.invoke(cli, ["create-municipality", "0599", "Rotterdam"], env=env)
    base = ["create-user", "--municipality", "0599", "--role", "admin", "--display-name", "R"]
    on_the_line = runner.invoke(cli, [*base, "--username", "r.line", "--password", "a strong passphrase"], env=env)
    assert on_the_line.exit_code == 2 and "No such option" in on_the_line.output
    piped = runner.invoke(
        cli, [*base, "--username", "r.pipe", "--password-stdin"], input="a strong passphrase\n", env=env
    )
    assert piped.exit_code == 0, piped.output
    engine = make_engine(env["DOORSTEP_DATABASE_URL"])
    with Session(engine) as session:
        assert session.exec(select(StaffUser.username)).all() == ["r.pipe"]
    engine.dispose()


def test_demo_stack_purges_by_itself_and_stops_its_children_on_sigterm(tmp_path: Path):
    """Retention runs by itself in the demo stack (at start, then daily); a service manager's SIGTERM
    must not leave the BKR double, the worker or the purge running without their parent."""
    port, bkr_port = free_port(), free_port()
    env = {**os.environ, **_env(f"sqlite:///{tmp_path / 'var' / 'stack.db'}", tmp_path, DOORSTEP_DEMO="true")}
    env.pop("DOORSTEP_BKR_URL", None)
    assert runner.invoke(cli, ["demo"], env=env).exit_code == 0
    stack = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "demo-stack", "--port", str(port), "--bkr-port", str(bkr_port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", stack, "the demo stack")
        wait_until_up(f"http://127.0.0.1:{bkr_port}/healthz", stack, "the demo stack's BKR double")
        children = [int(pid) for pid in Path(f"/proc/{stack.pid}/task/{stack.pid}/children").read_text().split()]
        assert len(children) == 3
        engine = make_engine(env["DOORSTEP_DATABASE_URL"])
        deadline = time.monotonic() + 30
        runs: list[AuditEntry] = []
        while not runs and time.monotonic() < deadline:
            with Session(engine) as session:
                runs = list(session.exec(select(AuditEntry).where(AuditEntry.action == "retention.run")))
            time.sleep(0.2)
        engine.dispose()
        assert [run.resource_id for run in runs] == ["0363"]  # the demo municipality, once at start
        stack.send_signal(signal.SIGTERM)
        stack.wait(timeout=20)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if stack.poll() is None:
            stack.kill()


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a parent that is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
