"""Residents' rights for the data protection officer and admins: find the person, report, erase."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from api.auth.deps import Now, allow
from api.auth.principal import Principal
from api.platform.db import SessionDep
from api.platform.problems import problem_responses
from api.residents import service
from api.residents.document import DOCUMENT_CSP, document
from api.residents.schemas import ErasureRequest, ErasureResult, ResidentFound, ResidentReport, ResidentSearch

router = APIRouter(prefix="/v1/residents", tags=["residents"], responses=problem_responses(401, 403, 422))
Admin = Annotated[Principal, Depends(allow(roles=("admin",)))]


@router.post(
    "/search",
    name="search",
    response_model=ResidentFound,
    summary="Find a resident: the signals, households and cases that concern them (audited with the reason)",
    description=(
        "By BSN (through its keyed hash), by surname and birth date, or by address, over the municipality's whole "
        "history: data erased earlier shows as erased. The request is kept with the admin's reason; its `ref` is "
        "what the report and the erasure act on."
    ),
)
def search(request: Request, session: SessionDep, principal: Admin, at: Now, body: ResidentSearch) -> ResidentFound:
    return service.search(session, principal, request.app.state.vault, body, now=at)


@router.get(
    "/{ref}/report",
    name="report",
    response_model=ResidentReport,
    responses={**problem_responses(404), 200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
    summary="Access (inzage, AVG art. 15): what is held about the resident and who saw it",
    description=(
        "Every signal, case, contact attempt and what it recorded, the trajectory and BKR registration, and the "
        "log of who (role and organisation) read or changed the data, when and under which processing activity. "
        "The BSN appears masked. `format=html` gives the printable document for the resident. Audited."
    ),
)
def report(
    request: Request,
    session: SessionDep,
    principal: Admin,
    at: Now,
    ref: uuid.UUID,
    format: Annotated[Literal["json", "html"], Query(description="json, or html for the printable document")] = "json",
) -> ResidentReport | HTMLResponse:
    answer = service.report(session, principal, request.app.state.vault, ref, now=at)
    if format == "html":
        return HTMLResponse(
            document(answer),
            headers={
                "Content-Security-Policy": DOCUMENT_CSP,
                "Content-Disposition": f'inline; filename="inzage-{ref}.html"',
            },
        )
    return answer


@router.post(
    "/{ref}/erasure",
    name="erasure",
    response_model=ErasureResult,
    responses=problem_responses(404, 409),
    summary="Objection or erasure (AVG art. 17, 21): erase what the law does not keep, and say why the rest stays",
    description=(
        "Closed cases are erased at once (as retention does); open ones are closed as *Niet opgepakt: andere reden* "
        "and erased; devices drop them on their next pull (`removed`, reason `purged`). A running trajectory, or a "
        "BKR registration within its term, stays, with the reason in `kept`; so do the counts DDAS and the monitor "
        "report. A case that names other residents too keeps theirs. Audited."
    ),
)
def erasure(
    request: Request, session: SessionDep, principal: Admin, at: Now, ref: uuid.UUID, body: ErasureRequest
) -> ErasureResult:
    return service.erasure(session, principal, request.app.state.vault, ref, body, now=at)
