"""HTTP surface for reading cases (the back office's filters and planning come with their own issue)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from api.audit.service import record, record_case_reads
from api.auth.deps import Now, allow
from api.auth.principal import Principal
from api.cases import service, trajectory
from api.cases.rules import CaseState, closing_proposal, dutch_date, is_overdue, next_action
from api.cases.schemas import (
    AddressOut,
    AssignmentRequest,
    BulkAssignmentRequest,
    BulkAssignmentResult,
    CaseConflictOut,
    CaseCursor,
    CaseDetail,
    CaseEventOut,
    CasePage,
    CaseSignalOut,
    CaseSummary,
    CloseRequest,
    OfficeAction,
    OfficeActionResult,
)
from api.cases.trajectory_routes import trajectory_out
from api.models import Case, Household
from api.platform.db import SessionDep
from api.platform.pagination import decode_cursor, encode_cursor
from api.platform.problems import ProblemError, Unprocessable, problem_responses
from api.signals.rules import SIGNAL_STATUSES, PartnerType

SignalStatus = Literal[SIGNAL_STATUSES]  # type: ignore[valid-type]  # DDAS EnumSignaalstatus

POSTCODE_BOUND = r"^\d{4}( ?[A-Za-z]{2})?$"

router = APIRouter(prefix="/v1/cases", tags=["cases"], responses=problem_responses(401, 403, 422))
Office = Annotated[Principal, Depends(allow(roles=("backoffice", "admin")))]
# Partners do not read cases: their view is their own signals (`GET /v1/signals`, docs/decisions.md).
CaseReader = Annotated[Principal, Depends(allow(roles=("worker", "backoffice", "admin")))]


_COMPUTED = {"address", "first_attempt_date", "overdue", "closing_proposal", "stale"}


def _summaries(session: SessionDep, rows: list[tuple[Case, Household]], at: datetime) -> list[dict[str, Any]]:
    """Cases as summaries, with their first attempt, whether they are overdue and what closing the
    service proposes (a query each for all of them)."""
    first = service.first_attempt_days(session, [case.id for case, _ in rows])
    below = service.below_threshold_flags(session, [case.id for case, _ in rows])
    today = dutch_date(at)
    stale = service.stale_flags(session, [case for case, _ in rows], today=today)
    return [
        {
            **case.model_dump(include=set(CaseSummary.model_fields) - _COMPUTED),
            "address": AddressOut.model_validate(household, from_attributes=True),
            "first_attempt_date": first[case.id],
            "overdue": is_overdue(
                due=case.first_contact_due_date,
                first_attempt_on=first[case.id],
                today=today,
                closed=case.state == CaseState.CLOSED.value,
            ),
            "closing_proposal": closing_proposal(state=case.state, signals_below_threshold=below[case.id]),
            "stale": stale[case.id],
        }
        for case, household in rows
    ]


def _summary(session: SessionDep, case: Case, household: Household, at: datetime) -> dict[str, Any]:
    return _summaries(session, [(case, household)], at)[0]


@router.get(
    "",
    name="list",
    response_model=CasePage,
    summary="Cases, by deadline, with the back office's filters",
    description="Workers see their own cases. Postcode bounds take `1053` or `1053KL`; the list is ordered by "
    "`first_contact_due_date` and paged with `cursor`.",
)
def list_cases(
    session: SessionDep,
    principal: CaseReader,
    at: Now,
    state: CaseState | None = None,
    open: Annotated[
        bool | None, Query(description="true: every case not closed (as the dashboard counts them).")
    ] = None,
    classification: Literal["single", "multiple", "consecutive"] | None = None,
    partner_type: Annotated[PartnerType | None, Query(alias="partnerType")] = None,
    due_within_days: Annotated[
        int | None, Query(alias="dueWithinDays", ge=0, le=365, description="Due on or before today + N.")
    ] = None,
    overdue: bool | None = None,
    worker_id: Annotated[uuid.UUID | None, Query(alias="workerId")] = None,
    unassigned: bool | None = None,
    postcode_from: Annotated[str | None, Query(alias="postcodeFrom", pattern=POSTCODE_BOUND)] = None,
    postcode_to: Annotated[str | None, Query(alias="postcodeTo", pattern=POSTCODE_BOUND)] = None,
    has_open_conflict: Annotated[bool | None, Query(alias="hasOpenConflict")] = None,
    crisis: bool | None = None,
    signal_status: Annotated[
        SignalStatus | None,
        Query(
            alias="signalStatus",
            description="Cases with a signal of this DDAS status (`Nog niet opgepakt`, `Opgepakt`, …).",
        ),
    ] = None,
    proposed_closing: Annotated[
        bool | None,
        Query(
            alias="proposedClosing",
            description="true: the cases proposed for closing as 'Niet opgepakt: onterecht signaal' (every signal below "
            "threshold, nobody reached yet); the office confirms by closing them.",
        ),
    ] = None,
    stale: Annotated[
        bool | None,
        Query(
            description="true: the open cases without a signal, attempt or action for `stale_case_months`, proposed for "
            "closing (the office decides with which result)."
        ),
    ] = None,
    objection: Annotated[
        bool | None,
        Query(description="true: the cases opened by a signal about a household or person that objected before."),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CasePage:
    position = decode_cursor(cursor, CaseCursor)
    filters = service.CaseFilter(
        state=state,
        open=open,
        classification=classification,
        partner_type=partner_type,
        due_within_days=due_within_days,
        overdue=overdue,
        worker_id=worker_id,
        unassigned=unassigned,
        postcode_from=postcode_from,
        postcode_to=postcode_to,
        has_open_conflict=has_open_conflict,
        crisis=crisis,
        signal_status=signal_status,
        proposed_closing=proposed_closing,
        objection=objection,
        stale=stale,
    )
    rows = service.list_cases(
        session,
        principal,
        filters=filters,
        today=dutch_date(at),
        after=(position.first_contact_due_date, position.id) if position else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    record_case_reads(session, principal, case_ids=[case.id for case, _ in rows], action="cases.list", at=at)
    next_cursor = (
        encode_cursor(
            {"first_contact_due_date": rows[-1][0].first_contact_due_date.isoformat(), "id": str(rows[-1][0].id)}
        )
        if more
        else None
    )
    return CasePage(
        items=[CaseSummary.model_validate(row) for row in _summaries(session, rows, at)], next_cursor=next_cursor
    )


@router.post(
    "/assignments",
    name="assign-bulk",
    response_model=BulkAssignmentResult,
    summary="Assign many cases at once (all or nothing)",
    responses=problem_responses(404, 409),
)
def assign_bulk(session: SessionDep, principal: Office, at: Now, body: BulkAssignmentRequest) -> BulkAssignmentResult:
    items, errors = [], []
    for index, item in enumerate(body.assignments):
        try:
            case, household = service.assign(
                session,
                principal,
                item.case_id,
                worker_id=item.worker_id,
                second_worker_id=item.second_worker_id,
                now=at,
            )
        except ProblemError as exc:
            errors.append({"index": index, "case_id": str(item.case_id), "type": exc.slug, "detail": exc.detail})
            continue
        record(
            session,
            principal,
            action="cases.assign",
            resource_type="case",
            resource_id=case.id,
            case_id=case.id,
            at=at,
            detail={"worker_id": str(item.worker_id), "second_worker_id": str(item.second_worker_id or "")},
        )
        items.append(CaseSummary.model_validate(_summary(session, case, household, at)))
    if errors:
        raise Unprocessable(
            f"{len(errors)} assignment(s) are not possible; nothing was assigned.",
            slug="assignments-refused",
            errors=errors,
        )
    return BulkAssignmentResult(items=items)


@router.get(
    "/{case_id}",
    name="get",
    response_model=CaseDetail,
    summary="One case with its signals",
    responses=problem_responses(404),
)
def get_case(session: SessionDep, principal: CaseReader, at: Now, case_id: uuid.UUID) -> CaseDetail:
    case, household, signals = service.get_case(session, principal, case_id)
    record(session, principal, action="cases.read", resource_type="case", resource_id=case.id, case_id=case.id, at=at)
    plan = service.policy_for(session, case)
    path, registrations = trajectory.of_case(session, case.id)
    planned = next_action(
        channels=list(plan.channels),
        max_attempts=plan.max_attempts,
        change_day_part=plan.change_day_part,
        after_last_attempt=plan.after_last_attempt,
        attempts=service.attempts(session, case),
    )
    return CaseDetail.model_validate(
        {
            **_summary(session, case, household, at),
            "signals": [CaseSignalOut.model_validate(s, from_attributes=True) for s in signals],
            "events": [CaseEventOut.model_validate(e, from_attributes=True) for e in service.events_of(session, case)],
            "conflicts": [
                CaseConflictOut.model_validate(c, from_attributes=True) for c in service.conflicts_of(session, case)
            ],
            "trajectory": trajectory_out(session, path, registrations) if path else None,
            "next_planned_action": planned.__dict__ if planned and case.state != CaseState.CLOSED else None,
            "allowed_results": service.results_allowed(session, case) if case.state != CaseState.CLOSED else [],
        }
    )


@router.post(
    "/{case_id}/close",
    name="close",
    response_model=CaseSummary,
    summary="Close a case with a DDAS result",
    responses=problem_responses(404, 409),
)
def close_case(session: SessionDep, principal: Office, at: Now, case_id: uuid.UUID, body: CloseRequest) -> CaseSummary:
    case, household = service.close(
        session, principal, case_id, result=body.result, base_version=body.base_version, now=at
    )
    record(
        session,
        principal,
        action="cases.close",
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        at=at,
        detail={"result": body.result},
    )
    return CaseSummary.model_validate(_summary(session, case, household, at))


@router.post(
    "/{case_id}/assignment",
    name="assign",
    response_model=CaseSummary,
    summary="Assign a case to a worker (and optionally a second one); reassigning moves it",
    responses=problem_responses(404, 409),
)
def assign_case(
    session: SessionDep, principal: Office, at: Now, case_id: uuid.UUID, body: AssignmentRequest
) -> CaseSummary:
    case, household = service.assign(
        session, principal, case_id, worker_id=body.worker_id, second_worker_id=body.second_worker_id, now=at
    )
    record(
        session,
        principal,
        action="cases.assign",
        resource_type="case",
        resource_id=case.id,
        case_id=case.id,
        at=at,
        detail={"worker_id": str(body.worker_id), "second_worker_id": str(body.second_worker_id or "")},
    )
    return CaseSummary.model_validate(_summary(session, case, household, at))


@router.post(
    "/{case_id}/actions",
    name="act",
    response_model=OfficeActionResult,
    summary="Record a letter sent, a phone attempt, an appointment or a note (idempotent by action_id)",
    responses=problem_responses(404, 409),
)
def act(session: SessionDep, principal: Office, at: Now, case_id: uuid.UUID, body: OfficeAction) -> OfficeActionResult:
    case, household, applied = service.record_office_action(
        session,
        principal,
        case_id,
        action_id=body.action_id,
        kind=body.kind,
        occurred_at=body.occurred_at,
        base_version=body.base_version,
        fields=body.model_dump(),
        now=at,
    )
    if applied:
        record(
            session,
            principal,
            action=f"cases.{body.kind}",
            resource_type="case",
            resource_id=case.id,
            case_id=case.id,
            at=at,
            detail={"action_id": str(body.action_id)},
        )
    return OfficeActionResult(
        action_id=body.action_id,
        result="applied" if applied else "duplicate",
        case=CaseSummary.model_validate(_summary(session, case, household, at)),
    )


@router.post(
    "/{case_id}/reopen",
    name="reopen",
    response_model=CaseSummary,
    summary="Reopen a closed case within the municipality's window",
    responses=problem_responses(404, 409),
)
def reopen_case(session: SessionDep, principal: Office, at: Now, case_id: uuid.UUID) -> CaseSummary:
    case, household = service.reopen(session, principal, case_id, now=at)
    record(session, principal, action="cases.reopen", resource_type="case", resource_id=case.id, case_id=case.id, at=at)
    return CaseSummary.model_validate(_summary(session, case, household, at))
