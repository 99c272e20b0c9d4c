"""BKR: the registrations with their delivery status, attempts and last error, and sending a failed one again."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.responses import Response

from api.audit.service import record_case_reads
from api.auth.deps import Now
from api.bkr import routes as bkr_api
from api.console.web import ConsoleRoute, Form, Office, as_api, attempt, done, filled, optional, parse, render
from api.platform import tables
from api.platform.db import SessionDep
from api.platform.problems import ProblemError

router = APIRouter(prefix="/console/bkr", route_class=ConsoleRoute)
PAGE_SIZE = 50


class BkrQuery(BaseModel):
    """The filters of `GET /v1/bkr/registrations`, as the console's filter form sends them."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["pending", "delivered", "failed"] | None = None
    cursor: str | None = Field(default=None, max_length=200)


def _addresses(session: Session, municipality_code: str, case_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each case's address, to name the case link (one query for the whole page)."""
    if not case_ids:
        return {}
    cs, hh = tables.case.c, tables.household.c
    rows = session.execute(
        sa.select(cs.id, hh.street, hh.house_number, hh.house_number_addition, hh.postcode)
        .join(tables.household, hh.id == cs.household_id)
        .where(cs.municipality_code == municipality_code, cs.id.in_(case_ids))
    ).all()
    return {
        case_id: " ".join(str(part) for part in (street, f"{number or ''}{addition or ''}", postcode) if part)
        for case_id, street, number, addition, postcode in rows
    }


def bkr_page(
    request: Request,
    session: Session,
    signed: Any,
    at: datetime,
    raw: dict[str, str],
    *,
    error: ProblemError | None = None,
) -> Response:
    query = parse(BkrQuery, raw)
    page = bkr_api.list_registrations(
        session,
        as_api(bkr_api.Office, signed.principal),
        at,
        status=query.status,
        case_id=None,
        cursor=query.cursor,
        limit=PAGE_SIZE,
    )
    filters = {"status": query.status} if query.status else {}
    addresses = _addresses(session, signed.principal.municipality_code, {r.case_id for r in page.items})
    # The API's list names no one; this page shows whose address is in debt relief: audited as a case read.
    record_case_reads(session, signed.principal, case_ids=list(addresses), action="bkr.list", at=at)
    return render(
        request,
        signed,
        "bkr.html",
        current="bkr",
        error=error,
        page=page,
        filters=filters,
        raw=raw,
        addresses=addresses,
    )


@router.get("", name="console-bkr")
def registrations(request: Request, session: SessionDep, signed: Office, at: Now) -> Response:
    raw = filled(request)
    return bkr_page(request, session, signed, at, raw)


@router.post("/{registration_id}/opnieuw", name="console-bkr-retry")
def retry(
    request: Request, session: SessionDep, signed: Office, at: Now, form: Form, registration_id: uuid.UUID
) -> Response:
    status = optional(form, "status")
    back = {"status": status} if status in ("pending", "delivered", "failed") else {}
    _, problem = attempt(
        session,
        lambda: bkr_api.retry_registration(session, as_api(bkr_api.Office, signed.principal), at, registration_id),
    )
    if problem is not None:
        return bkr_page(request, session, signed, at, back, error=problem)
    return done(
        signed,
        "Registratie staat weer klaar voor verzending naar BKR.",
        "/console/bkr" + (f"?status={back['status']}" if back else ""),
    )
