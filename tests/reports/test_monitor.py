"""The monitor report over a March of real intake, office actions and field events, in JSON and CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import AuditEntry, Case, Household, Trajectory
from api.reports.monitor.routes import tidy_rows
from tests.factories import (
    KEYS,
    amsterdam_and_rotterdam,
    csv_file,
    event,
    jwk_of,
    login,
    make_case,
    make_municipality,
    make_partner,
    make_user,
    partner_login,
    push,
    read,
    row,
    statements_run,
)
from tests.factories import upload as upload_file

MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def upload(client: TestClient, headers, content: bytes, *, name: str = "vps.csv") -> None:  # type: ignore[no-untyped-def]
    response = upload_file(client, headers, content, name=name)
    assert response.status_code == 201 and response.json()["rejected"] == 0, response.text


def at(clock, *args: int) -> datetime:  # type: ignore[no-untyped-def]
    clock.current = datetime(*args, tzinfo=UTC)
    return clock.current


def case_at(session: Session, postcode: str) -> Case:
    [case] = read(
        session,
        select(Case)
        .join(Household, Household.id == Case.household_id)  # type: ignore[arg-type]
        .where(Household.postcode == postcode),
    )
    return case


def office_action(client: TestClient, headers, case: Case, kind: str, when: datetime, **fields):  # type: ignore[no-untyped-def]
    body = {"action_id": str(uuid.uuid4()), "kind": kind, "occurred_at": when.isoformat(), **fields}
    response = client.post(f"/v1/cases/{case.id}/actions", headers=headers, json=body)
    assert response.status_code == 200, response.text


def close(client: TestClient, headers, case: Case, result: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post(f"/v1/cases/{case.id}/close", headers=headers, json={"result": result})
    assert response.status_code == 200, response.text


@pytest.fixture
def march(client: TestClient, session: Session, clock):  # type: ignore[no-untyped-def]
    """Amsterdam's March 2026, built through the API; Rotterdam's activity alongside must never show."""
    worker = amsterdam_and_rotterdam(session)

    def office():  # type: ignore[no-untyped-def]
        return login(client, "office1")  # tokens live 15 minutes, and the clock jumps

    at(clock, 2026, 2, 20, 9)  # before the period: household 1011AA gets a case
    upload(
        client,
        office(),
        csv_file(row("S0", partner="Zorg", creditor="CZ", day="2026-02-19", postcode="1011AA", number="1")),
        name="feb.csv",
    )
    at(clock, 2026, 3, 2, 10)  # Monday
    upload(
        client,
        office(),
        csv_file(
            row("S1", creditor="Ymere", since="01-01-2026", day="2026-03-01", postcode="1053KL"),
            row("S2", partner="Energie", creditor="Vattenfall", day="2026-03-01", postcode="1053KL"),  # multiple
            row(
                "S3", partner="Water", creditor="Waternet", day="2026-03-01", postcode="1055AB", number="7", crisis="ja"
            ),
            row("S4", partner="Zorg", creditor="CZ", day="2026-03-01", postcode="1102XY", number="3"),
            row("S8", day="2026-03-01", creditor="Eigen Haard", postcode="1061AA", number="8"),
            row(
                "S9", partner="Energie", creditor="Eneco", day="2026-03-01", postcode="1011AA", number="1"
            ),  # consecutive
        ),
        name="march.csv",
    )
    at(clock, 2026, 3, 20, 8)  # Ymere again for the same arrear, not higher: a repeat
    upload(
        client,
        office(),
        csv_file(row("S7", creditor="Ymere", since="01-01-2026", day="2026-03-19", postcode="1053KL")),
        name="repeat.csv",
    )
    at(clock, 2026, 3, 31, 21, 30)  # the last half hour of the period: 23:30 in Amsterdam (summer time, UTC+2)
    upload(client, office(), csv_file(row("S5", day="2026-03-31", postcode="1071AA", number="5")), name="late.csv")
    at(clock, 2026, 3, 31, 22, 30)  # just after it: 00:30 on 1 April in Amsterdam
    upload(client, office(), csv_file(row("S6", day="2026-04-01", postcode="1081AA", number="6")), name="april.csv")

    c0, c1, c2 = case_at(session, "1011AA"), case_at(session, "1053KL"), case_at(session, "1055AB")
    c3, c4, c5, c6 = (case_at(session, p) for p in ("1102XY", "1071AA", "1081AA", "1061AA"))
    for case in (c0, c1, c2, c3, c5):
        assert (
            client.post(
                f"/v1/cases/{case.id}/assignment", headers=office(), json={"worker_id": str(worker.id)}
            ).status_code
            == 200
        )
    at(clock, 2026, 4, 3, 9)  # the worker's phone syncs what happened in March
    enrolled = client.post(
        "/v1/devices", headers=login(client, "worker1"), json={"public_jwk": jwk_of(KEYS[0]), "label": "phone"}
    ).json()
    device = {"id": enrolled["device_id"], "headers": {"Authorization": f"Bearer {enrolled['access_token']}"}}

    # c1: a letter, an unanswered call, a call that reaches on the due date itself (23:00 in Amsterdam), help accepted.
    office_action(client, office(), c1, "letter_sent", datetime(2026, 3, 3, 9, tzinfo=UTC))
    office_action(client, office(), c1, "phone_attempt", datetime(2026, 3, 10, 9, tzinfo=UTC), reached=False)
    office_action(client, office(), c1, "phone_attempt", datetime(2026, 3, 30, 21, tzinfo=UTC), reached=True)
    # c2 (crisis, due 5 March): nobody home and a card, then reached by phone on the 9th: late.
    push(
        client,
        device,
        [
            event(c2.id, "visit_attempt", when=datetime(2026, 3, 4, 10, tzinfo=UTC), reached=False),
            event(c2.id, "card_left", when=datetime(2026, 3, 4, 10, 5, tzinfo=UTC)),
        ],
    )
    office_action(client, office(), c2, "phone_attempt", datetime(2026, 3, 9, 9, tzinfo=UTC), reached=True)
    # c3: one visit nobody answered; closed and reopened the next day, so not closed in March.
    push(client, device, [event(c3.id, "visit_attempt", when=datetime(2026, 3, 12, 10, tzinfo=UTC), reached=False)])
    # c0 (opened in February): reached at the very start of the period.
    push(client, device, [event(c0.id, "visit_attempt", when=datetime(2026, 3, 1, tzinfo=UTC), reached=True)])
    push(client, device, [event(c1.id, "help_accepted", version=9, when=datetime(2026, 3, 31, 10, tzinfo=UTC))])
    # c5 (April): reached and accepted help after the period.
    push(
        client,
        device,
        [
            event(c5.id, "visit_attempt", when=datetime(2026, 4, 2, 10, tzinfo=UTC), reached=True),
            event(c5.id, "help_accepted", when=datetime(2026, 4, 2, 10, 5, tzinfo=UTC)),
        ],
    )

    at(clock, 2026, 3, 15, 9)
    close(client, office(), c3, "Niet opgepakt: andere reden")
    at(clock, 2026, 3, 16, 9)
    assert client.post(f"/v1/cases/{c3.id}/reopen", headers=office()).status_code == 200
    at(clock, 2026, 3, 20, 9)
    close(client, office(), c2, "Inwoner regelt het zelf/hoeft geen hulp vanuit vroegsignalering")
    at(clock, 2026, 3, 25, 9)
    close(client, office(), c6, "Niet opgepakt: onterecht signaal")  # closed without any contact
    at(clock, 2026, 3, 31, 21, 59, 59)  # 23:59:59 in Amsterdam
    close(client, office(), c0, "Vervolghulp en/of verwijzing financieel")
    at(clock, 2026, 4, 2, 9)
    close(client, office(), c5, "Inwoner is overleden")

    # Trajectories: one decided in March, one from last year that ended on 31 March.
    old = make_case(session, postcode="1091AA")
    session.add(
        Trajectory(
            municipality_code="0363",
            case_id=c0.id,
            decision_date=date(2026, 3, 15),
            started_by=worker.id,
            created_at=clock.current,
        )
    )
    session.add(
        Trajectory(
            municipality_code="0363",
            case_id=old.id,
            decision_date=date(2025, 6, 1),
            end_date=date(2026, 3, 31),
            outcome="completed",
            started_by=worker.id,
            created_at=clock.current,
        )
    )
    session.commit()

    # Rotterdam in the same March: signals, a case, a closing, a trajectory.
    at(clock, 2026, 3, 5, 9)
    upload(
        client,
        login(client, "office-rdam"),
        csv_file(
            row("R1", day="2026-03-04", postcode="3011AA"),
            row("R2", partner="Water", creditor="Evides", day="2026-03-04", postcode="3012BB"),
        ),
    )
    r1 = case_at(session, "3011AA")
    at(clock, 2026, 3, 6, 9)
    close(client, login(client, "office-rdam"), r1, "Verwijzing zonder tussenkomst inwoner")
    session.add(
        Trajectory(
            municipality_code="0599",
            case_id=r1.id,
            decision_date=date(2026, 3, 10),
            started_by=worker.id,
            created_at=clock.current,
        )
    )
    session.commit()

    at(clock, 2026, 4, 10, 9)  # the report is made on 10 April
    return {"office": office(), "rdam": login(client, "office-rdam"), "cases": (c0, c1, c2, c3, c4, c5, c6)}


def monitor(client: TestClient, headers, **params):  # type: ignore[no-untyped-def]
    response = client.get("/v1/reports/monitor", headers=headers, params=params or MARCH)
    assert response.status_code == 200, response.text
    return response


def test_the_monitor_counts_signals_by_classification_and_partner_type(client: TestClient, march):  # type: ignore[no-untyped-def]
    signals = monitor(client, march["office"]).json()["signals"]
    # S1, S2, S3, S4, S8, S9 (2 March), S7 (a repeat, 20 March), S5 (31 March 23:30); not S0 (Feb), S6 (April).
    assert (signals["received"], signals["repeats"]) == (8, 1)
    assert signals["by_classification"] == {"single": 4, "multiple": 3, "consecutive": 1}
    assert {k: v for k, v in signals["by_partner_type"].items() if v} == {
        "Huur": 4,
        "Energie": 2,
        "Water": 1,
        "Zorg": 1,
    }
    assert signals["by_partner_type"]["DUO"] == 0 and len(signals["by_partner_type"]) == 11


def test_the_monitor_measures_the_cases_opened_against_their_deadline(client: TestClient, march):  # type: ignore[no-untyped-def]
    cases = monitor(client, march["office"]).json()["cases"]
    assert cases == {
        "opened": 5,
        "first_contact_within_deadline": 1,  # c1, reached on its due date (30 March, 23:00 in Amsterdam)
        "first_contact_after_deadline": 1,  # c2, crisis: due 5 March, reached on the 9th
        "closed_without_contact": 1,  # c6
        "open_past_deadline_without_contact": 1,  # c3: due 30 March, not reached by 10 April
        "open_within_deadline_without_contact": 1,  # c4: opened 31 March, due 28 April
        "share_first_contact_within_deadline": 0.2,
    }


def test_the_monitor_measures_the_duty_by_the_first_attempt_and_reach_by_the_first_reach(client: TestClient, march):  # type: ignore[no-untyped-def]
    report = monitor(client, march["office"]).json()
    # The duty is to act: c1's letter, c2's unanswered visit and c3's unanswered visit all came in time.
    assert report["first_attempt"] == {
        "within_deadline": 3,
        "after_deadline": 0,
        "none_yet": 2,  # c4 (not due yet), c6
        "share_within_deadline": 0.6,
        "overdue": 0,
    }  # c3 was visited in time
    assert report["first_reach"] == {
        "within_deadline": 1,
        "after_deadline": 1,
        "none_yet": 3,
        "share_within_deadline": 0.2,
    }
    rows = client.get(
        "/v1/reports/monitor", headers={**march["office"], "Accept": "text/csv"}, params=MARCH
    ).text.splitlines()
    assert "first_attempt,within_deadline,,3" in rows and "first_reach,after_deadline,,1" in rows


def test_the_monitor_counts_attempts_reach_help_trajectories_and_results(client: TestClient, march):  # type: ignore[no-untyped-def]
    report = monitor(client, march["office"]).json()
    assert report["attempts"] == {
        "by_channel": {
            "letter": 1,
            "phone": 3,
            "visit": 3,
            "mail": 0,
            "sms": 0,
            "appointment": 0,
            "administrative": 0,
        },  # c2: a not-home visit with a card is one attempt
        "reached_by_channel": {
            "letter": 0,
            "phone": 2,
            "visit": 1,
            "mail": 0,
            "sms": 0,
            "appointment": 0,
            "administrative": 0,
        },
    }
    assert report["help"] == {"accepted": 1}
    assert report["trajectories"] == {"started": 1, "ended": 1, "ended_by_outcome": {"completed": 1}}
    closed = report["closed"]
    assert closed["total"] == 3  # c2, c6, c0 (23:59:59 on the 31st); not c3 (reopened), not c5 (April)
    assert {k: v for k, v in closed["by_result"].items() if v} == {
        "Inwoner regelt het zelf/hoeft geen hulp vanuit vroegsignalering": 1,
        "Niet opgepakt: onterecht signaal": 1,
        "Vervolghulp en/of verwijzing financieel": 1,
    }
    assert len(closed["by_result"]) == 16
    assert closed["by_category"] == {
        "Niet opgepakt": 1,
        "Geen contact": 0,
        "Contact, geen vervolghulp": 1,
        "Vervolghulp": 1,
    }
    assert (report["municipality_code"], report["from_date"], report["to_date"]) == ("0363", "2026-03-01", "2026-03-31")


def test_a_day_at_either_edge_of_the_period_counts_exactly_that_day(client: TestClient, march):  # type: ignore[no-untyped-def]
    last = monitor(client, march["office"], **{"from": "2026-03-31", "to": "2026-03-31"}).json()
    assert (last["signals"]["received"], last["cases"]["opened"], last["closed"]["total"]) == (1, 1, 1)
    assert (last["help"]["accepted"], last["trajectories"]["ended"], last["trajectories"]["started"]) == (1, 1, 0)
    assert last["attempts"]["by_channel"] == {
        "letter": 0,
        "phone": 0,
        "visit": 0,
        "mail": 0,
        "sms": 0,
        "appointment": 0,
        "administrative": 0,
    }
    first = monitor(client, march["office"], **{"from": "2026-03-01", "to": "2026-03-01"}).json()
    assert first["attempts"]["reached_by_channel"]["visit"] == 1 and first["signals"]["received"] == 0
    april = monitor(client, march["office"], **{"from": "2026-04-01", "to": "2026-04-30"}).json()
    assert (april["signals"]["received"], april["cases"]["opened"], april["help"]["accepted"]) == (1, 1, 1)
    assert april["closed"]["by_category"]["Niet opgepakt"] == 1


def test_a_period_without_cases_has_no_share_rather_than_an_error(client: TestClient, march):  # type: ignore[no-untyped-def]
    empty = monitor(client, march["office"], **{"from": "2025-01-01", "to": "2025-01-31"}).json()
    assert empty["cases"]["opened"] == 0 and empty["cases"]["share_first_contact_within_deadline"] is None
    assert empty["closed"]["total"] == 0 and sum(empty["closed"]["by_category"].values()) == 0


def test_another_municipality_sees_only_its_own_figures(client: TestClient, march):  # type: ignore[no-untyped-def]
    rdam = monitor(client, march["rdam"]).json()
    assert rdam["municipality_code"] == "0599"
    assert (rdam["signals"]["received"], rdam["cases"]["opened"], rdam["closed"]["total"]) == (2, 2, 1)
    assert rdam["trajectories"]["started"] == 1 and rdam["attempts"]["by_channel"]["visit"] == 0
    assert rdam["closed"]["by_category"]["Vervolghulp"] == 1 and rdam["help"]["accepted"] == 0


def test_the_csv_has_one_figure_per_row_and_says_the_same_as_the_json(client: TestClient, march):  # type: ignore[no-untyped-def]
    as_json = monitor(client, march["office"]).json()
    response = client.get("/v1/reports/monitor", headers={**march["office"], "Accept": "text/csv"}, params=MARCH)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="monitor-0363-2026-03-01-2026-03-31.csv"'
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["section", "key", "subkey", "value"]
    body = [tuple(r) for r in rows[1:]]
    assert ("cases", "opened", "", "5") in body and ("cases", "share_first_contact_within_deadline", "", "0.2") in body
    assert ("closed", "by_category", "Niet opgepakt", "1") in body
    assert ("attempts", "reached_by_channel", "phone", "2") in body and (
        "report",
        "municipality_code",
        "",
        "0363",
    ) in body
    assert body == list(tidy_rows(as_json))


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"from": "2026-03-31", "to": "2026-03-01"}, "/query/from"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "/query/from"),  # 367 days; 366 is the most
        ({"to": "2026-03-31"}, "/query/from"),
        ({"from": "2026-03-01", "to": "31-03-2026"}, "/query/to"),
        ({"from": "9999-12-31", "to": "9999-12-31"}, "/query/from"),  # no day after it to count up to
    ],
)
def test_a_bad_period_is_a_422_problem(client: TestClient, session: Session, params, pointer):  # type: ignore[no-untyped-def]
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    response = client.get("/v1/reports/monitor", headers=login(client, "office1"), params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert pointer in {error["pointer"] for error in response.json()["errors"]}


def test_a_media_type_the_monitor_does_not_offer_is_a_406_problem(client: TestClient, session: Session):
    make_municipality(session)
    make_user(session, role="admin", username="admin1")
    headers = {**login(client, "admin1"), "Accept": "application/xml"}
    response = client.get("/v1/reports/monitor", headers=headers, params=MARCH)
    assert response.status_code == 406 and response.json()["type"] == "urn:doorstep:problem:not-acceptable"
    assert read(session, select(AuditEntry).where(AuditEntry.action == "reports.monitor")) == []


def test_only_the_back_office_and_admins_read_the_monitor_and_each_read_is_audited(
    client: TestClient, session: Session
):
    make_municipality(session)
    for role in ("worker", "backoffice", "admin"):
        make_user(session, role=role, username=f"{role}1")
    # Not even a partner with `reports:read`: a narrow period in a small town can point at one resident.
    partner = make_partner(session, scopes=("reports:read", "cases:read"))
    assert client.get("/v1/reports/monitor", headers=login(client, "worker1"), params=MARCH).status_code == 403
    assert (
        client.get("/v1/reports/monitor", headers=partner_login(client, partner.client_id), params=MARCH).status_code
        == 403
    )
    assert client.get("/v1/reports/monitor", params=MARCH).status_code == 401
    monitor(client, login(client, "backoffice1"))
    client.get("/v1/reports/monitor", headers={**login(client, "admin1"), "Accept": "text/csv"}, params=MARCH)
    entries = read(session, select(AuditEntry).where(AuditEntry.action == "reports.monitor").order_by(AuditEntry.id))
    assert [(e.resource_type, e.case_id, e.detail) for e in entries] == [
        ("report", None, {"from": "2026-03-01", "to": "2026-03-31", "format": "json"}),
        ("report", None, {"from": "2026-03-01", "to": "2026-03-31", "format": "csv"}),
    ]


def test_the_monitor_runs_the_same_few_queries_for_three_cases_or_thirty(client: TestClient, session: Session, db):  # type: ignore[no-untyped-def]
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    headers = login(client, "office1")
    counts = []
    for total in (3, 30):
        while len(read(session, select(Case))) < total:
            make_case(session)
        with statements_run(db) as statements:
            client.get("/v1/reports/monitor", headers=headers, params={"from": "2026-11-01", "to": "2026-11-30"})
        counts.append(len(statements))
    assert counts[0] == counts[1]
