"""HTTP surface of the DDAS Vroegsignalering delivery to CBS, for the back office."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from api.audit.service import record
from api.auth.deps import Now, allow
from api.auth.principal import Principal
from api.platform.db import SessionDep
from api.platform.downloads import download, spool
from api.platform.problems import Unprocessable, problem_responses
from api.reports.ddas.document import Period
from api.reports.ddas.service import write_ddas_delivery
from api.reports.rules import EARLIEST, LATEST

router = APIRouter(prefix="/v1/reports", tags=["reports"], responses=problem_responses(401, 403, 422))
Office = Annotated[Principal, Depends(allow(roles=("backoffice", "admin")))]
MAX_PERIOD_DAYS = 366  # a leap year


@router.get(
    "/ddas",
    name="ddas",
    summary="The DDAS Vroegsignalering v1.2 delivery to CBS for a period",
    description=(
        "Signals received in the period and the cases open during it, with contact attempts and results, "
        "as a JSON file valid against VNG's DDAS v1.2 JSON Schema (`Uitwisselmodel`). Residents are named by postcode and "
        "house number, never by BSN; signals whose personal data was erased are left out, their cases are kept."
    ),
    response_class=JSONResponse,
    responses={
        200: {
            "description": "A DDAS `Uitwisselmodel` document, as a download",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def ddas(
    session: SessionDep,
    principal: Office,
    at: Now,
    from_: Annotated[date, Query(alias="from", description="First day of the period (YYYY-MM-DD).")],
    to: Annotated[date, Query(description="Last day of the period, included (YYYY-MM-DD).")],
) -> Response:
    _check_period(from_, to)
    file = spool()
    counts = write_ddas_delivery(
        session, municipality_code=principal.municipality_code, period=Period(from_, to), now=at, out=file
    )
    record(
        session,
        principal,
        action="reports.ddas",
        resource_type="report",
        at=at,
        detail={
            "from": from_.isoformat(),
            "to": to.isoformat(),
            "signals": counts.signals,
            "signals_left_out": counts.signals_left_out,
            "cases": counts.cases,
            "purged_cases": counts.purged_cases,
        },
    )
    filename = f"ddas-{principal.municipality_code}-{from_.isoformat()}-{to.isoformat()}.json"
    return download(file, media_type="application/json", filename=filename)


def _check_period(start: date, end: date) -> None:
    errors = [
        {"pointer": f"/query/{name}", "detail": f"must be between {EARLIEST} and {LATEST}", "code": "date_range"}
        for name, day in (("from", start), ("to", end))
        if not EARLIEST <= day <= LATEST
    ]
    if not errors and start > end:
        errors.append({"pointer": "/query/to", "detail": "must not be before `from`", "code": "period_order"})
    if not errors and (end - start).days + 1 > MAX_PERIOD_DAYS:
        errors.append(
            {
                "pointer": "/query/to",
                "detail": f"the period is at most {MAX_PERIOD_DAYS} days",
                "code": "period_too_long",
            }
        )
    if errors:
        raise Unprocessable("The period is not valid; see `errors`.", errors=errors)
