"""Conflicten: the back office's review queue of field/office disagreements, one conflict side by side, and its decision."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, get_args

from fastapi import APIRouter, Request
from sqlmodel import Session, col, select
from starlette.responses import Response

from api.audit.service import record_case_reads
from api.auth.deps import Now
from api.auth.principal import Principal
from api.console.staff import device_labels, staff_names
from api.console.web import ConsoleRoute, Form, Office, as_api, attempt, done, optional, parse, render
from api.field import routes as field_api
from api.field.schemas import ConflictOut, ConflictResolution
from api.models import Case, Conflict, Household, VisitEvent
from api.platform.db import SessionDep
from api.platform.problems import ProblemError
from api.platform.tenancy import owned

router = APIRouter(prefix="/console/conflicten", route_class=ConsoleRoute)

# `service.resolve` accepts every decision for every kind of conflict, so the form offers all of them.
DECISIONS: tuple[str, ...] = get_args(ConflictResolution.model_fields["decision"].annotation)


def _cases(
    session: Session, principal: Principal, case_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[Case, Household | None]]:
    """The conflicts' cases with their address, in one query."""
    ids = sorted(set(case_ids), key=str)
    if not ids:
        return {}
    rows = session.exec(
        select(Case, Household)
        .join(Household, col(Household.id) == Case.household_id, isouter=True)
        .where(col(Case.id).in_(ids), Case.municipality_code == principal.municipality_code)
    ).all()
    return {case.id: (case, household) for case, household in rows}


@router.get("", name="console-conflicts")
def queue(request: Request, session: SessionDep, signed: Office, at: Now) -> Response:
    conflicts = field_api.list_conflicts(session, as_api(field_api.Office, signed.principal)).items
    cases = _cases(session, signed.principal, (c.case_id for c in conflicts))
    # The queue shows addresses: reading them is audited as the case list's are.
    record_case_reads(session, signed.principal, case_ids=list(cases), action="conflicts.list", at=at)
    return render(
        request,
        signed,
        "conflicten.html",
        current="conflicten",
        conflicts=conflicts,
        cases=cases,
        names=staff_names(session, signed.principal),
        devices=device_labels(session, signed.principal, (side.device_id for c in conflicts for side in c.sides)),
    )


def conflict_page(
    request: Request,
    session: Session,
    signed: Any,
    at: datetime,
    conflict_id: uuid.UUID,
    *,
    error: ProblemError | None = None,
    chosen: str | None = None,
    note: str | None = None,
) -> Response:
    row = owned(session, Conflict, conflict_id, signed.principal)
    conflict = ConflictOut.model_validate(row, from_attributes=True)
    cases = _cases(session, signed.principal, [conflict.case_id])
    case, household = cases[conflict.case_id]
    record_case_reads(session, signed.principal, case_ids=[case.id], action="conflicts.read", at=at)
    received = {
        event.id: event.received_at
        for event in session.exec(
            select(VisitEvent).where(
                col(VisitEvent.id).in_([side.event_id for side in conflict.sides]),
                VisitEvent.municipality_code == signed.principal.municipality_code,
            )
        )
    }
    return render(
        request,
        signed,
        "conflict.html",
        current="conflicten",
        conflict=conflict,
        case=case,
        household=household,
        resolved_by=row.resolved_by,
        received=received,
        names=staff_names(session, signed.principal),
        devices=device_labels(session, signed.principal, (side.device_id for side in conflict.sides)),
        decisions=DECISIONS,
        error=error,
        chosen=chosen,
        note=note,
    )


@router.get("/{conflict_id}", name="console-conflict")
def conflict_detail(request: Request, session: SessionDep, signed: Office, at: Now, conflict_id: uuid.UUID) -> Response:
    return conflict_page(request, session, signed, at, conflict_id)


@router.post("/{conflict_id}/besluit", name="console-conflict-resolve")
def resolve(
    request: Request, session: SessionDep, signed: Office, at: Now, form: Form, conflict_id: uuid.UUID
) -> Response:
    fields = {"decision": optional(form, "decision"), "note": optional(form, "note")}
    _, problem = attempt(
        session,
        lambda: field_api.resolve_conflict(
            session, as_api(field_api.Office, signed.principal), at, conflict_id, parse(ConflictResolution, fields)
        ),
    )
    if problem is not None:
        return conflict_page(
            request, session, signed, at, conflict_id, error=problem, chosen=fields["decision"], note=fields["note"]
        )
    return done(signed, "Conflict besloten.", "/console/conflicten")
