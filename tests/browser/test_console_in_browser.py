"""The console in a real browser: signing in, every screen accessible (axe-core), the day's key flows."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import expect
from sqlmodel import Session, select

from api.models import BkrRegistration, Signal, StaffUser
from tests.bkr.helpers import accepted_case
from tests.browser.helpers import Screens, sign_in
from tests.factories import VAULT, login, make_case, make_municipality, make_user


def _office(session: Session) -> StaffUser:
    make_municipality(session)
    make_user(session, role="worker", username="worker-browser")
    return make_user(session, role="backoffice", username="office-browser")


def test_signing_in_shows_the_day_and_signing_out_ends_it(screens: Screens, session: Session) -> None:
    office = _office(session)
    screens.goto("/console")
    expect(screens.page.get_by_role("heading", name="Inloggen")).to_be_visible()
    assert screens.check("inloggen") == []
    screens.page.get_by_label("Gebruikersnaam").fill(office.username)
    screens.page.get_by_label("Wachtwoord").fill("wrong")
    screens.page.get_by_role("button", name="Inloggen").click()
    expect(screens.page.get_by_role("alert")).to_be_visible()
    sign_in(screens, office.username)
    expect(screens.page.get_by_role("heading", name="Vandaag", level=1)).to_be_visible()
    assert screens.check("vandaag") == []
    cookie = next(c for c in screens.page.context.cookies() if c["name"] == "doorstep_console")  # type: ignore[attr-defined]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    screens.page.get_by_role("button", name="Uitloggen").click()
    expect(screens.page.get_by_text("U bent uitgelogd.")).to_be_visible()
    screens.goto("/console/zaken")
    expect(screens.page.get_by_role("heading", name="Inloggen")).to_be_visible()


def test_the_case_list_and_a_case_page_are_accessible(screens: Screens, session: Session) -> None:
    office = _office(session)
    case = make_case(session, surname="Visser")
    sign_in(screens, office.username)
    screens.page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Zaken").click()
    screens.page.wait_for_url("**/console/zaken")
    expect(screens.page.get_by_role("heading", name="Zaken", level=1)).to_be_visible()
    assert screens.check("zaken") == []
    screens.page.get_by_role("link", name="Bos en Lommerweg 12, 1055AB").click()
    screens.page.wait_for_url(f"**/console/zaken/{case.id}")
    expect(screens.page.get_by_text("Visser").first).to_be_visible()
    assert screens.check("zaak") == []


def test_a_case_under_objection_and_gone_quiet_is_accessible(screens: Screens, session: Session) -> None:
    from datetime import UTC, datetime

    office = _office(session)
    case = make_case(session, surname="Visser")
    long_ago = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # nothing happened since: stale
    case.objection, case.opened_at = True, long_ago
    for signal in session.exec(select(Signal).where(Signal.case_id == case.id)):
        signal.received_at = long_ago
        session.add(signal)
    session.add(case)
    session.commit()
    sign_in(screens, office.username)
    screens.goto(f"/console/zaken/{case.id}")
    expect(screens.page.get_by_role("heading", name="Eerder bezwaar")).to_be_visible()
    expect(screens.page.get_by_role("heading", name="Voorstel: afsluiten, de zaak is stilgevallen")).to_be_visible()
    assert screens.check("zaak-bezwaar-stilgevallen") == []


def test_keyboard_alone_reaches_the_content_and_the_menu(screens: Screens, session: Session) -> None:
    office = _office(session)
    sign_in(screens, office.username)
    page = screens.page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Naar de inhoud"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "inhoud"


def test_starting_a_trajectory_from_the_case_page(screens: Screens, session: Session, app: FastAPI) -> None:
    office = _office(session)
    with TestClient(app) as api:
        case = accepted_case(api, session, login(api, office.username), surname="de Boer")
    sign_in(screens, office.username)
    screens.goto(f"/console/zaken/{case.id}")
    page = screens.page
    page.get_by_label("Datum besluit").fill("2026-11-26")
    page.get_by_role("button", name="Traject starten").click()
    page.wait_for_url(f"**/console/zaken/{case.id}")
    expect(page.get_by_role("status").filter(has_text="Traject gestart")).to_be_visible()
    expect(page.get_by_role("cell", name="Registratie (SH, 26-11-2026)")).to_be_visible()
    assert screens.check("zaak-traject") == []
    session.rollback()
    assert len(session.exec(select(BkrRegistration)).all()) == 1


def test_the_privacy_screens_are_accessible(screens: Screens, session: Session) -> None:
    make_municipality(session)
    admin = make_user(session, role="admin", username="admin-browser")
    make_case(session, surname="Visser", bsn_digest=VAULT.digest("111222333", municipality_code="0363"))
    sign_in(screens, admin.username)
    screens.page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Privacy").click()
    screens.page.wait_for_url("**/console/privacy")
    assert screens.check("privacy") == []
    screens.page.get_by_label("Reden (verplicht)").fill("Verzoek AVG-2026-1")
    screens.page.get_by_label("BSN").fill("111222333")
    screens.page.get_by_role("button", name="Zoeken").click()
    expect(screens.page.get_by_role("heading", name="Gevonden")).to_be_visible()
    assert screens.check("privacy-gevonden") == []
    screens.page.get_by_role("link", name="Inzage en wissen voor dit verzoek").click()
    expect(screens.page.get_by_role("heading", name="Inzage in uw gegevens")).to_be_visible()
    expect(screens.page.get_by_text("J. Visser")).to_be_visible()
    assert screens.check("privacy-inzage") == []
