"""Zaken in the console: the list with the API's filters, the case page, and the office's actions."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import AuditEntry, BkrRegistration, Case, StaffUser, VisitEvent
from tests.bkr.helpers import accepted_case
from tests.console.helpers import browser, sign_in, submit, text_of
from tests.factories import login, make_case, make_user, read


def _case_links(response) -> list[str]:  # type: ignore[no-untyped-def]
    return re.findall(r'href="/console/zaken/([0-9a-f-]{36})"', response.text)


def test_the_list_shows_cases_by_deadline_and_filters_like_the_api(office: TestClient, session: Session) -> None:
    early = make_case(session, postcode="1055AB")
    late = make_case(session, postcode="1068BD")
    late.first_contact_due_date = date(2027, 1, 15)
    session.add(late)
    session.commit()
    everything = office.get("/console/zaken")
    assert everything.status_code == 200
    assert _case_links(everything) == [str(early.id), str(late.id)]
    filtered = office.get("/console/zaken?postcode_from=1060&postcode_to=1069&state=&crisis=")
    assert _case_links(filtered) == [str(late.id)]
    assert "(gefilterd)" in text_of(filtered)


def test_the_list_is_paged(office: TestClient, session: Session) -> None:
    cases = [make_case(session, house_number=n) for n in range(1, 53)]
    first = office.get("/console/zaken")
    assert len(_case_links(first)) == 50
    next_link = re.search(r'href="(/console/zaken\?[^"]*cursor=[^"]+)"', first.text)
    assert next_link
    second = office.get(next_link.group(1).replace("&amp;", "&"))
    assert len(_case_links(second)) == 2
    assert set(_case_links(first)) | set(_case_links(second)) == {str(c.id) for c in cases}


def test_a_bad_filter_gets_a_clear_error(office: TestClient) -> None:
    response = office.get("/console/zaken?postcode_from=abc")
    assert response.status_code == 422
    assert "Niet alle velden zijn goed ingevuld" in text_of(response)


def test_the_case_page_shows_address_signals_and_timeline(office: TestClient, session: Session) -> None:
    case = make_case(session, surname="Bakker")
    page = submit(
        office,
        f"/console/zaken/{case.id}",
        f"/console/zaken/{case.id}/actie",
        {"kind": "phone_attempt", "reached": "nee", "action_id": str(uuid.uuid4()), "occurred_at": "2026-11-26T10:15"},
    )
    assert page.status_code == 303
    shown = text_of(office.get(f"/console/zaken/{case.id}"))
    assert "Bos en Lommerweg 12" in shown
    assert "Bakker" in shown and "€ 1.234,56" in shown
    assert "Telefoonpoging — niet bereikt" in shown
    assert "26-11-2026 10:15 ochtend" in shown
    assert "Telefoonpoging vastgelegd." in shown  # the flash, once


@pytest.mark.parametrize(
    ("kind", "reached", "shown"),
    [
        ("sms_sent", "ja", "SMS/Whatsapp verstuurd — bereikt"),
        ("mail_sent", "nee", "Mail verstuurd — niet bereikt"),
        (
            "appointment_kept",
            "nee",
            "Afspraak op locatie — bereikt",
        ),  # the resident came: reached, whatever the form said
        ("administrative", "nee", "Administratief contact — niet bereikt"),
    ],
)
def test_the_office_records_every_contact_channel(
    office: TestClient, session: Session, kind: str, reached: str, shown: str
) -> None:
    case = make_case(session)
    page = submit(
        office,
        f"/console/zaken/{case.id}",
        f"/console/zaken/{case.id}/actie",
        {"kind": kind, "reached": reached, "action_id": str(uuid.uuid4()), "occurred_at": "2026-11-26T10:15"},
    )
    assert page.status_code == 303
    assert shown in text_of(office.get(f"/console/zaken/{case.id}"))


def test_reading_a_case_in_the_console_is_audited_like_the_api(
    office: TestClient, office_user: StaffUser, session: Session
) -> None:
    case = make_case(session)
    office.get(f"/console/zaken/{case.id}")
    reads = session.exec(
        select(AuditEntry).where(AuditEntry.action == "cases.read", AuditEntry.actor_id == str(office_user.id))
    ).all()
    assert [entry.case_id for entry in reads] == [case.id]


def test_sending_the_same_action_form_twice_records_it_once(office: TestClient, session: Session) -> None:
    case = make_case(session)
    form = {"kind": "letter_sent", "action_id": str(uuid.uuid4())}
    for _ in range(2):
        assert submit(office, f"/console/zaken/{case.id}", f"/console/zaken/{case.id}/actie", form).status_code == 303
    events = session.exec(select(VisitEvent).where(VisitEvent.case_id == case.id)).all()
    assert [event.kind for event in events] == ["letter_sent"]


def test_closing_on_a_stale_version_shows_why_and_changes_nothing(office: TestClient, session: Session) -> None:
    case = make_case(session)
    response = submit(
        office,
        f"/console/zaken/{case.id}",
        f"/console/zaken/{case.id}/afsluiten",
        {"result": "Definitief geen contact kunnen krijgen", "base_version": str(case.version + 5)},
    )
    assert response.status_code == 409
    assert "De zaak is intussen gewijzigd" in text_of(response)
    session.expire_all()
    assert session.get(Case, case.id).state == "new"


def test_closing_with_a_ddas_result(office: TestClient, session: Session) -> None:
    case = make_case(session)
    response = submit(
        office,
        f"/console/zaken/{case.id}",
        f"/console/zaken/{case.id}/afsluiten",
        {"result": "Persoon is geen inwoner (meer) in de gemeente", "base_version": str(case.version)},
    )
    assert response.status_code == 303
    session.expire_all()
    stored = session.get(Case, case.id)
    assert (stored.state, stored.result) == ("closed", "Persoon is geen inwoner (meer) in de gemeente")


def test_the_close_form_offers_only_results_that_fit_and_a_misfit_is_refused_with_why(  # type: ignore[no-untyped-def]
    office: TestClient, session: Session
) -> None:
    case = make_case(session)
    page = office.get(f"/console/zaken/{case.id}").text
    offered = re.findall(r"<option>([^<]+)</option>", page.split('id="c-result"')[1].split("</select>")[0])
    assert "Persoon is geen inwoner (meer) in de gemeente" in offered
    assert "Geen reactie na eerder contact" not in offered and "Definitief geen contact kunnen krijgen" not in offered
    refused = submit(
        office,
        f"/console/zaken/{case.id}",
        f"/console/zaken/{case.id}/afsluiten",
        {"result": "Geen reactie na eerder contact", "base_version": str(case.version)},
    )
    assert refused.status_code == 409 and "reached the resident" in text_of(refused)


def test_closing_without_a_result_is_refused(office: TestClient, session: Session) -> None:
    case = make_case(session)
    response = submit(office, f"/console/zaken/{case.id}", f"/console/zaken/{case.id}/afsluiten", {"result": ""})
    assert response.status_code == 422
    session.expire_all()
    assert session.get(Case, case.id).state == "new"


def test_starting_a_trajectory_queues_exactly_one_bkr_registration(
    app: FastAPI, office: TestClient, session: Session
) -> None:
    admin = make_user(session, role="backoffice")
    with TestClient(app) as api:
        case = accepted_case(api, session, login(api, admin.username))
    response = submit(
        office, f"/console/zaken/{case.id}", f"/console/zaken/{case.id}/traject", {"decision_date": "2026-11-26"}
    )
    assert response.status_code == 303
    shown = text_of(office.get(f"/console/zaken/{case.id}"))
    assert "Traject gestart" in shown and "Registratie (SH, 26-11-2026)" in shown
    registrations = session.exec(select(BkrRegistration)).all()
    assert [(r.action, r.start_date) for r in registrations] == [("register", date(2026, 11, 26))]


def test_a_trajectory_cannot_start_before_help_was_accepted(office: TestClient, session: Session) -> None:
    case = make_case(session)
    response = submit(
        office, f"/console/zaken/{case.id}", f"/console/zaken/{case.id}/traject", {"decision_date": "2026-11-26"}
    )
    assert response.status_code == 409
    assert session.exec(select(BkrRegistration)).all() == []


def test_another_municipalitys_case_is_not_found(office: TestClient, session: Session) -> None:
    from tests.factories import make_municipality

    make_municipality(session, code="0344", name="Utrecht")
    foreign = make_case(session, code="0344")
    response = office.get(f"/console/zaken/{foreign.id}")
    assert response.status_code == 404
    assert "Niet gevonden" in text_of(response)


def test_a_partner_or_worker_token_does_not_open_the_console(
    app: FastAPI, office_user: StaffUser, session: Session
) -> None:
    worker = make_user(session, role="worker")
    with browser(app) as client:
        headers = login(client, worker.username)
        assert client.get("/console/zaken", headers=headers).status_code == 303
        assert sign_in(client, worker.username).status_code == 401


def test_each_deadline_number_on_vandaag_opens_a_list_of_exactly_those_cases(
    office: TestClient, session: Session
) -> None:
    due = {
        "overdue": date(2026, 11, 20),
        "closed-overdue": date(2026, 11, 19),
        "soon": date(2026, 11, 30),
        "later": date(2026, 12, 24),
    }
    for number, (name, day) in enumerate(due.items(), start=1):
        case = make_case(session, house_number=number)
        case.first_contact_due_date = day
        if name == "closed-overdue":
            case.state, case.result = "closed", "Definitief geen contact kunnen krijgen"
        session.add(case)
    session.commit()
    page = office.get("/console")
    tiles = re.findall(r'<a href="(/console/zaken\?[^"]+)"><strong>(\d+)</strong>', page.text)
    # One overdue, one due within 7 days (the closed one counts not); none proposed for closing (below
    # threshold or stale); none opened under an earlier objection.
    assert [count for _, count in tiles] == ["1", "1", "0", "0", "0"]
    for link, count in tiles:
        assert len(_case_links(office.get(link.replace("&amp;", "&")))) == int(count), link


def test_another_municipalitys_case_cannot_be_changed_from_the_console(office: TestClient, session: Session) -> None:
    from tests.factories import make_municipality

    make_municipality(session, code="0344", name="Utrecht")
    foreign = make_case(session, code="0344")
    own = make_case(session)
    for action, form in (
        ("afsluiten", {"result": "Definitief geen contact kunnen krijgen"}),
        ("actie", {"kind": "note", "text": "x", "action_id": str(uuid.uuid4())}),
        ("traject", {"decision_date": "2026-11-26"}),
        ("heropenen", {}),
    ):
        response = submit(office, f"/console/zaken/{own.id}", f"/console/zaken/{foreign.id}/{action}", form)
        assert response.status_code == 404, action
    session.expire_all()
    assert session.get(Case, foreign.id).state == "new"
    assert read(session, select(VisitEvent).where(VisitEvent.case_id == foreign.id)) == []
