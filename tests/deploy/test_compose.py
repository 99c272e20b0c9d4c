"""docker-compose.yml is valid and keeps its promises: db + migrate + api + the BKR worker and double, health checks,
no default signing key. Only `docker-compose config` is used, so no Docker engine is needed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")

pytestmark = pytest.mark.skipif(COMPOSE is None, reason="docker-compose binary not installed (CI installs it)")

DUMMY_KEYS = '[{"kid": "compose-test", "private_key_pem": "not-a-real-key"}]'


def _compose(
    tmp_path: Path, *args: str, signing_keys: str | None = DUMMY_KEYS, drop: str | None = None
) -> subprocess.CompletedProcess[str]:
    # A clean environment and an empty env file, so neither the caller's shell nor a stray
    # .env in the repository can supply values the test is about.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOORSTEP_", "POSTGRES_", "COMPOSE_"))}
    if signing_keys is not None:
        env["DOORSTEP_JWT_SIGNING_KEYS"] = signing_keys
    env["DOORSTEP_BSN_ENCRYPTION_KEYS"] = '[{"kid": "k1", "key": "dummy"}]'
    env["DOORSTEP_BSN_HMAC_KEY"] = "dummy"
    env.update(DOORSTEP_BKR_URL="http://bkr-double:8100", DOORSTEP_BKR_USERNAME="u", DOORSTEP_BKR_PASSWORD="p")
    if drop:
        env.pop(drop)
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    assert COMPOSE is not None
    return subprocess.run(
        [COMPOSE, "--env-file", str(env_file), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _service_blocks(config: str) -> dict[str, str]:
    """Split `docker-compose config` output into {service: its indented text}."""
    lines = config.splitlines()
    start = lines.index("services:") + 1
    blocks: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break  # next top-level key
        if line.startswith("  ") and not line.startswith("   ") and line.rstrip().endswith(":"):
            current = line.strip()[:-1]
            blocks[current] = []
        elif current is not None:
            blocks[current].append(line)
    return {name: "\n".join(body) for name, body in blocks.items()}


def test_compose_file_is_valid(tmp_path: Path) -> None:
    result = _compose(tmp_path, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_compose_services_images_and_healthchecks(tmp_path: Path) -> None:
    services = _compose(tmp_path, "config", "--services")
    assert services.returncode == 0, services.stderr
    assert {"db", "migrate", "api"} <= set(services.stdout.split())

    result = _compose(tmp_path, "config")
    assert result.returncode == 0, result.stderr
    blocks = _service_blocks(result.stdout)
    assert {"db", "migrate", "api"} <= blocks.keys()
    assert "    image: postgres:16" in blocks["db"]
    assert "    healthcheck:" in blocks["db"] and "pg_isready" in blocks["db"]
    assert "    healthcheck:" in blocks["api"] and "/readyz" in blocks["api"]
    assert "condition: service_completed_successfully" in blocks["api"]
    assert "127.0.0.1:8000:8000" in blocks["api"]
    for name in ("api", "migrate"):
        assert "DOORSTEP_DATABASE_URL: postgresql+psycopg://" in blocks[name]
        assert "@db:5432/" in blocks[name]
        assert f"DOORSTEP_JWT_SIGNING_KEYS: '{DUMMY_KEYS}'" in blocks[name]
    # The BKR outbox worker delivers to the test double unless DOORSTEP_BKR_URL says otherwise.
    assert "bkr-worker" in blocks["bkr-worker"] and "DOORSTEP_BKR_URL: http://bkr-double:8100" in blocks["bkr-worker"]
    for name in ("DOORSTEP_BKR_URL", "DOORSTEP_BKR_PASSWORD"):  # no silent default: BKR is named on purpose
        missing = _compose(tmp_path, "config", "-q", drop=name)
        assert missing.returncode != 0 and name in missing.stderr
    assert "bkr_double" in blocks["bkr-double"] and "/healthz" in blocks["bkr-double"]
    # Retention runs by itself, daily, on the same database.
    assert (
        "- purge" in blocks["retention"]
        and "- --repeat-hours" in blocks["retention"]
        and "- '24'" in blocks["retention"]
    )
    assert "@db:5432/" in blocks["retention"]


def test_compose_requires_signing_keys(tmp_path: Path) -> None:
    result = _compose(tmp_path, "config", "-q", signing_keys=None)
    assert result.returncode != 0
    assert "DOORSTEP_JWT_SIGNING_KEYS" in result.stderr
