"""The monitor: a municipality's figures for a period, each one aggregate query (10,000s of cases)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session

from api.cases.rules import CHANNELS, CaseState, dutch_date, overdue_by
from api.platform import tables
from api.reports.facts import attempt_counts, contact_columns, dutch_day, help_accepted_count, with_contacts
from api.reports.rules import (
    ClosedTally,
    DeadlineTally,
    FirstTally,
    day_bounds,
    deadline_outcome,
    first_against_deadline,
    tally_by_month,
    tally_closed,
    tally_deadlines,
    tally_first,
)
from api.signals.parsing import PARTNER_TYPES
from api.signals.rules import SignalKind

UNCLASSIFIED = "unclassified"  # a signal not yet assessed (never left so by an intake)


@dataclass(frozen=True)
class SignalFigures:
    received: int
    repeats: int  # included in `received` and in both breakdowns
    by_classification: dict[str, int]
    by_partner_type: dict[str, int]


@dataclass(frozen=True)
class TrajectoryFigures:
    started: int
    ended: int
    ended_by_outcome: dict[str, int]


@dataclass(frozen=True)
class Monitor:
    municipality_code: str
    from_date: date
    to_date: date
    generated_at: datetime
    signals: SignalFigures
    cases: DeadlineTally
    first_attempt: FirstTally  # the duty: any attempt, reached or not
    first_reach: FirstTally
    overdue: int  # of the cases opened: open, no attempt on or before the due date, that day ended
    attempts_by_channel: dict[str, int]
    reached_by_channel: dict[str, int]
    help_accepted: int
    trajectories: TrajectoryFigures
    closed: ClosedTally


def monitor(session: Session, *, municipality_code: str, start: date, end: date, now: datetime) -> Monitor:
    since, until = day_bounds(start, end)
    attempts, reached = attempt_counts(session, municipality_code=municipality_code, since=since, until=until)
    cases, first_attempt, first_reach, overdue = _opened(
        session, municipality_code, since, until, today=dutch_date(now)
    )
    return Monitor(
        municipality_code=municipality_code,
        from_date=start,
        to_date=end,
        generated_at=now,
        signals=_signals(session, municipality_code, since, until),
        cases=cases,
        first_attempt=first_attempt,
        first_reach=first_reach,
        overdue=overdue,
        attempts_by_channel={channel: attempts.get(channel, 0) for channel in CHANNELS},
        reached_by_channel={channel: reached.get(channel, 0) for channel in CHANNELS},
        help_accepted=help_accepted_count(session, municipality_code=municipality_code, since=since, until=until),
        trajectories=_trajectories(session, municipality_code, start, end),
        closed=_closed(session, municipality_code, since, until),
    )


def signals_by_partner_type_per_month(
    session: Session, *, municipality_code: str, start: date, end: date
) -> dict[str, dict[str, int]]:
    """Signals received per month of the period (`YYYY-MM`, Dutch days as everywhere in the monitor) and
    partner type, repeats included: each month adds up to what the monitor's `received` counts in it."""
    since, until = day_bounds(start, end)
    signals = tables.signal.c
    day = dutch_day(signals.received_at)
    rows = session.execute(
        sa.select(day, signals.partner_type, sa.func.count())
        .where(
            signals.municipality_code == municipality_code, signals.received_at >= since, signals.received_at < until
        )
        .group_by(day, signals.partner_type)
    )
    return tally_by_month(
        ((received, partner_type, int(count)) for received, partner_type, count in rows),
        start=start,
        end=end,
        keys=sorted(PARTNER_TYPES),
    )


def _signals(session: Session, code: str, since: datetime, until: datetime) -> SignalFigures:
    signals = tables.signal.c
    by_classification = {kind.value: 0 for kind in SignalKind}
    by_partner_type = {partner_type: 0 for partner_type in sorted(PARTNER_TYPES)}
    received = repeats = 0
    for classification, partner_type, is_repeat, count in session.execute(
        sa.select(signals.classification, signals.partner_type, signals.is_repeat, sa.func.count())
        .where(signals.municipality_code == code, signals.received_at >= since, signals.received_at < until)
        .group_by(signals.classification, signals.partner_type, signals.is_repeat)
    ):
        key = classification or UNCLASSIFIED
        by_classification[key] = by_classification.get(key, 0) + count
        by_partner_type[partner_type] = by_partner_type.get(partner_type, 0) + count
        received += count
        repeats += count if is_repeat else 0
    return SignalFigures(
        received=received, repeats=repeats, by_classification=by_classification, by_partner_type=by_partner_type
    )


def _opened(
    session: Session, code: str, since: datetime, until: datetime, *, today: date
) -> tuple[DeadlineTally, FirstTally, FirstTally, int]:
    """Cases opened in the period against their deadline: by first reach (the `cases` section, as
    before), by first attempt (the duty) and by first reach (the same three-way split), and how
    many are overdue now. One query, grouped by six facts per case."""
    cases = tables.case.c
    columns = contact_columns()
    first_attempt_day = dutch_day(columns["first_attempt_at"].element)
    first_reach_day = dutch_day(columns["first_contact_at"].element)
    # The facts per case inside, the counting outside: grouping by an expression that holds
    # a bound parameter (today) would not match the same expression in SELECT on PostgreSQL.
    per_case = (
        sa.select(
            columns["first_attempt_at"].element.is_not(None).label("attempted"),
            sa.func.coalesce(first_attempt_day <= cases.first_contact_due_date, False).label("attempted_by_deadline"),
            columns["first_contact_at"].element.is_not(None).label("reached"),
            sa.func.coalesce(first_reach_day <= cases.first_contact_due_date, False).label("reached_by_deadline"),
            (cases.state == CaseState.CLOSED.value).label("closed"),
            (cases.first_contact_due_date < today).label("deadline_passed"),
        )
        .select_from(with_contacts(tables.case, cases.id))
        .where(cases.municipality_code == code, cases.opened_at >= since, cases.opened_at < until)
        .group_by(cases.id)
        .subquery("per_case")
    )
    flags = (
        per_case.c.attempted,
        per_case.c.attempted_by_deadline,
        per_case.c.reached,
        per_case.c.reached_by_deadline,
        per_case.c.closed,
        per_case.c.deadline_passed,
    )
    groups = [
        (tuple(bool(flag) for flag in row[:-1]), int(row[-1]))
        for row in session.execute(sa.select(*flags, sa.func.count()).group_by(*flags))
    ]
    by_reach = tally_deadlines(
        (
            deadline_outcome(reached=reached, reached_by_deadline=by_deadline, closed=closed, deadline_passed=passed),
            count,
        )
        for (_, _, reached, by_deadline, closed, passed), count in groups
    )
    by_attempt = tally_first(
        (first_against_deadline(happened=attempted, by_deadline=by_deadline), count)
        for (attempted, by_deadline, *_), count in groups
    )
    reach = tally_first(
        (first_against_deadline(happened=reached, by_deadline=by_deadline), count)
        for (_, _, reached, by_deadline, _, _), count in groups
    )
    overdue = sum(
        count
        for (_, by_deadline, _, _, closed, passed), count in groups
        if overdue_by(closed=closed, deadline_passed=passed, attempted_by_deadline=by_deadline)
    )
    return by_reach, by_attempt, reach, overdue


def _trajectories(session: Session, code: str, start: date, end: date) -> TrajectoryFigures:
    trajectories = tables.trajectory.c
    started = session.execute(
        sa.select(sa.func.count()).where(
            trajectories.municipality_code == code, trajectories.decision_date.between(start, end)
        )
    ).scalar_one()
    ended_by_outcome: dict[str, int] = {}
    for outcome, count in session.execute(
        sa.select(trajectories.outcome, sa.func.count())
        .where(trajectories.municipality_code == code, trajectories.end_date.between(start, end))
        .group_by(trajectories.outcome)
    ):
        key = outcome or "unknown"
        ended_by_outcome[key] = ended_by_outcome.get(key, 0) + count
    return TrajectoryFigures(
        started=int(started),
        ended=sum(ended_by_outcome.values()),
        ended_by_outcome=dict(sorted(ended_by_outcome.items())),
    )


def _closed(session: Session, code: str, since: datetime, until: datetime) -> ClosedTally:
    cases = tables.case.c
    return tally_closed(
        dict(
            session.execute(
                sa.select(cases.result, sa.func.count())
                .where(
                    cases.municipality_code == code,
                    cases.state == CaseState.CLOSED.value,
                    cases.closed_at >= since,
                    cases.closed_at < until,
                )
                .group_by(cases.result)
            ).all()
        )
    )
