"""Apparaten in the console: every device with its sync health, the silent ones, and revoking one."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import AuditEntry, Device, StaffUser
from tests.console.helpers import browser, sign_in, submit, text_of
from tests.factories import FakeClock, login, make_municipality, make_user, public_jwk, read, statements_run

PAGE = "/console/apparaten"


def enroll(client: TestClient, username: str, label: str, *, seed: int = 0) -> dict[str, str]:
    response = client.post(
        "/v1/devices", headers=login(client, username), json={"public_jwk": public_jwk(seed=seed), "label": label}
    )
    assert response.status_code == 201, response.text
    return response.json()


def workers(session: Session) -> tuple[StaffUser, StaffUser]:
    return (
        make_user(session, role="worker", username="worker-b"),
        make_user(session, role="worker", username="worker-a"),
    )


def test_the_list_shows_every_device_by_worker_with_its_sync_health(office: TestClient, session: Session) -> None:
    bea, ali = workers(session)
    enroll(office, bea.username, "Telefoon Bea")
    mine = enroll(office, ali.username, "Telefoon Ali", seed=1)
    device = session.get(Device, uuid.UUID(mine["device_id"]))
    device.unsent_events_reported = 7
    session.add(device)
    session.commit()

    page = office.get(PAGE)
    assert page.status_code == 200
    text = text_of(page)
    assert text.index("Telefoon Ali") < text.index("Telefoon Bea")  # by worker: worker-a before worker-b
    assert "<caption>" in page.text and '<th scope="row">Telefoon Ali</th>' in page.text
    assert "actief" in text and "7" in text
    assert page.text.count('action="/console/apparaten/') == 2  # a revoke form per active device


def test_revoking_a_device_makes_its_token_fail_is_audited_and_shows_when_and_by_whom(
    office: TestClient, session: Session, office_user: StaffUser
) -> None:
    worker, _ = workers(session)
    device = enroll(office, worker.username, "Werktelefoon")
    device_token = {"Authorization": f"Bearer {device['access_token']}"}
    assert office.get("/v1/auth/me", headers=device_token).status_code == 200

    response = submit(office, PAGE, f"{PAGE}/{device['device_id']}/intrekken", {})
    assert response.status_code == 303 and response.headers["location"] == PAGE
    after = office.get(PAGE)
    assert "Apparaat ingetrokken; het wist zich bij het volgende contact." in text_of(after)
    assert "ingetrokken op 26-11-2026 10:00 door Test backoffice" in text_of(after)
    assert f'action="/console/apparaten/{device["device_id"]}/intrekken"' not in after.text

    refused = office.get("/v1/auth/me", headers=device_token)
    assert refused.status_code == 401 and refused.json()["type"] == "urn:doorstep:problem:device-revoked"
    [entry] = read(session, select(AuditEntry).where(AuditEntry.action == "devices.revoke"))
    assert entry.actor_id == str(office_user.id) and entry.resource_id == device["device_id"]


def test_revoking_without_the_csrf_token_changes_nothing(office: TestClient, session: Session) -> None:
    worker, _ = workers(session)
    device = enroll(office, worker.username, "Werktelefoon")
    response = office.post(f"{PAGE}/{device['device_id']}/intrekken", data={"csrf_token": "forged"})
    assert response.status_code == 403
    [row] = read(session, select(Device))
    assert row.revoked_at is None


def test_only_silent_devices_with_stil(office: TestClient, session: Session, clock: FakeClock) -> None:
    bea, ali = workers(session)
    quiet = enroll(office, bea.username, "Stille telefoon")
    busy = enroll(office, ali.username, "Drukke telefoon", seed=1)
    gone = enroll(office, ali.username, "Oude telefoon", seed=2)
    assert submit(office, PAGE, f"{PAGE}/{gone['device_id']}/intrekken", {}).status_code == 303
    # All enrolled a day and five minutes ago (and the old one revoked); only the busy one pulled since.
    for device in read(session, select(Device)):
        device.enrolled_at = clock() - timedelta(days=1, minutes=5)
        if device.id == uuid.UUID(busy["device_id"]):
            device.last_pull_at = clock() - timedelta(hours=2)
        session.add(device)
    session.commit()

    silent = office.get(f"{PAGE}?stil=1")
    assert silent.status_code == 200
    text = text_of(silent)
    assert "Stille telefoon" in text and "langer dan een dag stil" in text
    assert "Drukke telefoon" not in text and "Oude telefoon" not in text  # revoked devices are not silent
    every = text_of(office.get(PAGE))
    assert all(label in every for label in ("Stille telefoon", "Drukke telefoon", "Oude telefoon"))
    # The dashboard counts the same device and links here.
    dashboard = office.get("/console")
    assert 'href="/console/apparaten?stil=1"><strong>1</strong>' in dashboard.text

    # Revoking from the filtered list comes back to it.
    back = submit(office, f"{PAGE}?stil=1", f"{PAGE}/{quiet['device_id']}/intrekken", {"stil": "1"})
    assert back.headers["location"] == f"{PAGE}?stil=1"
    assert "Geen actieve apparaten" in text_of(office.get(f"{PAGE}?stil=1"))


def test_another_municipalitys_device_cannot_be_revoked(app: FastAPI, office: TestClient, session: Session) -> None:
    make_municipality(session, code="0599", name="Rotterdam")
    stranger = make_user(session, code="0599", role="worker")
    device = enroll(office, stranger.username, "Rotterdamse telefoon")
    assert "Rotterdamse telefoon" not in office.get(PAGE).text
    response = submit(office, PAGE, f"{PAGE}/{device['device_id']}/intrekken", {})
    assert response.status_code == 404 and "Niet gevonden." in text_of(response)
    [row] = read(session, select(Device))
    assert row.revoked_at is None


def test_the_list_costs_the_same_queries_for_many_devices(office: TestClient, session: Session, db) -> None:  # type: ignore[no-untyped-def]
    bea, ali = workers(session)
    enroll(office, bea.username, "Een")
    with statements_run(db) as few:
        assert office.get(PAGE).status_code == 200
    for seed, worker in ((1, bea), (2, ali), (3, ali)):
        enroll(office, worker.username, f"Telefoon {seed}", seed=seed)
    with statements_run(db) as more:
        assert office.get(PAGE).status_code == 200
    assert len(more) == len(few)


def test_a_worker_cannot_see_the_devices(app: FastAPI, session: Session, office_user: StaffUser) -> None:
    worker, _ = workers(session)
    with browser(app) as client:
        assert sign_in(client, worker.username).status_code == 401
        page = client.get(PAGE)
        assert page.status_code == 303 and page.headers["location"].startswith("/console/inloggen")
