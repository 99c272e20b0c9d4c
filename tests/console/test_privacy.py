"""The console's Privacy screen: admins find a resident, read the access report and erase."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import Signal
from tests.console.helpers import browser, sign_in, submit, text_of
from tests.factories import VAULT, make_case, make_municipality, make_user, read


@pytest.fixture
def admin(app: FastAPI, session: Session) -> Iterator[TestClient]:
    make_municipality(session)
    make_user(session, role="admin", username="admin1")
    make_user(session, role="backoffice", username="office1")
    with browser(app) as console:
        assert sign_in(console, "admin1").status_code == 303
        yield console


def test_an_admin_finds_a_resident_reads_the_report_and_erases(admin: TestClient, session: Session) -> None:
    case = make_case(session, surname="Bakker", bsn_digest=VAULT.digest("111222333", municipality_code="0363"))
    assert "Privacy" in text_of(admin.get("/console"))
    found = submit(
        admin, "/console/privacy", "/console/privacy/zoeken", {"reason": "Verzoek AVG-1", "bsn": "111222333"}
    )
    assert found.status_code == 200, found.text
    link = re.search(r'href="(/console/privacy/[0-9a-f-]{36})"', found.text)
    assert link and "Inzage en wissen" in text_of(found)
    report = admin.get(link.group(1))
    assert report.status_code == 200 and "Inzage in uw gegevens" in text_of(report) and "Bakker" in text_of(report)
    erased = submit(admin, link.group(1), f"{link.group(1)}/wissen", {"ground": "objection", "reason": "Verzoek AVG-1"})
    assert erased.status_code == 303
    assert "Gewist: 1 zaak/zaken en 1 signaal/signalen." in text_of(admin.get(link.group(1)))
    assert [s.surname for s in read(session, select(Signal).where(Signal.case_id == case.id))] == [None]


def test_a_search_without_a_reason_shows_why(admin: TestClient, session: Session) -> None:
    make_case(session)
    refused = submit(admin, "/console/privacy", "/console/privacy/zoeken", {"postcode": "1055AB", "house_number": "12"})
    assert refused.status_code == 422 and "reason" in text_of(refused)


def test_the_back_office_has_no_privacy_screen(app: FastAPI, admin: TestClient) -> None:
    with browser(app) as office:
        assert sign_in(office, "office1").status_code == 303
        assert "Privacy" not in text_of(office.get("/console"))
        assert office.get("/console/privacy").status_code == 403


def test_an_admin_corrects_a_signal_from_the_report(admin: TestClient, session: Session) -> None:
    case = make_case(session, surname="Bakker", bsn_digest=VAULT.digest("111222333", municipality_code="0363"))
    [signal] = read(session, select(Signal).where(Signal.case_id == case.id))
    found = submit(
        admin, "/console/privacy", "/console/privacy/zoeken", {"reason": "Verzoek AVG-2", "bsn": "111222333"}
    )
    link = re.search(r'href="(/console/privacy/[0-9a-f-]{36})"', found.text)
    assert link and "Corrigeren" in text_of(admin.get(link.group(1)))
    refused = submit(
        admin,
        link.group(1),
        f"{link.group(1)}/corrigeren",
        {"signal_id": str(signal.id), "reason": "Verzoek AVG-2", "postcode": "nope"},
    )
    assert refused.status_code == 422 and "postcode" in text_of(refused)
    corrected = submit(
        admin,
        link.group(1),
        f"{link.group(1)}/corrigeren",
        {"signal_id": str(signal.id), "reason": "Verzoek AVG-2", "surname": "Bakkers", "gender": "M"},
    )
    assert corrected.status_code == 303
    assert "Gecorrigeerd: gender, surname." in text_of(admin.get(link.group(1)))
    [signal] = read(session, select(Signal).where(Signal.case_id == case.id))
    assert (signal.surname, signal.gender) == ("Bakkers", "M")
