"""A case's result must fit its history: the rule as a pure function, and the API refusing a misfit."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session

from api.cases.rules import DDAS_RESULTS, NO_CONTACT, Attempt, allowed_results, result_problem
from tests.bkr.helpers import accepted_case, start
from tests.factories import NOW, login, make_case, make_municipality, make_user

POLICY = {"no_contact_attempts": 3, "no_contact_channels": 2}


def attempts(*channels: str, reached: bool = False) -> list[Attempt]:
    return [Attempt(channel=channel, reached=reached) for channel in channels]


def test_no_response_after_earlier_contact_needs_an_earlier_contact():
    assert "reached" in result_problem(
        "Geen reactie na eerder contact", attempts=attempts("visit"), reached=False, **POLICY
    )
    assert (
        result_problem(
            "Geen reactie na eerder contact", attempts=attempts("phone", reached=True), reached=True, **POLICY
        )
        is None
    )


def test_definitely_no_contact_needs_the_policys_attempts_over_its_channels_without_reach():
    assert result_problem(NO_CONTACT, attempts=attempts("visit", "visit", "visit"), reached=False, **POLICY) is not None
    assert result_problem(NO_CONTACT, attempts=attempts("visit", "visit", "letter"), reached=False, **POLICY) is None
    assert "reached" in result_problem(
        NO_CONTACT, attempts=attempts("visit", "visit", "letter"), reached=True, **POLICY
    )


@pytest.mark.parametrize(
    "result",
    [
        "Vervolghulp en/of verwijzing financieel",
        "Vervolghulp en/of verwijzing",
        "Vervolghulp en/of verwijzing niet financieel",
        "(Budget)advies en/of quick fix",
    ],
)
def test_follow_up_help_and_advice_need_a_reached_contact(result: str):
    assert result_problem(result, attempts=[], reached=False, **POLICY) is not None
    assert result_problem(result, attempts=[], reached=True, **POLICY) is None


histories = st.lists(st.builds(Attempt, st.sampled_from(["letter", "phone", "visit"]), st.booleans()), max_size=6)


@given(history=histories, claimed_reach=st.booleans())
def test_the_allowed_results_are_exactly_those_without_a_problem(history, claimed_reach):  # type: ignore[no-untyped-def]
    reached = claimed_reach or any(attempt.reached for attempt in history)
    allowed = allowed_results(attempts=history, reached=reached, **POLICY)
    assert allowed == [
        r for r in DDAS_RESULTS if result_problem(r, attempts=history, reached=reached, **POLICY) is None
    ]
    assert "Niet opgepakt: andere reden" in allowed  # the office may always say it was not picked up
    assert ("Geen reactie na eerder contact" in allowed) == reached
    assert not (NO_CONTACT in allowed and reached)


@pytest.fixture
def office(client: TestClient, session: Session) -> dict[str, str]:
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    return login(client, "office1")


def test_no_response_after_earlier_contact_is_refused_on_a_case_never_reached(
    client: TestClient, session: Session, office
):  # type: ignore[no-untyped-def]
    case = make_case(session)
    client.post(
        f"/v1/cases/{case.id}/actions",
        headers=office,
        json={
            "action_id": str(uuid.uuid4()),
            "kind": "phone_attempt",
            "occurred_at": NOW.isoformat(),
            "reached": False,
        },
    )
    detail = client.get(f"/v1/cases/{case.id}", headers=office).json()
    assert "Geen reactie na eerder contact" not in detail["allowed_results"]
    refused = client.post(
        f"/v1/cases/{case.id}/close", headers=office, json={"result": "Geen reactie na eerder contact"}
    )
    assert refused.status_code == 409 and refused.json()["type"] == "urn:doorstep:problem:result-does-not-fit"
    assert "reached the resident" in refused.json()["detail"]
    assert client.get(f"/v1/cases/{case.id}", headers=office).json()["state"] != "closed"


def test_a_case_in_a_trajectory_is_closed_not_overdue_and_its_ddas_entry_has_the_result(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, office, clock
):
    case = accepted_case(client, session, office)
    assert start(client, office, case.id, decision_date="2026-11-26").status_code == 201
    clock.advance(days=60)  # long past the first-contact deadline
    office = login(client, "office1")
    detail = client.get(f"/v1/cases/{case.id}", headers=office).json()
    assert (detail["state"], detail["overdue"], detail["result"]) == (
        "closed",
        False,
        "Vervolghulp en/of verwijzing financieel",
    )
    assert detail["trajectory"]["decision_date"] == "2026-11-26"
    board = client.get("/v1/dashboard", headers=office).json()
    assert board["open_by_state"] == {} and board["overdue"] == 0
    ddas = client.get("/v1/reports/ddas", headers=office, params={"from": "2026-11-01", "to": "2026-11-30"}).json()
    [zaak] = ddas["leveringen"][0]["vroegsignaalzaken"]
    assert zaak["resultaat"] == "Vervolghulp en/of verwijzing financieel"
