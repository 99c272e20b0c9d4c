"""The back office's day at a glance: deadlines, reach by channel, conflicts, silent devices, proposals to close."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.cases.rules import dutch_date
from api.cases.service import stale_before
from api.models import AuditEntry, BkrRegistration, Case, Conflict, Device
from api.platform import tables
from api.reports.facts import attempt_counts, is_open, objection_pending, overdue, proposed_closing, stale, still_to_act

SILENT_AFTER = timedelta(days=1)
# The purge is scheduled daily; two days without a run means the schedule stopped.
RETENTION_LATE_AFTER = timedelta(days=2)


def is_silent(
    last_pull_at: datetime | None, last_push_at: datetime | None, enrolled_at: datetime, *, now: datetime
) -> bool:
    """A device is silent when neither a pull nor a push reached us for a day (since enrolment)."""
    return (
        max(moment for moment in (last_pull_at, last_push_at, enrolled_at) if moment is not None) < now - SILENT_AFTER
    )


def retention_late(last_run_at: datetime | None, *, now: datetime) -> bool:
    """Whether the daily retention purge has stopped running (or never ran)."""
    return last_run_at is None or last_run_at < now - RETENTION_LATE_AFTER


@dataclass
class Dashboard:
    open_by_state: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    due_within_7_days: int = 0
    attempts_by_channel: dict[str, int] = field(default_factory=dict)
    reached_by_channel: dict[str, int] = field(default_factory=dict)
    open_conflicts: int = 0
    devices_not_synced_for_a_day: int = 0
    bkr_failed: int = 0
    proposed_closing: int = 0
    objection_pending: int = 0
    stale: int = 0
    retention_last_run_at: datetime | None = None


def dashboard(session: Session, *, municipality_code: str, now: datetime) -> Dashboard:
    today = dutch_date(now)  # overdue once its last day has passed in the Netherlands
    board = Dashboard()
    open_cases = (Case.municipality_code == municipality_code, is_open(Case.state), col(Case.purged_at).is_(None))
    for state, count in session.exec(select(Case.state, sa.func.count()).where(*open_cases).group_by(Case.state)):
        board.open_by_state[state] = count
    cases = tables.case.c
    board.overdue = session.exec(
        select(sa.func.count()).select_from(Case).where(*open_cases, overdue(cases, today=today))
    ).one()
    board.due_within_7_days = session.exec(  # still to act on, due in the coming week
        select(sa.func.count())
        .select_from(Case)
        .where(
            *open_cases,
            still_to_act(cases),
            col(Case.first_contact_due_date) >= today,
            col(Case.first_contact_due_date) <= today + timedelta(days=7),
        )
    ).one()
    board.proposed_closing = session.exec(
        select(sa.func.count()).select_from(Case).where(*open_cases, proposed_closing(cases))
    ).one()
    board.objection_pending = session.exec(
        select(sa.func.count()).select_from(Case).where(*open_cases, objection_pending(cases))
    ).one()
    board.stale = session.exec(
        select(sa.func.count())
        .select_from(Case)
        .where(*open_cases, stale(cases, before=stale_before(session, municipality_code, today=today)))
    ).one()
    board.attempts_by_channel, board.reached_by_channel = attempt_counts(
        session, municipality_code=municipality_code, open_cases=True
    )
    board.open_conflicts = session.exec(
        select(sa.func.count())
        .select_from(Conflict)
        .where(Conflict.municipality_code == municipality_code, col(Conflict.resolved_at).is_(None))
    ).one()
    # A device is silent when neither a pull nor a push reached us for a day (a municipality
    # has a handful of devices: counting them here is simpler than portable SQL over NULLs).
    board.devices_not_synced_for_a_day = sum(
        1
        for pulled, pushed, enrolled in session.exec(
            select(Device.last_pull_at, Device.last_push_at, Device.enrolled_at).where(
                Device.municipality_code == municipality_code, col(Device.revoked_at).is_(None)
            )
        )
        if is_silent(pulled, pushed, enrolled, now=now)
    )
    board.bkr_failed = session.exec(
        select(sa.func.count())
        .select_from(BkrRegistration)
        .where(BkrRegistration.municipality_code == municipality_code, BkrRegistration.status == "failed")
    ).one()
    board.retention_last_run_at = session.exec(
        select(sa.func.max(AuditEntry.at)).where(
            AuditEntry.municipality_code == municipality_code,
            # In the statement's text, so even a prepared statement's generic plan uses the partial index.
            AuditEntry.action == sa.literal("retention.run", literal_execute=True),
        )
    ).one()
    return board
