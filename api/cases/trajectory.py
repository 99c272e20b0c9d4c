"""Starting and ending a debt-relief trajectory — the one step that registers at BKR.

Both are back-office acts (the routes allow no other role, and no device event can reach
here). Starting writes the trajectory and its BKR outbox row in one transaction: either
both exist or neither does.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from api.auth.principal import Principal
from api.bkr.outbox import enqueue_end, enqueue_registration
from api.bkr.rules import (
    ADDRESS_FIELDS,
    SUBJECT_FIELDS,
    Person,
    SubjectProblem,
    TrajectoryOutcome,
    choose_subject,
    removal_date,
)
from api.cases.rules import DEFAULT_HANDOVER_RESULT, HANDOVER_RESULTS, CaseEvent, CaseState, allowed_events, dutch_date
from api.cases.service import check_result, move, new_version
from api.models import BkrRegistration, Case, Conflict, Household, Municipality, Signal, Trajectory
from api.municipality.policy import settings_of
from api.platform.problems import Conflict as ConflictProblem
from api.platform.problems import NotFound, Unprocessable
from api.platform.tenancy import owned


def _open_case(session: Session, principal: Principal, case_id: uuid.UUID, base_version: int | None) -> Case:
    case = owned(session, Case, case_id, principal, lock=True)
    if case.purged_at is not None:
        raise NotFound("No such case.")
    if base_version is not None and base_version != case.version:
        raise ConflictProblem(
            f"The case is at version {case.version}, you saw {base_version}.",
            slug="version-conflict",
            current_version=case.version,
        )
    return case


def _subject(session: Session, case: Case, household: Household, signal_id: uuid.UUID | None) -> dict[str, Any]:
    """The resident as BKR identifies them: name, birth date, gender and address — never the BSN."""
    signals = list(session.exec(select(Signal).where(Signal.case_id == case.id).order_by(col(Signal.signal_date))))
    if signal_id is not None:
        signals = [signal for signal in signals if signal.id == signal_id]
        if not signals:
            raise Unprocessable("That signal is not one of this case's.", slug="unknown-signal")
    chosen = choose_subject([Person(**{name: getattr(signal, name) for name in SUBJECT_FIELDS}) for signal in signals])
    if chosen is SubjectProblem.UNIDENTIFIED:
        raise Unprocessable(
            "No signal of this case names the resident; BKR cannot register an address.", slug=chosen.value
        )
    if chosen is SubjectProblem.AMBIGUOUS:
        raise Unprocessable(
            "The signals name different residents: choose one with `signal_id`.",
            slug=chosen.value,
            candidates=[str(signal.id) for signal in signals if signal.surname],
        )
    if chosen is SubjectProblem.INCOMPLETE:
        raise Unprocessable(
            "BKR needs the resident's surname and birth date; the signals lack the birth date.", slug=chosen.value
        )
    assert isinstance(chosen, Person)
    person = {name: getattr(chosen, name) for name in SUBJECT_FIELDS}
    person["birth_date"] = chosen.birth_date.isoformat() if chosen.birth_date else None
    return {"person": person, "address": {name: getattr(household, name) for name in ADDRESS_FIELDS}}


def start(
    session: Session,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    decision_date: date,
    signal_id: uuid.UUID | None,
    base_version: int | None,
    now: datetime,
    result: str = DEFAULT_HANDOVER_RESULT,
) -> tuple[Case, Trajectory, BkrRegistration]:
    """The decision starts debt help: the trajectory and its BKR registration, and the early-
    signalling case closes with a follow-up `result` (the handover; the trajectory lives on)."""
    case = _open_case(session, principal, case_id, base_version)
    if result not in HANDOVER_RESULTS:
        raise Unprocessable(
            f"A trajectory hands the case over with one of: {', '.join(HANDOVER_RESULTS)}.",
            slug="not-a-handover-result",
        )
    # Dates as the office knows them: Dutch calendar days (just after midnight it is already
    # tomorrow in Amsterdam, and a decision dated today must not be "in the future").
    if decision_date > dutch_date(now):
        raise Unprocessable("The decision date lies in the future.", slug="decision-in-future")
    if decision_date < dutch_date(case.opened_at):
        raise Unprocessable("The decision date lies before the case was opened.", slug="decision-before-case")
    if session.exec(select(Trajectory.id).where(Trajectory.case_id == case.id)).first() is not None:
        raise ConflictProblem("This case already has a trajectory.", slug="trajectory-exists")
    open_conflict = session.exec(
        select(Conflict.id).where(Conflict.case_id == case.id, col(Conflict.resolved_at).is_(None))
    ).first()
    if open_conflict is not None:
        raise ConflictProblem(
            "The case has an open conflict; resolve it before starting a trajectory.",
            slug="open-conflict",
            conflict_id=str(open_conflict),
        )
    if CaseEvent.START_TRAJECTORY in allowed_events(CaseState(case.state)):  # else `move` names the state
        check_result(session, case, result)
    move(case, CaseEvent.START_TRAJECTORY)
    case.result, case.closed_at = result, now
    household = session.get(Household, case.household_id)
    assert household is not None
    subject = _subject(session, case, household, signal_id)
    assert principal.user_id is not None  # the office decides: a staff member
    trajectory = Trajectory(
        municipality_code=case.municipality_code,
        case_id=case.id,
        decision_date=decision_date,
        started_by=principal.user_id,
        created_at=now,
    )
    session.add(trajectory)
    session.flush()
    registration = enqueue_registration(session, trajectory, subject=subject, now=now)
    new_version(session, case, now=now)
    return case, trajectory, registration


def end(
    session: Session,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    end_date: date,
    outcome: TrajectoryOutcome,
    now: datetime,
) -> tuple[Case, Trajectory, BkrRegistration]:
    case = _open_case(session, principal, case_id, None)
    trajectory = session.exec(select(Trajectory).where(Trajectory.case_id == case.id).with_for_update()).first()
    if trajectory is None:
        raise ConflictProblem("This case has no trajectory to end.", slug="no-trajectory")
    if trajectory.end_date is not None:
        raise ConflictProblem(f"The trajectory already ended on {trajectory.end_date}.", slug="trajectory-ended")
    if end_date < trajectory.decision_date:
        raise Unprocessable("The end date lies before the decision date.", slug="end-before-start")
    if end_date > dutch_date(now):
        raise Unprocessable("The end date lies in the future.", slug="end-in-future")
    municipality = session.get(Municipality, case.municipality_code)
    settings = settings_of(municipality)
    trajectory.end_date, trajectory.outcome, trajectory.ended_by = end_date, outcome, principal.user_id
    session.add(trajectory)
    registration = enqueue_end(
        session,
        trajectory,
        now=now,
        removal_date=removal_date(
            end_date,
            outcome,
            months_after_end=settings.bkr_removal_months_after_end,
            months_after_success=settings.bkr_removal_months_after_success,
        ),
    )
    new_version(session, case, now=now)
    return case, trajectory, registration


def of_case(session: Session, case_id: uuid.UUID) -> tuple[Trajectory | None, list[BkrRegistration]]:
    trajectory = session.exec(select(Trajectory).where(Trajectory.case_id == case_id)).first()
    if trajectory is None:
        return None, []
    registrations = session.exec(
        select(BkrRegistration)
        .where(BkrRegistration.trajectory_id == trajectory.id)
        .order_by(col(BkrRegistration.created_at), col(BkrRegistration.action).desc())
    )
    return trajectory, list(registrations)
