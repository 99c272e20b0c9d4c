"""Planning in the console: a day's proposed visit lists, edited per visit and accepted all or nothing."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.models import AuditEntry, Case, Household, StaffUser
from tests.console.helpers import browser, sign_in, submit, text_of
from tests.factories import make_case, read, statements_run


@pytest.fixture
def office_user(planning_day, session: Session) -> StaffUser:  # type: ignore[no-untyped-def]
    """The console signs in as the back-office member of the `planning_day` set-up; the workers get names to tell apart."""
    for worker, name in zip(planning_day["workers"], ("Anna de Vries", "Bram Bakker"), strict=True):
        worker.display_name = name
        session.add(worker)
    session.commit()
    return read(session, select(StaffUser).where(StaffUser.username == "office1"))[0]


def proposal_url(planning_day, per_worker: int = 2) -> str:  # type: ignore[no-untyped-def]
    anna, bram = planning_day["workers"]
    return f"/console/planning?datum=2026-11-27&bezoeken={per_worker}&medewerker={anna.id}&medewerker={bram.id}"


def accept_form(page: Response) -> dict[str, list[str]]:
    """What a browser posts from the page's accept form as it stands: hidden fields and each select's choice."""
    form = page.text.split('action="/console/planning/accepteren"', 1)[1].split("</form>", 1)[0]
    data: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form):
        data.setdefault(name, []).append(html.unescape(value))
    for name, options in re.findall(r'<select id="[^"]+" name="([^"]+)">(.*?)</select>', form, re.S):
        data[name] = re.findall(r'<option value="([^"]*)" selected', options)
    data.pop("csrf_token")
    return data


POSTCODES = ["1011AA", "1102BB", "1053CC", "1011AB", "1068DD"]  # of the `planning_day` fixture's cases, in order


def case_at(planning_day, postcode: str) -> Case:  # type: ignore[no-untyped-def]
    return planning_day["cases"][POSTCODES.index(postcode)]


def assignments(session: Session) -> dict[str, str | None]:
    """Postcode → the assigned worker's name (None: nobody), for every case."""
    names = {user.id: user.display_name for user in read(session, select(StaffUser))}
    rows = read(session, select(Case, Household).join(Household, col(Household.id) == Case.household_id))
    return {household.postcode: names.get(case.assigned_worker_id) for case, household in rows}


def assigns_audited(session: Session) -> int:
    return len(read(session, select(AuditEntry).where(AuditEntry.action == "cases.assign")))


def test_the_form_proposes_tomorrow_for_every_active_worker(office: TestClient, planning_day) -> None:  # type: ignore[no-untyped-def]
    page = office.get("/console/planning")
    assert page.status_code == 200, page.text
    assert 'id="p-datum" name="datum" type="date" required value="2026-11-27"' in page.text  # tomorrow in Amsterdam
    assert 'name="bezoeken" type="number" min="1" max="40" size="4" required value="8"' in page.text
    for worker in planning_day["workers"]:
        assert f'id="p-m-{worker.id}" name="medewerker" value="{worker.id}" checked' in page.text
        assert f'<label for="p-m-{worker.id}">' in page.text
    assert "<legend>Medewerkers</legend>" in page.text
    assert "Bezoeklijst" not in page.text  # nothing proposed until the office asks


def test_the_proposal_shows_each_workers_list_in_walking_order(
    office: TestClient, planning_day, session: Session
) -> None:  # type: ignore[no-untyped-def]
    page = office.get(proposal_url(planning_day))
    assert page.status_code == 200, page.text
    text = text_of(page)
    assert "Voorstel voor 27-11-2026" in text
    anna, bram = text.split("Bezoeklijst van Anna de Vries (2 bezoeken)")[1].split(
        "Bezoeklijst van Bram Bakker (2 bezoeken)"
    )
    assert re.search(
        r"1 Bos en Lommerweg 12, 1011AA 01-12-2026 middag 1 .* 2 Bos en Lommerweg 12, 1011AB 04-12-2026 middag 1", anna
    )
    assert "1053CC" in bram and "1102BB" in bram and bram.index("1053CC") < bram.index("1102BB")
    assert "1068DD" not in text  # the latest deadline waits for another day
    assert '<th scope="col">Inplannen bij</th>' in page.text and "<caption>" in page.text
    case = case_at(planning_day, "1011AA")
    assert f'<label for="naar-{case.id}" class="verborgen">' in page.text
    assert set(assignments(session).values()) == {None}  # a proposal assigns nothing


def test_accepting_with_one_visit_moved_and_one_dropped_assigns_exactly_that(  # type: ignore[no-untyped-def]
    office: TestClient, planning_day, session: Session
) -> None:
    url = proposal_url(planning_day)
    data = accept_form(office.get(url))
    anna, bram = planning_day["workers"]
    data[f"naar-{case_at(planning_day, '1011AB').id}"] = [str(bram.id)]  # moved from Anna to Bram
    data[f"naar-{case_at(planning_day, '1102BB').id}"] = [""]  # niet inplannen

    response = submit(office, url, "/console/planning/accepteren", data)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/planning"
    assert "Planning voor 27-11-2026 geaccepteerd: 3 zaken toegewezen." in text_of(office.get("/console/planning"))
    assert assignments(session) == {
        "1011AA": "Anna de Vries",
        "1011AB": "Bram Bakker",
        "1053CC": "Bram Bakker",
        "1102BB": None,
        "1068DD": None,
    }
    assert {case.state for case in read(session, select(Case).where(col(Case.assigned_worker_id).is_not(None)))} == {
        "planned"
    }
    assert assigns_audited(session) == 3


def test_an_acceptance_the_api_refuses_assigns_nothing_and_keeps_the_choices(  # type: ignore[no-untyped-def]
    office: TestClient, planning_day, client: TestClient, session: Session
) -> None:
    url = proposal_url(planning_day)
    data = accept_form(office.get(url))
    anna, bram = planning_day["workers"]
    moved = case_at(planning_day, "1011AB")
    data[f"naar-{moved.id}"] = [str(bram.id)]
    closed = case_at(planning_day, "1053CC")  # closed by a colleague while the office edits the lists
    response = client.post(
        f"/v1/cases/{closed.id}/close", headers=planning_day["headers"], json={"result": "Inwoner is overleden"}
    )
    assert response.status_code == 200, response.text

    refused = submit(office, url, "/console/planning/accepteren", data)
    assert refused.status_code == 422
    text = text_of(refused)
    assert "Er is niets toegewezen." in text
    assert text.count("Niet mogelijk:") == 1
    row = refused.text.split(f'name="zaak" value="{closed.id}"')[1].split("</tr>")[0]
    assert "Niet mogelijk:" in row  # the refusal is shown on the visit it is about
    assert accept_form(refused)[f"naar-{moved.id}"] == [str(bram.id)]  # the office's choice is kept
    assert "Bezoeklijst van Anna de Vries (2 bezoeken)" in text  # the lists as the office saw them
    assert set(assignments(session).values()) == {None}
    assert assigns_audited(session) == 0


def test_dropping_every_visit_is_refused_and_assigns_nothing(
    office: TestClient, planning_day, session: Session
) -> None:  # type: ignore[no-untyped-def]
    url = proposal_url(planning_day)
    data = {
        name: ([""] if name.startswith("naar-") else values) for name, values in accept_form(office.get(url)).items()
    }
    response = submit(office, url, "/console/planning/accepteren", data)
    assert response.status_code == 422
    assert "Niet alle velden zijn goed ingevuld." in text_of(response)
    assert accept_form(response)[f"naar-{case_at(planning_day, '1011AA').id}"] == [""]
    assert set(assignments(session).values()) == {None}


def test_a_proposal_for_no_worker_at_all_says_so(office: TestClient, planning_day) -> None:  # type: ignore[no-untyped-def]
    response = office.get("/console/planning?datum=2026-11-27&bezoeken=2")
    assert response.status_code == 422
    assert "Niet alle velden zijn goed ingevuld." in text_of(response)
    assert "Bezoeklijst" not in response.text


def test_an_acceptance_without_the_csrf_token_assigns_nothing(
    office: TestClient, planning_day, session: Session
) -> None:  # type: ignore[no-untyped-def]
    data = accept_form(office.get(proposal_url(planning_day)))
    response = office.post("/console/planning/accepteren", data=data)
    assert response.status_code == 403
    assert set(assignments(session).values()) == {None}


def test_an_outreach_worker_cannot_open_the_planning(app: FastAPI, planning_day, session: Session) -> None:  # type: ignore[no-untyped-def]
    with browser(app) as client:
        assert sign_in(client, "worker1").status_code == 401
        response = client.get(proposal_url(planning_day))
        assert response.status_code == 303 and response.headers["location"].startswith("/console/inloggen")
        posted = client.post("/console/planning/accepteren", data={"zaak": str(case_at(planning_day, "1011AA").id)})
        assert posted.status_code == 303
    assert set(assignments(session).values()) == {None}


def test_the_proposal_reads_the_same_number_of_statements_for_more_cases(  # type: ignore[no-untyped-def]
    office: TestClient, planning_day, session: Session, db: Engine
) -> None:
    with statements_run(db) as few:
        assert office.get(proposal_url(planning_day, per_worker=8)).status_code == 200
    for number in range(30):
        case = make_case(session, postcode="1012AA", house_number=number + 1)
        case.classification = "multiple"
        case.first_contact_due_date = date(2026, 12, 10)
        session.add(case)
    session.commit()
    with statements_run(db) as many:
        page = office.get(proposal_url(planning_day, per_worker=8))
    assert "Bezoeklijst van Anna de Vries (8 bezoeken)" in text_of(page)
    assert len(many) == len(few) > 0


def test_a_visit_sent_to_someone_who_is_not_a_worker_is_refused_not_dropped(  # type: ignore[no-untyped-def]
    office: TestClient, office_user: StaffUser, planning_day, session: Session
) -> None:
    url = proposal_url(planning_day)
    data = accept_form(office.get(url))
    data[f"naar-{case_at(planning_day, '1011AA').id}"] = [str(office_user.id)]  # a tampered form: the office member
    response = submit(office, url, "/console/planning/accepteren", data)
    assert response.status_code == 422
    assert "Er is niets toegewezen." in text_of(response)
    assert set(assignments(session).values()) == {None}
