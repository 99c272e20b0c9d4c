"""The field day, end to end: the API as a real uvicorn process, the BKR test double and a
BKR worker as their own processes, two reference devices, and faults on the way
(`clients/python/field_day.py` is the scenario; `make demo-field` replays it for people)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from api.cli import stop
from api.models import BkrRegistration, VisitEvent
from api.settings import SigningKey
from clients.python import field_day
from tests.factories import BSN_HMAC_KEY, BSN_KEYS, DDAS_VALIDATOR, PASSWORD, make_municipality, make_user, read
from tests.processes import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
BKR_LOGIN = ("doorstep-field-day", "not-the-demo-password")  # outside demo mode the double's own are refused


@pytest.fixture
def stack(db, database_url: str, signing_key: SigningKey, session: Session, tmp_path: Path) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    make_user(session, role="worker", username="worker1")
    make_user(session, role="worker", username="worker2")
    api_port, bkr_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")},
        "DOORSTEP_DATABASE_URL": database_url,
        "DOORSTEP_DEMO": "false",
        "DOORSTEP_JWT_SIGNING_KEYS": json.dumps([signing_key.model_dump()]),
        "DOORSTEP_BSN_ENCRYPTION_KEYS": json.dumps([key.model_dump() for key in BSN_KEYS]),
        "DOORSTEP_BSN_HMAC_KEY": BSN_HMAC_KEY,
        "DOORSTEP_VAR_DIR": str(tmp_path),
        "DOORSTEP_BKR_URL": f"http://127.0.0.1:{bkr_port}",
        "DOORSTEP_BKR_USERNAME": BKR_LOGIN[0],
        "DOORSTEP_BKR_PASSWORD": BKR_LOGIN[1],
        "DOORSTEP_LOG_LEVEL": "WARNING",
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bkr_double", "--port", str(bkr_port)],
            cwd=ROOT,
            env={**env, "BKR_DOUBLE_USERNAME": BKR_LOGIN[0], "BKR_DOUBLE_PASSWORD": BKR_LOGIN[1]},
        ),
        subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(api_port)], cwd=ROOT, env=env),
        subprocess.Popen(
            [sys.executable, "-m", "api.cli", "bkr-worker", "--interval", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        ),
    ]
    try:
        wait_until_up(f"http://127.0.0.1:{bkr_port}/healthz", processes[0], "the BKR double")
        wait_until_up(f"http://127.0.0.1:{api_port}/readyz", processes[1], "the API")
        yield {"api": f"http://127.0.0.1:{api_port}", "bkr": f"http://127.0.0.1:{bkr_port}"}
    finally:
        stop(processes)
        session.rollback()


def test_a_field_day(stack: dict[str, str], session: Session, tmp_path: Path):  # type: ignore[no-untyped-def]
    lines: list[str] = []
    day = field_day.run(
        stack["api"],
        office=("office1", PASSWORD),
        workers=(("worker1", PASSWORD), ("worker2", PASSWORD)),
        say=lines.append,
        home=tmp_path / "phones",
    )
    recorded = day.recorded["a"] + day.recorded["b"]
    stored = read(session, select(VisitEvent).where(VisitEvent.device_id.is_not(None)))
    # No event lost, none applied twice.
    assert sorted(str(event.id) for event in stored) == sorted(recorded)
    assert Counter(day.event_ids_on_server) == Counter(recorded)
    assert day.a_pushes == 2 and day.push_results["a"].duplicate == len(day.recorded["a"])
    # The duo's disagreement was a conflict in the queue, and it was decided.
    assert [c["kind"] for c in day.conflicts] == ["accepted-and-declined"]
    assert day.push_results["b"].conflict == 1
    # The reassigned case left phone A with a reason; the not-home attempt recorded on it was kept.
    assert day.removed_from_a == [{"case_id": day.cases["moved"], "reason": "reassigned"}]
    assert any(e.case_id.hex == day.cases["moved"].replace("-", "") and e.kind == "visit_attempt" for e in stored)
    # A trajectory started; exactly one registration reached BKR.
    assert day.trajectory["decision_date"] and day.registrations[0]["status"] == "delivered"
    assert len(read(session, select(BkrRegistration))) == 1
    assert [r["action"] for r in day.registrations] == ["register"]
    at_bkr = httpx.get(f"{stack['bkr']}/v1/registrations", auth=BKR_LOGIN).json()
    assert len(at_bkr) == 1 and at_bkr[0]["reference"] == day.trajectory["id"] and at_bkr[0]["contract_type"] == "SH"
    sent = [r["idempotency_key"] for r in httpx.get(f"{stack['bkr']}/_control/requests").json()]
    assert len(set(sent)) == 1
    # The month's DDAS delivery validates and holds today's file (by signal id, never a BSN or a name).
    errors = sorted(DDAS_VALIDATOR.iter_errors(day.ddas), key=str)
    assert errors == [], errors[:3]
    delivered = json.dumps(day.ddas)
    assert delivered.count('"FD-') >= 4 and "Yilmaz" not in delivered
    # The revoked phone wiped itself.
    assert day.wiped
    assert lines[0].startswith("1.") and any(line.startswith("10.") for line in lines)
