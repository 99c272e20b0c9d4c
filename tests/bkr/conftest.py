"""The BKR test double as the tests run it: its own process on a free loopback port,
emptied before every test that uses it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.bkr.client import HttpBkrClient
from bkr_double.app import DEFAULT_PASSWORD, DEFAULT_USERNAME


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def bkr_double_url() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "bkr_double", "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the BKR test double did not start")
        time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=10)


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
