"""A corrected resident at BKR: a registration not sent yet goes out corrected; one BKR holds gets
one correction message through the outbox, which the test double accepts."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import Signal
from tests.bkr.helpers import BkrDouble, accepted_case, deliver, registrations, start
from tests.factories import login, make_user, read


def correct(client: TestClient, signal_id, **fields):  # type: ignore[no-untyped-def]
    response = client.patch(
        f"/v1/signals/{signal_id}", headers=login(client, "admin1"), json={"reason": "Verzoek AVG-2026-031", **fields}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_registration_not_sent_yet_goes_out_corrected(
    client,
    session: Session,
    office,
    db,
    clock,  # type: ignore[no-untyped-def]
    bkr: BkrDouble,
):
    make_user(session, role="admin", username="admin1")
    case = accepted_case(client, session, office)
    assert start(client, office, case.id).status_code == 201
    [signal] = read(session, select(Signal).where(Signal.case_id == case.id))

    assert correct(client, signal.id, surname="Janssen", birth_date="1984-03-10")["bkr"] == "registration-updated"
    assert deliver(db, bkr.client(), clock).delivered == 1
    [held] = bkr.registrations()
    assert (held["person"]["surname"], held["person"]["birth_date"]) == ("Janssen", "1984-03-10")
    assert [row.action for row in registrations(session)] == ["register"]


def test_a_delivered_registration_gets_one_correction_message(
    client,
    session: Session,
    office,
    db,
    clock,  # type: ignore[no-untyped-def]
    bkr: BkrDouble,
):
    make_user(session, role="admin", username="admin1")
    case = accepted_case(client, session, office)
    assert start(client, office, case.id).status_code == 201
    assert deliver(db, bkr.client(), clock).delivered == 1
    [signal] = read(session, select(Signal).where(Signal.case_id == case.id))

    answer = correct(client, signal.id, street="Bos en Lommerplein", initials="A.")
    assert answer["bkr"] == "correction-queued" and answer["case_id"] == str(case.id)
    corrections = [row for row in registrations(session) if row.action == "correct"]
    assert len(corrections) == 1 and corrections[0].subject["person"]["initials"] == "A."

    assert deliver(db, bkr.client(), clock).delivered == 1
    assert deliver(db, bkr.client(), clock).attempts == 0  # once
    [held] = bkr.registrations()
    assert held["corrections"] == 1
    assert (held["person"]["initials"], held["address"]["street"]) == ("A.", "Bos en Lommerplein")
    [row] = [row for row in registrations(session) if row.action == "correct"]
    assert (row.status, row.subject) == ("delivered", {})  # BKR has it; the outbox keeps no copy
