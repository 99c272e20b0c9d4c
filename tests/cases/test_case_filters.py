"""The back office's case list: every filter, combined, ordered by deadline, paged."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.models import Conflict
from api.platform.middleware import DEPRECATED_QUERY_KEYS
from tests.factories import login, make_case, make_municipality, make_user

SNAKE_CASE = {camel: snake for snake, camel in DEPRECATED_QUERY_KEYS.items()}


@pytest.fixture
def cases(client: TestClient, session: Session):  # type: ignore[no-untyped-def]
    make_municipality(session)
    worker = make_user(session, role="worker", username="worker1")
    make_user(session, role="backoffice", username="office1")
    made = {
        "overdue": make_case(session, postcode="1011AB", worker=worker),
        "soon": make_case(session, postcode="1053KL"),
        "later": make_case(session, postcode="1102XY"),
    }
    made["overdue"].first_contact_due_date = date(2026, 11, 20)
    made["soon"].first_contact_due_date = date(2026, 11, 30)
    made["soon"].classification, made["soon"].crisis = "multiple", True
    made["later"].first_contact_due_date = date(2027, 1, 5)
    made["closed"] = make_case(session, postcode="1011AC")
    made["closed"].first_contact_due_date = date(2026, 11, 21)
    made["closed"].state, made["closed"].result = "closed", "Definitief geen contact kunnen krijgen"
    for case in made.values():
        session.add(case)
    session.add(
        Conflict(
            municipality_code="0363",
            case_id=made["later"].id,
            kind="accepted-and-declined",
            sides=[],
            opened_at=datetime(2026, 11, 25, tzinfo=UTC),
        )
    )
    session.commit()
    return {name: str(case.id) for name, case in made.items()} | {
        "worker": str(worker.id),
        "headers": login(client, "office1"),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["overdue", "closed", "soon", "later"]),
        ({"overdue": "true"}, ["overdue"]),  # a closed case is nobody's work any more
        ({"open": "true", "overdue": "true"}, ["overdue"]),
        ({"open": "false"}, ["closed"]),
        ({"overdue": "false"}, ["closed", "soon", "later"]),
        ({"dueWithinDays": 7}, ["overdue", "soon"]),  # still to act on
        ({"open": "true", "dueWithinDays": 7}, ["overdue", "soon"]),
        ({"classification": "multiple"}, ["soon"]),
        ({"crisis": "true"}, ["soon"]),
        ({"partnerType": "Huur"}, ["overdue", "closed", "soon", "later"]),
        ({"partnerType": "Zorg"}, []),
        ({"unassigned": "true"}, ["closed", "soon", "later"]),
        ({"postcodeFrom": "1050", "postcodeTo": "1099"}, ["soon"]),
        ({"postcodeFrom": "1053 KL", "postcodeTo": "1053KL"}, ["soon"]),
        ({"hasOpenConflict": "true"}, ["later"]),
        ({"hasOpenConflict": "false", "unassigned": "true", "open": "true"}, ["soon"]),
        ({"state": "new", "dueWithinDays": 30}, ["overdue", "soon"]),
    ],
)
@pytest.mark.parametrize("spelling", ["lowerCamelCase", "deprecated snake_case"])
def test_filters_select_the_right_cases_in_deadline_order(client: TestClient, cases, params, expected, spelling):  # type: ignore[no-untyped-def]
    if spelling == "deprecated snake_case":  # still accepted throughout 0.2.x
        params = {SNAKE_CASE.get(key, key): value for key, value in params.items()}
    response = client.get("/v1/cases", headers=cases["headers"], params=params)
    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()["items"]] == [cases[name] for name in expected]


def test_the_worker_filter_and_paging(client: TestClient, cases):  # type: ignore[no-untyped-def]
    mine = client.get("/v1/cases", headers=cases["headers"], params={"workerId": cases["worker"]}).json()
    assert [item["id"] for item in mine["items"]] == [cases["overdue"]]
    first = client.get("/v1/cases", headers=cases["headers"], params={"limit": 2}).json()
    second = client.get(
        "/v1/cases", headers=cases["headers"], params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    paged = [i["id"] for i in first["items"] + second["items"]]
    assert paged == [cases["overdue"], cases["closed"], cases["soon"], cases["later"]]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "params", [{"postcodeFrom": "10"}, {"classification": "huge"}, {"dueWithinDays": -1}, {"partnerType": "Bakker"}]
)
def test_bad_filters_are_a_422(client: TestClient, cases, params):  # type: ignore[no-untyped-def]
    assert client.get("/v1/cases", headers=cases["headers"], params=params).status_code == 422


def test_a_deadline_has_passed_once_its_day_has_ended_in_the_netherlands(client: TestClient, session: Session, clock):  # type: ignore[no-untyped-def]
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    case = make_case(session)
    case.first_contact_due_date = date(2026, 11, 26)
    session.add(case)
    session.commit()
    clock.current = datetime(2026, 11, 26, 22, 30, tzinfo=UTC)  # 23:30 in Amsterdam: still the 26th
    headers = login(client, "office1")
    response = client.get("/v1/cases", headers=headers, params={"overdue": "true"})
    assert response.json()["items"] == [], response.text
    clock.current = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # 00:30 on the 27th there; UTC says the 26th
    headers = login(client, "office1")
    overdue = client.get("/v1/cases", headers=headers, params={"overdue": "true"}).json()["items"]
    assert [item["id"] for item in overdue] == [str(case.id)]
    assert client.get("/v1/dashboard", headers=headers).json()["overdue"] == 1


def test_both_spellings_of_one_query_key_are_refused_not_guessed(client: TestClient, cases):  # type: ignore[no-untyped-def]
    response = client.get("/v1/cases?dueWithinDays=7&due_within_days=30", headers=cases["headers"])
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:doorstep:problem:bad-request"
    assert "dueWithinDays" in response.json()["detail"]


def test_the_deprecated_spelling_keeps_its_value_byte_for_byte(client: TestClient, cases):  # type: ignore[no-untyped-def]
    response = client.get("/v1/cases?postcode_from=1053%20KL&postcodeTo=1053KL", headers=cases["headers"])
    assert [item["id"] for item in response.json()["items"]] == [cases["soon"]]
