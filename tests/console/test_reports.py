"""Rapportages: the monitor's figures for a period, its charts and tables, and the downloads as the API gives them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import AuditEntry, StaffUser
from tests.console.helpers import browser, sign_in, text_of
from tests.factories import MARCH, read


@pytest.fixture
def console(app: FastAPI, march) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The console, signed in as March's back-office member (on 10 April 2026)."""
    with browser(app) as browsing:
        assert sign_in(browsing, "office1").status_code == 303
        yield browsing


def audited(session: Session, action: str) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    entries = read(session, select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))
    return [(entry.actor_id, entry.detail) for entry in entries]


def test_the_screen_shows_the_months_figures_in_numbers_charts_and_tables(console: TestClient, session: Session):
    response = console.get("/console/rapportages", params=MARCH)
    assert response.status_code == 200, response.text
    text = text_of(response)
    assert "Cijfers van 01-03-2026 tot en met 31-03-2026" in text
    assert "8 signalen ontvangen, waarvan 1 herhaalde melding" in text
    assert "5 zaken geopend" in text
    assert "20,0% van de geopende zaken had eerste contact binnen de termijn (1 van 5)" in text
    assert "1 keer hulp aanvaard" in text and "1 traject gestart, 1 beëindigd" in text
    assert "3 zaken afgesloten" in text
    assert "Nog open, termijn verlopen, geen contact 1" in text
    # Reach by channel: the table (Kanaal, Pogingen, Bereikt) and bars scaled to the most attempts (3).
    assert "Brief 1 0" in text and "Telefoon 3 2" in text and "Huisbezoek 3 1" in text
    assert '<rect width="100.0" height="10">' in response.text and '<rect width="66.7" height="10">' in response.text
    # Results by category, with the total.
    assert "Niet opgepakt 1" in text and "Geen contact 0" in text and "Contact, geen vervolghulp 1" in text
    assert "Vervolghulp 1 Totaal afgesloten 3" in text
    # Signals by partner type per month: only the types that occur, in the order of the API.
    assert "Maand Energie Huur Water Zorg Totaal maart 2026 2 4 1 1 8" in text


def test_every_chart_has_its_numbers_as_text_and_a_table_with_caption_and_headers(console: TestClient):
    html = console.get("/console/rapportages", params={"from": "2026-02-01", "to": "2026-04-30"}).text
    assert html.count("<h1>") == 1
    assert 'style="' not in html and "<script>" not in html
    assert html.count('class="grafiek" aria-hidden="true"') == 3
    assert html.count("<table>") == html.count("<caption>") == 5
    for field in ("p-from", "p-to"):
        assert f'<label for="{field}">' in html and f'id="{field}"' in html
    # February's signal (Zorg) and April's (Huur) make three months, each with its own row.
    assert (
        "Maand Energie Huur Water Zorg Totaal februari 2026 0 0 0 1 1 maart 2026 2 4 1 1 8 april 2026 0 1 0 0 1"
    ) in text_of_html(html)


def text_of_html(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_default_period_is_this_calendar_month_up_to_today_in_amsterdam(app: FastAPI, march, clock):  # type: ignore[no-untyped-def]
    clock.current = datetime(2026, 4, 30, 22, 30, tzinfo=UTC)  # 1 May, 00:30 in Amsterdam
    with browser(app) as browsing:
        assert sign_in(browsing, "office1").status_code == 303
        html = browsing.get("/console/rapportages").text
    assert 'id="p-from" name="from" type="date" value="2026-05-01"' in html
    assert 'id="p-to" name="to" type="date" value="2026-05-01"' in html
    assert "0 zaken geopend" in text_of_html(html) and "geen zaken geopend" in text_of_html(html)
    assert 'href="/console/rapportages/monitor.csv?from=2026-05-01&amp;to=2026-05-01"' in html


def test_viewing_the_figures_is_audited_as_a_read_of_the_monitor(console: TestClient, session: Session):
    console.get("/console/rapportages", params=MARCH)
    [office] = read(session, select(StaffUser).where(StaffUser.username == "office1"))
    assert audited(session, "reports.monitor") == [(str(office.id), {**MARCH, "format": "html"})]


def test_the_downloads_are_the_apis_answers_for_the_same_period_and_audited_alike(
    console: TestClient, client: TestClient, session: Session, march
):  # type: ignore[no-untyped-def]
    api = march["office"]
    pairs = [
        ("/console/rapportages/ddas", "/v1/reports/ddas", MARCH, {}),
        ("/console/rapportages/monitor.csv", "/v1/reports/monitor", MARCH, {"Accept": "text/csv"}),
        ("/console/rapportages/zaken.csv", "/v1/cases/export", {}, {}),
    ]
    for page, endpoint, params, headers in pairs:
        mine = console.get(page, params=params)
        theirs = client.get(endpoint, params=params, headers={**api, **headers})
        assert mine.status_code == theirs.status_code == 200, (page, mine.text)
        assert mine.content == theirs.content, page
        assert mine.headers["content-type"] == theirs.headers["content-type"]
        assert mine.headers["content-disposition"] == theirs.headers["content-disposition"]
        assert mine.headers["cache-control"] == "no-store"
    assert b"Vervolghulp en/of verwijzing financieel" in console.get("/console/rapportages/zaken.csv").content
    for action in ("reports.ddas", "reports.monitor", "cases.export"):
        (console_actor, console_detail), (api_actor, api_detail), *_ = audited(session, action)
        assert console_actor == api_actor and console_detail == api_detail, action
    assert audited(session, "reports.monitor")[0][1] == {**MARCH, "format": "csv"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-03-31", "to": "2026-03-01"}, "De periode klopt niet: ‘tot en met’ ligt vóór ‘van’."),
        ({"from": "2025-01-01", "to": "2026-01-02"}, "Een periode is hoogstens 366 dagen lang."),
        ({"from": "2026-03-01", "to": "31-03-2026"}, "Tot en met: geen geldige datum."),
        ({"from": "2026-02-30", "to": "morgen"}, "Van en Tot en met: geen geldige datum."),
        ({"from": "0001-01-01", "to": "0001-01-31"}, "Kies datums tussen 1900 en 9998."),
    ],
)
def test_a_bad_period_shows_a_dutch_error_on_the_page_and_reads_nothing(  # type: ignore[no-untyped-def]
    console: TestClient, session: Session, params, message
):
    for path in ("/console/rapportages", "/console/rapportages/ddas", "/console/rapportages/monitor.csv"):
        response = console.get(path, params=params)
        assert response.status_code == 422, path
        assert response.headers["content-type"].startswith("text/html")
        text = text_of(response)
        assert "Deze periode kan niet." in text and message in text, path
        assert f'value="{params["to"]}"' in response.text  # what was typed stays in the form
        assert "Kerncijfers" not in text
    assert audited(session, "reports.monitor") == audited(session, "reports.ddas") == []


def test_a_worker_account_cannot_see_the_reports(app: FastAPI, session: Session, march):  # type: ignore[no-untyped-def]
    with browser(app) as browsing:
        assert sign_in(browsing, "worker1").status_code == 401
        for path in ("/console/rapportages", "/console/rapportages/ddas", "/console/rapportages/zaken.csv"):
            response = browsing.get(path, params=MARCH)
            assert response.status_code == 303 and response.headers["location"].startswith("/console/inloggen")
    assert audited(session, "reports.monitor") == audited(session, "reports.ddas") == []


def test_a_member_moved_to_the_field_loses_the_reports_at_once(console: TestClient, session: Session):
    assert console.get("/console/rapportages", params=MARCH).status_code == 200
    [office] = read(session, select(StaffUser).where(StaffUser.username == "office1"))
    office.role = "worker"
    session.add(office)
    session.commit()
    response = console.get("/console/rapportages/monitor.csv", params=MARCH)
    assert response.status_code == 303 and "text/csv" not in response.headers.get("content-type", "")
    assert [detail["format"] for _, detail in audited(session, "reports.monitor")] == ["html"]


def test_the_reports_screen_is_in_the_menu(console: TestClient):
    html = console.get("/console/rapportages", params=MARCH).text
    assert '<a href="/console/rapportages" aria-current="page">Rapportages</a>' in html
