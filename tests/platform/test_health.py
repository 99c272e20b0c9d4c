"""Liveness and readiness."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.platform.db import make_engine, migrate
from api.settings import Settings


def test_healthz_says_the_process_is_alive(client: TestClient):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_is_ready_on_a_migrated_database(client: TestClient, app):  # type: ignore[no-untyped-def]
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "revision": app.state.head_revision}


def test_readyz_is_503_before_migrations(settings: Settings, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with TestClient(create_app(settings.model_copy(update={"database_url": url}))) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "none" in response.json()["detail"]
    migrate(url)
    with TestClient(create_app(settings.model_copy(update={"database_url": url}))) as client:
        assert client.get("/readyz").status_code == 200


def test_readyz_is_503_when_the_database_is_unreachable(settings: Settings):
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    app = create_app(settings.model_copy(update={"database_url": unreachable}), engine=make_engine(unreachable))
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["type"] == "urn:doorstep:problem:not-ready"
