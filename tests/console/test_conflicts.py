"""Conflicten in the console: the review queue, one conflict side by side, and the office's decision."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.models import AuditEntry, Case, Conflict, StaffUser
from tests.console.helpers import browser, csrf_on, sign_in, submit, text_of
from tests.factories import NOW, make_case, read, statements_run


@pytest.fixture
def office_user(duo, session: Session) -> StaffUser:  # type: ignore[no-untyped-def]
    """The console signs in as the back-office member of the `duo` set-up."""
    return read(session, select(StaffUser).where(StaffUser.username == "office1"))[0]


def stored(session: Session, conflict_id: str) -> Conflict:
    return read(session, select(Conflict).where(Conflict.id == uuid.UUID(conflict_id)))[0]


def resolutions_audited(session: Session, conflict_id: str) -> list[AuditEntry]:
    return read(
        session,
        select(AuditEntry).where(AuditEntry.action == "conflicts.resolve", AuditEntry.resource_id == conflict_id),
    )


def test_the_queue_lists_an_open_conflict_with_its_address_and_both_sides(office: TestClient, conflict, duo) -> None:  # type: ignore[no-untyped-def]
    page = office.get("/console/conflicten")
    assert page.status_code == 200, page.text
    text = text_of(page)
    assert "Hulp aanvaard én afgewezen" in text
    assert "Bos en Lommerweg 12, 1055AB" in text
    assert "Test worker (phone): Hulp aanvaard" in text and "Test worker (phone): Hulp afgewezen" in text
    assert f'href="/console/zaken/{duo["case"].id}"' in page.text
    assert f'href="/console/conflicten/{conflict["id"]}"' in page.text
    assert 'aria-current="page"' in page.text and ">Conflicten</a>" in page.text


def test_a_conflict_shows_both_sides_the_case_and_the_four_decisions(
    office: TestClient, conflict, duo, session: Session
) -> None:  # type: ignore[no-untyped-def]
    page = office.get(f"/console/conflicten/{conflict['id']}")
    assert page.status_code == 200, page.text
    text = text_of(page)
    assert text.count("<h1") == 0 and page.text.count("<h1") == 1
    assert "Kant 1" in text and "Kant 2" in text
    assert "Wil het zelf regelen" in text  # what the declining side said
    assert text.count("Apparaat phone") == 2
    assert "Gebeurd op 26-11-2026 10:00" in text and "Ontvangen op 26-11-2026 10:00" in text
    version = read(session, select(Case).where(Case.id == duo["case"].id))[0].version
    assert f"Huidige versie {version}" in text and "Huidige stand" in text
    assert "<fieldset>" in page.text and "<legend>Wat geldt er?</legend>" in page.text
    for decision, label in (
        ("help_accepted", "Hulp is aanvaard"),
        ("help_declined", "Hulp is afgewezen"),
        ("keep_office", "Besluit van kantoor blijft staan"),
        ("keep_both_as_facts", "Beide als feit bewaren, niets wijzigt"),
    ):
        assert f'id="besluit-{decision}" name="decision" value="{decision}"' in page.text
        assert f'<label for="besluit-{decision}">{label}</label>' in page.text
    assert '<label for="besluit-toelichting">' in page.text


def test_resolving_returns_to_the_queue_stores_and_audits_the_decision(  # type: ignore[no-untyped-def]
    office: TestClient, office_user: StaffUser, conflict, duo, client: TestClient, session: Session
) -> None:
    page = f"/console/conflicten/{conflict['id']}"
    response = submit(office, page, f"{page}/besluit", {"decision": "help_accepted", "note": "Gebeld: wil wel hulp"})
    assert response.status_code == 303
    assert response.headers["location"] == "/console/conflicten"

    queue = text_of(office.get("/console/conflicten"))
    assert "Conflict besloten." in queue and "Geen open conflicten." in queue
    assert client.get("/v1/conflicts", headers=duo["office"]).json()["items"] == []
    row = stored(session, conflict["id"])
    assert row.resolution["decision"] == "help_accepted" and row.resolution["note"] == "Gebeld: wil wel hulp"
    assert row.resolved_by == office_user.id
    assert read(session, select(Case).where(Case.id == duo["case"].id))[0].state == "help_accepted"
    [entry] = resolutions_audited(session, conflict["id"])
    assert entry.actor_id == str(office_user.id) and entry.detail == {"decision": "help_accepted"}

    resolved = office.get(page)
    text = text_of(resolved)
    assert "Besluit Hulp is aanvaard" in text and "Door Test backoffice" in text and "Gebeld: wil wel hulp" in text
    assert 'name="decision"' not in resolved.text and "/besluit" not in resolved.text


def test_a_conflict_a_colleague_resolved_meanwhile_shows_an_error_and_changes_nothing(  # type: ignore[no-untyped-def]
    office: TestClient, conflict, duo, client: TestClient, session: Session
) -> None:
    page = f"/console/conflicten/{conflict['id']}"
    token = csrf_on(office, page)  # the form is open in the browser ...
    colleague = client.post(
        f"/v1/conflicts/{conflict['id']}/resolve",
        headers=duo["office"],
        json={"decision": "help_declined", "note": "Zelf gesproken"},
    )
    assert colleague.status_code == 200  # ... while a colleague decides
    version = read(session, select(Case).where(Case.id == duo["case"].id))[0].version

    response = office.post(f"{page}/besluit", data={"csrf_token": token, "decision": "help_accepted"})
    assert response.status_code == 409
    text = text_of(response)
    assert "intussen al besloten" in text and "Besluit Hulp is afgewezen" in text and "Zelf gesproken" in text
    assert 'name="decision"' not in response.text
    assert stored(session, conflict["id"]).resolution["decision"] == "help_declined"
    assert read(session, select(Case).where(Case.id == duo["case"].id))[0].version == version
    assert len(resolutions_audited(session, conflict["id"])) == 1


def test_a_resolution_without_a_decision_is_shown_again_with_the_note_kept(  # type: ignore[no-untyped-def]
    office: TestClient, conflict, session: Session
) -> None:
    page = f"/console/conflicten/{conflict['id']}"
    response = submit(office, page, f"{page}/besluit", {"note": "Nog navragen"})
    assert response.status_code == 422
    assert "Niet alle velden zijn goed ingevuld." in text_of(response)
    assert ">Nog navragen</textarea>" in response.text
    assert stored(session, conflict["id"]).resolved_at is None


def test_a_resolution_without_the_csrf_token_changes_nothing(office: TestClient, conflict, session: Session) -> None:  # type: ignore[no-untyped-def]
    response = office.post(f"/console/conflicten/{conflict['id']}/besluit", data={"decision": "keep_office"})
    assert response.status_code == 403
    assert "verlopen" in text_of(response)
    assert stored(session, conflict["id"]).resolved_at is None
    assert resolutions_audited(session, conflict["id"]) == []


def test_an_outreach_worker_cannot_open_the_conflict_screens(app: FastAPI, conflict, session: Session) -> None:  # type: ignore[no-untyped-def]
    with browser(app) as client:
        assert sign_in(client, "worker1").status_code == 401
        for path in ("/console/conflicten", f"/console/conflicten/{conflict['id']}"):
            response = client.get(path)
            assert response.status_code == 303 and response.headers["location"].startswith("/console/inloggen")
        refused = client.post(f"/console/conflicten/{conflict['id']}/besluit", data={"decision": "keep_office"})
        assert refused.status_code == 303
    assert stored(session, conflict["id"]).resolved_at is None


def test_a_conflict_of_another_municipality_or_none_at_all_is_not_found(office: TestClient) -> None:
    response = office.get(f"/console/conflicten/{uuid.uuid4()}")
    assert response.status_code == 404
    assert "Niet gevonden." in text_of(response)


def test_the_queue_reads_the_same_number_of_statements_for_one_or_many_conflicts(  # type: ignore[no-untyped-def]
    office: TestClient, conflict, duo, session: Session, db: Engine
) -> None:
    with statements_run(db) as one:
        assert office.get("/console/conflicten").status_code == 200
    worker, sides = duo["workers"][0], stored(session, conflict["id"]).sides
    for number in range(20, 30):
        case = make_case(session, worker=worker, house_number=number)
        session.add(
            Conflict(municipality_code="0363", case_id=case.id, kind="different-results", opened_at=NOW, sides=sides)
        )
    session.commit()
    with statements_run(db) as many:
        page = office.get("/console/conflicten")
    assert page.text.count("Verschillende resultaten voorgesteld") == 10
    assert len(many) == len(one) > 0
