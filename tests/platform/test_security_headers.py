"""Headers every response carries: no caching of personal data or tokens, no content sniffing,
HSTS outside demo mode, and the interactive docs only where the settings allow them."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.app import create_app
from api.settings import Settings
from tests.factories import login, make_municipality, make_user


def test_tokens_and_personal_data_are_never_stored_by_a_cache(client: TestClient, session: Session):
    make_municipality(session)
    make_user(session, role="admin", username="admin1")
    token = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "admin1", "password": "correct horse battery staple"},
    )
    assert token.status_code == 200 and token.headers["cache-control"] == "no-store"
    headers = login(client, "admin1")
    for path in ("/v1/users", "/v1/cases", "/v1/auth/me", "/v1/no-such-thing", "/healthz"):
        response = client.get(path, headers=headers)
        assert response.headers["cache-control"] == "no-store", path
        assert response.headers["x-content-type-options"] == "nosniff", path


def test_a_response_has_each_security_header_once(client: TestClient):
    response = client.get("/console/inloggen")
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    assert response.headers.get_list("cache-control") == ["no-store"]


def test_the_consoles_static_files_may_be_cached(client: TestClient):
    response = client.get("/console/static/console.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("cache-control", "")
    assert response.headers["x-content-type-options"] == "nosniff"


def test_hsts_outside_demo_mode_only(settings: Settings, db: Engine):
    production = TestClient(create_app(settings, engine=db))
    assert production.get("/healthz").headers["strict-transport-security"].startswith("max-age=")
    demo = TestClient(create_app(settings.model_copy(update={"demo": True}), engine=db))
    assert "strict-transport-security" not in demo.get("/healthz").headers


def test_api_docs_are_off_by_default_in_production_and_on_in_demo(settings: Settings, db: Engine):
    production = TestClient(create_app(settings, engine=db))
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert production.get(path).status_code == 404, path
    for variant in (settings.model_copy(update={"demo": True}), settings.model_copy(update={"api_docs": True})):
        served = TestClient(create_app(variant, engine=db))
        assert served.get("/docs").status_code == 200
        assert served.get("/openapi.json").json()["info"]["title"] == "Doorstep"
