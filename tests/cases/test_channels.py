"""Every contact channel DDAS knows (EnumContactsoort) is an attempt: recorded by the office (and,
where it makes sense, from the field), counted by the deadline rule and the monitor, planned by
the outreach policy."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import VisitEvent
from tests.factories import jwk_of, login, make_case, make_municipality, make_user, read

KEY = rsa.generate_private_key(65537, 2048)
NEW_KINDS = {
    "mail_sent": "mail",
    "sms_sent": "sms",
    "appointment_kept": "appointment",
    "administrative": "administrative",
}


@pytest.fixture
def office(client: TestClient, session: Session) -> dict[str, str]:
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    make_user(session, role="admin", username="admin1")
    return login(client, "office1")


def act(
    client: TestClient,
    headers: dict[str, str],
    case_id: uuid.UUID,
    kind: str,
    occurred_at: str = "2026-11-26T10:00:00+01:00",
    **fields,
):  # type: ignore[no-untyped-def]
    body = {"action_id": str(uuid.uuid4()), "kind": kind, "occurred_at": occurred_at, **fields}
    return client.post(f"/v1/cases/{case_id}/actions", headers=headers, json=body)


@pytest.mark.parametrize("kind", ["mail_sent", "sms_sent", "administrative"])
def test_an_unanswered_mail_sms_or_administrative_contact_is_an_attempt_not_a_contact(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, office, kind: str
):
    case = make_case(session)
    response = act(client, office, case.id, kind)
    assert response.status_code == 200, response.text
    assert response.json()["case"]["state"] == "new"  # as before the attempt: nobody was reached
    detail = client.get(f"/v1/cases/{case.id}", headers=office).json()
    assert detail["first_attempt_date"] == "2026-11-26" and detail["next_planned_action"] is not None
    assert [(e["kind"], e["payload"]["reached"]) for e in detail["events"]] == [(kind, False)]


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("mail_sent", {"reached": True}),
        ("sms_sent", {"reached": True}),
        ("administrative", {"reached": True}),
        ("appointment_kept", {"location": "Stadsloket"}),
        ("appointment_kept", {}),
    ],
)
def test_a_reached_contact_on_any_channel_makes_the_case_contacted(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, office, kind: str, fields: dict
):
    case = make_case(session)
    response = act(client, office, case.id, kind, **fields)
    assert response.status_code == 200, response.text
    assert response.json()["case"]["state"] == "contacted"
    detail = client.get(f"/v1/cases/{case.id}", headers=office).json()
    assert (
        detail["first_attempt_date"] == "2026-11-26" and detail["next_planned_action"] is None
    )  # reached: no more planning


def test_an_appointment_kept_cannot_be_recorded_as_unreached(client: TestClient, session: Session, office):  # type: ignore[no-untyped-def]
    case = make_case(session)
    assert act(client, office, case.id, "appointment_kept", reached=False).status_code == 422
    assert client.get(f"/v1/cases/{case.id}", headers=office).json()["events"] == []


@pytest.mark.parametrize("kind", sorted(NEW_KINDS))
def test_each_channel_on_the_due_date_meets_the_duty(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, office, clock, kind: str
):
    acted, silent = make_case(session, postcode="1053KL"), make_case(session, postcode="1055AB")
    for case in (acted, silent):
        case.first_contact_due_date = date(2026, 11, 27)
        session.add(case)
    session.commit()
    clock.advance(days=1)  # the due date itself
    assert act(client, login(client, "office1"), acted.id, kind, "2026-11-27T16:00:00+01:00").status_code == 200
    clock.advance(days=10)
    office = login(client, "office1")
    overdue = [
        item["id"] for item in client.get("/v1/cases", headers=office, params={"overdue": "true"}).json()["items"]
    ]
    assert overdue == [str(silent.id)]
    assert client.get("/v1/dashboard", headers=office).json()["overdue"] == 1


def test_the_monitor_counts_attempts_and_reach_by_every_channel(client: TestClient, session: Session, office):  # type: ignore[no-untyped-def]
    first, second = make_case(session, postcode="1053KL"), make_case(session, postcode="1055AB")
    for case_id, kind, fields in (
        (first.id, "mail_sent", {}),
        (first.id, "sms_sent", {"reached": True}),
        (second.id, "administrative", {}),
        (second.id, "appointment_kept", {}),
        (second.id, "letter_sent", {}),
    ):
        assert act(client, office, case_id, kind, **fields).status_code == 200
    report = client.get("/v1/reports/monitor", headers=office, params={"from": "2026-11-01", "to": "2026-11-30"})
    assert report.status_code == 200, report.text
    attempts = report.json()["attempts"]
    assert attempts["by_channel"] == {
        "letter": 1,
        "phone": 0,
        "visit": 0,
        "mail": 1,
        "sms": 1,
        "appointment": 1,
        "administrative": 1,
    }
    assert attempts["reached_by_channel"] == {
        "letter": 0,
        "phone": 0,
        "visit": 0,
        "mail": 0,
        "sms": 1,
        "appointment": 1,
        "administrative": 0,
    }


def test_the_policy_plans_the_new_channels(client: TestClient, session: Session, office):  # type: ignore[no-untyped-def]
    admin = login(client, "admin1")
    policy = client.get("/v1/municipality/policy", headers=admin).json()
    policy["single"] = {"channels": ["sms", "mail", "visit"], "max_attempts": 3}
    assert client.put("/v1/municipality/policy", headers=admin, json=policy).status_code == 200
    case = make_case(session)
    assert client.get(f"/v1/cases/{case.id}", headers=office).json()["next_planned_action"]["channel"] == "sms"
    act(client, office, case.id, "sms_sent")
    assert client.get(f"/v1/cases/{case.id}", headers=office).json()["next_planned_action"]["channel"] == "mail"
    act(client, office, case.id, "mail_sent")
    planned = client.get(f"/v1/cases/{case.id}", headers=office).json()["next_planned_action"]
    assert (planned["channel"], planned["attempt_number"]) == ("visit", 3)


def test_the_phone_records_an_sms_and_an_appointment_kept_but_no_mail(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, office
):
    worker = make_user(session, role="worker", username="worker1")
    case = make_case(session, worker=worker)
    assert (
        client.post(f"/v1/cases/{case.id}/assignment", headers=office, json={"worker_id": str(worker.id)}).status_code
        == 200
    )
    device = client.post(
        "/v1/devices", headers=login(client, "worker1"), json={"public_jwk": jwk_of(KEY), "label": "phone"}
    ).json()
    when = datetime(2026, 11, 26, 9, 0, tzinfo=UTC).isoformat()  # 10:00 in Amsterdam

    def event(kind: str, **payload):  # type: ignore[no-untyped-def]
        return {
            "event_id": str(uuid.uuid4()),
            "case_id": str(case.id),
            "kind": kind,
            "occurred_at": when,
            "base_version": 2,
            "payload": payload,
        }

    def push(*events: dict):  # type: ignore[no-untyped-def]
        return client.post(
            "/v1/sync/push",
            headers={"Authorization": f"Bearer {device['access_token']}"},
            json={"device_id": device["device_id"], "events": list(events)},
        )

    mail = push(event("mail_sent"))  # a phone sends no mail: not a kind of the sync protocol
    assert mail.status_code == 422 and mail.json()["errors"][0]["pointer"] == "/body/events/0/kind"
    response = push(event("sms_sent", reached=False), event("appointment_kept", location="Buurthuis"))
    assert response.status_code == 200, response.text
    assert [r["result"] for r in response.json()["results"]] == ["applied", "applied"]
    stored = {e.kind: e.payload for e in read(session, select(VisitEvent))}
    assert stored == {
        "sms_sent": {"reached": False, "day_part": "ochtend"},
        "appointment_kept": {"location": "Buurthuis", "reached": True, "day_part": "ochtend"},
    }
    assert client.get(f"/v1/cases/{case.id}", headers=office).json()["state"] == "contacted"
