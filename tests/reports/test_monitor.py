"""The monitor report over a March of real intake, office actions and field events, in JSON and CSV."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import AuditEntry, Case
from api.reports.monitor.routes import tidy_rows
from tests.factories import (
    MARCH,
    login,
    make_case,
    make_municipality,
    make_partner,
    make_user,
    partner_login,
    read,
    statements_run,
)
from tests.reports.helpers import monitor


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
