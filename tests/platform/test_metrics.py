"""GET /metrics: the counters move with pushes, pulls and imports; no personal data in any label
or value; never public."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session

from api.settings import Settings
from tests.factories import csv_file, decrypt, login, row, upload

TOKEN = "scrape-me-" + "x" * 22


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"metrics_token": SecretStr(TOKEN)})


def scrape(client: TestClient) -> dict[str, float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_pushes_pulls_and_imports_move_the_counters_and_name_no_one(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, field
):
    before = scrape(client)
    first = client.get("/v1/sync/pull", headers=field["device"])
    visit_list = decrypt(first.text)
    event = {
        "event_id": str(uuid.uuid4()),
        "case_id": str(field["mine"].id),
        "kind": "visit_attempt",
        "occurred_at": "2026-11-26T09:00:00+00:00",
        "base_version": visit_list.upserts[0].version,
        "payload": {"reached": False},
    }
    pushed = client.post(
        "/v1/sync/push", headers=field["device"], json={"device_id": field["device_id"], "events": [event, event]}
    )
    assert pushed.status_code == 200, pushed.text
    imported = upload(
        client,
        field["office"],
        csv_file(row("M-1", surname="Yilmaz"), row("M-2", day="not a day")),
        mode="accept-valid",
    )
    assert imported.status_code == 201, imported.text
    client.get(f"/v1/cases/{field['mine'].id}", headers=login(client, "office1"))
    after = scrape(client)

    def moved(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert moved('doorstep_sync_pulls_total{kind="full"}') == 1
    assert moved("doorstep_sync_pull_bytes_total") == len(first.content)
    assert moved("doorstep_sync_pushes_total") == 1
    assert moved('doorstep_sync_events_total{result="applied"}') == 1
    assert moved('doorstep_sync_events_total{result="duplicate"}') == 1
    assert moved('doorstep_import_rows_total{verdict="created"}') == 1
    assert moved('doorstep_import_rows_total{verdict="rejected"}') == 1
    assert (
        moved('doorstep_http_request_duration_seconds_count{method="GET",route="/v1/cases/{case_id}",status="200"}')
        == 1
    )
    assert 'doorstep_bkr_outbox{status="pending"}' not in after  # an empty outbox: no series made up
    assert any(name.startswith("doorstep_db_pool_connections") for name in after)
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    # Every value is a number; names and labels carry no person, place, id or tenant (a
    # latency such as 0.0363… may contain the municipality's code, and says nothing).
    samples = [line.rpartition(" ") for line in text.splitlines() if line and not line.startswith("#")]
    assert samples
    for _, _, value in samples:
        float(value)  # raises for anything but a number
    series = "\n".join(name for name, _, _ in samples) + "\n".join(
        line for line in text.splitlines() if line.startswith("#")
    )
    for secret in (
        "Baldewsingh",
        "Yilmaz",
        "1055AB",
        "Kinkerstraat",
        str(field["mine"].id),
        field["device_id"],
        "0363",
        "worker1",
    ):
        assert secret not in series, secret
    for method in ("FOO1", "FOO2"):  # any token is a method to the HTTP parser: none makes a series of its own
        client.request(method, f"/v1/cases/{field['mine'].id}")
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert "FOO" not in text and 'method="other"' in text
    routes = set(re.findall(r'route="([^"]*)"', text))
    assert routes and all(not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}", route) for route in routes)


def test_metrics_are_never_public(client: TestClient):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert '"/metrics"' not in (Path(__file__).resolve().parents[2] / "openapi" / "openapi.json").read_text()


def test_metrics_are_off_without_a_token(app, client: TestClient):  # type: ignore[no-untyped-def]
    app.state.settings = app.state.settings.model_copy(update={"metrics_token": None})
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404
