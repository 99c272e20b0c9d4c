"""HTTP surface of the monitor report: JSON, or a long CSV (`section,key,subkey,value`) by `Accept`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.audit.service import record
from api.auth.deps import Now, allow
from api.auth.principal import Principal
from api.platform.db import SessionDep
from api.platform.problems import NotAcceptable, Unprocessable, problem_responses
from api.reports.monitor import service
from api.reports.rules import DeadlineOutcome, FirstTally, negotiate, period_problem

router = APIRouter(prefix="/v1/reports", tags=["reports"], responses=problem_responses(401, 403, 406, 422))
Office = Annotated[Principal, Depends(allow(roles=("backoffice", "admin")))]
JSON, CSV = "application/json", "text/csv"
CSV_HEADER = ("section", "key", "subkey", "value")


class SignalsOut(BaseModel):
    received: int = Field(description="Signals received in the period (by `received_at`), repeats included.")
    repeats: int = Field(description="Of those, repeats (`Niet opgepakt: herhaalde melding`): they open no outreach.")
    by_classification: dict[str, int] = Field(description="single / multiple / consecutive; adds up to `received`.")
    by_partner_type: dict[str, int] = Field(description="Per DDAS partner type, zero included; adds up to `received`.")


class CasesOpenedOut(BaseModel):
    """The cases opened in the period against their first-contact deadline; the five counts add up to `opened`."""

    opened: int
    first_contact_within_deadline: int = Field(description="First reached on or before `first_contact_due_date`.")
    first_contact_after_deadline: int
    closed_without_contact: int
    open_past_deadline_without_contact: int = Field(description="Not reached, not closed, due date passed (today).")
    open_within_deadline_without_contact: int
    share_first_contact_within_deadline: float | None = Field(
        description="`first_contact_within_deadline / opened`, four decimals; null when no case was opened."
    )


class FirstOut(BaseModel):
    """The cases opened in the period by when their first attempt (or first reach) came; adds up to `opened`."""

    within_deadline: int = Field(description="On or before `first_contact_due_date` (a Dutch day).")
    after_deadline: int
    none_yet: int
    share_within_deadline: float | None = Field(description="`within_deadline / opened`; null when none opened.")


class FirstAttemptOut(FirstOut):
    overdue: int = Field(
        description="Of the cases opened, those overdue now: open, no attempt on or before the due "
        "date, and that day has ended (the dashboard's rule)."
    )


class AttemptsOut(BaseModel):
    by_channel: dict[str, int] = Field(description="Contact attempts in the period per channel (letter, phone, visit).")
    reached_by_channel: dict[str, int] = Field(description="Of those, attempts that reached the resident.")


class HelpOut(BaseModel):
    accepted: int = Field(description="Cases whose first accepted help (`help_accepted` event) falls in the period.")


class TrajectoriesOut(BaseModel):
    started: int = Field(description="Trajectories whose decision (beschikking) date falls in the period.")
    ended: int = Field(description="Trajectories whose end date falls in the period.")
    ended_by_outcome: dict[str, int]


class ClosedOut(BaseModel):
    total: int = Field(description="Cases closed in the period (still closed now).")
    by_result: dict[str, int] = Field(description="Per DDAS result, all 16 included.")
    by_category: dict[str, int] = Field(description="Per result category (README: Monitor report); adds up to `total`.")


class MonitorOut(BaseModel):
    municipality_code: str
    from_date: date
    to_date: date
    generated_at: datetime
    signals: SignalsOut
    cases: CasesOpenedOut
    first_attempt: FirstAttemptOut = Field(description="The 28-day duty: a letter, call or visit, reached or not.")
    first_reach: FirstOut = Field(description="The first attempt that reached the resident.")
    attempts: AttemptsOut
    help: HelpOut
    trajectories: TrajectoriesOut
    closed: ClosedOut


def _wire(report: service.Monitor) -> MonitorOut:
    return MonitorOut(
        municipality_code=report.municipality_code,
        from_date=report.from_date,
        to_date=report.to_date,
        generated_at=report.generated_at,
        signals=SignalsOut.model_validate(report.signals, from_attributes=True),
        cases=CasesOpenedOut(
            opened=report.cases.opened,
            share_first_contact_within_deadline=report.cases.share_within_deadline,
            **{outcome.value: report.cases.by_outcome[outcome] for outcome in DeadlineOutcome},
        ),
        first_attempt=FirstAttemptOut(overdue=report.overdue, **_first(report.first_attempt)),
        first_reach=FirstOut(**_first(report.first_reach)),
        attempts=AttemptsOut(by_channel=report.attempts_by_channel, reached_by_channel=report.reached_by_channel),
        help=HelpOut(accepted=report.help_accepted),
        trajectories=TrajectoriesOut.model_validate(report.trajectories, from_attributes=True),
        closed=ClosedOut.model_validate(report.closed, from_attributes=True),
    )


def _first(tally: FirstTally) -> dict[str, Any]:
    return {
        **{outcome.value: count for outcome, count in tally.by_outcome.items()},
        "share_within_deadline": tally.share_within_deadline,
    }


def tidy_rows(figures: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """The JSON document as long rows: top-level values under section `report`, every figure
    as `section,key,subkey,value` (subkey empty for a single number; value empty for null)."""
    for section, value in figures.items():
        if not isinstance(value, dict):
            yield "report", section, "", _text(value)
            continue
        for key, inner in value.items():
            if isinstance(inner, dict):
                for subkey, number in inner.items():
                    yield section, key, subkey, _text(number)
            else:
                yield section, key, "", _text(inner)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@router.get(
    "/monitor",
    name="monitor",
    response_model=MonitorOut,
    summary="Monitor figures for a period: signals, deadline, reach by channel, help, trajectories, results",
    description="Your municipality's figures for `from`..`to` (dates included, Dutch days, at most 366 days). "
    "JSON by default; `Accept: text/csv` gives one figure per row: `section,key,subkey,value`.",
    responses={200: {"description": "The figures", "content": {CSV: {"schema": {"type": "string"}}}}},
)
def monitor(
    request: Request,
    session: SessionDep,
    principal: Office,
    at: Now,
    from_: Annotated[date, Query(alias="from", description="First day of the period (YYYY-MM-DD).")],
    to: Annotated[date, Query(description="Last day of the period, included (YYYY-MM-DD).")],
) -> MonitorOut | Response:
    problem = period_problem(from_, to)
    if problem:
        raise Unprocessable(problem, errors=[{"pointer": "/query/from", "detail": problem, "code": "period"}])
    media_type = negotiate(request.headers.get("accept"), [JSON, CSV])
    if media_type is None:
        raise NotAcceptable(f"The monitor comes as {JSON} or {CSV}.")
    report = read_monitor(session, principal, at, from_, to, format_="csv" if media_type == CSV else "json")
    return report if media_type == JSON else csv_response(report)


def read_monitor(
    session: Session, principal: Principal, at: datetime, start: date, end: date, *, format_: str
) -> MonitorOut:
    """The figures for `start`..`end` (a period `period_problem` accepts), audited as one read of the monitor."""
    report = _wire(
        service.monitor(session, municipality_code=principal.municipality_code, start=start, end=end, now=at)
    )
    record(
        session,
        principal,
        action="reports.monitor",
        resource_type="report",
        resource_id="monitor",
        at=at,
        detail={"from": start.isoformat(), "to": end.isoformat(), "format": format_},
    )
    return report


def csv_response(report: MonitorOut) -> Response:
    """The figures as a CSV download, one figure per row (`tidy_rows`)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    writer.writerows(tidy_rows(report.model_dump(mode="json")))
    filename = f"monitor-{report.municipality_code}-{report.from_date.isoformat()}-{report.to_date.isoformat()}.csv"
    return Response(
        buffer.getvalue(), media_type=CSV, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
