"""Use cases of cases: reading (scoped to the municipality and, for workers, their own), assigning, closing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import or_, tuple_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from api.auth.principal import Principal
from api.cases.rules import (
    AMSTERDAM,
    ATTEMPT_CHANNELS,
    Attempt,
    CaseEvent,
    CaseState,
    IllegalTransition,
    allowed_events,
    allowed_results,
    dutch_date,
    is_stale,
    result_problem,
    stale_cutoff,
    transition,
)
from api.models import Case, Household, Municipality, Signal, StaffUser, Trajectory, VisitEvent
from api.models import Conflict as ConflictRow
from api.municipality.policy import ChannelPlan, OutreachPolicy, settings_of
from api.platform import tables
from api.platform.problems import Conflict, NotFound, Unprocessable
from api.platform.sequence import next_change_seq
from api.platform.tenancy import owned
from api.reports.facts import CLOSED_IN_TEXT, dutch_day, overdue, proposed_closing, stale, still_to_act
from api.signals import status as signal_status


def _visible(principal: Principal) -> Select[Case, Household]:
    query = (
        select(Case, Household)
        .join(Household, col(Household.id) == Case.household_id)
        .where(Case.municipality_code == principal.municipality_code, col(Case.purged_at).is_(None))
    )
    if principal.kind == "staff" and principal.role == "worker":
        query = query.where(
            or_(col(Case.assigned_worker_id) == principal.user_id, col(Case.second_worker_id) == principal.user_id)
        )
    return query


@dataclass(frozen=True)
class CaseFilter:
    """The back office's filters; every one is optional and they combine with AND."""

    state: str | None = None
    open: bool | None = None  # True: every state but closed (what the dashboard counts); False: closed only
    classification: str | None = None
    partner_type: str | None = None
    due_within_days: int | None = None  # due on or before today + N (overdue included)
    overdue: bool | None = None
    worker_id: uuid.UUID | None = None
    unassigned: bool | None = None
    postcode_from: str | None = None
    postcode_to: str | None = None
    has_open_conflict: bool | None = None
    crisis: bool | None = None
    signal_status: str | None = None  # a signal of the case has this DDAS status
    proposed_closing: bool | None = (
        None  # proposed for closing as an unjustified signal (`cases.rules.closing_proposal`)
    )
    objection: bool | None = None  # opened under an earlier objection (`Case.objection`)
    stale: bool | None = None  # proposed for closing: nothing happened for `stale_case_months` (`cases.rules.is_stale`)


def _postcode_bound(value: str, *, upper: bool) -> str:
    compact = value.replace(" ", "").upper()
    return compact if len(compact) == 6 else compact + ("ZZ" if upper else "AA")


def _filtered(
    query: Select[Case, Household], filters: CaseFilter, *, today: date, session: Session, principal: Principal
) -> Select[Case, Household]:
    if filters.state is not None:
        query = query.where(Case.state == filters.state)
    if filters.open is not None:
        closed = col(Case.state) == CLOSED_IN_TEXT  # in the text: see `reports.facts.is_open`
        query = query.where(~closed if filters.open else closed)
    if filters.classification is not None:
        query = query.where(Case.classification == filters.classification)
    if filters.crisis is not None:
        query = query.where(Case.crisis == filters.crisis)
    if filters.signal_status is not None:
        query = query.where(
            select(Signal.id).where(Signal.case_id == Case.id, Signal.status == filters.signal_status).exists()
        )
    if filters.partner_type is not None:
        query = query.where(
            select(Signal.id).where(Signal.case_id == Case.id, Signal.partner_type == filters.partner_type).exists()
        )
    cases = tables.case.c
    if filters.due_within_days is not None:
        # Still to act on and due by then (the overdue included): a case attempted in time is done with.
        query = query.where(
            still_to_act(cases), col(Case.first_contact_due_date) <= today + timedelta(days=filters.due_within_days)
        )
    if filters.overdue is not None:
        late = overdue(cases, today=today)
        query = query.where(late if filters.overdue else ~late)
    if filters.proposed_closing is not None:
        proposed = proposed_closing(cases)
        query = query.where(proposed if filters.proposed_closing else ~proposed)
    if filters.stale is not None:
        old = stale(cases, before=stale_before(session, principal.municipality_code, today=today))
        query = query.where(old if filters.stale else ~old)
    if filters.objection is not None:
        query = query.where(Case.objection == filters.objection)
    if filters.worker_id is not None:
        query = query.where(
            or_(col(Case.assigned_worker_id) == filters.worker_id, col(Case.second_worker_id) == filters.worker_id)
        )
    if filters.unassigned is not None:
        query = query.where(
            col(Case.assigned_worker_id).is_(None) if filters.unassigned else col(Case.assigned_worker_id).is_not(None)
        )
    if filters.postcode_from is not None:
        query = query.where(col(Household.postcode) >= _postcode_bound(filters.postcode_from, upper=False))
    if filters.postcode_to is not None:
        query = query.where(col(Household.postcode) <= _postcode_bound(filters.postcode_to, upper=True))
    if filters.has_open_conflict is not None:
        open_conflict = (
            select(ConflictRow.id)
            .where(ConflictRow.case_id == Case.id, col(ConflictRow.resolved_at).is_(None))
            .exists()
        )
        query = query.where(open_conflict if filters.has_open_conflict else ~open_conflict)
    return query


def list_cases(
    session: Session,
    principal: Principal,
    *,
    filters: CaseFilter,
    today: date,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> list[tuple[Case, Household]]:
    query = _filtered(_visible(principal), filters, today=today, session=session, principal=principal)
    if after is not None:
        query = query.where(tuple_(Case.first_contact_due_date, Case.id) > tuple_(after[0], after[1]))
    query = query.order_by(col(Case.first_contact_due_date), col(Case.id)).limit(limit)
    return [(case, household) for case, household in session.exec(query)]


def events_of(session: Session, case: Case) -> list[VisitEvent]:
    return list(
        session.exec(
            select(VisitEvent)
            .where(VisitEvent.case_id == case.id)
            .order_by(col(VisitEvent.occurred_at), col(VisitEvent.id))
        )
    )


def conflicts_of(session: Session, case: Case) -> list[ConflictRow]:
    return list(
        session.exec(
            select(ConflictRow)
            .where(ConflictRow.case_id == case.id)
            .order_by(col(ConflictRow.opened_at), col(ConflictRow.id))
        )
    )


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


def policy_for(session: Session, case: Case) -> ChannelPlan:
    municipality = session.get(Municipality, case.municipality_code)
    settings = settings_of(municipality)
    return settings.policy.plan_for(classification=case.classification, crisis=case.crisis)


def first_attempt_days(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, date | None]:
    """The Dutch day of each case's first applied contact attempt (None without one), in one query."""
    found: dict[uuid.UUID, date | None] = dict.fromkeys(case_ids)
    if case_ids:
        events = tables.visit_event.c
        found.update(
            session.execute(
                sa.select(events.case_id, sa.func.min(dutch_day(events.occurred_at)))
                .where(
                    events.case_id.in_(case_ids), events.outcome == "applied", events.kind.in_(list(ATTEMPT_CHANNELS))
                )
                .group_by(events.case_id)
            ).all()
        )
    return found


def stale_before(session: Session, municipality_code: str, *, today: date) -> datetime:
    """The start of the Dutch day from which activity counts as recent (`stale_case_months` back)."""
    municipality = session.get(Municipality, municipality_code)
    settings = settings_of(municipality)
    return datetime.combine(stale_cutoff(today, stale_case_months=settings.stale_case_months), time(), AMSTERDAM)


def stale_flags(session: Session, cases: list[Case], *, today: date) -> dict[uuid.UUID, bool]:
    """Whether each case is proposed for closing as stale (`cases.rules.is_stale`), in two queries:
    its last signal and its last event, against its opening."""
    if not cases:
        return {}
    ids = [case.id for case in cases]
    municipality = session.get(Municipality, cases[0].municipality_code)
    settings = settings_of(municipality)
    last: dict[uuid.UUID, datetime] = {case.id: case.opened_at for case in cases}
    signals, events = tables.signal.c, tables.visit_event.c
    for case_id, *moments in [
        *session.execute(
            sa.select(signals.case_id, sa.func.max(signals.received_at))
            .where(signals.case_id.in_(ids))
            .group_by(signals.case_id)
        ).all(),
        *session.execute(
            sa.select(events.case_id, sa.func.max(events.occurred_at), sa.func.max(events.received_at))
            .where(events.case_id.in_(ids))
            .group_by(events.case_id)
        ).all(),
    ]:
        for moment in moments:
            moment = _aware(moment)
            if moment is not None and moment > last[case_id]:
                last[case_id] = moment
    return {
        case.id: is_stale(
            state=case.state,
            last_activity_on=dutch_date(last[case.id]),
            today=today,
            stale_case_months=settings.stale_case_months,
        )
        for case in cases
    }


def _aware(moment: datetime | None) -> datetime | None:
    """Aggregates skip the column type, so SQLite hands back naive UTC."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


def below_threshold_flags(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[bool]]:
    """Whether each signal of each case is below threshold, in one query (what `closing_proposal` needs)."""
    found: dict[uuid.UUID, list[bool]] = {case_id: [] for case_id in case_ids}
    if case_ids:
        signals = tables.signal.c
        for case_id, below in session.execute(
            sa.select(signals.case_id, signals.below_threshold).where(signals.case_id.in_(case_ids))
        ):
            found[case_id].append(below)
    return found


def attempts(session: Session, case: Case) -> list[Attempt]:
    return attempts_by_case(session, [case.id])[case.id]


def attempts_by_case(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Attempt]]:
    """The applied contact attempts of many cases in one query, oldest first."""
    found: dict[uuid.UUID, list[Attempt]] = {case_id: [] for case_id in case_ids}
    if not case_ids:
        return found
    # Columns, not VisitEvent objects: planning reads the attempts of hundreds of cases, and
    # building the ORM objects cost more than the query itself.
    ev = tables.visit_event.c
    events = session.execute(
        sa.select(ev.case_id, ev.kind, ev.payload)
        .where(ev.case_id.in_(case_ids), ev.outcome == "applied", ev.kind.in_(list(ATTEMPT_CHANNELS)))
        .order_by(ev.occurred_at)
    )
    for case_id, kind, payload in events:
        found[case_id].append(
            Attempt(
                channel=ATTEMPT_CHANNELS[kind], reached=bool(payload.get("reached")), day_part=payload.get("day_part")
            )
        )
    return found


def close(
    session: Session, principal: Principal, case_id: uuid.UUID, *, result: str, base_version: int | None, now: datetime
) -> tuple[Case, Household]:
    case = owned(session, Case, case_id, principal, lock=True)
    if case.purged_at is not None:
        raise NotFound("No such case.")
    if base_version is not None and base_version != case.version:
        raise Conflict(
            f"The case is at version {case.version}, you saw {base_version}.",
            slug="version-conflict",
            current_version=case.version,
        )
    check_result(session, case, result)
    move(case, CaseEvent.CLOSE)
    case.result = result
    case.closed_at = now
    return case, new_version(session, case, now=now)


def results_allowed(session: Session, case: Case) -> list[str]:
    """The DDAS results that fit the case's history now (what the console offers)."""
    plan = _policy(session, case)
    return allowed_results(
        attempts=attempts(session, case),
        reached=_reached(session, case),
        no_contact_attempts=plan.no_contact_after_attempts,
        no_contact_channels=plan.no_contact_after_channels,
    )


def check_result(session: Session, case: Case, result: str) -> None:
    """409 `result-does-not-fit`, naming why, when `result` does not fit the case's history."""
    plan = _policy(session, case)
    problem = result_problem(
        result,
        attempts=attempts(session, case),
        reached=_reached(session, case),
        no_contact_attempts=plan.no_contact_after_attempts,
        no_contact_channels=plan.no_contact_after_channels,
    )
    if problem is not None:
        raise Conflict(
            f"The result '{result}' does not fit this case: {problem}.",
            slug="result-does-not-fit",
            result=result,
            allowed_results=results_allowed(session, case),
        )


def _policy(session: Session, case: Case) -> OutreachPolicy:
    municipality = session.get(Municipality, case.municipality_code)
    return settings_of(municipality).policy


def _reached(session: Session, case: Case) -> bool:
    """Reached: an attempt said so, or the case moved past first contact (accepting or declining help
    in the field, a decided conflict, or the office recording help accepted, reach the resident)."""
    if case.state in (CaseState.CONTACTED.value, CaseState.HELP_ACCEPTED.value, CaseState.TRAJECTORY.value):
        return True
    return (
        any(attempt.reached for attempt in attempts(session, case))
        or session.execute(
            sa.select(tables.visit_event.c.id)
            .where(
                tables.visit_event.c.case_id == case.id,
                tables.visit_event.c.outcome == "applied",
                tables.visit_event.c.kind.in_(["help_accepted", "help_declined"]),
            )
            .limit(1)
        ).first()
        is not None
    )


def move(case: Case, event: CaseEvent) -> None:
    try:
        case.state = transition(CaseState(case.state), event).value
    except IllegalTransition as exc:
        raise Conflict(f"Not possible: {exc}.", slug="illegal-transition", state=case.state) from exc


def new_version(session: Session, case: Case, *, now: datetime) -> Household:
    """A new version with a new change number, so devices and lists see the change; its signals'
    statuses follow it (an attempt picks them up, closing without one says why not)."""
    case.version += 1
    case.change_seq = next_change_seq(session, case.municipality_code)
    session.add(case)
    session.flush()
    signal_status.refresh(session, [case.id], now=now)
    household = session.get(Household, case.household_id)
    assert household is not None
    return household


def _worker(session: Session, principal: Principal, worker_id: uuid.UUID) -> StaffUser:
    worker = session.get(StaffUser, worker_id)
    if worker is None or worker.municipality_code != principal.municipality_code:
        raise Unprocessable("No such worker in your municipality.", slug="unknown-worker")
    if worker.role != "worker" or not worker.active:
        raise Unprocessable("Cases go to active outreach workers only.", slug="not-a-worker")
    return worker


def assign(
    session: Session,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    worker_id: uuid.UUID,
    second_worker_id: uuid.UUID | None,
    now: datetime,
) -> tuple[Case, Household]:
    """Put a case on a worker's list (and a second worker's, for a visit in pairs).
    Reassigning moves it: the previous workers' devices see it removed on their next pull."""
    case = owned(session, Case, case_id, principal, lock=True)
    if case.purged_at is not None:
        raise NotFound("No such case.")
    _worker(session, principal, worker_id)
    if second_worker_id is not None:
        if second_worker_id == worker_id:
            raise Unprocessable("The second worker must be someone else.", slug="same-worker")
        _worker(session, principal, second_worker_id)
    move(case, CaseEvent.PLAN)
    case.assigned_worker_id, case.second_worker_id = worker_id, second_worker_id
    return case, new_version(session, case, now=now)


OFFICE_PAYLOAD_FIELDS = {
    "letter_sent": (),
    "phone_attempt": ("reached",),
    "mail_sent": ("reached",),
    "sms_sent": ("reached",),
    "appointment": ("appointment_at", "location"),
    "appointment_kept": ("location",),
    "administrative": ("reached",),
    "note": ("text",),
    "help_accepted": (),
}


def record_office_action(
    session: Session,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    action_id: uuid.UUID,
    kind: str,
    occurred_at: datetime,
    base_version: int | None,
    fields: dict[str, Any],
    now: datetime,
) -> tuple[Case, Household, bool]:
    """A letter, a call, an appointment or a note from the office: a fact on the case's timeline,
    idempotent by the client's action id (the unique event id enforces it in the database)."""
    case = owned(session, Case, case_id, principal, lock=True)
    previous = session.get(VisitEvent, action_id)
    if previous is not None:
        if previous.case_id != case.id or previous.kind != kind or previous.municipality_code != case.municipality_code:
            raise Conflict("This action id was used for another action.", slug="action-id-reused")
        household = session.get(Household, case.household_id)
        assert household is not None
        return case, household, False
    if case.purged_at is not None:
        raise NotFound("No such case.")
    if base_version is not None and base_version != case.version:
        raise Conflict(
            f"The case is at version {case.version}, you saw {base_version}.",
            slug="version-conflict",
            current_version=case.version,
        )
    payload = {name: fields[name] for name in OFFICE_PAYLOAD_FIELDS[kind] if fields.get(name) is not None}
    missing = {"phone_attempt": "reached", "appointment": "appointment_at", "note": "text"}.get(kind)
    if missing and missing not in payload:
        raise Unprocessable(f"`{missing}` is required for {kind}.", slug="validation-error")
    if "appointment_at" in payload:
        payload["appointment_at"] = payload["appointment_at"].isoformat()
    if kind == "appointment_kept":
        if fields.get("reached") is False:
            raise Unprocessable(
                "An appointment kept reached the resident: `reached` cannot be false.", slug="validation-error"
            )
        payload["reached"] = True  # the resident came: an attempt that reached them
    elif kind in ATTEMPT_CHANNELS and kind != "letter_sent":
        payload.setdefault("reached", False)
    assert principal.user_id is not None  # the office's actions have a staff author
    session.add(
        VisitEvent(
            id=action_id,
            municipality_code=case.municipality_code,
            case_id=case.id,
            device_id=None,
            author_id=principal.user_id,
            kind=kind,
            occurred_at=occurred_at,
            received_at=now,
            base_version=case.version,
            payload=payload,
            outcome="applied",
            change_seq=0,
            body_hash="",
        )
    )
    if (
        kind in ATTEMPT_CHANNELS
        and payload.get("reached")
        and CaseEvent.CONTACT in allowed_events(CaseState(case.state))
    ):
        move(case, CaseEvent.CONTACT)
    if kind == "help_accepted":  # said on the phone or at the office, after contact was made
        move(case, CaseEvent.ACCEPT_HELP)
    return case, new_version(session, case, now=now), True


def reopen(session: Session, principal: Principal, case_id: uuid.UUID, *, now: datetime) -> tuple[Case, Household]:
    case = owned(session, Case, case_id, principal, lock=True)
    if case.purged_at is not None:
        raise NotFound("No such case.")
    municipality = session.get(Municipality, case.municipality_code)
    window = settings_of(municipality).reopen_window_days
    if case.closed_at is not None and now - case.closed_at > timedelta(days=window):
        raise Conflict(
            f"The case closed more than {window} days ago and can no longer be reopened.",
            slug="reopen-window-passed",
            state=case.state,
        )
    if session.exec(select(Trajectory.id).where(Trajectory.case_id == case.id)).first() is not None:
        raise Conflict(
            "The case was handed over to debt help with a trajectory; it is not reopened.",
            slug="handed-over",
            state=case.state,
        )
    move(case, CaseEvent.REOPEN)
    case.result, case.closed_at = None, None
    return case, new_version(session, case, now=now)
