"""Signing in to the console: the cookie, the CSRF locks, timeouts and who may enter."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.auth.principal import Principal
from api.cases import routes as case_api
from api.console.web import ConsoleRoute, Office, as_api
from api.models import AuditEntry, ConsoleSession, StaffUser
from api.platform.db import SessionDep
from api.platform.problems import Forbidden, NotFound
from tests.console.helpers import browser, csrf_on, sign_in, submit, text_of
from tests.factories import FakeClock, make_user


def test_a_visitor_without_session_is_sent_to_sign_in_and_back(app: FastAPI, office_user: StaffUser) -> None:
    with browser(app) as client:
        first = client.get("/console/zaken?overdue=true")
        assert first.status_code == 303
        assert first.headers["location"] == "/console/inloggen?volgende=%2Fconsole%2Fzaken%3Foverdue%3Dtrue"
        signed = sign_in(client, office_user.username, next_url="/console/zaken?overdue=true")
        assert signed.status_code == 303
        assert signed.headers["location"] == "/console/zaken?overdue=true"


def test_the_session_cookie_is_httponly_strict_and_secure(app: FastAPI, office_user: StaffUser) -> None:
    with browser(app) as client:
        response = sign_in(client, office_user.username)
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("doorstep_console="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "path=/console" in cookie.lower()


def test_wrong_password_is_refused_without_a_session(app: FastAPI, office_user: StaffUser, session: Session) -> None:
    with browser(app) as client:
        response = sign_in(client, office_user.username, "wrong")
        assert response.status_code == 401
        assert "Inloggen" in text_of(response)
        assert client.get("/console").status_code == 303
    assert session.exec(select(ConsoleSession)).all() == []


def test_an_outreach_worker_cannot_sign_in_to_the_console(
    app: FastAPI, office_user: StaffUser, session: Session
) -> None:
    worker = make_user(session, role="worker")
    with browser(app) as client:
        assert sign_in(client, worker.username).status_code == 401


def test_sign_in_without_the_forms_own_token_is_refused(app: FastAPI, office_user: StaffUser) -> None:
    with browser(app) as client:
        csrf_on(client, "/console/inloggen")
        response = client.post(
            "/console/inloggen",
            data={"username": office_user.username, "password": "correct horse battery staple", "csrf_token": "forged"},
        )
        assert response.status_code == 403
        assert client.get("/console").status_code == 303


def test_sign_in_lands_on_a_screen_never_on_another_site_or_a_download(app: FastAPI, office_user: StaffUser) -> None:
    downloads = (
        "/console/rapportages/zaken.csv",
        "/console/rapportages/ddas?from=2026-01-01&to=2026-11-26",
        "/console/rapportages/monitor.csv",
        f"/console/signalen/{uuid.uuid4()}/quarantaine",
        # The same downloads dressed up as screens: an encoded slash, dot segments, a backslash.
        f"/console/signalen/{uuid.uuid4()}%2Fquarantaine",
        f"/console/signalen/{uuid.uuid4()}%2fquarantaine",
        "/console/zaken/..%2Frapportages%2Fzaken.csv",
        "/console/zaken/%2E%2E/rapportages/zaken.csv",
        "/console/rapportages%2Fzaken.csv",
        "/console/zaken/%5C..%5Crapportages",
    )
    for target in (
        "https://evil.example/",
        "//evil.example/console",
        "/v1/cases",
        "/console\\@evil.example",
        *downloads,
    ):
        with browser(app) as client:
            response = sign_in(client, office_user.username, next_url=target)
            assert response.headers["location"] == "/console", target


def test_signing_out_ends_the_session_on_the_server(app: FastAPI, office: TestClient, session: Session) -> None:
    cookie = office.cookies.get("doorstep_console")
    response = submit(office, "/console", "/console/uitloggen", {})
    assert response.status_code == 303
    assert session.exec(select(ConsoleSession)).all() == []
    session.rollback()
    with browser(app) as replay:
        replay.cookies.set("doorstep_console", cookie)
        assert replay.get("/console").status_code == 303


def test_a_form_without_the_sessions_csrf_token_changes_nothing(office: TestClient, session: Session) -> None:
    response = office.post("/console/uitloggen", data={"csrf_token": "not-the-token"})
    assert response.status_code == 403
    assert "verlopen" in text_of(response)
    assert len(session.exec(select(ConsoleSession)).all()) == 1
    session.rollback()
    assert office.get("/console").status_code == 200


def test_a_form_posted_from_another_site_is_refused(office: TestClient) -> None:
    token = csrf_on(office, "/console")
    response = office.post("/console/uitloggen", data={"csrf_token": token}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert office.get("/console").status_code == 200


def test_the_session_ends_after_the_idle_timeout(office: TestClient, clock: FakeClock) -> None:
    clock.advance(minutes=29)
    assert office.get("/console").status_code == 200
    clock.advance(minutes=29)  # active 29 minutes ago: still in
    assert office.get("/console").status_code == 200
    clock.advance(minutes=31)
    expired = office.get("/console")
    assert expired.status_code == 303 and expired.headers["location"].endswith("&verlopen=true")
    assert "Uw sessie is verlopen" in text_of(office.get(expired.headers["location"]))


def test_the_session_ends_after_its_lifetime_even_when_active(office: TestClient, clock: FakeClock) -> None:
    for _ in range(21):
        clock.advance(minutes=29)
        office.get("/console")
    assert office.get("/console").status_code == 303  # 10 hours 9 minutes after signing in


def test_a_password_change_or_deactivation_ends_the_session(
    office: TestClient, office_user: StaffUser, session: Session, clock: FakeClock
) -> None:
    user = session.get(StaffUser, office_user.id)
    user.credentials_changed_at = clock() + timedelta(seconds=1)
    session.add(user)
    session.commit()
    assert office.get("/console").status_code == 303


def test_sign_in_and_out_are_audited(office: TestClient, office_user: StaffUser, session: Session) -> None:
    submit(office, "/console", "/console/uitloggen", {})
    actions = session.exec(select(AuditEntry.action).where(AuditEntry.actor_id == str(office_user.id))).all()
    assert {"console.login", "console.logout"} <= set(actions)


def test_every_console_page_is_uncacheable_and_unframable(office: TestClient) -> None:
    response = office.get("/console")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_the_console_is_not_part_of_the_api_contract(app: FastAPI) -> None:
    assert not [path for path in app.openapi()["paths"] if path.startswith("/console")]


def test_an_unknown_console_address_is_a_page_not_json(office: TestClient) -> None:
    response = office.get("/console/bestaat-niet")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Niet gevonden" in text_of(response)
    assert office.get("/console/static/console.css").status_code == 200


def test_a_screen_calling_an_api_route_is_held_to_that_routes_roles() -> None:
    office = Principal(kind="staff", actor_id="x", municipality_code="0363", role="backoffice", user_id=uuid.uuid4())
    worker = Principal(kind="staff", actor_id="y", municipality_code="0363", role="worker", user_id=uuid.uuid4())
    assert as_api(case_api.Office, office) is office
    with pytest.raises(Forbidden):
        as_api(case_api.Office, worker)


def test_sign_in_lands_on_the_screen_asked_for(app: FastAPI, office_user: StaffUser) -> None:
    for target in ("/console/zaken?open=true&overdue=true", "/console/rapportages?from=2026-01-01&to=2026-03-31"):
        with browser(app) as client:
            assert sign_in(client, office_user.username, next_url=target).headers["location"] == target


def test_a_console_request_that_fails_keeps_nothing_it_wrote(
    app: FastAPI, office: TestClient, office_user: StaffUser, session: Session
) -> None:
    probe = APIRouter(route_class=ConsoleRoute)

    @probe.get("/console/probe")
    def write_then_fail(db: SessionDep, signed: Office) -> None:
        user = db.get(StaffUser, signed.user.id)
        user.display_name = "half-written"
        db.add(user)
        db.flush()
        raise NotFound("Nothing here after all.")

    app.include_router(probe)
    app.router.routes.insert(0, app.router.routes.pop())  # before the console's catch-all
    response = office.get("/console/probe")
    assert response.status_code == 404 and "Niet gevonden" in text_of(response)
    session.expire_all()
    assert session.get(StaffUser, office_user.id).display_name == "Test backoffice"


@pytest.mark.parametrize("change", [{"active": False}, {"role": "worker"}])
def test_deactivation_or_losing_the_back_office_role_ends_the_session(
    office: TestClient, office_user: StaffUser, session: Session, change: dict
) -> None:
    user = session.get(StaffUser, office_user.id)
    for name, value in change.items():
        setattr(user, name, value)
    session.add(user)
    session.commit()
    assert office.get("/console").status_code == 303


def test_signing_in_ends_the_session_the_browser_still_held(
    office: TestClient, office_user: StaffUser, session: Session
) -> None:
    colleague = make_user(session, role="backoffice", username="colleague-console")
    assert sign_in(office, colleague.username).status_code == 303
    holders = session.exec(select(ConsoleSession.user_id)).all()
    assert holders == [colleague.id]


def test_behind_a_proxy_forms_from_the_configured_public_origin_are_accepted(
    app: FastAPI, office: TestClient, session: Session
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"console_origin": "https://doorstep.gemeente.nl"})
    token = csrf_on(office, "/console")
    assert (
        office.post(
            "/console/uitloggen", data={"csrf_token": token}, headers={"Origin": "https://elders.example"}
        ).status_code
        == 403
    )
    response = office.post(
        "/console/uitloggen", data={"csrf_token": token}, headers={"Origin": "https://doorstep.gemeente.nl"}
    )
    assert response.status_code == 303
