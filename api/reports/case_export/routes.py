"""HTTP surface of the case export: `GET /v1/cases/export` as CSV or XLSX (by `format` or `Accept`).

Included in the app before the cases router, whose `GET /v1/cases/{case_id}` would otherwise
take `export` for a case id.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.audit.service import record
from api.auth.deps import Now, allow
from api.auth.principal import Principal
from api.cases.rules import CaseState, dutch_date
from api.platform.db import SessionDep
from api.platform.downloads import download, spool
from api.platform.problems import NotAcceptable, Unprocessable, problem_responses
from api.reports.case_export import service
from api.reports.rules import EARLIEST, LATEST, negotiate, period_problem

router = APIRouter(prefix="/v1/cases", tags=["cases"], responses=problem_responses(401, 403, 406, 422))
Office = Annotated[Principal, Depends(allow(roles=("backoffice", "admin")))]
CSV, XLSX = "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"csv": CSV, "xlsx": XLSX}
MAX_ROWS = 100_000


@router.get(
    "/export",
    name="export",
    summary="Cases with their results, attempts and trajectory dates, as CSV or XLSX for the case system",
    description="Every case of your municipality (or those in `state`, opened `from`..`to`), oldest first, in the "
    'column layout of the README ("Case export (layout)"). `format` wins over `Accept`; without either: CSV. '
    "Never the BSN; purged cases without address or worker. At most 100,000 rows.",
    response_class=Response,
    responses={
        200: {
            "description": "The export, with a file name in Content-Disposition",
            "content": {CSV: {"schema": {"type": "string"}}, XLSX: {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
def export_cases(
    request: Request,
    session: SessionDep,
    principal: Office,
    at: Now,
    format_: Annotated[Literal["csv", "xlsx"] | None, Query(alias="format", description="Instead of `Accept`.")] = None,
    state: CaseState | None = None,
    from_: Annotated[date | None, Query(alias="from", description="Opened on or after this Dutch day.")] = None,
    to: Annotated[date | None, Query(description="Opened on or before this Dutch day.")] = None,
) -> Response:
    if (from_ is not None or to is not None) and (
        problem := period_problem(from_ or EARLIEST, to or LATEST, max_days=None)
    ):
        raise Unprocessable(problem, errors=[{"pointer": "/query/from", "detail": problem, "code": "period"}])
    media_type = FORMATS[format_] if format_ else negotiate(request.headers.get("accept"), [CSV, XLSX])
    if media_type is None:
        raise NotAcceptable(f"The export comes as {CSV} or {XLSX} (or ask with `format=csv|xlsx`).")
    cases = service.exported_cases(
        session,
        municipality_code=principal.municipality_code,
        state=state.value if state else None,
        opened_from=from_,
        opened_to=to,
        limit=MAX_ROWS + 1,
        today=dutch_date(at),
    )
    extension = "csv" if media_type == CSV else "xlsx"
    file = spool()
    rows = (service.write_csv if media_type == CSV else service.write_xlsx)(cases, file, limit=MAX_ROWS)
    if rows > MAX_ROWS:
        file.close()
        raise Unprocessable(
            f"More than {MAX_ROWS:,} cases: narrow the export with `state` or `from`/`to`.", slug="export-too-large"
        )
    record(
        session,
        principal,
        action="cases.export",
        resource_type="case",
        at=at,
        detail={
            "format": extension,
            "rows": rows,
            "state": state.value if state else None,
            "from": from_.isoformat() if from_ else None,
            "to": to.isoformat() if to else None,
        },
    )
    return download(
        file, media_type=media_type, filename=f"cases-{principal.municipality_code}-{at.date()}.{extension}"
    )
