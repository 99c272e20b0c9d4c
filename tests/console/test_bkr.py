"""BKR in the console: the registrations by status, and sending a failed one again."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import AuditEntry, BkrRegistration, Case, StaffUser, Trajectory
from tests.console.helpers import browser, sign_in, submit, text_of
from tests.factories import NOW, make_case, make_municipality, make_user, read, statements_run

PAGE = "/console/bkr"


def registration(
    session: Session,
    starter: StaffUser,
    *,
    status: str,
    code: str = "0363",
    house_number: int = 12,
    error: str | None = None,
    attempts: int = 0,
) -> tuple[Case, BkrRegistration]:
    """A trajectory's registration row as the outbox holds it (the worker that sends it is not needed here)."""
    case = make_case(session, code=code, house_number=house_number)
    trajectory = Trajectory(
        municipality_code=code, case_id=case.id, decision_date=date(2026, 11, 20), started_by=starter.id, created_at=NOW
    )
    session.add(trajectory)
    session.flush()
    row = BkrRegistration(
        municipality_code=code,
        trajectory_id=trajectory.id,
        action="register",
        start_date=date(2026, 11, 20),
        status=status,
        attempts=attempts,
        last_error=error,
        next_attempt_at=NOW + timedelta(hours=1),
        delivered_at=NOW if status == "delivered" else None,
        bkr_reference="BKR-1" if status == "delivered" else None,
        created_at=NOW - timedelta(minutes=house_number),
    )
    session.add(row)
    session.commit()
    return case, row


def test_the_list_shows_each_registration_with_its_case_status_attempts_and_error(
    office: TestClient, session: Session, office_user: StaffUser
) -> None:
    failed_case, failed = registration(
        session,
        office_user,
        status="failed",
        house_number=7,
        attempts=5,
        error="BKR answered 422: geboortedatum ontbreekt",
    )
    registration(session, office_user, status="delivered", house_number=8)
    registration(session, office_user, status="pending", house_number=9)

    page = office.get(PAGE)
    assert page.status_code == 200
    text = text_of(page)
    assert "Mislukt" in text and "Geregistreerd" in text and "Wacht op verzending" in text
    assert "BKR answered 422: geboortedatum ontbreekt" in text
    assert f'href="/console/zaken/{failed_case.id}">Bos en Lommerweg 7 1055AB</a>' in page.text
    assert "<caption>" in page.text and '<label for="f-status">' in page.text
    assert page.text.count('/opnieuw"') == 1  # only the failed one can be sent again
    assert f'action="/console/bkr/{failed.id}/opnieuw"' in page.text


def test_the_status_filter_shows_only_that_status(office: TestClient, session: Session, office_user: StaffUser) -> None:
    registration(session, office_user, status="failed", house_number=7, error="refused")
    registration(session, office_user, status="delivered", house_number=8)

    text = text_of(office.get(f"{PAGE}?status=failed"))
    assert "Bos en Lommerweg 7" in text and "Bos en Lommerweg 8" not in text
    delivered = text_of(office.get(f"{PAGE}?status=delivered"))
    assert "Bos en Lommerweg 8" in delivered and "Bos en Lommerweg 7" not in delivered
    assert office.get(f"{PAGE}?status=lost").status_code == 422


def test_a_failed_registration_can_be_sent_again(office: TestClient, session: Session, office_user: StaffUser) -> None:
    _, failed = registration(session, office_user, status="failed", attempts=5, error="BKR unreachable")

    response = submit(office, f"{PAGE}?status=failed", f"{PAGE}/{failed.id}/opnieuw", {"status": "failed"})
    assert response.status_code == 303 and response.headers["location"] == f"{PAGE}?status=failed"
    assert "Registratie staat weer klaar voor verzending naar BKR." in text_of(office.get(response.headers["location"]))
    [row] = read(session, select(BkrRegistration))
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, None)
    assert read(session, select(AuditEntry.resource_id).where(AuditEntry.action == "bkr.retry")) == [str(failed.id)]

    again = submit(office, PAGE, f"{PAGE}/{failed.id}/opnieuw", {})
    assert again.status_code == 409 and "Only a failed registration can be retried" in again.text
    assert "<table>" in again.text  # the list again, with the reason on top


def test_retry_without_the_csrf_token_changes_nothing(
    office: TestClient, session: Session, office_user: StaffUser
) -> None:
    _, failed = registration(session, office_user, status="failed", error="refused")
    assert office.post(f"{PAGE}/{failed.id}/opnieuw", data={}).status_code == 403
    [row] = read(session, select(BkrRegistration))
    assert row.status == "failed"


def test_another_municipalitys_registrations_stay_out_of_sight(
    office: TestClient, session: Session, office_user: StaffUser
) -> None:
    make_municipality(session, code="0599", name="Rotterdam")
    stranger = make_user(session, code="0599", role="backoffice")
    _, theirs = registration(session, stranger, status="failed", code="0599", error="refused")
    assert "refused" not in office.get(PAGE).text
    assert submit(office, PAGE, f"{PAGE}/{theirs.id}/opnieuw", {}).status_code == 404
    [row] = read(session, select(BkrRegistration))
    assert row.status == "failed"


def test_the_dashboard_links_to_the_failed_ones(office: TestClient, session: Session, office_user: StaffUser) -> None:
    registration(session, office_user, status="failed", error="refused")
    assert 'href="/console/bkr?status=failed"><strong>1</strong>' in office.get("/console").text


def test_the_list_costs_the_same_queries_for_many_registrations(
    office: TestClient,
    session: Session,
    office_user: StaffUser,
    db,  # type: ignore[no-untyped-def]
) -> None:
    registration(session, office_user, status="failed", house_number=1, error="refused")
    with statements_run(db) as few:
        assert office.get(PAGE).status_code == 200
    for number in range(2, 12):
        registration(session, office_user, status="failed", house_number=number, error="refused")
    with statements_run(db) as more:
        assert office.get(PAGE).status_code == 200
    assert len(more) == len(few)


def test_a_worker_cannot_see_the_bkr_screen(app: FastAPI, session: Session, office_user: StaffUser) -> None:
    _, failed = registration(session, office_user, status="failed", error="refused")
    worker = make_user(session, role="worker")
    with browser(app) as client:
        assert sign_in(client, worker.username).status_code == 401
        assert client.get(PAGE).status_code == 303
        assert client.post(f"{PAGE}/{failed.id}/opnieuw", data={}).status_code == 303
    assert read(session, select(BkrRegistration))[0].status == "failed"


def test_the_addresses_on_the_list_are_audited_as_case_reads(
    office: TestClient, session: Session, office_user: StaffUser
) -> None:
    shown, _ = registration(session, office_user, status="delivered", house_number=3)
    office.get(PAGE)
    reads = read(session, select(AuditEntry).where(AuditEntry.action == "bkr.list", AuditEntry.case_id.is_not(None)))  # type: ignore[union-attr]
    assert [entry.case_id for entry in reads] == [shown.id]
