"""Starting and ending trajectories through HTTP: who may, when, and what goes to the outbox."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api.models import AuditEntry, Conflict, Municipality, Signal, Trajectory
from api.municipality.policy import MunicipalitySettings
from tests.bkr.helpers import accepted_case, registrations, start
from tests.factories import NOW, login, make_case, make_municipality, make_partner, make_user, partner_login, read


def test_starting_a_trajectory_queues_one_sh_registration_without_amount_or_bsn(client: TestClient, session, office):  # type: ignore[no-untyped-def]
    case = accepted_case(client, session, office)
    response = start(client, office, case.id, decision_date="2026-11-20")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["decision_date"] == "2026-11-20" and body["end_date"] is None
    [registration] = body["registrations"]
    assert (
        registration["action"],
        registration["contract_type"],
        registration["start_date"],
        registration["status"],
    ) == ("register", "SH", "2026-11-20", "pending")
    [row] = registrations(session)
    assert row.subject == {
        "person": {"initials": "J.", "prefix": None, "surname": "Jansen", "birth_date": "1984-03-09", "gender": "V"},
        "address": {
            "street": "Bos en Lommerweg",
            "house_number": 12,
            "house_number_addition": None,
            "postcode": "1055AB",
            "town": "Amsterdam",
        },
    }
    stored = json.dumps(row.model_dump(mode="json"))
    assert "amount" not in stored and "bsn" not in stored.lower() and "0612345678" not in stored
    detail = client.get(f"/v1/cases/{case.id}", headers=office).json()
    # The handover: early signalling closes with a follow-up result; the trajectory lives on under the case.
    assert (detail["state"], detail["result"]) == ("closed", "Vervolghulp en/of verwijzing financieel")
    assert detail["overdue"] is False and detail["allowed_results"] == []
    assert detail["trajectory"]["registrations"][0]["id"] == str(row.id)
    assert [a.action for a in read(session, select(AuditEntry).where(AuditEntry.action == "trajectory.start"))] == [
        "trajectory.start"
    ]


def test_only_the_back_office_starts_a_trajectory(client: TestClient, session, office):  # type: ignore[no-untyped-def]
    case = accepted_case(client, session, office)
    make_user(session, role="worker", username="worker1")
    partner = make_partner(session, scopes=("cases:read", "signals:write"))
    for headers in (login(client, "worker1"), partner_login(client, partner.client_id)):
        response = start(client, headers, case.id)
        assert response.status_code == 403, response.text
    assert registrations(session) == []
    assert read(session, select(Trajectory)) == []


@pytest.mark.parametrize("steps", [(), (("phone_attempt", {"reached": True}),)], ids=["new", "contacted"])
def test_a_trajectory_needs_accepted_help_first(client: TestClient, session, office, steps):  # type: ignore[no-untyped-def]
    case = make_case(session)
    for kind, extra in steps:
        client.post(
            f"/v1/cases/{case.id}/actions",
            headers=office,
            json={"action_id": str(uuid.uuid4()), "kind": kind, "occurred_at": NOW.isoformat(), **extra},
        )
    response = start(client, office, case.id)
    assert response.status_code == 409
    assert response.json()["type"] == "urn:doorstep:problem:illegal-transition"
    assert registrations(session) == [] and read(session, select(Trajectory)) == []


def test_an_open_conflict_blocks_the_start_until_it_is_resolved(client: TestClient, session, office):  # type: ignore[no-untyped-def]
    case = accepted_case(client, session, office)
    conflict = Conflict(municipality_code="0363", case_id=case.id, kind="help_decision", sides=[], opened_at=NOW)
    session.add(conflict)
    session.commit()
    response = start(client, office, case.id)
    assert response.status_code == 409
    assert response.json()["type"] == "urn:doorstep:problem:open-conflict"
    assert registrations(session) == []
    conflict.resolved_at = datetime(2026, 11, 26, 8, 50, tzinfo=UTC)
    conflict.resolution = {"decision": "help_accepted"}
    session.add(conflict)
    session.commit()
    assert start(client, office, case.id).status_code == 201
    assert len(registrations(session)) == 1


def test_one_trajectory_per_case_and_sane_dates(client: TestClient, session, office):  # type: ignore[no-untyped-def]
    case = accepted_case(client, session, office)
    assert start(client, office, case.id, decision_date="2026-11-27").json()["type"].endswith("decision-in-future")
    assert start(client, office, case.id, decision_date="2026-01-01").json()["type"].endswith("decision-before-case")
    assert start(client, office, case.id, decision_date="26-11-2026").status_code == 422
    assert start(client, office, case.id, amount=100).status_code == 422
    assert start(client, office, case.id).status_code == 201
    again = start(client, office, case.id)
    assert again.status_code == 409 and again.json()["type"].endswith("trajectory-exists")
    assert len(registrations(session)) == 1


def test_dates_are_dutch_calendar_days(client: TestClient, session, office, clock):  # type: ignore[no-untyped-def]
    """At 00:30 in Amsterdam it is already the 27th there, while UTC still says the 26th: the office's
    "today" is the Dutch one (the console fills in that date), for the start as for the end."""
    case = accepted_case(client, session, office)
    clock.current = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)
    office = login(client, "office1")  # the morning's token has expired by now
    assert start(client, office, case.id, decision_date="2026-11-28").json()["type"].endswith("decision-in-future")
    assert start(client, office, case.id, decision_date="2026-11-27").status_code == 201
    url = f"/v1/cases/{case.id}/trajectory/end"
    assert (
        client.post(url, headers=office, json={"end_date": "2026-11-28", "outcome": "completed"})
        .json()["type"]
        .endswith("end-in-future")
    )
    assert client.post(url, headers=office, json={"end_date": "2026-11-27", "outcome": "completed"}).status_code == 200


def test_a_stale_case_version_is_refused(client: TestClient, session, office):  # type: ignore[no-untyped-def]
    case = accepted_case(client, session, office)
    response = start(client, office, case.id, base_version=1)
    assert response.status_code == 409 and response.json()["type"].endswith("version-conflict")


def test_when_signals_name_different_people_the_office_chooses(client: TestClient, session, office):  # type: ignore[no-untyped-def]
    case = accepted_case(client, session, office)
    other = Signal(
        municipality_code="0363",
        external_id="SIG-other",
        household_id=case.household_id,
        case_id=case.id,
        partner_type="Energie",
        signal_date=NOW.date(),
        received_at=NOW,
        initials="P.",
        surname="de Vries",
        birth_date=datetime(1979, 1, 2).date(),
        created_at=NOW,
    )
    session.add(other)
    session.commit()
    refused = start(client, office, case.id)
    assert refused.status_code == 422 and refused.json()["type"].endswith("resident-ambiguous")
    assert str(other.id) in refused.json()["candidates"]
    assert start(client, office, case.id, signal_id=str(uuid.uuid4())).json()["type"].endswith("unknown-signal")
    assert start(client, office, case.id, signal_id=str(other.id)).status_code == 201
    assert registrations(session)[0].subject["person"]["surname"] == "de Vries"


def test_bkr_needs_a_birth_date(client: TestClient, session, office):  # type: ignore[no-untyped-def]
    case = accepted_case(client, session, office, birth_date=None)
    response = start(client, office, case.id)
    assert response.status_code == 422 and response.json()["type"].endswith("resident-incomplete")
    assert read(session, select(Trajectory)) == []


def test_ending_queues_the_end_date_and_the_removal_date_of_the_municipality(client: TestClient, session, office):  # type: ignore[no-untyped-def]
    municipality = session.get(Municipality, "0363")
    municipality.settings = MunicipalitySettings(bkr_removal_months_after_success=6).model_dump()
    session.add(municipality)
    session.commit()
    case = accepted_case(client, session, office)
    start(client, office, case.id, decision_date="2026-11-02")
    url = f"/v1/cases/{case.id}/trajectory/end"
    assert (
        client.post(url, headers=office, json={"end_date": "2026-11-01", "outcome": "completed"})
        .json()["type"]
        .endswith("end-before-start")
    )
    assert (
        client.post(url, headers=office, json={"end_date": "2026-11-30", "outcome": "completed"})
        .json()["type"]
        .endswith("end-in-future")
    )
    assert client.post(url, headers=office, json={"end_date": "2026-11-25", "outcome": "won"}).status_code == 422
    response = client.post(url, headers=office, json={"end_date": "2026-11-25", "outcome": "completed"})
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "completed"
    assert [(r["action"], r["removal_date"]) for r in response.json()["registrations"]] == [
        ("register", None),
        ("end", "2027-05-25"),
    ]
    again = client.post(url, headers=office, json={"end_date": "2026-11-25", "outcome": "completed"})
    assert again.status_code == 409 and again.json()["type"].endswith("trajectory-ended")
    assert len(registrations(session)) == 2


def test_a_terminated_trajectory_stays_registered_for_the_default_five_years(client: TestClient, session, office):  # type: ignore[no-untyped-def]
    case = accepted_case(client, session, office)
    start(client, office, case.id, decision_date="2026-11-02")
    response = client.post(
        f"/v1/cases/{case.id}/trajectory/end", headers=office, json={"end_date": "2026-11-25", "outcome": "terminated"}
    )
    assert response.json()["registrations"][1]["removal_date"] == "2031-11-25"


def test_ending_without_a_trajectory_and_other_tenants(client: TestClient, session, office):  # type: ignore[no-untyped-def]
    case = accepted_case(client, session, office)
    response = client.post(
        f"/v1/cases/{case.id}/trajectory/end", headers=office, json={"end_date": "2026-11-25", "outcome": "completed"}
    )
    assert response.status_code == 409 and response.json()["type"].endswith("no-trajectory")
    make_municipality(session, code="0599", name="Rotterdam")
    make_user(session, code="0599", role="backoffice", username="rotterdam")
    stranger = login(client, "rotterdam")
    assert start(client, stranger, case.id).status_code == 404
    start(client, office, case.id)
    assert client.get("/v1/bkr/registrations", headers=stranger).json()["items"] == []
    assert len(client.get("/v1/bkr/registrations", headers=office).json()["items"]) == 1


def test_the_trajectory_is_ended_on_the_case_it_closed_which_is_not_reopened(client: TestClient, session, office):  # type: ignore[no-untyped-def]
    case = accepted_case(client, session, office)
    start(client, office, case.id, decision_date="2026-11-02", result="Vervolghulp en/of verwijzing")
    assert client.get(f"/v1/cases/{case.id}", headers=office).json()["result"] == "Vervolghulp en/of verwijzing"
    again = client.post(f"/v1/cases/{case.id}/close", headers=office, json={"result": "Inwoner is overleden"})
    assert again.status_code == 409 and again.json()["type"].endswith("illegal-transition")
    reopened = client.post(f"/v1/cases/{case.id}/reopen", headers=office)
    assert reopened.status_code == 409 and reopened.json()["type"].endswith("handed-over")
    ended = client.post(
        f"/v1/cases/{case.id}/trajectory/end", headers=office, json={"end_date": "2026-11-25", "outcome": "completed"}
    )
    assert ended.status_code == 200 and [r["action"] for r in ended.json()["registrations"]] == ["register", "end"]


def test_a_trajectory_hands_over_with_a_follow_up_result_only(client: TestClient, session, office):  # type: ignore[no-untyped-def]
    case = accepted_case(client, session, office)
    refused = start(client, office, case.id, result="Inwoner is overleden")
    assert refused.status_code == 422
    assert registrations(session) == [] and read(session, select(Trajectory)) == []


def test_a_partner_does_not_learn_of_the_trajectory(client: TestClient, session, office):  # type: ignore[no-untyped-def]
    case = accepted_case(client, session, office)
    start(client, office, case.id)
    partner = make_partner(session, scopes=("cases:read",))
    refused = client.get(f"/v1/cases/{case.id}", headers=partner_login(client, partner.client_id))
    assert refused.status_code == 403 and "trajectory" not in refused.text
    assert client.get(f"/v1/cases/{case.id}", headers=office).json()["trajectory"] is not None
