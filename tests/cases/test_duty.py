"""The 28-day duty is to act: any contact attempt on or before the due date meets it, reached or
not. The case list, the dashboard, the console, the monitor and the case export agree on it."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from api.models import Case, Household, Municipality, StaffUser, VisitEvent
from api.municipality.policy import MunicipalitySettings
from api.platform.sequence import start_sequence
from tests.console.helpers import browser, sign_in, text_of
from tests.factories import NOW, _fast_hasher, login, make_case, make_municipality, make_user

DAY = timedelta(days=1)


def letter(client: TestClient, headers, case_id, when: datetime):  # type: ignore[no-untyped-def]
    response = client.post(
        f"/v1/cases/{case_id}/actions",
        headers=headers,
        json={"action_id": str(uuid.uuid4()), "kind": "letter_sent", "occurred_at": when.isoformat()},
    )
    assert response.status_code == 200, response.text


def overdue_everywhere(client: TestClient, app: FastAPI, headers, case_id) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    """Whether each view of the back office counts the case as overdue."""
    listed = {
        item["id"] for item in client.get("/v1/cases", headers=headers, params={"overdue": "true"}).json()["items"]
    }
    detail = client.get(f"/v1/cases/{case_id}", headers=headers).json()
    export = list(csv.DictReader(io.StringIO(client.get("/v1/cases/export", headers=headers).text)))
    with browser(app) as console:
        assert sign_in(console, "office1").status_code == 303
        page = text_of(console.get(f"/console/zaken/{case_id}"))
    return {
        "list": str(case_id) in listed,
        "case": detail["overdue"],
        "export": next(row["overdue"] for row in export if row["case_id"] == str(case_id)) == "yes",
        "console": "verlopen" in page,
    }


@pytest.fixture
def office(client: TestClient, session: Session) -> dict[str, str]:
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    return login(client, "office1")


def test_a_letter_on_day_10_keeps_a_case_off_every_overdue_list_on_day_40(  # type: ignore[no-untyped-def]
    client: TestClient, app: FastAPI, session: Session, office, clock
):
    written, silent = make_case(session, postcode="1053KL"), make_case(session, postcode="1055AB")
    for case in (written, silent):
        case.first_contact_due_date = date(2026, 12, 24)  # received 26 November
        session.add(case)
    session.commit()
    letter(client, office, written.id, NOW + 10 * DAY)
    clock.advance(days=40)
    office = login(client, "office1")
    assert overdue_everywhere(client, app, office, written.id) == dict.fromkeys(
        ("list", "case", "export", "console"), False
    )
    assert overdue_everywhere(client, app, office, silent.id) == dict.fromkeys(
        ("list", "case", "export", "console"), True
    )
    assert client.get("/v1/dashboard", headers=office).json()["overdue"] == 1


def test_an_unreached_visit_counts_as_in_time_and_a_late_attempt_does_not(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, office, clock
):
    worker = make_user(session, role="worker", username="worker1")
    visited, late = make_case(session, worker=worker, postcode="1053KL"), make_case(session, postcode="1055AB")
    for case in (visited, late):
        case.first_contact_due_date = date(2026, 11, 30)
        session.add(case)
    session.add(
        VisitEvent(
            id=uuid.uuid4(),
            municipality_code="0363",
            case_id=visited.id,
            author_id=worker.id,
            kind="visit_attempt",
            occurred_at=datetime(2026, 11, 30, 22, 30, tzinfo=UTC),  # 23:30 Dutch
            received_at=NOW,
            base_version=1,
            payload={"reached": False},
            outcome="applied",
            change_seq=0,
        )
    )
    session.commit()
    clock.advance(days=5)
    office = login(client, "office1")
    letter(client, office, late.id, datetime(2026, 12, 1, 9, tzinfo=UTC))  # a day after its due date
    overdue = [
        item["id"] for item in client.get("/v1/cases", headers=office, params={"overdue": "true"}).json()["items"]
    ]
    assert overdue == [str(late.id)]  # acting late does not undo a missed deadline
    assert client.get(f"/v1/cases/{visited.id}", headers=office).json()["first_attempt_date"] == "2026-11-30"


def test_a_visit_after_23_00_utc_on_the_due_date_is_the_next_dutch_day(
    client: TestClient, session: Session, office, clock
):  # type: ignore[no-untyped-def]
    worker = make_user(session, role="worker", username="worker1")
    case = make_case(session, worker=worker)
    case.first_contact_due_date = date(2026, 11, 30)
    session.add(case)
    session.add(
        VisitEvent(
            id=uuid.uuid4(),
            municipality_code="0363",
            case_id=case.id,
            author_id=worker.id,
            kind="visit_attempt",
            occurred_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC),  # 00:30 on 1 Dec
            received_at=NOW,
            base_version=1,
            payload={"reached": False},
            outcome="applied",
            change_seq=0,
        )
    )
    session.commit()
    clock.advance(days=5)
    detail = client.get(f"/v1/cases/{case.id}", headers=login(client, "office1")).json()
    assert (detail["first_attempt_date"], detail["overdue"]) == ("2026-12-01", True)


# --- the same number everywhere -----------------------------------------------------------------

histories = st.lists(
    st.fixed_dictionaries(
        {
            "due_in": st.integers(-20, 10),  # days from the report's day
            "closed": st.sampled_from([False, False, False, True]),
            "attempts": st.lists(
                st.tuples(
                    st.integers(-40, 5),
                    st.sampled_from(
                        [
                            "visit_attempt",
                            "phone_attempt",
                            "letter_sent",
                            "card_left",
                            "note",
                            "mail_sent",
                            "sms_sent",
                            "administrative",
                            "appointment_kept",
                        ]
                    ),
                    st.sampled_from(["applied", "applied", "conflict"]),
                    st.integers(0, 23),
                ),
                max_size=2,
            ),
        }
    ),
    min_size=1,
    max_size=6,
)
_codes = iter(range(1000, 9999))


@settings(
    max_examples=20,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories)
def test_dashboard_list_console_and_monitor_count_the_same_overdue_cases(  # type: ignore[no-untyped-def]
    client: TestClient, app: FastAPI, session: Session, clock, history
):
    code = f"{next(_codes):04d}"  # a municipality of its own per example
    session.add(
        Municipality(
            code=code, name=f"Gemeente {code}", settings=MunicipalitySettings().model_dump(mode="json"), created_at=NOW
        )
    )
    session.flush()
    start_sequence(session, code)
    office = StaffUser(
        municipality_code=code,
        username=f"office-{code}",
        display_name="O",
        role="backoffice",
        password_hash=_fast_hasher.hash("correct horse battery staple"),
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(office)
    session.flush()
    today = date(2026, 11, 26)
    for number, facts in enumerate(history):
        household = Household(municipality_code=code, address_key=f"{number}", created_at=NOW)
        session.add(household)
        session.flush()
        case = Case(
            municipality_code=code,
            household_id=household.id,
            classification="single",
            opened_at=NOW - 30 * DAY,
            first_contact_due_date=today + facts["due_in"] * DAY,
            state="closed" if facts["closed"] else "new",
            result="Inwoner is overleden" if facts["closed"] else None,
        )
        session.add(case)
        session.flush()
        for offset, kind, outcome, hour in facts["attempts"]:
            session.add(
                VisitEvent(
                    id=uuid.uuid4(),
                    municipality_code=code,
                    case_id=case.id,
                    author_id=office.id,
                    kind=kind,
                    occurred_at=datetime.combine(today + offset * DAY, datetime.min.time(), UTC)
                    + timedelta(hours=hour),
                    received_at=NOW,
                    base_version=1,
                    payload={"reached": False},
                    outcome=outcome,
                    change_seq=0,
                )
            )
    session.commit()
    headers = login(client, f"office-{code}")
    dashboard = client.get("/v1/dashboard", headers=headers).json()["overdue"]
    listed = len(client.get("/v1/cases", headers=headers, params={"overdue": "true", "limit": 200}).json()["items"])
    monitor = client.get(
        "/v1/reports/monitor", headers=headers, params={"from": "2026-10-01", "to": "2026-11-26"}
    ).json()
    with browser(app) as console:
        assert sign_in(console, f"office-{code}").status_code == 303
        shown = int(re.search(r"(\d+) (?:zaak|zaken) over de termijn", text_of(console.get("/console"))).group(1))
    assert dashboard == listed == shown == monitor["first_attempt"]["overdue"]
