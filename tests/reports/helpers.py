"""The reports area's helpers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import MARCH


def monitor(client: TestClient, headers, **params):  # type: ignore[no-untyped-def]
    response = client.get("/v1/reports/monitor", headers=headers, params=params or MARCH)
    assert response.status_code == 200, response.text
    return response
