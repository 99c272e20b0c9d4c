"""Facts about cases as SQL, one definition for the dashboard, the monitor and the case export.

An *attempt* is an applied event of a kind in `ATTEMPT_CHANNELS` (letter, phone, visit, mail, SMS, an
appointment kept, administrative contact; a card
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

from api.cases.rules import ATTEMPT_CHANNELS, CHANNELS, PROPOSABLE_STATES, CaseState
from api.platform import tables

_events = tables.visit_event
_attempt = _events.c.kind.in_(list(ATTEMPT_CHANNELS))
_reached = _events.c.payload["reached"].as_boolean()


class dutch_day(FunctionElement[date]):  # noqa: N801 (an SQL function, named like one)
    """The Dutch calendar day of a timestamp, in SQL: `cases.rules.dutch_date`'s twin.

    PostgreSQL's own `date()` would use the session's time zone, hence a construct per dialect;
    SQLite has no time zones, so the service registers a function of that name on each of its
    connections (`api.platform.db`), which calls `dutch_date` itself.
    """

    type = sa.Date()
    inherit_cache = True
    name = "dutch_day"


@compiles(dutch_day, "sqlite")
def _dutch_day_sqlite(element: dutch_day, compiler: Any, **kw: Any) -> str:
    return f"dutch_day({compiler.process(element.clauses, **kw)})"


@compiles(dutch_day, "postgresql")
def _dutch_day_postgresql(element: dutch_day, compiler: Any, **kw: Any) -> str:
    return f"CAST(timezone('Europe/Amsterdam', {compiler.process(element.clauses, **kw)}) AS DATE)"


# 'closed' written into the statement, not bound: psycopg prepares a statement it runs often, and
# PostgreSQL's generic plan for it can use the partial index of open cases
# (`ix_outreach_case_open_by_due`) only when the predicate's value is in the text.
CLOSED_IN_TEXT: sa.ColumnClause[str] = sa.literal_column(f"'{CaseState.CLOSED.value}'")


def is_open(state: Any) -> sa.ColumnElement[bool]:
    """The case is open (any state but closed), as the partial index of open cases says it."""
    return state != CLOSED_IN_TEXT  # type: ignore[no-any-return]


def attempt_on_or_before(case_id: sa.ColumnElement[Any], day: sa.ColumnElement[Any]) -> sa.Exists:
    """The case has an applied contact attempt, by any channel and reached or not, on or before
    the Dutch day `day` (a column or a value)."""
    return sa.exists().where(
        _events.c.case_id == case_id, _events.c.outcome == "applied", _attempt, dutch_day(_events.c.occurred_at) <= day
    )


def overdue(cases: Any, *, today: date) -> sa.ColumnElement[bool]:
    """`cases.rules.is_overdue` as SQL over a case table's columns: open, its due day ended
    before `today`, and no attempt on or before it."""
    return sa.and_(
        is_open(cases.state),
        cases.first_contact_due_date < today,
        ~attempt_on_or_before(cases.id, cases.first_contact_due_date),
    )


def still_to_act(cases: Any) -> sa.ColumnElement[bool]:
    """Open and not yet attempted in time: the cases a deadline list is about (overdue ones
    included once their day has passed)."""
    return sa.and_(is_open(cases.state), ~attempt_on_or_before(cases.id, cases.first_contact_due_date))


_signals = tables.signal


def proposed_closing(cases: Any) -> sa.ColumnElement[bool]:
    """`cases.rules.closing_proposal` as SQL over a case table's columns: nobody reached yet, and
    the case has signals, all of them below threshold."""
    return sa.and_(
        cases.state.in_(sorted(PROPOSABLE_STATES)),
        sa.exists().where(_signals.c.case_id == cases.id),
        ~sa.exists().where(_signals.c.case_id == cases.id, ~_signals.c.below_threshold),
    )


def stale(cases: Any, *, before: datetime) -> sa.ColumnElement[bool]:
    """`cases.rules.is_stale` as SQL: open, opened before `before` (the start of the cutoff's Dutch
    day), and no signal received and no event recorded or happened since."""
    return sa.and_(
        is_open(cases.state),
        cases.opened_at < before,
        ~sa.exists().where(_signals.c.case_id == cases.id, _signals.c.received_at >= before),
        ~sa.exists().where(
            _events.c.case_id == cases.id, sa.or_(_events.c.occurred_at >= before, _events.c.received_at >= before)
        ),
    )


def objection_pending(cases: Any) -> sa.ColumnElement[bool]:
    """Open, opened under an earlier objection, and the office has not decided yet (it decides by
    assigning the case to a worker or closing it): what planning leaves alone."""
    return sa.and_(is_open(cases.state), cases.objection, cases.assigned_worker_id.is_(None))


def first_attempt_day(case_id: sa.ColumnElement[Any]) -> sa.ScalarSelect[Any]:
    """The Dutch day of the case's first applied attempt (NULL without one), as a column."""
    return (
        sa.select(sa.func.min(dutch_day(_events.c.occurred_at)))
        .where(_events.c.case_id == case_id, _events.c.outcome == "applied", _attempt)
        .scalar_subquery()
    )


def attempt_counts(
    session: Session,
    *,
    municipality_code: str,
    since: datetime | None = None,
    until: datetime | None = None,
    open_cases: bool = False,
) -> tuple[dict[str, int], dict[str, int]]:
    """Attempts and attempts that reached the resident, per channel, optionally in [since, until)
    or on the cases open now (what the dashboard watches: the work in hand, the same whatever the
    years of history behind it).

    Only channels with attempts appear (the dashboard shows what happened, not a grid of zeros).
    """
    query = (
        sa.select(_events.c.kind, sa.func.count(), sa.func.sum(sa.case((_reached, 1), else_=0)))
        .where(_events.c.municipality_code == municipality_code, _events.c.outcome == "applied", _attempt)
        .group_by(_events.c.kind)
    )
    if open_cases:
        cases = tables.case.c
        query = query.join(tables.case, cases.id == _events.c.case_id).where(
            cases.municipality_code == municipality_code, is_open(cases.state), cases.purged_at.is_(None)
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
    return cases.outerjoin(
        _events,
        sa.and_(
            _events.c.case_id == case_id,
            _events.c.outcome == "applied",
            _events.c.kind.in_([*ATTEMPT_CHANNELS, "help_accepted"]),
        ),
    )


def contact_columns() -> dict[str, sa.Label[Any]]:
    """Over `with_contacts` grouped by the case: attempts per channel (`letter_attempts`, …),
    `first_attempt_at`, `first_contact_at` and `help_accepted_at` (NULL when there is none)."""
    columns = [
        sa.func.count(sa.case((_events.c.kind.in_([k for k, c in ATTEMPT_CHANNELS.items() if c == channel]), 1))).label(
            f"{channel}_attempts"
        )
        for channel in CHANNELS
    ] + [
        sa.func.min(sa.case((_attempt, _events.c.occurred_at))).label("first_attempt_at"),
        sa.func.min(sa.case((sa.and_(_attempt, _reached), _events.c.occurred_at))).label("first_contact_at"),
        sa.func.min(sa.case((_events.c.kind == "help_accepted", _events.c.occurred_at))).label("help_accepted_at"),
    ]
    return {column.name: column for column in columns}


def help_accepted_count(session: Session, *, municipality_code: str, since: datetime, until: datetime) -> int:
    """Cases whose first accepted help falls in [since, until): accepted in the period and never
    before it. Read from the period's events (by tenant and time) and, per case found, its earlier
    state events, not from every acceptance of the municipality's history."""
    accepted = (_events.c.outcome == "applied", _events.c.kind == "help_accepted")
    earlier = _events.alias("earlier")
    return int(
        session.execute(
            sa.select(sa.func.count(sa.distinct(_events.c.case_id))).where(
                _events.c.municipality_code == municipality_code,
                *accepted,
                _events.c.occurred_at >= since,
                _events.c.occurred_at < until,
                ~sa.exists().where(
                    earlier.c.case_id == _events.c.case_id,
                    earlier.c.outcome == "applied",
                    earlier.c.kind == "help_accepted",
                    earlier.c.occurred_at < since,
                ),
            )
        ).scalar_one()
    )
