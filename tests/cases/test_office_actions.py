"""Office actions on a case: facts on its timeline, idempotent by action id; reopening within the window."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import login, make_case, make_municipality, make_user


@pytest.fixture
def office(client: TestClient, session: Session):  # type: ignore[no-untyped-def]
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    return {"headers": login(client, "office1"), "case": make_case(session)}


def act(client: TestClient, office, kind: str, action_id: str | None = None, **fields):  # type: ignore[no-untyped-def]
    body = {
        "action_id": action_id or str(uuid.uuid4()),
        "kind": kind,
        "occurred_at": "2026-11-26T10:00:00+01:00",
        **fields,
    }
    return client.post(f"/v1/cases/{office['case'].id}/actions", headers=office["headers"], json=body)


def test_a_letter_sent_moves_the_plan_on_to_a_visit(client: TestClient, office):  # type: ignore[no-untyped-def]
    response = act(client, office, "letter_sent")
    assert response.status_code == 200 and response.json()["result"] == "applied"
    detail = client.get(f"/v1/cases/{office['case'].id}", headers=office["headers"]).json()
    assert [e["kind"] for e in detail["events"]] == ["letter_sent"]
    assert detail["next_planned_action"]["channel"] == "visit" and detail["version"] == 2


def test_a_phone_call_that_reaches_the_resident_makes_the_case_contacted(client: TestClient, office):  # type: ignore[no-untyped-def]
    assert act(client, office, "phone_attempt", reached=True).json()["case"]["state"] == "contacted"


def test_the_same_action_twice_is_recorded_once(client: TestClient, office):  # type: ignore[no-untyped-def]
    action_id = str(uuid.uuid4())
    first = act(client, office, "note", action_id, text="Brief kwam retour")
    again = act(client, office, "note", action_id, text="Brief kwam retour")
    assert again.json()["result"] == "duplicate" and again.json()["case"]["version"] == first.json()["case"]["version"]
    reused = act(client, office, "letter_sent", action_id)
    assert reused.status_code == 409 and reused.json()["type"] == "urn:doorstep:problem:action-id-reused"


@pytest.mark.parametrize(
    ("kind", "fields"), [("note", {}), ("phone_attempt", {}), ("appointment", {"location": "Loket"}), ("fax", {})]
)
def test_an_action_without_what_it_needs_is_a_422(client: TestClient, office, kind: str, fields: dict):  # type: ignore[no-untyped-def]
    assert act(client, office, kind, **fields).status_code == 422


def test_a_stale_base_version_is_a_409(client: TestClient, office):  # type: ignore[no-untyped-def]
    assert act(client, office, "letter_sent", base_version=9).status_code == 409


def test_reopening_only_within_the_window(client: TestClient, office, clock):  # type: ignore[no-untyped-def]
    case_id = office["case"].id
    client.post(f"/v1/cases/{case_id}/close", headers=office["headers"], json={"result": "Inwoner is overleden"})
    reopened = client.post(f"/v1/cases/{case_id}/reopen", headers=office["headers"])
    assert reopened.status_code == 200 and reopened.json()["state"] == "contacted" and reopened.json()["result"] is None
    client.post(f"/v1/cases/{case_id}/close", headers=office["headers"], json={"result": "Inwoner is overleden"})
    clock.advance(days=31)
    late = client.post(f"/v1/cases/{case_id}/reopen", headers=login(client, "office1"))
    assert late.status_code == 409 and late.json()["type"] == "urn:doorstep:problem:reopen-window-passed"
