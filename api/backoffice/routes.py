"""HTTP surface of the back office's overview."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.audit.service import record_case_reads
from api.auth.deps import Now, allow
from api.auth.principal import Principal
from api.backoffice import planning, service
from api.cases.routes import assign_bulk
from api.cases.schemas import BulkAssignmentRequest, BulkAssignmentResult
from api.platform.db import SessionDep
from api.platform.problems import Unprocessable, problem_responses

router = APIRouter(prefix="/v1/dashboard", tags=["backoffice"], responses=problem_responses(401, 403))
Office = Annotated[Principal, Depends(allow(roles=("backoffice", "admin")))]


class DashboardOut(BaseModel):
    open_by_state: dict[str, int] = Field(description="Open cases per lifecycle state.")
    overdue: int = Field(
        description="Open cases without a contact attempt on or before their first-contact deadline, "
        "whose last day has ended."
    )
    due_within_7_days: int
    attempts_by_channel: dict[str, int] = Field(
        description="Contact attempts on the cases open now, per channel (a period's attempts: the monitor)."
    )
    reached_by_channel: dict[str, int] = Field(
        description="Of those, the attempts that reached the resident, per channel."
    )
    open_conflicts: int
    devices_not_synced_for_a_day: int
    bkr_failed: int = Field(description="BKR registrations that BKR refused or that ran out of attempts.")
    proposed_closing: int = Field(
        default=0,
        description="Open cases proposed for closing as 'Niet opgepakt: onterecht signaal': every signal "
        "below the municipality's threshold, nobody reached yet. The list: `GET /v1/cases?proposedClosing=true`; "
        "the office confirms each by closing it with that result.",
    )
    objection_pending: int = Field(
        default=0,
        description="Open cases opened by a signal about a household or person that objected before (AVG "
        "art. 21), not yet assigned or closed: the office decides whether to reach out; automatic planning leaves them "
        "alone. The list: `GET /v1/cases?objection=true&unassigned=true&open=true`.",
    )
    stale: int = Field(
        default=0,
        description="Open cases without a signal, attempt or action for the municipality's "
        "`stale_case_months` (default 6), proposed for closing as 'Definitief geen contact kunnen krijgen' or 'Niet "
        "opgepakt: andere reden'; the office decides. The list: `GET /v1/cases?stale=true`.",
    )
    retention_last_run_at: dt.datetime | None = Field(
        description="When the retention purge last ran for the municipality (`doorstep purge`, scheduled daily); "
        "None: never."
    )


@router.get("", name="dashboard", response_model=DashboardOut, summary="Deadlines, reach, conflicts, silent devices")
def dashboard(session: SessionDep, principal: Office, at: Now) -> DashboardOut:
    board = service.dashboard(session, municipality_code=principal.municipality_code, now=at)
    return DashboardOut.model_validate(board, from_attributes=True)


plans_router = APIRouter(prefix="/v1/plans", tags=["backoffice"], responses=problem_responses(401, 403, 422))


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date
    worker_ids: list[uuid.UUID] | None = Field(
        default=None, max_length=200, description="Default: every active worker."
    )
    visits_per_worker: int = Field(default=8, ge=1, le=40)


class PlannedVisitOut(BaseModel):
    case_id: uuid.UUID
    first_contact_due_date: dt.date
    postcode: str | None
    street: str | None
    house_number: int | None
    house_number_addition: str | None
    day_part: str
    attempt_number: int


class WorkerListOut(BaseModel):
    worker_id: uuid.UUID
    visits: list[PlannedVisitOut]


class PlanProposal(BaseModel):
    date: dt.date
    lists: list[WorkerListOut]


class AcceptedList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: uuid.UUID
    case_ids: list[uuid.UUID] = Field(max_length=40)


class PlanAcceptance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lists: list[AcceptedList] = Field(min_length=1, max_length=200)


@plans_router.post(
    "",
    name="propose",
    response_model=PlanProposal,
    summary="Propose a day's visit lists: by deadline, then walking order, with the policy's day parts",
    description="Nothing is assigned yet: edit the lists (move or drop cases) and send them to `/v1/plans/accept`.",
)
def propose(session: SessionDep, principal: Office, at: Now, body: PlanRequest) -> PlanProposal:
    lists = planning.propose(
        session,
        municipality_code=principal.municipality_code,
        worker_ids=body.worker_ids,
        per_worker=body.visits_per_worker,
    )
    # The lists name addresses: read like the case list's, audited like them.
    record_case_reads(
        session,
        principal,
        case_ids=[visit.case_id for item in lists for visit in item.visits],
        action="plans.propose",
        at=at,
    )
    return PlanProposal(
        date=body.date,
        lists=[
            WorkerListOut(worker_id=item.worker_id, visits=[PlannedVisitOut(**visit.__dict__) for visit in item.visits])
            for item in lists
        ],
    )


@plans_router.post(
    "/accept",
    name="accept",
    response_model=BulkAssignmentResult,
    summary="Accept (possibly edited) lists: every case is assigned to its worker, all or nothing",
    responses=problem_responses(404, 409),
)
def accept(session: SessionDep, principal: Office, at: Now, body: PlanAcceptance) -> BulkAssignmentResult:
    pairs = [{"case_id": case_id, "worker_id": item.worker_id} for item in body.lists for case_id in item.case_ids]
    if not 1 <= len(pairs) <= 500:
        raise Unprocessable("Accept between 1 and 500 cases at a time.", slug="validation-error")
    assignments = BulkAssignmentRequest.model_validate({"assignments": pairs})
    return assign_bulk(session, principal, at, assignments)
