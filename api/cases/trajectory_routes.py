"""HTTP surface of trajectories: only the back office starts or ends one, never a device."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlmodel import Session

from api.audit.service import record
from api.auth.deps import Now, allow
from api.auth.principal import Principal
from api.bkr.schemas import TrajectoryEnd, TrajectoryOut, TrajectoryStart
from api.bkr.service import describe
from api.cases import trajectory
from api.models import BkrRegistration, Trajectory
from api.platform.db import SessionDep
from api.platform.problems import problem_responses

router = APIRouter(prefix="/v1/cases", tags=["trajectories"], responses=problem_responses(401, 403, 404, 409, 422))
Office = Annotated[Principal, Depends(allow(roles=("backoffice", "admin")))]


def trajectory_out(session: Session, row: Trajectory, registrations: list[BkrRegistration]) -> TrajectoryOut:
    return TrajectoryOut.model_validate({**row.model_dump(), "registrations": describe(session, registrations)})


@router.post(
    "/{case_id}/trajectory",
    name="start",
    response_model=TrajectoryOut,
    status_code=201,
    summary="Start a debt-relief trajectory (the decision): registers the resident at BKR",
    description="Allowed once the resident accepted help and no conflict is open. In the same transaction a "
    "BKR registration (contract type SH, start date = decision date, no amount) is queued for the BKR worker, "
    "and the early-signalling case closes with `result` (a Vervolghulp result): debt help takes over, the "
    "trajectory stays visible on the case and is ended there.",
)
def start_trajectory(
    session: SessionDep, principal: Office, at: Now, case_id: uuid.UUID, body: TrajectoryStart
) -> TrajectoryOut:
    case, row, registration = trajectory.start(
        session,
        principal,
        case_id,
        decision_date=body.decision_date,
        signal_id=body.signal_id,
        base_version=body.base_version,
        now=at,
        result=body.result,
    )
    record(
        session,
        principal,
        action="trajectory.start",
        resource_type="trajectory",
        resource_id=row.id,
        case_id=case.id,
        at=at,
        detail={"registration_id": str(registration.id)},
    )
    return trajectory_out(session, row, [registration])


@router.post(
    "/{case_id}/trajectory/end",
    name="end",
    response_model=TrajectoryOut,
    summary="Record the end of a trajectory: queues BKR's end date and removal date",
)
def end_trajectory(
    session: SessionDep, principal: Office, at: Now, case_id: uuid.UUID, body: TrajectoryEnd
) -> TrajectoryOut:
    case, row, _ = trajectory.end(session, principal, case_id, end_date=body.end_date, outcome=body.outcome, now=at)
    record(
        session,
        principal,
        action="trajectory.end",
        resource_type="trajectory",
        resource_id=row.id,
        case_id=case.id,
        at=at,
        detail={"outcome": body.outcome},
    )
    _, registrations = trajectory.of_case(session, case.id)
    return trajectory_out(session, row, registrations)
