"""The BKR test double as the tests run it: its own process on a free loopback port,
emptied before every test that uses it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.bkr.client import HttpBkrClient
from api.cli import stop
from bkr_double.app import DEFAULT_PASSWORD, DEFAULT_USERNAME
from tests.processes import free_port, wait_until_up


@pytest.fixture(scope="session")
def bkr_double_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bkr_double", "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/healthz", process, "the BKR test double", seconds=20)
    yield url
    stop([process])


@dataclass
class BkrDouble:
    url: str

    def fault(self, mode: str, **options: Any) -> None:
        response = httpx.post(f"{self.url}/_control/faults", json={"mode": mode, **options})
        assert response.status_code == 204, response.text

    def registrations(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/v1/registrations", auth=(DEFAULT_USERNAME, DEFAULT_PASSWORD))
        assert response.status_code == 200
        return response.json()

    def requests(self) -> list[dict[str, Any]]:
        return httpx.get(f"{self.url}/_control/requests").json()

    def client(self, *, timeout_seconds: float = 5.0, password: str = DEFAULT_PASSWORD) -> HttpBkrClient:
        return HttpBkrClient(self.url, username=DEFAULT_USERNAME, password=password, timeout_seconds=timeout_seconds)


@pytest.fixture
def bkr(bkr_double_url: str) -> BkrDouble:
    assert httpx.post(f"{bkr_double_url}/_control/reset").status_code == 204
    return BkrDouble(bkr_double_url)
