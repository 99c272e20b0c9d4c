"""Facts about cases as SQL, one definition for the dashboard, the monitor and the case export.

An *attempt* is an applied event of a kind in `ATTEMPT_CHANNELS` (letter, phone, visit; a card
left belongs to its visit and is no attempt of its own); it *reached* the resident when its payload says `reached: true` — the same test
`next_action` uses to stop planning. A case's *first contact* is its first attempt that
reached the resident; *help accepted* is its first applied `help_accepted` event.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session

from api.cases.rules import ATTEMPT_CHANNELS
from api.models import VisitEvent

CHANNELS = ("letter", "phone", "visit")
_events = VisitEvent.__table__
_attempt = _events.c.kind.in_(list(ATTEMPT_CHANNELS))
_reached = _events.c.payload["reached"].as_boolean()


class utc_date(FunctionElement[date]):  # noqa: N801 (an SQL function, named like one)
    """The UTC calendar date of a timestamp, the way deadlines are counted (`received_at.date()`).

    PostgreSQL's own `date()` would use the session's time zone, hence a construct per dialect.
    """

    type = sa.Date()
    inherit_cache = True
    name = "utc_date"


@compiles(utc_date, "sqlite")
def _utc_date_sqlite(element: utc_date, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"  # stored as UTC text already


@compiles(utc_date, "postgresql")
def _utc_date_postgresql(element: utc_date, compiler: Any, **kw: Any) -> str:
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


def attempt_counts(
    session: Session, *, municipality_code: str, since: datetime | None = None, until: datetime | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """Attempts and attempts that reached the resident, per channel, optionally in [since, until).

    Only channels with attempts appear (the dashboard shows what happened, not a grid of zeros).
    """
    query = (
        sa.select(_events.c.kind, sa.func.count(), sa.func.sum(sa.case((_reached, 1), else_=0)))
        .where(_events.c.municipality_code == municipality_code, _events.c.outcome == "applied", _attempt)
        .group_by(_events.c.kind)
    )
    if since is not None:
        query = query.where(_events.c.occurred_at >= since)
    if until is not None:
        query = query.where(_events.c.occurred_at < until)
    attempts: dict[str, int] = {}
    reached: dict[str, int] = {}
    for kind, count, reaching in session.execute(query):
        channel = ATTEMPT_CHANNELS[kind]
        attempts[channel] = attempts.get(channel, 0) + int(count)
        reached[channel] = reached.get(channel, 0) + int(reaching or 0)
    return attempts, reached


def with_contacts(cases: sa.FromClause, case_id: sa.ColumnElement[Any]) -> sa.Join:
    """`cases` joined to their applied attempts and accepted help; select `contact_columns()`
    from it grouped by the case (a case without any keeps one row, with zero attempts).

    The aggregate sits on top of the join, not in a subquery joined to the cases: with
    statistics that lag behind a large delivery, PostgreSQL would run such a subquery again
    for every case (minutes for 10,000 cases); over the join it at worst walks the index on
    `visit_event.case_id` once per case.
    """
    return cases.outerjoin(_events, sa.and_(
        _events.c.case_id == case_id, _events.c.outcome == "applied",
        _events.c.kind.in_([*ATTEMPT_CHANNELS, "help_accepted"]),
    ))


def contact_columns() -> dict[str, sa.Label[Any]]:
    """Over `with_contacts` grouped by the case: attempts per channel (`letter_attempts`, …),
    `first_attempt_at`, `first_contact_at` and `help_accepted_at` (NULL when there is none)."""
    columns = [
        sa.func.count(sa.case((_events.c.kind.in_([k for k, c in ATTEMPT_CHANNELS.items() if c == channel]), 1)))
        .label(f"{channel}_attempts")
        for channel in CHANNELS
    ] + [
        sa.func.min(sa.case((_attempt, _events.c.occurred_at))).label("first_attempt_at"),
        sa.func.min(sa.case((sa.and_(_attempt, _reached), _events.c.occurred_at))).label("first_contact_at"),
        sa.func.min(sa.case((_events.c.kind == "help_accepted", _events.c.occurred_at))).label("help_accepted_at"),
    ]
    return {column.name: column for column in columns}


def help_accepted_count(session: Session, *, municipality_code: str, since: datetime, until: datetime) -> int:
    """Cases whose first accepted help falls in [since, until)."""
    first = (
        sa.select(sa.func.min(_events.c.occurred_at).label("accepted_at"))
        .where(_events.c.municipality_code == municipality_code, _events.c.outcome == "applied",
               _events.c.kind == "help_accepted")
        .group_by(_events.c.case_id)
        .subquery()
    )
    return int(session.execute(
        sa.select(sa.func.count()).select_from(first).where(first.c.accepted_at >= since, first.c.accepted_at < until)
    ).scalar_one())
