"""The BKR outbox: rows written in the trajectory's own transaction, delivered by workers.

Delivery is at-least-once sending with one idempotency key per row, which BKR honours, so
exactly one registration per trajectory reaches BKR:

1. *claim* (short transaction): the oldest due row, `FOR UPDATE SKIP LOCKED` so workers
   never wait on each other, gets a lease and a claim token; the attempt is written down
   (outcome `sending`) before anything leaves the building.
2. *send*, outside any transaction (BKR may be slow; no lock is held meanwhile).
3. *record* (short transaction): the attempt's outcome; the row becomes delivered, is
   retried later with backoff, or fails for a person to look at — but only if the claim
   token still matches (a worker whose lease ran out must not overwrite a newer claim).

A worker that dies after sending and before recording leaves a `sending` attempt and an
expired lease: the next claim sends again with the same key, and BKR answers with the
registration it already has.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from api.bkr.client import BkrClient, BkrMessage
from api.bkr.rules import CONTRACT_TYPE, NOT_ACCEPTED, Delivery, judge, retry_delay
from api.models import BkrAttempt, BkrRegistration, Conflict, Trajectory

log = logging.getLogger("doorstep.bkr")


def enqueue_registration(
    session: Session, trajectory: Trajectory, *, subject: dict[str, Any], now: datetime
) -> BkrRegistration:
    """The SH registration of a trajectory that starts: no amount, start = decision date."""
    row = BkrRegistration(
        municipality_code=trajectory.municipality_code,
        trajectory_id=trajectory.id,
        action="register",
        contract_type=CONTRACT_TYPE,
        start_date=trajectory.decision_date,
        subject=subject,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    return row


def enqueue_end(session: Session, trajectory: Trajectory, *, removal_date: date, now: datetime) -> BkrRegistration:
    """The end date of the registration, and when BKR removes it. Sent only after the
    registration itself was delivered."""
    assert trajectory.end_date is not None
    row = BkrRegistration(
        municipality_code=trajectory.municipality_code,
        trajectory_id=trajectory.id,
        action="end",
        contract_type=CONTRACT_TYPE,
        start_date=trajectory.decision_date,
        end_date=trajectory.end_date,
        removal_date=removal_date,
        subject={},
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    return row


def enqueue_removal(session: Session, end: BkrRegistration, *, now: datetime) -> BkrRegistration:
    """The removal of a registration, due on its removal date: sent once (one row per trajectory
    and action), and only after the end was delivered."""
    assert end.action == "end" and end.removal_date is not None
    row = BkrRegistration(
        municipality_code=end.municipality_code,
        trajectory_id=end.trajectory_id,
        action="remove",
        contract_type=end.contract_type,
        start_date=end.start_date,
        end_date=end.end_date,
        removal_date=end.removal_date,
        subject={},
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    return row


def enqueue_correction(
    session: Session, registration: BkrRegistration, *, subject: dict[str, Any], now: datetime
) -> BkrRegistration:
    """The resident's corrected data (AVG art. 16) for a registration BKR may already hold: sent
    after the registration itself, with the whole corrected subject (BKR replaces what it has)."""
    assert registration.action == "register"
    row = BkrRegistration(
        municipality_code=registration.municipality_code,
        trajectory_id=registration.trajectory_id,
        action="correct",
        contract_type=registration.contract_type,
        start_date=registration.start_date,
        subject=subject,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    return row


def removals_due(session: Session, *, municipality_code: str, today: date) -> list[BkrRegistration]:
    """Delivered ends whose removal date has come and whose removal is not in the outbox yet."""
    removal = aliased(BkrRegistration)
    return list(
        session.exec(
            select(BkrRegistration)
            .where(
                BkrRegistration.municipality_code == municipality_code,
                BkrRegistration.action == "end",
                BkrRegistration.status == "delivered",
                col(BkrRegistration.removal_date) <= today,
                ~select(removal.id)
                .where(removal.trajectory_id == BkrRegistration.trajectory_id, removal.action == "remove")
                .exists(),
            )
            .with_for_update()
        )
    )


def message_for(row: BkrRegistration) -> BkrMessage:
    reference = str(row.trajectory_id)
    if row.action == "register":
        body = {
            "reference": reference,
            "participant": row.municipality_code,
            "contract_type": row.contract_type,
            "start_date": row.start_date.isoformat(),
            **row.subject,
        }
    elif row.action == "correct":
        body = dict(row.subject)
    elif row.action == "end":
        assert row.end_date is not None and row.removal_date is not None
        body = {"end_date": row.end_date.isoformat(), "removal_date": row.removal_date.isoformat()}
    else:
        assert row.removal_date is not None
        body = {"removal_date": row.removal_date.isoformat()}
    return BkrMessage(action=row.action, reference=reference, body=body, idempotency_key=str(row.idempotency_key))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Claim:
    registration_id: uuid.UUID
    attempt_id: uuid.UUID
    token: uuid.UUID
    message: BkrMessage


def _due(now: datetime) -> SelectOfScalar[BkrRegistration]:
    register = aliased(BkrRegistration)
    waiting_for_registration = (
        select(register.id)
        .where(
            register.trajectory_id == BkrRegistration.trajectory_id,
            register.action == "register",
            register.status != "delivered",
        )
        .exists()
    )
    # A conflict opened after the start (a phone's offline "declined", say) holds delivery back
    # until the back office has decided it.
    open_conflict = (
        select(Conflict.id)
        .join(Trajectory, col(Trajectory.case_id) == Conflict.case_id)
        .where(Trajectory.id == BkrRegistration.trajectory_id, col(Conflict.resolved_at).is_(None))
        .exists()
    )
    end = aliased(BkrRegistration)
    waiting_for_end = (
        select(end.id)
        .where(end.trajectory_id == BkrRegistration.trajectory_id, end.action == "end", end.status != "delivered")
        .exists()
    )
    return (
        select(BkrRegistration)
        .where(
            BkrRegistration.status == "pending",
            col(BkrRegistration.next_attempt_at) <= now,
            ~open_conflict,
            or_(col(BkrRegistration.claimed_until).is_(None), col(BkrRegistration.claimed_until) < now),
            or_(col(BkrRegistration.action) == "register", ~waiting_for_registration),
            or_(col(BkrRegistration.action) != "remove", ~waiting_for_end),
        )
        .order_by(col(BkrRegistration.next_attempt_at), col(BkrRegistration.created_at), col(BkrRegistration.id))
        .limit(1)
        .with_for_update(skip_locked=True, of=BkrRegistration)
    )


def claim(engine: Engine, *, now: datetime, lease: timedelta) -> Claim | None:
    with Session(engine) as session:
        row = session.exec(_due(now)).first()
        if row is None:
            session.rollback()
            return None
        row.attempts += 1
        row.claim_token = uuid.uuid4()
        row.claimed_until = now + lease
        number = (
            session.exec(
                select(sa.func.count()).select_from(BkrAttempt).where(BkrAttempt.registration_id == row.id)
            ).one()
            + 1
        )
        attempt = BkrAttempt(
            municipality_code=row.municipality_code, registration_id=row.id, number=number, started_at=now
        )
        session.add_all([row, attempt])
        found = Claim(registration_id=row.id, attempt_id=attempt.id, token=row.claim_token, message=message_for(row))
        session.commit()
        return found


def record(
    engine: Engine,
    found: Claim,
    *,
    verdict: Delivery,
    status_code: int | None,
    error: str | None,
    bkr_reference: str | None,
    now: datetime,
    max_attempts: int,
) -> None:
    with Session(engine) as session:
        row = session.get(BkrRegistration, found.registration_id, with_for_update=True)
        attempt = session.get(BkrAttempt, found.attempt_id)
        assert row is not None and attempt is not None
        attempt.finished_at, attempt.outcome, attempt.http_status, attempt.error = (
            now,
            verdict.value,
            status_code,
            error,
        )
        session.add(attempt)
        if row.claim_token == found.token and row.status == "pending":
            row.claim_token, row.claimed_until = None, None
            if verdict is Delivery.DELIVERED:
                row.status, row.delivered_at, row.last_error = "delivered", now, None
                row.subject = {}  # BKR has the resident now; the outbox keeps no copy of them
                row.bkr_reference = bkr_reference or row.bkr_reference
            elif verdict is Delivery.REJECTED:
                row.status, row.last_error = "failed", error
            elif row.attempts >= max_attempts:
                row.status, row.last_error = "failed", f"gave up after {row.attempts} attempts; last: {error}"[:500]
            else:
                row.next_attempt_at, row.last_error = now + retry_delay(row.attempts), error
            session.add(row)
        session.commit()


@dataclass
class WorkerStats:
    delivered: int = 0
    retried: int = 0
    rejected: int = 0

    @property
    def attempts(self) -> int:
        return self.delivered + self.retried + self.rejected

    def count(self, verdict: Delivery) -> None:
        if verdict is Delivery.DELIVERED:
            self.delivered += 1
        elif verdict is Delivery.RETRY:
            self.retried += 1
        else:
            self.rejected += 1

    def add(self, other: WorkerStats) -> None:
        self.delivered += other.delivered
        self.retried += other.retried
        self.rejected += other.rejected


def deliver_due(
    engine: Engine,
    client: BkrClient,
    *,
    clock: Callable[[], datetime],
    lease: timedelta,
    max_attempts: int,
    stop: threading.Event | None = None,
) -> WorkerStats:
    """Deliver every row that is due now, one at a time; returns when none is left."""
    stats = WorkerStats()
    while stop is None or not stop.is_set():
        found = claim(engine, now=clock(), lease=lease)
        if found is None:
            break
        answer = client.deliver(found.message)
        verdict = judge(answer.status_code)
        record(
            engine,
            found,
            verdict=verdict,
            status_code=answer.status_code,
            error=answer.error,
            bkr_reference=str(answer.body.get("id")) if answer.body.get("id") else None,
            now=clock(),
            max_attempts=max_attempts,
        )
        log.info(
            "bkr.delivery",
            extra={
                "registration_id": str(found.registration_id),
                "outcome": verdict.value,
                "http_status": answer.status_code,
            },
        )
        stats.count(verdict)
        if answer.status_code in NOT_ACCEPTED:
            # BKR refuses the worker itself (credentials): stop this round instead of failing the queue.
            log.error("bkr.not-accepted", extra={"http_status": answer.status_code})
            break
    return stats


MAX_BACKOFF_SECONDS = 300.0


def run_worker(
    engine: Engine,
    client: BkrClient,
    *,
    clock: Callable[[], datetime],
    lease: timedelta,
    max_attempts: int,
    interval_seconds: float,
    stop: threading.Event,
) -> WorkerStats:
    """`doorstep bkr-worker`: deliver what is due, sleep, repeat until stopped.

    Database trouble (a restart, a failover, SQLite locked by a long import) ends a round,
    not the worker: it logs, waits twice as long each time (up to five minutes) and tries
    again. Nothing is lost meanwhile: a row claimed before the trouble is claimed again once
    its lease runs out, and BKR recognises the resent message by its idempotency key.
    """
    total = WorkerStats()
    failures = 0
    while not stop.is_set():
        try:
            total.add(deliver_due(engine, client, clock=clock, lease=lease, max_attempts=max_attempts, stop=stop))
        except sa.exc.SQLAlchemyError as exc:
            failures += 1
            pause = min(interval_seconds * 2**failures, MAX_BACKOFF_SECONDS)
            log.error("bkr.database-error", extra={"error_class": type(exc).__name__, "count": failures})
            stop.wait(pause)
            continue
        failures = 0
        stop.wait(interval_seconds)
    return total
