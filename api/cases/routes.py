"""HTTP surface for reading cases (the back office's filters and planning come with their own issue)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.audit.service import record, record_case_reads
from api.auth.deps import Now, allow
from api.auth.principal import Principal
from api.cases import service
from api.cases.schemas import AddressOut, CaseCursor, CaseDetail, CasePage, CaseSignalOut, CaseSummary
from api.db import SessionDep
from api.models import Case, Household
from api.pagination import decode_cursor, encode_cursor
from api.problems import problem_responses

router = APIRouter(prefix="/v1/cases", tags=["cases"], responses=problem_responses(401, 403, 422))
CaseReader = Annotated[Principal, Depends(allow(roles=("worker", "backoffice", "admin"), scopes=("cases:read",)))]


def _summary(case: Case, household: Household) -> dict:
    return {
        **case.model_dump(include=set(CaseSummary.model_fields) - {"address"}),
        "address": AddressOut.model_validate(household, from_attributes=True),
    }


@router.get("", name="list", response_model=CasePage, summary="Cases, by deadline (workers see their own)")
def list_cases(
    session: SessionDep,
    principal: CaseReader,
    at: Now,
    state: Literal["open", "closed"] | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CasePage:
    position = decode_cursor(cursor, CaseCursor)
    rows = service.list_cases(
        session, principal, state=state, after=(position.deadline_date, position.id) if position else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    record_case_reads(session, principal, case_ids=[case.id for case, _ in rows], action="cases.list", at=at)
    next_cursor = (
        encode_cursor({"deadline_date": rows[-1][0].deadline_date.isoformat(), "id": str(rows[-1][0].id)}) if more else None
    )
    return CasePage(items=[CaseSummary.model_validate(_summary(c, h)) for c, h in rows], next_cursor=next_cursor)


@router.get(
    "/{case_id}", name="get", response_model=CaseDetail, summary="One case with its signals",
    responses=problem_responses(404),
)
def get_case(session: SessionDep, principal: CaseReader, at: Now, case_id: uuid.UUID) -> CaseDetail:
    case, household, signals = service.get_case(session, principal, case_id)
    record(session, principal, action="cases.read", resource_type="case", resource_id=case.id, case_id=case.id, at=at)
    return CaseDetail.model_validate(
        {**_summary(case, household), "signals": [CaseSignalOut.model_validate(s, from_attributes=True) for s in signals]}
    )
