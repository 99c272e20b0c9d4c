"""A signal's DDAS status follows its case: Nog niet opgepakt → Opgepakt with the first attempt; a
case closed before any attempt says why not; repeats stay repeats. Stored, shown, filterable."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from api.models import Case, Municipality, Signal, VisitEvent
from api.platform.db import make_engine, migrate
from api.signals import status as signal_status
from api.signals.rules import SIGNAL_STATUSES
from api.signals.rules import signal_status as rule
from tests.factories import NOW, csv_file, login, make_case, make_municipality, make_user, read, row, upload


def statuses(client: TestClient, headers, case_id) -> list[str]:  # type: ignore[no-untyped-def]
    return [s["status"] for s in client.get(f"/v1/cases/{case_id}", headers=headers).json()["signals"]]


def test_a_signal_is_not_yet_picked_up_until_its_case_has_an_attempt(client: TestClient, session: Session):
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    office = login(client, "office1")
    upload(client, office, csv_file(row("S1"), row("S2", partner="Energie", creditor="Eneco")))
    [case] = read(session, select(Case))
    assert statuses(client, office, case.id) == ["Nog niet opgepakt"] * 2
    listed = client.get("/v1/cases", headers=office, params={"signal_status": "Nog niet opgepakt"}).json()["items"]
    assert [c["id"] for c in listed] == [str(case.id)]
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
    assert statuses(client, office, case.id) == ["Opgepakt"] * 2  # reached or not: the attempt picks them up
    assert client.get("/v1/cases", headers=office, params={"signal_status": "Nog niet opgepakt"}).json()["items"] == []
    # A signal that joins the case later is picked up with it.
    upload(client, office, csv_file(row("S3", partner="Water", creditor="Waternet", day="2026-11-04")), name="more.csv")
    assert statuses(client, office, case.id) == ["Opgepakt"] * 3
    ddas = client.get("/v1/reports/ddas", headers=office, params={"from": "2026-11-01", "to": "2026-11-30"}).json()
    exported = {s["ID"]: s["status"] for delivery in ddas["leveringen"] for s in delivery["vroegsignalen"]}
    assert exported == {"S1": "Opgepakt", "S2": "Opgepakt", "S3": "Opgepakt"}


def test_closing_before_any_attempt_says_why_and_reopening_takes_it_back(client: TestClient, session: Session):
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    office = login(client, "office1")
    case = make_case(session)
    for result, status in (
        ("Inwoner is overleden", "Inwoner is overleden"),
        ("Persoon is geen inwoner (meer) in de gemeente", "Persoon is geen inwoner (meer) in de gemeente"),
        ("Inwoner heeft al een ander lopend traject", "Niet opgepakt: andere reden"),
    ):
        assert client.post(f"/v1/cases/{case.id}/close", headers=office, json={"result": result}).status_code == 200
        assert statuses(client, office, case.id) == [status]
        assert client.post(f"/v1/cases/{case.id}/reopen", headers=office).status_code == 200
        assert statuses(client, office, case.id) == ["Nog niet opgepakt"]


def test_a_repeat_stays_a_repeat_whatever_its_case_does(client: TestClient, session: Session):
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    office = login(client, "office1")
    upload(client, office, csv_file(row("S1")))
    upload(client, office, csv_file(row("S2", day="2026-11-20")), name="again.csv")  # same arrear, not higher
    [case] = read(session, select(Case))
    client.post(
        f"/v1/cases/{case.id}/actions",
        headers=office,
        json={"action_id": str(uuid.uuid4()), "kind": "letter_sent", "occurred_at": NOW.isoformat()},
    )
    assert sorted(statuses(client, office, case.id)) == ["Niet opgepakt: herhaalde melding", "Opgepakt"]


cases = st.fixed_dictionaries(
    {
        "repeat": st.booleans(),
        "events": st.lists(
            st.tuples(
                st.sampled_from(["visit_attempt", "phone_attempt", "letter_sent", "card_left", "note"]),
                st.sampled_from(["applied", "conflict"]),
            ),
            max_size=3,
        ),
        "closed_with": st.none()
        | st.sampled_from(
            [
                "Inwoner is overleden",
                "Niet opgepakt: onterecht signaal",
                "Definitief geen contact kunnen krijgen",
                "Niet opgepakt: andere reden",
            ]
        ),
    }
)


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(cases, min_size=1, max_size=4))
def test_the_stored_status_is_the_rule_applied_to_the_case(session: Session, history):  # type: ignore[no-untyped-def]
    if session.get(Municipality, "0363") is None:
        make_municipality(session)
    author = make_user(session, role="backoffice")
    expected, made = {}, []
    for facts in history:
        case = make_case(session)
        case.state, case.result = ("closed", facts["closed_with"]) if facts["closed_with"] else ("new", None)
        session.add(case)
        [signal] = session.exec(select(Signal).where(Signal.case_id == case.id)).all()
        signal.is_repeat = facts["repeat"]
        session.add(signal)
        for kind, outcome in facts["events"]:
            session.add(
                VisitEvent(
                    id=uuid.uuid4(),
                    municipality_code="0363",
                    case_id=case.id,
                    author_id=author.id,
                    kind=kind,
                    occurred_at=NOW,
                    received_at=NOW,
                    base_version=1,
                    payload={},
                    outcome=outcome,
                    change_seq=0,
                )
            )
        attempted = any(
            kind in ("visit_attempt", "phone_attempt", "letter_sent") and outcome == "applied"
            for kind, outcome in facts["events"]
        )
        expected[signal.id] = rule(
            is_repeat=facts["repeat"],
            case_attempted=attempted,
            case_closed=facts["closed_with"] is not None,
            case_result=facts["closed_with"],
        )
        made.append(case.id)
    session.flush()
    later = NOW + timedelta(hours=1)
    signal_status.refresh(session, made, now=later)
    rows = session.exec(select(Signal).where(Signal.case_id.in_(made)).execution_options(populate_existing=True)).all()
    stored = {s.id: s.status for s in rows}
    changed = {s.id: s.status_changed_at for s in rows}
    session.rollback()
    assert stored == expected and set(stored.values()) <= set(SIGNAL_STATUSES)
    # A signal whose status moved remembers when; one that kept its first status does not.
    assert changed == {i: (later if status != "Nog niet opgepakt" else None) for i, status in expected.items()}


def test_the_migration_sets_the_status_of_stored_signals_from_their_cases(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'existing.db'}"
    migrate(url, "0013")
    engine = make_engine(url)
    at, closed, written = "2026-11-27 09:00:00.000000", "2026-11-28 10:00:00.000000", "2026-11-29 08:00:00.000000"
    ids = {
        name: uuid.uuid4().hex for name in ("user", "household", "open", "closed", "contacted", "s1", "s2", "s3", "s4")
    }
    with engine.begin() as c:
        c.exec_driver_sql(
            f"INSERT INTO municipality (code, name, settings, created_at) VALUES ('0363', 'A', '{{}}', '{at}')"
        )
        c.exec_driver_sql(
            "INSERT INTO staff_user (id, municipality_code, username, display_name, role, password_hash, "
            f"active, created_at, updated_at) VALUES ('{ids['user']}', '0363', 'o', 'O', 'backoffice', 'x', 1, '{at}', '{at}')"
        )
        c.exec_driver_sql(
            f"INSERT INTO household (id, municipality_code, address_key, created_at) VALUES ('{ids['household']}', '0363', 'k', '{at}')"
        )
        for name, state, result in (
            ("open", "new", None),
            ("closed", "closed", "Inwoner is overleden"),
            ("contacted", "contacted", None),
        ):
            c.exec_driver_sql(
                "INSERT INTO outreach_case (id, municipality_code, household_id, state, classification, crisis, opened_at, "
                "first_contact_due_date, result, closed_at, version, change_seq) VALUES "
                f"('{ids[name]}', '0363', '{ids['household']}', '{state}', 'single', 0, '{at}', '2026-12-24', "
                f"{'NULL' if result is None else repr(result)}, {'NULL' if result is None else repr(closed)}, 1, 0)"
            )
        for signal, case, repeat in (
            ("s1", "open", 0),
            ("s2", "closed", 0),
            ("s3", "contacted", 0),
            ("s4", "contacted", 1),
        ):
            c.exec_driver_sql(
                "INSERT INTO signal (id, municipality_code, external_id, household_id, case_id, partner_type, signal_date, "
                "received_at, crisis, warm_handover, is_repeat, status, created_at) VALUES "
                f"('{ids[signal]}', '0363', '{signal}', '{ids['household']}', '{ids[case]}', 'Huur', '2026-11-20', '{at}', "
                f"0, 0, {repeat}, 'Opgepakt', '{at}')"
            )
        c.exec_driver_sql(
            "INSERT INTO visit_event (id, municipality_code, case_id, author_id, kind, occurred_at, received_at, "
            f"base_version, payload, outcome, change_seq, clock_skew, body_hash) VALUES ('{uuid.uuid4().hex}', '0363', "
            f"'{ids['contacted']}', '{ids['user']}', 'letter_sent', '{written}', '{written}', 1, '{{}}', 'applied', 0, 0, '')"
        )
    migrate(url)
    with engine.begin() as c:
        found = dict(c.execute(sa.text("SELECT external_id, status FROM signal")).all())
        changed = dict(c.execute(sa.text("SELECT external_id, status_changed_at FROM signal")).all())
    engine.dispose()
    assert found == {
        "s1": "Nog niet opgepakt",
        "s2": "Inwoner is overleden",
        "s3": "Opgepakt",
        "s4": "Niet opgepakt: herhaalde melding",
    }
    # 0017: when each status was reached, from the same history (null: as received).
    assert {key: value[:19] if value else None for key, value in changed.items()} == {
        "s1": None,
        "s2": closed[:19],
        "s3": written[:19],
        "s4": None,
    }
