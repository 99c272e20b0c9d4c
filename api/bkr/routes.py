"""HTTP surface of the BKR outbox: what was registered, how delivery went, and a retry."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.audit.service import record
from api.auth.deps import Now, allow
from api.auth.principal import Principal
from api.bkr import service
from api.bkr.schemas import BkrCursor, BkrRegistrationOut, BkrRegistrationPage
from api.platform.db import SessionDep
from api.platform.pagination import decode_cursor, encode_cursor
from api.platform.problems import problem_responses

router = APIRouter(prefix="/v1/bkr", tags=["bkr"], responses=problem_responses(401, 403, 422))
Office = Annotated[Principal, Depends(allow(roles=("backoffice", "admin")))]


@router.get(
    "/registrations",
    name="list-registrations",
    response_model=BkrRegistrationPage,
    summary="Every BKR registration with its status, attempts and last error (newest first)",
)
def list_registrations(
    session: SessionDep,
    principal: Office,
    at: Now,
    status: Literal["pending", "delivered", "failed"] | None = None,
    case_id: Annotated[uuid.UUID | None, Query(alias="caseId")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> BkrRegistrationPage:
    position = decode_cursor(cursor, BkrCursor)
    rows = service.search(
        session,
        principal,
        status=status,
        case_id=case_id,
        after=(position.created_at, position.id) if position else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    record(
        session,
        principal,
        action="bkr.list",
        resource_type="bkr_registration",
        at=at,
        detail={"count": len(rows), "status": status or ""},
    )
    return BkrRegistrationPage(
        items=[BkrRegistrationOut.model_validate(item) for item in service.describe(session, rows)],
        next_cursor=encode_cursor({"created_at": rows[-1].created_at.isoformat(), "id": str(rows[-1].id)})
        if more
        else None,
    )


@router.post(
    "/registrations/{registration_id}/retry",
    name="retry-registration",
    response_model=BkrRegistrationOut,
    summary="Send a failed registration again (with the same idempotency key)",
    responses=problem_responses(404, 409),
)
def retry_registration(
    session: SessionDep, principal: Office, at: Now, registration_id: uuid.UUID
) -> BkrRegistrationOut:
    row = service.retry(session, principal, registration_id, now=at)
    record(session, principal, action="bkr.retry", resource_type="bkr_registration", resource_id=row.id, at=at)
    return BkrRegistrationOut.model_validate(service.describe(session, [row])[0])
