"""Small factories for test data; each writes and commits what it makes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.models import Case, Household, Municipality, PartnerClient, Signal, StaffUser
from api.municipality.policy import MunicipalitySettings
from api.platform.sequence import next_change_seq, start_sequence

PASSWORD = "correct horse battery staple"
SECRET = "partner-secret-for-tests-only"
# Cheap parameters keep the suite fast; verification reads them from the hash itself.
_fast_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def make_municipality(session: Session, code: str = "0363", name: str = "Amsterdam") -> Municipality:
    municipality = Municipality(
        code=code, name=name, settings=MunicipalitySettings().model_dump(mode="json"), created_at=NOW
    )
    session.add(municipality)
    session.flush()
    start_sequence(session, code)
    session.commit()
    return municipality


def make_user(
    session: Session,
    *,
    code: str = "0363",
    role: str = "backoffice",
    username: str | None = None,
    password: str = PASSWORD,
    active: bool = True,
) -> StaffUser:
    user = StaffUser(
        municipality_code=code,
        username=username or f"{role}-{uuid.uuid4().hex[:8]}",
        display_name=f"Test {role}",
        role=role,
        password_hash=_fast_hasher.hash(password),
        active=active,
        created_at=NOW,
        updated_at=NOW,
    )
    session.add(user)
    session.commit()
    return user


def amsterdam_and_rotterdam(session: Session) -> StaffUser:
    """Amsterdam with `worker1`, `office1` and `admin1`, and Rotterdam with `office-rdam` beside it
    (whose data must never show in Amsterdam's figures). Returns Amsterdam's worker."""
    make_municipality(session)
    make_municipality(session, "0599", "Rotterdam")
    worker = make_user(session, role="worker", username="worker1")
    make_user(session, role="backoffice", username="office1")
    make_user(session, role="admin", username="admin1")
    make_user(session, code="0599", role="backoffice", username="office-rdam")
    return worker


def make_partner(
    session: Session,
    *,
    code: str = "0363",
    client_id: str | None = None,
    scopes: tuple[str, ...] = ("cases:read",),
    secret: str = SECRET,
) -> PartnerClient:
    client = PartnerClient(
        municipality_code=code,
        client_id=client_id or f"partner-{uuid.uuid4().hex[:8]}",
        name="Test partner",
        secret_hash=_fast_hasher.hash(secret),
        scopes=list(scopes),
        active=True,
        created_at=NOW,
    )
    session.add(client)
    session.commit()
    return client


def make_case(
    session: Session,
    *,
    code: str = "0363",
    worker: StaffUser | None = None,
    surname: str = "Jansen",
    postcode: str = "1055AB",
    house_number: int = 12,
    bsn_digest: str | None = None,
) -> Case:
    household = Household(
        municipality_code=code,
        address_key=f"{postcode}|{house_number}|{uuid.uuid4().hex[:6]}",
        postcode=postcode,
        house_number=house_number,
        street="Bos en Lommerweg",
        town="Amsterdam",
        created_at=NOW,
    )
    session.add(household)
    session.flush()
    case = Case(
        municipality_code=code,
        household_id=household.id,
        classification="single",
        opened_at=NOW,
        first_contact_due_date=date(2026, 12, 24),
        assigned_worker_id=worker.id if worker else None,
        change_seq=next_change_seq(session, code),
    )
    session.add(case)
    session.flush()
    session.add(
        Signal(
            municipality_code=code,
            external_id=f"SIG-{uuid.uuid4().hex[:10]}",
            household_id=household.id,
            case_id=case.id,
            partner_type="Huur",
            creditor_name="Ymere",
            amount_cents=123456,
            signal_date=date(2026, 11, 20),
            received_at=NOW - timedelta(days=1),
            initials="J.",
            surname=surname,
            bsn_digest=bsn_digest,
            created_at=NOW,
        )
    )
    session.commit()
    return case


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def partner_login(client: TestClient, client_id: str, scope: str | None = None, secret: str = SECRET) -> dict[str, str]:
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if scope:
        data["scope"] = scope
    response = client.post("/v1/auth/token", data=data)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def read(session: Session, statement) -> list:  # type: ignore[no-untyped-def]
    """Rows of a query, detached, with the read transaction ended: on SQLite an open
    transaction holds the write lock, and touching an expired row would open a new one."""
    # populate_existing: rows made earlier in this session must not hide what the API wrote since.
    rows = list(session.exec(statement.execution_options(populate_existing=True)).all())
    session.expunge_all()
    session.rollback()
    return rows


@contextmanager
def statements_run(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements sent while the block runs (to show a read does not grow per row)."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
