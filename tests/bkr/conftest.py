"""The BKR test double as the tests run it: its own process on a free loopback port,
emptied before every test that uses it; and the back office that starts the trajectories."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.cli import stop
from tests.bkr.helpers import BkrDouble
from tests.factories import login, make_municipality, make_user
from tests.processes import free_port, wait_until_up


@pytest.fixture(scope="session")
def bkr_double_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bkr_double", "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/healthz", process, "the BKR test double", seconds=20)
    yield url
    stop([process])


@pytest.fixture
def bkr(bkr_double_url: str) -> BkrDouble:
    assert httpx.post(f"{bkr_double_url}/_control/reset").status_code == 204
    return BkrDouble(bkr_double_url)


@pytest.fixture
def office(client: TestClient, session: Session) -> dict[str, str]:
    """Amsterdam with office1, signed in (the root conftest's office also has admin1 and worker1)."""
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    return login(client, "office1")
