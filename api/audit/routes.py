"""HTTP surface of the audit trail, for admins and the data protection officer."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from api.audit import service
from api.audit.activities import ACTIVITIES
from api.audit.schemas import AuditCursor, AuditEntryOut, AuditPage, LdvRecord
from api.auth.deps import allow
from api.auth.principal import Principal
from api.platform.db import SessionDep
from api.platform.pagination import decode_cursor, encode_cursor
from api.platform.problems import problem_responses
from api.platform.wire import Instant

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=problem_responses(401, 403, 422))
Admin = Annotated[Principal, Depends(allow(roles=("admin",)))]
EXPORT_LIMIT = 100_000


@router.get("", name="list", response_model=AuditPage, summary="Audit entries, oldest first")
def list_entries(
    session: SessionDep,
    principal: Admin,
    case_id: Annotated[uuid.UUID | None, Query(alias="caseId")] = None,
    actor_id: Annotated[str | None, Query(alias="actorId", max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    position = decode_cursor(cursor, AuditCursor)
    entries = service.search(
        session,
        municipality_code=principal.municipality_code,
        case_id=case_id,
        actor_id=actor_id,
        action=action,
        since=since,
        until=until,
        after_id=position.after_id if position else None,
        limit=limit + 1,
    )
    more = len(entries) > limit
    entries = entries[:limit]
    return AuditPage(
        items=[AuditEntryOut.model_validate(entry, from_attributes=True) for entry in entries],
        next_cursor=encode_cursor({"after_id": entries[-1].id}) if more else None,
    )


LDV = "application/json"


@router.get(
    "/export",
    name="export",
    summary="Audit entries as CSV, or as Logboek Dataverwerkingen records, for the data protection officer",
    description="CSV by default (at most 100,000 entries). `format=ldv`: a JSON array of records shaped after the "
    "Logboek Dataverwerkingen (Logius), streamed, without a limit: each names the operation, the processing "
    "activity and its legal basis, the request (trace), who acted (role and organisation) and when, and the data "
    "subject by pseudonymous reference (the household id of `POST /v1/residents/search`; never a BSN or a name). "
    "`dataSubject` keeps the entries about one household: who saw its data, and why.",
    response_class=Response,
    responses={
        200: {
            "description": "CSV file, or the LDV records",
            "model": list[LdvRecord],
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
)
def export_entries(
    request: Request,
    session: SessionDep,
    principal: Admin,
    case_id: Annotated[uuid.UUID | None, Query(alias="caseId")] = None,
    actor_id: Annotated[str | None, Query(alias="actorId", max_length=64)] = None,
    data_subject: Annotated[
        uuid.UUID | None, Query(alias="dataSubject", description="A household id: only the entries about its data.")
    ] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    format_: Annotated[
        Literal["csv", "ldv"],
        Query(alias="format", description="`ldv`: Logboek Dataverwerkingen records (JSON) instead of CSV."),
    ] = "csv",
) -> Response:
    if format_ == "ldv":
        records = service.ldv_export(
            request.app.state.engine,
            municipality_code=principal.municipality_code,
            case_id=case_id,
            actor_id=actor_id,
            data_subject=data_subject,
            since=since,
            until=until,
        )
        return StreamingResponse(
            records,
            media_type=LDV,
            headers={"Content-Disposition": f'attachment; filename="audit-{principal.municipality_code}-ldv.json"'},
        )
    entries = service.search(
        session,
        municipality_code=principal.municipality_code,
        case_id=case_id,
        actor_id=actor_id,
        action=None,
        since=since,
        until=until,
        after_id=None,
        limit=EXPORT_LIMIT,
        data_subject=data_subject,
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["id", "at", "actor_type", "actor_id", "action", "resource_type", "resource_id", "case_id", "request_id"]
    )
    for entry in entries:
        writer.writerow(
            [
                entry.id,
                entry.at.isoformat(),
                entry.actor_type,
                entry.actor_id,
                entry.action,
                entry.resource_type,
                entry.resource_id or "",
                entry.case_id or "",
                entry.request_id or "",
            ]
        )
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-{principal.municipality_code}.csv"'},
    )


class ProcessingActivityOut(BaseModel):
    code: str
    name: str = Field(description="As the municipality's register of processing activities names it (Dutch).")
    purpose: str
    legal_basis: str


activities_router = APIRouter(prefix="/v1/processing-activities", tags=["audit"], responses=problem_responses(401, 403))
Staff = Annotated[Principal, Depends(allow(roles=("worker", "backoffice", "admin")))]


@activities_router.get(
    "",
    name="processing-activities",
    response_model=list[ProcessingActivityOut],
    summary="The register of processing activities (verwerkingsactiviteiten) every audit entry belongs to",
)
def processing_activities(_: Staff) -> list[ProcessingActivityOut]:
    return [
        ProcessingActivityOut(code=a.code, name=a.name, purpose=a.purpose, legal_basis=a.legal_basis)
        for a in ACTIVITIES
    ]
