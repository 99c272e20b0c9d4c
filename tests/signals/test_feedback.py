"""Feedback to the creditor (`feedback:read`): for the signals it delivered, only what the law lets
it know — the DDAS status as far as it concerns the signal, when it changed, and whether debt help
started. Nothing of the case or the household; nothing of another partner's signals."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, select

from api.models import Signal
from api.signals.rules import FEEDBACK_STATUSES, SIGNAL_STATUSES, STATUS_OTHER_REASON, status_for_feedback
from tests.factories import add_agreement, login, make_municipality, make_partner, make_user, partner_login, read

HOUSEHOLD = {
    "postcode": "1053KL",
    "house_number": 12,
    "surname": "Baldewsingh",
    "birth_date": "1980-05-17",
    "signal_date": "2026-11-10",
}
SCOPES = ("signals:write", "feedback:read")


def creditor(
    client: TestClient, session: Session, name: str, partner_type: str, scopes: tuple[str, ...] = SCOPES
) -> str:
    """A partner client under an agreement for `name`; its client id."""
    partner = make_partner(session, scopes=scopes)
    add_agreement(client, login(client, "office1"), partner.client_id, name=name, partner_type=partner_type)
    return partner.client_id


def deliver(client: TestClient, client_id: str, *signals: dict) -> None:  # type: ignore[type-arg]
    response = client.post("/v1/signals", headers=partner_login(client, client_id), json={"signals": list(signals)})
    assert response.status_code == 200 and all(r["result"] == "created" for r in response.json()["results"]), (
        response.text
    )


def feedback(client: TestClient, client_id: str, **params: str) -> list[dict]:  # type: ignore[type-arg]
    response = client.get("/v1/signals/feedback", headers=partner_login(client, client_id), params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def case_of(session: Session, external_id: str) -> uuid.UUID:
    [signal] = read(session, select(Signal).where(Signal.external_id == external_id))
    assert signal.case_id is not None
    return signal.case_id


def act(client: TestClient, case_id: uuid.UUID, when: str, **body: object) -> None:
    response = client.post(
        f"/v1/cases/{case_id}/actions",
        headers=login(client, "office1"),
        json={"action_id": str(uuid.uuid4()), "occurred_at": when, **body},
    )
    assert response.status_code == 200, response.text


@pytest.fixture(autouse=True)
def office(client: TestClient, session: Session) -> None:
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")


def test_a_creditor_follows_its_signal_from_arrival_to_debt_help(client: TestClient, session: Session, clock):  # type: ignore[no-untyped-def]
    ymere = creditor(client, session, "Ymere", "Huur")
    deliver(client, ymere, {**HOUSEHOLD, "signal_id": "Y1", "partner_type": "Huur", "amount": "950"})
    [arrived] = feedback(client, ymere)
    assert arrived == {
        "signal_id": "Y1",
        "status": "Nog niet opgepakt",
        "status_changed_at": arrived["changed_at"],
        "in_debt_help": False,
        "changed_at": arrived["changed_at"],
    }
    assert arrived["changed_at"].startswith("2026-11-26T09:00:00")  # its arrival

    case_id = case_of(session, "Y1")
    clock.advance(days=2)
    act(client, case_id, clock.current.isoformat(), kind="phone_attempt", reached=True)
    act(client, case_id, clock.current.isoformat(), kind="help_accepted")
    [picked] = feedback(client, ymere, since=arrived["changed_at"])
    assert (picked["status"], picked["in_debt_help"]) == ("Opgepakt", False)
    assert picked["status_changed_at"] == picked["changed_at"] and picked["changed_at"].startswith(
        "2026-11-28T09:00:00"
    )
    assert feedback(client, ymere, since="2026-11-28T10:30:00+01:00") == []  # nothing changed after its pickup

    clock.advance(days=3)
    started = client.post(
        f"/v1/cases/{case_id}/trajectory", headers=login(client, "office1"), json={"decision_date": "2026-12-01"}
    )
    assert started.status_code in (200, 201), started.text
    [helped] = feedback(client, ymere, since="2026-11-28T10:30:00+01:00")
    assert (helped["status"], helped["in_debt_help"], helped["status_changed_at"]) == (
        "Opgepakt",
        True,
        picked["status_changed_at"],
    )  # debt help started: the status stays, the feed moves on
    assert helped["changed_at"].startswith("2026-12-01T09:00:00")
    for secret in ("Baldewsingh", "1980", "950", "1053KL", str(case_id), "Vervolghulp"):
        assert secret not in str(helped)


def test_the_feedback_endpoint_shows_another_partner_nothing(client: TestClient, session: Session):
    ymere = creditor(client, session, "Ymere", "Huur")
    eneco = creditor(client, session, "Eneco", "Energie")
    vattenfall = creditor(client, session, "Vattenfall", "Energie")
    deliver(client, ymere, {**HOUSEHOLD, "signal_id": "Y1", "partner_type": "Huur", "amount": "950"})
    deliver(client, eneco, {**HOUSEHOLD, "signal_id": "E1", "partner_type": "Energie", "amount": "420"})
    assert [item["signal_id"] for item in feedback(client, ymere)] == ["Y1"]
    assert [item["signal_id"] for item in feedback(client, eneco)] == ["E1"]  # the same household, its own signal only
    assert feedback(client, vattenfall) == []
    # The office's own platform import is no partner's either.
    assert all(item["signal_id"] in ("Y1",) for item in feedback(client, ymere))


def test_a_status_that_tells_of_the_resident_is_given_as_another_reason(client: TestClient, session: Session):
    ymere = creditor(client, session, "Ymere", "Huur")
    deliver(
        client,
        ymere,
        {**HOUSEHOLD, "signal_id": "Y1", "partner_type": "Huur"},
        {**HOUSEHOLD, "signal_id": "Y2", "partner_type": "Huur", "house_number": 14},
    )
    for external_id, result in (("Y1", "Inwoner is overleden"), ("Y2", "Niet opgepakt: onterecht signaal")):
        closed = client.post(
            f"/v1/cases/{case_of(session, external_id)}/close",
            headers=login(client, "office1"),
            json={"result": result},
        )
        assert closed.status_code == 200, closed.text
    statuses = {item["signal_id"]: item["status"] for item in feedback(client, ymere)}
    assert statuses == {"Y1": "Niet opgepakt: andere reden", "Y2": "Niet opgepakt: onterecht signaal"}


@given(status=st.sampled_from(SIGNAL_STATUSES))
def test_feedback_passes_only_the_statuses_of_the_signal_itself(status: str):
    shown = status_for_feedback(status)
    assert shown in FEEDBACK_STATUSES and shown in SIGNAL_STATUSES  # always a DDAS status
    assert shown in (status, STATUS_OTHER_REASON)
    assert status_for_feedback(shown) == shown


def test_feedback_pages_in_the_order_things_changed(client: TestClient, session: Session):
    ymere = creditor(client, session, "Ymere", "Huur")
    deliver(
        client,
        ymere,
        *({**HOUSEHOLD, "signal_id": f"Y{n}", "partner_type": "Huur", "house_number": n} for n in range(1, 6)),
    )
    headers = partner_login(client, ymere)
    first = client.get("/v1/signals/feedback", headers=headers, params={"limit": 3}).json()
    second = client.get(
        "/v1/signals/feedback", headers=headers, params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()
    assert len(first["items"]) == 3 and len(second["items"]) == 2 and second["next_cursor"] is None
    assert sorted(item["signal_id"] for item in first["items"] + second["items"]) == [f"Y{n}" for n in range(1, 6)]


def test_only_a_partner_with_the_scope_and_an_agreement_reads_feedback(client: TestClient, session: Session):
    without_scope = creditor(client, session, "Ymere", "Huur", scopes=("signals:write", "cases:read"))
    refused = client.get("/v1/signals/feedback", headers=partner_login(client, without_scope))
    assert refused.status_code == 403 and refused.json()["type"] == "urn:doorstep:problem:insufficient-scope"
    no_agreement = make_partner(session, scopes=SCOPES)
    refused = client.get("/v1/signals/feedback", headers=partner_login(client, no_agreement.client_id))
    assert refused.status_code == 403 and refused.json()["type"] == "urn:doorstep:problem:no-agreement"
    assert (
        client.get("/v1/signals/feedback", headers=login(client, "office1")).status_code == 403
    )  # staff have the cases
    assert client.get("/v1/signals/feedback").status_code == 401
    naive = client.get(
        "/v1/signals/feedback",
        headers=partner_login(client, creditor(client, session, "Eneco", "Energie")),
        params={"since": "2026-11-26T10:00:00"},
    )
    assert naive.status_code == 422 and naive.json()["errors"][0]["pointer"] == "/query/since"


def test_every_feedback_request_is_audited(client: TestClient, session: Session):
    make_user(session, role="admin", username="admin1")
    ymere = creditor(client, session, "Ymere", "Huur")
    deliver(client, ymere, {**HOUSEHOLD, "signal_id": "Y1", "partner_type": "Huur"})
    feedback(client, ymere)
    feedback(client, ymere, since="2026-11-27T00:00:00+01:00")
    audit = client.get("/v1/audit", params={"action": "signals.feedback-read"}, headers=login(client, "admin1")).json()[
        "items"
    ]
    assert [(entry["actor_id"], entry["detail"]["count"]) for entry in audit] == [(ymere, 1), (ymere, 0)]
