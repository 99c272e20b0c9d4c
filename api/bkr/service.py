"""Reading the outbox for the back office, and sending a failed registration again."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from api.auth.principal import Principal
from api.models import BkrAttempt, BkrRegistration, Trajectory
from api.platform.problems import Conflict
from api.platform.tenancy import owned


def describe(session: Session, rows: list[BkrRegistration]) -> list[dict[str, Any]]:
    """Rows with their case and every attempt (two queries, whatever the number of rows)."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    attempts: dict[uuid.UUID, list[BkrAttempt]] = defaultdict(list)
    for attempt in session.exec(
        select(BkrAttempt).where(col(BkrAttempt.registration_id).in_(ids)).order_by(col(BkrAttempt.number))
    ):
        attempts[attempt.registration_id].append(attempt)
    cases = dict(
        session.exec(
            select(Trajectory.id, Trajectory.case_id).where(col(Trajectory.id).in_({row.trajectory_id for row in rows}))
        ).all()
    )
    return [
        {
            **row.model_dump(),
            "case_id": cases[row.trajectory_id],
            "attempt_log": [attempt.model_dump() for attempt in attempts[row.id]],
        }
        for row in rows
    ]


def search(
    session: Session,
    principal: Principal,
    *,
    status: str | None,
    case_id: uuid.UUID | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[BkrRegistration]:
    query = select(BkrRegistration).where(BkrRegistration.municipality_code == principal.municipality_code)
    if status is not None:
        query = query.where(BkrRegistration.status == status)
    if case_id is not None:
        query = query.where(
            col(BkrRegistration.trajectory_id).in_(select(Trajectory.id).where(Trajectory.case_id == case_id))
        )
    if after is not None:
        query = query.where(tuple_(BkrRegistration.created_at, BkrRegistration.id) < tuple_(after[0], after[1]))
    query = query.order_by(col(BkrRegistration.created_at).desc(), col(BkrRegistration.id).desc()).limit(limit)
    return list(session.exec(query))


def retry(session: Session, principal: Principal, registration_id: uuid.UUID, *, now: datetime) -> BkrRegistration:
    """After a person looked at what BKR refused (or why attempts ran out): send it again, with the
    same idempotency key and a fresh run of attempts."""
    row = owned(session, BkrRegistration, registration_id, principal, lock=True)
    if row.status != "failed":
        raise Conflict(f"Only a failed registration can be retried; this one is {row.status}.", slug="not-failed")
    row.status, row.next_attempt_at, row.claimed_until, row.claim_token = "pending", now, None, None
    row.attempts, row.last_error = 0, None  # a fresh run of attempts; the attempt log keeps the history
    session.add(row)
    session.flush()
    return row
