"""The back office's review queue of field/office disagreements, and its decisions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from api.auth.principal import Principal
from api.cases.rules import CaseEvent, CaseState, allowed_events, transition
from api.models import Case, Conflict, VisitEvent
from api.platform.problems import Conflict as ConflictProblem
from api.platform.sequence import next_change_seq
from api.platform.tenancy import owned
from api.signals import status as signal_status


def open_conflicts(session: Session, principal: Principal) -> list[Conflict]:
    return list(
        session.exec(
            select(Conflict)
            .where(Conflict.municipality_code == principal.municipality_code, col(Conflict.resolved_at).is_(None))
            .order_by(col(Conflict.opened_at))
        )
    )


def resolve(
    session: Session, principal: Principal, conflict_id: uuid.UUID, *, decision: str, note: str | None, now: datetime
) -> Conflict:
    conflict = owned(session, Conflict, conflict_id, principal, lock=True)
    if conflict.resolved_at is not None:
        raise ConflictProblem("This conflict was resolved already.", slug="conflict-resolved")
    case = session.get(Case, conflict.case_id, with_for_update=True)
    assert case is not None
    state = CaseState(case.state)
    if decision == "help_accepted":
        if state is CaseState.NEW or state is CaseState.PLANNED:
            state = transition(state, CaseEvent.CONTACT)
        if CaseEvent.ACCEPT_HELP in allowed_events(state):
            state = transition(state, CaseEvent.ACCEPT_HELP)
    elif decision == "help_declined" and state in (CaseState.NEW, CaseState.PLANNED):
        state = transition(state, CaseEvent.CONTACT)
    conflict.resolved_at = now
    conflict.resolved_by = principal.user_id
    conflict.resolution = {
        "decision": decision,
        "note": note,
        "event_ids": [side["event_id"] for side in conflict.sides],
    }
    for event in session.exec(
        select(VisitEvent).where(col(VisitEvent.id).in_([uuid.UUID(side["event_id"]) for side in conflict.sides]))
    ):
        event.outcome = "applied" if decision != "keep_office" else "conflict"
        session.add(event)
    case.state = state.value
    case.version += 1
    case.change_seq = next_change_seq(session, case.municipality_code)  # devices learn the outcome on their next pull
    session.add(case)
    session.add(conflict)
    session.flush()
    signal_status.refresh(session, [case.id], now=now)
    return conflict
