"""Delivery through the BKR test double, with injected faults: exactly one registration
per trajectory reaches BKR, whatever fails on the way."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.bkr.client import BkrAnswer, BkrMessage, HttpBkrClient
from api.bkr.outbox import run_worker
from api.cli import app as cli
from api.models import BkrAttempt, Conflict
from api.platform.db import make_engine
from tests.bkr.helpers import LEASE, BkrDouble, accepted_case, deliver, registrations, start
from tests.factories import login, make_user, read


def trajectories(client: TestClient, session: Session, office: dict[str, str], count: int = 1) -> list:  # type: ignore[type-arg]
    cases = []
    for number in range(count):
        case = accepted_case(client, session, office, surname=f"Bakker{number}")
        assert start(client, office, case.id, decision_date="2026-11-25").status_code == 201
        cases.append(case)
    return cases


def attempts(session: Session) -> list[tuple[int, str, int | None]]:
    return [
        (a.number, a.outcome, a.http_status)
        for a in read(session, select(BkrAttempt).order_by(BkrAttempt.started_at, BkrAttempt.number))
    ]


def test_a_started_trajectory_reaches_bkr_once_with_what_bkr_needs(client, session, office, db, clock, bkr: BkrDouble):  # type: ignore[no-untyped-def]
    [case] = trajectories(client, session, office)
    stats = deliver(db, bkr.client(), clock)
    assert (stats.delivered, stats.retried, stats.rejected) == (1, 0, 0)
    [stored] = bkr.registrations()
    assert stored["contract_type"] == "SH" and stored["start_date"] == "2026-11-25" and stored["participant"] == "0363"
    assert stored["person"]["surname"] == "Bakker0" and stored["person"]["birth_date"] == "1984-03-09"
    assert "amount" not in stored
    [row] = registrations(session)
    assert (row.status, row.attempts, row.bkr_reference) == ("delivered", 1, stored["id"])
    assert attempts(session) == [(1, "delivered", 201)]
    assert deliver(db, bkr.client(), clock).attempts == 0  # nothing left to do
    listed = client.get("/v1/bkr/registrations", headers=office).json()["items"]
    assert listed[0]["status"] == "delivered" and listed[0]["case_id"] == str(case.id)
    assert listed[0]["attempt_log"][0]["outcome"] == "delivered"


def test_5xx_and_timeouts_are_retried_with_backoff_under_the_same_key(client, session, office, db, clock, bkr):  # type: ignore[no-untyped-def]
    trajectories(client, session, office)
    bkr.fault("error", status=503)
    bkr.fault("delay", delay_seconds=1.0)  # longer than the client waits
    assert deliver(db, bkr.client(timeout_seconds=0.3), clock).retried == 1
    [row] = registrations(session)
    assert row.status == "pending" and row.next_attempt_at == clock() + timedelta(seconds=30)
    assert "503" in (row.last_error or "")
    assert deliver(db, bkr.client(timeout_seconds=0.3), clock).attempts == 0  # not due yet
    clock.advance(seconds=31)
    assert deliver(db, bkr.client(timeout_seconds=0.3), clock).retried == 1
    assert registrations(session)[0].next_attempt_at == clock() + timedelta(seconds=60)
    clock.advance(seconds=61)
    assert deliver(db, bkr.client(timeout_seconds=0.3), clock).delivered == 1
    assert [(n, outcome) for n, outcome, _ in attempts(session)] == [(1, "retry"), (2, "retry"), (3, "delivered")]
    assert len(bkr.registrations()) == 1
    keys = {request["idempotency_key"] for request in bkr.requests()}
    assert keys == {str(registrations(session)[0].idempotency_key)}


def test_a_dropped_answer_is_resent_and_bkr_recognises_it(client, session, office, db, clock, bkr):  # type: ignore[no-untyped-def]
    trajectories(client, session, office)
    bkr.fault("drop", delay_seconds=1.0)  # BKR stores it, the answer never arrives in time
    assert deliver(db, bkr.client(timeout_seconds=0.3), clock).retried == 1
    assert len(bkr.registrations()) == 1
    clock.advance(seconds=31)
    assert deliver(db, bkr.client(), clock).delivered == 1
    assert len(bkr.registrations()) == 1
    assert len(bkr.requests()) == 2 and len({r["idempotency_key"] for r in bkr.requests()}) == 1


class Crash(BaseException):
    """The worker process dies: nothing after this line runs."""


class CrashAfterSending:
    def __init__(self, inner: HttpBkrClient) -> None:
        self.inner = inner

    def deliver(self, message: BkrMessage) -> BkrAnswer:
        self.inner.deliver(message)
        raise Crash


def test_a_worker_that_dies_after_sending_does_not_cause_a_second_registration(client, session, office, db, clock, bkr):  # type: ignore[no-untyped-def]
    trajectories(client, session, office)
    with pytest.raises(Crash):
        deliver(db, CrashAfterSending(bkr.client()), clock)
    assert len(bkr.registrations()) == 1
    [row] = registrations(session)
    assert row.status == "pending" and row.claimed_until == clock() + LEASE
    assert attempts(session) == [(1, "sending", None)]  # the attempt shows even though nobody recorded its answer
    assert deliver(db, bkr.client(), clock).attempts == 0  # the lease still holds
    clock.advance(seconds=61)
    assert deliver(db, bkr.client(), clock).delivered == 1
    assert len(bkr.registrations()) == 1
    assert registrations(session)[0].status == "delivered"
    assert attempts(session) == [(1, "sending", None), (2, "delivered", 201)]


def test_two_racing_workers_send_every_registration_exactly_once(client, session, office, db, clock, bkr):  # type: ignore[no-untyped-def]
    trajectories(client, session, office, count=8)
    bkr.fault("delay", delay_seconds=0.05, times=8)  # keep each send in flight while the other worker claims
    results = []

    def work() -> None:
        client_ = bkr.client()
        results.append(deliver(db, client_, clock))
        client_.close()

    workers = [threading.Thread(target=work) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert sum(stats.delivered for stats in results) == 8
    assert len(bkr.registrations()) == 8
    sent = Counter(request["idempotency_key"] for request in bkr.requests())
    assert len(sent) == 8 and set(sent.values()) == {1}
    assert {(row.status, row.attempts) for row in registrations(session)} == {("delivered", 1)}


def test_a_refusal_stops_shows_the_error_and_can_be_retried(client, session, office, db, clock, bkr):  # type: ignore[no-untyped-def]
    [case] = trajectories(client, session, office)
    bkr.fault("reject", status=422)
    assert deliver(db, bkr.client(), clock).rejected == 1
    clock.advance(hours=2)
    assert deliver(db, bkr.client(), clock).attempts == 0  # a refusal is not retried by itself
    office = login(client, "office1")  # the morning's token has expired meanwhile
    failed = client.get("/v1/bkr/registrations", headers=office, params={"status": "failed"}).json()["items"]
    assert len(failed) == 1 and "422" in failed[0]["last_error"]
    assert client.get("/v1/dashboard", headers=office).json()["bkr_failed"] == 1
    client.post(
        f"/v1/cases/{case.id}/trajectory/end", headers=office, json={"end_date": "2026-11-26", "outcome": "other"}
    )
    assert deliver(db, bkr.client(), clock).attempts == 0  # the end waits for the registration itself
    retried = client.post(f"/v1/bkr/registrations/{failed[0]['id']}/retry", headers=office)
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    assert (retried.json()["attempts"], retried.json()["last_error"]) == (0, None)  # a fresh run of attempts
    assert [a["number"] for a in retried.json()["attempt_log"]] == [1]  # the history stays
    assert client.post(f"/v1/bkr/registrations/{failed[0]['id']}/retry", headers=office).status_code == 409
    assert deliver(db, bkr.client(), clock).delivered == 2
    [stored] = bkr.registrations()
    assert stored["end_date"] == "2026-11-26" and stored["removal_date"] == "2031-11-26"
    assert [(row.action, row.status) for row in registrations(session)] == [
        ("register", "delivered"),
        ("end", "delivered"),
    ]


def test_attempts_run_out_and_the_registration_fails_visibly(client, session, office, db, clock, bkr):  # type: ignore[no-untyped-def]
    trajectories(client, session, office)
    bkr.fault("error", status=500, times=3)
    for _ in range(3):
        deliver(db, bkr.client(), clock, max_attempts=3)
        clock.advance(hours=1, seconds=1)
    [row] = registrations(session)
    assert row.status == "failed" and row.last_error.startswith("gave up after 3 attempts")
    assert bkr.registrations() == []


def test_wrong_credentials_fail_no_registration_and_stop_the_round(client, session, office, db, clock, bkr):  # type: ignore[no-untyped-def]
    trajectories(client, session, office, count=2)
    stats = deliver(db, bkr.client(password="wrong"), clock)
    assert (stats.retried, stats.rejected) == (1, 0)  # one try, then the worker stops: it is not accepted itself
    assert sorted((row.status, row.attempts) for row in registrations(session)) == [("pending", 0), ("pending", 1)]
    [tried] = [row for row in registrations(session) if row.attempts == 1]
    assert tried.last_error.startswith("HTTP 401")
    clock.advance(seconds=31)
    assert deliver(db, bkr.client(), clock).delivered == 2  # fixed credentials: the queue goes through


def test_a_conflict_opened_after_the_start_holds_delivery_back(client, session, office, db, clock, bkr):  # type: ignore[no-untyped-def]
    [case] = trajectories(client, session, office)
    conflict = Conflict(
        municipality_code="0363", case_id=case.id, kind="accepted-and-declined", sides=[], opened_at=clock()
    )
    session.add(conflict)
    session.commit()
    assert deliver(db, bkr.client(), clock).attempts == 0
    assert bkr.registrations() == []
    client.post(f"/v1/conflicts/{conflict.id}/resolve", headers=office, json={"decision": "help_accepted"})
    assert deliver(db, bkr.client(), clock).delivered == 1
    [row] = registrations(session)
    assert row.status == "delivered" and row.subject == {}  # BKR has the resident; the outbox keeps no copy


def test_the_worker_command_delivers_what_is_due(client, session, office, database_url, bkr, monkeypatch):  # type: ignore[no-untyped-def]
    trajectories(client, session, office, count=2)
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", database_url)
    monkeypatch.setenv("DOORSTEP_BKR_URL", bkr.url)
    monkeypatch.setenv("DOORSTEP_BKR_USERNAME", "doorstep-demo")
    monkeypatch.setenv("DOORSTEP_BKR_PASSWORD", "demo")
    monkeypatch.setenv("DOORSTEP_DEMO", "false")
    refused = CliRunner().invoke(cli, ["bkr-worker", "--once"])
    assert refused.exit_code == 1 and "demo mode only" in refused.output  # the double's credentials
    monkeypatch.setenv("DOORSTEP_DEMO", "true")
    result = CliRunner().invoke(cli, ["bkr-worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "delivered 2" in result.output
    assert len(bkr.registrations()) == 2


def test_the_worker_command_refuses_to_run_without_a_bkr_address(monkeypatch, database_url):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", database_url)
    monkeypatch.delenv("DOORSTEP_BKR_URL", raising=False)
    monkeypatch.setenv("DOORSTEP_DEMO", "false")
    result = CliRunner().invoke(cli, ["bkr-worker", "--once"])
    assert result.exit_code == 1 and "DOORSTEP_BKR_URL" in result.output


def test_the_worker_survives_database_trouble_and_delivers_once_it_is_back(  # type: ignore[no-untyped-def]
    client, session, office, database_url, clock, bkr
):
    """A restarting database (or SQLite locked by a long import) must not end the worker: it
    backs off and delivers what is due once the database answers again."""
    trajectories(client, session, office)
    engine = make_engine(database_url)
    down = threading.Event()
    down.set()
    refused = Counter[str]()

    @sa.event.listens_for(engine, "do_connect")
    def _refuse(*_args):  # type: ignore[no-untyped-def]
        if down.is_set():
            refused["connect"] += 1
            raise engine.dialect.loaded_dbapi.OperationalError("the database is restarting")

    stop = threading.Event()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            run_worker(
                engine, bkr.client(), clock=clock, lease=LEASE, max_attempts=20, interval_seconds=0.01, stop=stop
            )
        except BaseException as exc:  # noqa: BLE001 - the test reports whatever ended the worker
            failure.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while refused["connect"] < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert refused["connect"] >= 3 and worker.is_alive() and not failure
        down.clear()
        while not bkr.registrations() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=10)
        engine.dispose()
    assert not failure and not worker.is_alive()
    assert len(bkr.registrations()) == 1
    [row] = registrations(session)
    assert row.status == "delivered"


def test_a_removal_date_sends_one_removal(client, session, office, db, clock, bkr):  # type: ignore[no-untyped-def]
    from api.cases.retention import purge
    from api.models import Municipality
    from tests.factories import VAULT

    admin = make_user(session, role="admin", username="admin1")
    settings = client.get("/v1/municipality/settings", headers=login(client, admin.username)).json()
    assert (
        client.put(
            "/v1/municipality/settings",
            headers=login(client, admin.username),
            json={**settings, "bkr_removal_months_after_end": 1},
        ).status_code
        == 200
    )
    [case] = trajectories(client, session, office)
    assert deliver(db, bkr.client(), clock).delivered == 1
    ended = client.post(
        f"/v1/cases/{case.id}/trajectory/end",
        headers=login(client, "office1"),
        json={"end_date": "2026-11-26", "outcome": "completed"},
    )
    assert ended.status_code == 200, ended.text
    assert deliver(db, bkr.client(), clock).delivered == 1

    def retention_run() -> int:
        municipality = session.get(Municipality, "0363")
        assert municipality is not None
        result = purge(session, VAULT, municipality=municipality, now=clock.current, dry_run=False)
        session.commit()
        return result.bkr_removals

    assert retention_run() == 0  # not before 26 December
    clock.advance(days=30)
    assert retention_run() == 1
    assert retention_run() == 0  # once
    assert [row.action for row in registrations(session)] == ["register", "end", "remove"]
    assert deliver(db, bkr.client(), clock).delivered == 1
    [stored] = bkr.registrations()
    assert stored["removal_date"] == "2026-12-26" and stored["removed_at"]
    removal = [r for r in registrations(session) if r.action == "remove"][0]
    assert (removal.status, removal.attempts) == ("delivered", 1)
    assert deliver(db, bkr.client(), clock).attempts == 0
