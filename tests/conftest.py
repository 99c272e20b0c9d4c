"""Test fixtures: one database built by the migrations (SQLite, or PostgreSQL when
DOORSTEP_TEST_DATABASE_URL is set), emptied after every test that touched it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
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
from api.models import Trajectory
from api.platform.db import make_engine, migrate
from api.settings import Settings, SigningKey
from tests.factories import (
    BSN_DIGEST,
    BSN_HMAC_KEY,
    BSN_KEYS,
    KEYS,
    PRIVATE,
    FakeClock,
    amsterdam_and_rotterdam,
    at,
    case_at,
    case_of,
    close,
    csv_file,
    de_vries,
    event,
    jansen,
    jwk_of,
    login,
    make_case,
    make_municipality,
    make_user,
    office_action,
    push,
    row,
    upload_accepted,
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
def conflict(client: TestClient, duo) -> dict:  # type: ignore[no-untyped-def]
    """One phone says the resident accepted help, the other that they declined it."""
    one, two = duo["devices"]
    assert push(client, one, [event(duo["case"].id, "help_accepted")]) == [("applied", None)]
    assert (
        push(client, two, [event(duo["case"].id, "help_declined", reason="Wil het zelf regelen")])[0][0] == "conflict"
    )
    [item] = client.get("/v1/conflicts", headers=duo["office"]).json()["items"]
    return item


@pytest.fixture
def planning_day(client: TestClient, session: Session):  # type: ignore[no-untyped-def]
    """Amsterdam with worker1, worker2 and office1, and five cases that need a first visit, due one a day
    from 1 December (for the planning, in the API and in the console)."""
    make_municipality(session)
    workers = [make_user(session, role="worker", username=f"worker{i}") for i in (1, 2)]
    make_user(session, role="backoffice", username="office1")
    cases = []
    for index, postcode in enumerate(["1011AA", "1102BB", "1053CC", "1011AB", "1068DD"]):
        case = make_case(session, postcode=postcode)
        case.classification = "multiple"  # the policy visits multiple-signal households first
        case.first_contact_due_date = date(2026, 12, 1) + timedelta(days=index)
        session.add(case)
        cases.append(case)
    session.commit()
    return {"workers": workers, "cases": cases, "headers": login(client, "office1")}


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


@pytest.fixture
def march(client: TestClient, session: Session, clock):  # type: ignore[no-untyped-def]
    """Amsterdam's March 2026, built through the API; Rotterdam's activity alongside must never show."""
    worker = amsterdam_and_rotterdam(session)

    def office():  # type: ignore[no-untyped-def]
        return login(client, "office1")  # tokens live 15 minutes, and the clock jumps

    at(clock, 2026, 2, 20, 9)  # before the period: household 1011AA gets a case
    upload_accepted(
        client,
        office(),
        csv_file(row("S0", partner="Zorg", creditor="CZ", day="2026-02-19", postcode="1011AA", number="1")),
        name="feb.csv",
    )
    at(clock, 2026, 3, 2, 10)  # Monday
    upload_accepted(
        client,
        office(),
        csv_file(
            row("S1", creditor="Ymere", since="01-01-2026", day="2026-03-01", postcode="1053KL"),
            row("S2", partner="Energie", creditor="Vattenfall", day="2026-03-01", postcode="1053KL"),  # multiple
            row(
                "S3", partner="Water", creditor="Waternet", day="2026-03-01", postcode="1055AB", number="7", crisis="ja"
            ),
            row("S4", partner="Zorg", creditor="CZ", day="2026-03-01", postcode="1102XY", number="3"),
            row("S8", day="2026-03-01", creditor="Eigen Haard", postcode="1061AA", number="8"),
            row(
                "S9", partner="Energie", creditor="Eneco", day="2026-03-01", postcode="1011AA", number="1"
            ),  # consecutive
        ),
        name="march.csv",
    )
    at(clock, 2026, 3, 20, 8)  # Ymere again for the same arrear, not higher: a repeat
    upload_accepted(
        client,
        office(),
        csv_file(row("S7", creditor="Ymere", since="01-01-2026", day="2026-03-19", postcode="1053KL")),
        name="repeat.csv",
    )
    at(clock, 2026, 3, 31, 21, 30)  # the last half hour of the period: 23:30 in Amsterdam (summer time, UTC+2)
    upload_accepted(
        client, office(), csv_file(row("S5", day="2026-03-31", postcode="1071AA", number="5")), name="late.csv"
    )
    at(clock, 2026, 3, 31, 22, 30)  # just after it: 00:30 on 1 April in Amsterdam
    upload_accepted(
        client, office(), csv_file(row("S6", day="2026-04-01", postcode="1081AA", number="6")), name="april.csv"
    )

    c0, c1, c2 = case_at(session, "1011AA"), case_at(session, "1053KL"), case_at(session, "1055AB")
    c3, c4, c5, c6 = (case_at(session, p) for p in ("1102XY", "1071AA", "1081AA", "1061AA"))
    for case in (c0, c1, c2, c3, c5):
        assert (
            client.post(
                f"/v1/cases/{case.id}/assignment", headers=office(), json={"worker_id": str(worker.id)}
            ).status_code
            == 200
        )
    at(clock, 2026, 4, 3, 9)  # the worker's phone syncs what happened in March
    enrolled = client.post(
        "/v1/devices", headers=login(client, "worker1"), json={"public_jwk": jwk_of(KEYS[0]), "label": "phone"}
    ).json()
    device = {"id": enrolled["device_id"], "headers": {"Authorization": f"Bearer {enrolled['access_token']}"}}

    # c1: a letter, an unanswered call, a call that reaches on the due date itself (23:00 in Amsterdam), help accepted.
    office_action(client, office(), c1, "letter_sent", datetime(2026, 3, 3, 9, tzinfo=UTC))
    office_action(client, office(), c1, "phone_attempt", datetime(2026, 3, 10, 9, tzinfo=UTC), reached=False)
    office_action(client, office(), c1, "phone_attempt", datetime(2026, 3, 30, 21, tzinfo=UTC), reached=True)
    # c2 (crisis, due 5 March): nobody home and a card, then reached by phone on the 9th: late.
    push(
        client,
        device,
        [
            event(c2.id, "visit_attempt", when=datetime(2026, 3, 4, 10, tzinfo=UTC), reached=False),
            event(c2.id, "card_left", when=datetime(2026, 3, 4, 10, 5, tzinfo=UTC)),
        ],
    )
    office_action(client, office(), c2, "phone_attempt", datetime(2026, 3, 9, 9, tzinfo=UTC), reached=True)
    # c3: one visit nobody answered; closed and reopened the next day, so not closed in March.
    push(client, device, [event(c3.id, "visit_attempt", when=datetime(2026, 3, 12, 10, tzinfo=UTC), reached=False)])
    # c0 (opened in February): reached at the very start of the period.
    push(client, device, [event(c0.id, "visit_attempt", when=datetime(2026, 3, 1, tzinfo=UTC), reached=True)])
    push(client, device, [event(c1.id, "help_accepted", version=9, when=datetime(2026, 3, 31, 10, tzinfo=UTC))])
    # c5 (April): reached and accepted help after the period.
    push(
        client,
        device,
        [
            event(c5.id, "visit_attempt", when=datetime(2026, 4, 2, 10, tzinfo=UTC), reached=True),
            event(c5.id, "help_accepted", when=datetime(2026, 4, 2, 10, 5, tzinfo=UTC)),
        ],
    )

    at(clock, 2026, 3, 15, 9)
    close(client, office(), c3, "Niet opgepakt: andere reden")
    at(clock, 2026, 3, 16, 9)
    assert client.post(f"/v1/cases/{c3.id}/reopen", headers=office()).status_code == 200
    at(clock, 2026, 3, 20, 9)
    close(client, office(), c2, "Inwoner regelt het zelf/hoeft geen hulp vanuit vroegsignalering")
    at(clock, 2026, 3, 25, 9)
    close(client, office(), c6, "Niet opgepakt: onterecht signaal")  # closed without any contact
    at(clock, 2026, 3, 31, 21, 59, 59)  # 23:59:59 in Amsterdam
    close(client, office(), c0, "Vervolghulp en/of verwijzing financieel")
    at(clock, 2026, 4, 2, 9)
    close(client, office(), c5, "Inwoner is overleden")

    # Trajectories: one decided in March, one from last year that ended on 31 March.
    old = make_case(session, postcode="1091AA")
    session.add(
        Trajectory(
            municipality_code="0363",
            case_id=c0.id,
            decision_date=date(2026, 3, 15),
            started_by=worker.id,
            created_at=clock.current,
        )
    )
    session.add(
        Trajectory(
            municipality_code="0363",
            case_id=old.id,
            decision_date=date(2025, 6, 1),
            end_date=date(2026, 3, 31),
            outcome="completed",
            started_by=worker.id,
            created_at=clock.current,
        )
    )
    session.commit()

    # Rotterdam in the same March: signals, a case, a closing, a trajectory.
    at(clock, 2026, 3, 5, 9)
    upload_accepted(
        client,
        login(client, "office-rdam"),
        csv_file(
            row("R1", day="2026-03-04", postcode="3011AA"),
            row("R2", partner="Water", creditor="Evides", day="2026-03-04", postcode="3012BB"),
        ),
    )
    r1 = case_at(session, "3011AA")
    at(clock, 2026, 3, 6, 9)
    close(client, login(client, "office-rdam"), r1, "Verwijzing zonder tussenkomst inwoner")
    session.add(
        Trajectory(
            municipality_code="0599",
            case_id=r1.id,
            decision_date=date(2026, 3, 10),
            started_by=worker.id,
            created_at=clock.current,
        )
    )
    session.commit()

    at(clock, 2026, 4, 10, 9)  # the report is made on 10 April
    return {"office": office(), "rdam": login(client, "office-rdam"), "cases": (c0, c1, c2, c3, c4, c5, c6)}
