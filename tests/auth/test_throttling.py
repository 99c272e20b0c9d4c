"""Failed sign-ins are throttled per account and per address, the same for unknown names, in the
database (replicas share the count), for the token endpoint, partners and the console alike."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.app import create_app
from api.auth.passwords import HashingBusy, HashingPool
from api.models import AuditEntry
from api.platform.db import make_engine
from tests.console.helpers import browser, sign_in
from tests.factories import PASSWORD, SECRET, login, make_municipality, make_partner, make_user, read

WRONG = "not the password at all"


def attempt(client: TestClient, username: str, password: str = WRONG):  # type: ignore[no-untyped-def]
    return client.post("/v1/auth/token", data={"grant_type": "password", "username": username, "password": password})


@pytest.fixture
def people(session: Session) -> None:
    make_municipality(session)
    make_municipality(session, "0599", "Rotterdam")
    make_user(session, role="admin", username="admin1")
    make_user(session, role="backoffice", username="office1")


def test_after_five_failures_the_next_attempt_waits_even_with_the_right_password(client: TestClient, people, clock):  # type: ignore[no-untyped-def]
    for _ in range(5):
        assert attempt(client, "office1").status_code == 400
    throttled = attempt(client, "office1", PASSWORD)
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "1"
    assert throttled.json()["type"] == "urn:doorstep:problem:too-many-attempts"
    assert "access_token" not in throttled.text
    clock.advance(seconds=1)
    assert attempt(client, "office1").status_code == 400  # heard again, and wrong
    assert attempt(client, "office1", PASSWORD).headers["retry-after"] == "2"  # the wait doubled
    clock.advance(seconds=2)
    assert attempt(client, "office1", PASSWORD).status_code == 200
    assert attempt(client, "office1").status_code == 400  # a success forgot the failures
    assert attempt(client, "office1").status_code == 400


def test_unknown_and_known_names_are_throttled_alike(client: TestClient, people):  # type: ignore[no-untyped-def]
    answers = {}
    for name in ("office1", "nobody-here"):
        for _ in range(5):
            attempt(client, name)
        refused = attempt(client, name)
        answers[name] = (
            refused.status_code,
            refused.headers["retry-after"],
            refused.json()["type"],
            refused.json()["detail"],
        )
    assert answers["office1"] == answers["nobody-here"]


def test_twenty_failures_lock_the_account_with_an_audit_entry_until_an_admin_lifts_it(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, people, clock
):
    admin = login(client, "admin1")
    office_id = next(
        u["id"] for u in client.get("/v1/users", headers=admin).json()["items"] if u["username"] == "office1"
    )
    for _ in range(20):
        clock.advance(minutes=16)  # past every wait
        assert attempt(client, "office1").status_code == 400
    clock.advance(minutes=16)
    locked = attempt(client, "office1", PASSWORD)
    assert locked.status_code == 429 and 800 <= int(locked.headers["retry-after"]) <= 1800
    entries = read(session, select(AuditEntry).where(AuditEntry.action == "auth.account-locked"))
    assert [(e.resource_id, e.actor_type) for e in entries] == [(office_id, "system")]
    admin = login(client, "admin1")  # hours later: a fresh token
    shown = client.get(f"/v1/users/{office_id}", headers=admin).json()
    assert shown["locked_until"] is not None
    lifted = client.post(f"/v1/users/{office_id}/unlock", headers=admin)
    assert lifted.status_code == 200 and lifted.json()["locked_until"] is None
    assert attempt(client, "office1", PASSWORD).status_code == 200
    unlocks = read(session, select(AuditEntry).where(AuditEntry.action == "users.unlock"))
    assert [e.resource_id for e in unlocks] == [office_id]


def test_only_an_admin_of_the_same_municipality_lifts_a_lock(client: TestClient, session: Session, people):  # type: ignore[no-untyped-def]
    other_admin = make_user(session, code="0599", role="admin", username="admin-rdam")
    office = login(client, "office1")
    target = client.get("/v1/auth/me", headers=login(client, "admin-rdam")).json()["id"]
    assert client.post(f"/v1/users/{other_admin.id}/unlock", headers=office).status_code == 403
    assert client.post(f"/v1/users/{target}/unlock", headers=login(client, "admin1")).status_code == 404


def test_guesses_spread_over_many_names_from_one_address_are_slowed_down(client: TestClient, people):  # type: ignore[no-untyped-def]
    for number in range(20):
        assert attempt(client, f"guess-{number}").status_code == 400
    refused = attempt(client, "office1", PASSWORD)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"


def test_partner_secrets_are_throttled_too(client: TestClient, session: Session, people, clock):  # type: ignore[no-untyped-def]
    partner = make_partner(session, scopes=("signals:write",))

    def grant(secret: str):  # type: ignore[no-untyped-def]
        return client.post(
            "/v1/auth/token",
            data={"grant_type": "client_credentials", "client_id": partner.client_id, "client_secret": secret},
        )

    for _ in range(5):
        assert grant("wrong-secret").status_code == 401
    assert grant(SECRET).status_code == 429
    clock.advance(seconds=1)
    assert grant(SECRET).status_code == 200


def test_the_console_sign_in_is_throttled_with_the_same_counts(app, client: TestClient, people):  # type: ignore[no-untyped-def]
    for _ in range(5):
        attempt(client, "office1")
    with browser(app) as console:
        page = sign_in(console, "office1")
    assert page.status_code == 429 and page.headers["retry-after"] == "1"
    assert "Te veel mislukte pogingen" in page.text


def test_two_replicas_on_one_database_share_the_count(settings, db: Engine, database_url: str, clock, people):  # type: ignore[no-untyped-def]
    second_engine = make_engine(database_url)
    try:
        replicas = [
            TestClient(create_app(settings, engine=db, clock=clock)),
            TestClient(create_app(settings, engine=second_engine, clock=clock)),
        ]
        for number in range(5):
            assert attempt(replicas[number % 2], "office1").status_code == 400
        for replica in replicas:
            assert attempt(replica, "office1", PASSWORD).status_code == 429
    finally:
        second_engine.dispose()


def test_usernames_are_unique_per_municipality_and_a_shared_one_names_its_municipality(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, people
):
    make_user(session, code="0599", role="admin", username="admin-rdam")
    rotterdam = login(client, "admin-rdam")
    created = client.post(
        "/v1/users",
        headers=rotterdam,
        json={
            "username": "office1",
            "display_name": "Rotterdam office",
            "role": "backoffice",
            "password": "another long password",
        },
    )
    assert created.status_code == 201, created.text  # Amsterdam's office1 is not Rotterdam's business
    again = client.post(
        "/v1/users",
        headers=rotterdam,
        json={
            "username": "office1",
            "display_name": "Twice",
            "role": "backoffice",
            "password": "another long password",
        },
    )
    assert again.status_code == 409 and again.json()["type"] == "urn:doorstep:problem:username-taken"
    assert attempt(client, "office1", PASSWORD).status_code == 400  # ambiguous now: names no account
    amsterdam = client.get("/v1/auth/me", headers=login(client, "0363/office1")).json()
    assert amsterdam["municipality_code"] == "0363"
    assert (
        client.get("/v1/auth/me", headers=login(client, "0599/office1", "another long password")).json()[
            "municipality_code"
        ]
        == "0599"
    )


def test_hashing_waits_its_turn_and_refuses_beyond_the_queue():
    pool = HashingPool(workers=1, queue=1)
    release = threading.Event()
    started = threading.Event()
    results: list[str] = []

    def slow() -> str:
        started.set()
        release.wait(5)
        return "first"

    first = threading.Thread(target=lambda: results.append(pool.run(slow)))
    first.start()
    started.wait(5)
    second = threading.Thread(target=lambda: results.append(pool.run(lambda: "second")))
    second.start()
    time.sleep(0.05)  # the second is queued behind the first: the pool's one slot beside the worker
    with pytest.raises(HashingBusy):
        pool.run(lambda: "third")
    release.set()
    first.join(5)
    second.join(5)
    assert sorted(results) == ["first", "second"]
