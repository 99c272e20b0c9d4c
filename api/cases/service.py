"""Use cases of reading cases, scoped to the caller's municipality and, for workers, their own."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import or_, tuple_
from sqlmodel import Session, col, select

from api.auth.principal import Principal
from api.models import Case, Household, Signal
from api.problems import NotFound


def _visible(principal: Principal):  # type: ignore[no-untyped-def]
    query = select(Case, Household).join(Household, col(Household.id) == Case.household_id).where(
        Case.municipality_code == principal.municipality_code, col(Case.purged_at).is_(None)
    )
    if principal.kind == "staff" and principal.role == "worker":
        query = query.where(or_(Case.assigned_worker_id == principal.user_id, Case.second_worker_id == principal.user_id))
    return query


def list_cases(
    session: Session, principal: Principal, *, state: str | None, after: tuple[date, uuid.UUID] | None, limit: int
) -> list[tuple[Case, Household]]:
    query = _visible(principal)
    if state is not None:
        query = query.where(Case.state == state)
    if after is not None:
        query = query.where(tuple_(Case.deadline_date, Case.id) > tuple_(after[0], after[1]))
    query = query.order_by(col(Case.deadline_date), col(Case.id)).limit(limit)
    return [(case, household) for case, household in session.exec(query)]


def get_case(session: Session, principal: Principal, case_id: uuid.UUID) -> tuple[Case, Household, list[Signal]]:
    row = session.exec(_visible(principal).where(Case.id == case_id)).first()
    if row is None:
        # Another municipality's, purged, or a worker asking for somebody else's case:
        # all get the same answer as a case that does not exist.
        raise NotFound("No such case.")
    case, household = row
    signals = list(
        session.exec(select(Signal).where(Signal.case_id == case.id).order_by(col(Signal.signal_date), col(Signal.id)))
    )
    return case, household, signals
