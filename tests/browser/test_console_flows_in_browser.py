"""The back office's key flows in a real browser: a conflict decided, a bad file uploaded, a phone revoked,
and every remaining screen screenshotted and checked by axe-core."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from playwright.sync_api import expect
from sqlmodel import Session, select

from api.models import Conflict, Device, Signal, SignalImport
from tests.browser.helpers import Screens, sign_in
from tests.factories import csv_file, read, row


def _menu(page, name: str) -> None:  # type: ignore[no-untyped-def]
    link = page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name=name, exact=True)
    target = link.get_attribute("href")
    link.click()
    page.wait_for_url(f"**{target}")


def test_resolving_a_conflict_from_the_dashboard(screens: Screens, conflict, session: Session) -> None:  # type: ignore[no-untyped-def]
    page = screens.page
    sign_in(screens, "office1")
    assert screens.check("vandaag-met-conflict") == []
    page.get_by_role("link", name=re.compile("1 open conflict")).click()
    page.wait_for_url("**/console/conflicten")
    assert screens.check("conflicten") == []
    page.get_by_role("link", name=re.compile("^Beoordelen")).click()
    page.wait_for_url(f"**/console/conflicten/{conflict['id']}")
    expect(page.get_by_text("Wil het zelf regelen")).to_be_visible()
    assert screens.check("conflict") == []
    page.get_by_label("Hulp is aanvaard").check()
    page.get_by_label("Toelichting (niet verplicht)").fill("Teruggebeld: wil toch hulp")
    page.get_by_role("button", name="Besluit vastleggen").click()
    page.wait_for_url("**/console/conflicten")
    expect(page.get_by_role("status").filter(has_text="Conflict besloten.")).to_be_visible()
    stored = read(session, select(Conflict))[0]
    assert stored.resolved_at is not None and stored.resolution["decision"] == "help_accepted"


def test_uploading_a_file_with_a_bad_row_shows_the_line_and_stores_nothing(
    screens: Screens,
    conflict,
    session: Session,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    bad = tmp_path / "vps-november.csv"
    bad.write_bytes(csv_file(row("S1"), row("S2", partner="Bakker"), row("S3", postcode="1055AB")))
    page = screens.page
    sign_in(screens, "office1")
    _menu(page, "Signalen")
    assert screens.check("signalen") == []
    page.get_by_label("Bestand van VPS of RIS").set_input_files(str(bad))
    page.get_by_role("button", name="Inlezen").click()
    page.wait_for_url(re.compile(r".*/console/signalen/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", name="Verslag: vps-november.csv")).to_be_visible()
    expect(page.get_by_role("cell", name="signaalpartner_type", exact=True)).to_be_visible()
    assert screens.check("signalen-verslag") == []
    [imported] = read(session, select(SignalImport))
    assert imported.status == "rejected"
    assert read(session, select(Signal).where(Signal.import_id == imported.id)) == []


def test_revoking_a_phone_makes_it_wipe_on_its_next_contact(
    screens: Screens,
    conflict,
    duo,
    client: TestClient,
    session: Session,  # type: ignore[no-untyped-def]
) -> None:
    page = screens.page
    sign_in(screens, "office1")
    _menu(page, "Apparaten")
    assert screens.check("apparaten") == []
    page.get_by_role("button", name=re.compile("^Intrekken")).first.click()
    expect(page.get_by_role("status").filter(has_text="Apparaat ingetrokken")).to_be_visible()
    expect(page.get_by_text(re.compile("ingetrokken op")).first).to_be_visible()
    [revoked] = read(session, select(Device).where(Device.revoked_at.is_not(None)))  # type: ignore[union-attr]
    phone = next(d for d in duo["devices"] if d["id"] == str(revoked.id))
    answer = client.get("/v1/sync/pull", headers=phone["headers"])
    assert answer.status_code == 401 and answer.json()["type"] == "urn:doorstep:problem:device-revoked"


def test_planning_bkr_and_reports_screens_are_accessible(screens: Screens, conflict, clock) -> None:  # type: ignore[no-untyped-def]
    page = screens.page
    sign_in(screens, "office1")
    _menu(page, "Planning")
    page.get_by_role("button", name="Voorstel maken").click()
    page.wait_for_url("**/console/planning?**")
    assert screens.check("planning") == []
    _menu(page, "BKR")
    expect(page.get_by_role("heading", name="BKR", level=1)).to_be_visible()
    assert screens.check("bkr") == []
    _menu(page, "Rapportages")
    expect(page.get_by_role("heading", name="Rapportages", level=1)).to_be_visible()
    assert screens.check("rapportages") == []
    screens.goto("/console/bestaat-niet")
    assert "Niet gevonden" in page.content()
    assert screens.check("niet-gevonden") == []
