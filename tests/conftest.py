"""Test fixtures: one database built by the migrations (SQLite, or PostgreSQL when
DOORSTEP_TEST_DATABASE_URL is set), emptied after every test that touched it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from api.app import create_app
from api.auth.keys import generate_signing_key
from api.platform.db import make_engine, migrate
from api.settings import Settings, SigningKey
from tests.factories import (
    BSN_DIGEST,
    BSN_HMAC_KEY,
    BSN_KEYS,
    KEYS,
    PRIVATE,
    FakeClock,
    at,
    case_of,
    de_vries,
    jansen,
    jwk_of,
    login,
    make_case,
    make_municipality,
    make_user,
    upload_personal,
)

TEST_DATABASE_ENV = "DOORSTEP_TEST_DATABASE_URL"

# Machines here are shared and noisy: a property test judges behaviour, never speed.
hypothesis_settings.register_profile("doorstep", deadline=None)
hypothesis_settings.load_profile("doorstep")


def _reset_postgres(url: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get(TEST_DATABASE_ENV)
    if url:
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    migrate(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Engine]:
    """The migrated database; every row written during the test is deleted afterwards."""
    yield engine
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def session(db: Engine) -> Iterator[Session]:
    """For arranging and checking rows. On SQLite every transaction holds the write lock
    (BEGIN IMMEDIATE), so end reads with commit() or rollback() before calling the API."""
    with Session(db, expire_on_commit=False) as session:
        yield session


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return generate_signing_key(kid_prefix="test-")


@pytest.fixture
def settings(database_url: str, signing_key: SigningKey, tmp_path: Path) -> Settings:
    return Settings(
        demo=False,
        database_url=database_url,
        jwt_signing_keys=[signing_key],
        var_dir=tmp_path,
        bsn_encryption_keys=BSN_KEYS,
        bsn_hmac_key=BSN_HMAC_KEY,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))


@pytest.fixture
def app(settings: Settings, db: Engine, clock: FakeClock) -> FastAPI:
    return create_app(settings, engine=db, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


# --- fixtures shared by several areas ------------------------------------------------------------


@pytest.fixture
def field(client: TestClient, session: Session):  # type: ignore[no-untyped-def]
    """One worker with one case (and a BSN on record) and an enrolled phone; a colleague's case; the office."""
    make_municipality(session)
    worker = make_user(session, role="worker", username="worker1")
    colleague = make_user(session, role="worker", username="worker2")
    make_user(session, role="backoffice", username="office1")
    mine = make_case(session, worker=worker, surname="Baldewsingh", bsn_digest=BSN_DIGEST)
    theirs = make_case(session, worker=colleague, postcode="1055AB", surname="Visser")
    device = client.post(
        "/v1/devices", headers=login(client, "worker1"), json={"public_jwk": jwk_of(PRIVATE), "label": "phone"}
    ).json()
    return {
        "worker": worker,
        "colleague": colleague,
        "mine": mine,
        "theirs": theirs,
        "device": {"Authorization": f"Bearer {device['access_token']}"},
        "device_id": device["device_id"],
        "office": login(client, "office1"),
    }


@pytest.fixture
def duo(client: TestClient, session: Session):  # type: ignore[no-untyped-def]
    """One case assigned to two workers, each with an enrolled phone (KEYS[0], KEYS[1])."""
    make_municipality(session)
    one = make_user(session, role="worker", username="worker1")
    two = make_user(session, role="worker", username="worker2")
    make_user(session, role="backoffice", username="office1")
    case = make_case(session, worker=one)
    office = login(client, "office1")
    client.post(
        f"/v1/cases/{case.id}/assignment",
        headers=office,
        json={"worker_id": str(one.id), "second_worker_id": str(two.id)},
    )
    devices = []
    for index, name in enumerate(("worker1", "worker2")):
        body = client.post(
            "/v1/devices", headers=login(client, name), json={"public_jwk": jwk_of(KEYS[index]), "label": "phone"}
        ).json()
        devices.append({"id": body["device_id"], "headers": {"Authorization": f"Bearer {body['access_token']}"}})
    return {"case": case, "office": office, "devices": devices, "workers": (one, two)}


@pytest.fixture
def office(client: TestClient, session: Session) -> dict[str, str]:
    """Amsterdam with office1 (signed in), admin1 and worker1."""
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    make_user(session, role="admin", username="admin1")
    make_user(session, role="worker", username="worker1")
    return login(client, "office1")


@pytest.fixture
def rights_town(client: TestClient, session: Session, clock: FakeClock) -> dict[str, uuid.UUID]:
    """Amsterdam with office1, admin1 and worker1; Jansen's case of October (closed) and of November,
    and de Vries's case beside them (another household). Used by the residents' rights and the audit."""
    make_municipality(session, "0363", "Amsterdam")
    make_user(session, role="backoffice", username="office1")
    make_user(session, role="admin", username="admin1")
    make_user(session, role="worker", username="worker1")
    at(clock, 2026, 10, 5, 9, 0)
    upload_personal(client, login(client, "office1"), jansen("OKT-1", "2026-10-01"), de_vries("OKT-2", "2026-10-02"))
    first, other = case_of(session, "OKT-1"), case_of(session, "OKT-2")
    closed = client.post(
        f"/v1/cases/{first}/close",
        headers=login(client, "office1"),
        json={"result": "Niet opgepakt: onterecht signaal"},
    )
    assert closed.status_code == 200, closed.text
    at(clock, 2026, 11, 26, 9, 0)
    upload_personal(
        client, login(client, "office1"), jansen("NOV-1", "2026-11-20", creditor="Vattenfall", partner="Energie")
    )
    return {"first": first, "second": case_of(session, "NOV-1"), "other": other}
