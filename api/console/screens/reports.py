"""Rapportages: the monitor's figures for a period as numbers, bar charts with their tables, and the downloads.

The figures come from the API's own functions (`read_monitor` audits each view as a read of the
monitor); the downloads call the API's route functions, so they answer and audit exactly as the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlmodel import Session
from starlette.responses import Response

from api.auth.deps import Now
from api.cases.rules import dutch_date
from api.console.labels import number
from api.console.web import ConsoleRoute, Office, as_api, download, render
from api.platform.db import SessionDep
from api.reports.case_export import routes as case_export_api
from api.reports.ddas import routes as ddas_api
from api.reports.monitor import routes as monitor_api
from api.reports.monitor.service import signals_by_partner_type_per_month
from api.reports.rules import EARLIEST, LATEST, MAX_PERIOD_DAYS, DeadlineOutcome

router = APIRouter(prefix="/console/rapportages", route_class=ConsoleRoute)
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
DEADLINE = {
    DeadlineOutcome.WITHIN: "Eerste contact binnen de termijn",
    DeadlineOutcome.LATE: "Eerste contact na de termijn",
    DeadlineOutcome.CLOSED_WITHOUT_CONTACT: "Afgesloten zonder contact",
    DeadlineOutcome.OVERDUE: "Nog open, termijn verlopen, geen contact",
    DeadlineOutcome.PENDING: "Nog open, binnen de termijn, nog geen contact",
}


@dataclass(frozen=True)
class Period:
    """The period the form asks for: its fields as typed, the dates, or why it is not a period."""

    raw_from: str
    raw_to: str
    start: date | None = None
    end: date | None = None
    problem: str | None = None

    @property
    def query(self) -> str:
        return f"from={self.start.isoformat()}&to={self.end.isoformat()}" if self.start and self.end else ""


def _day(value: str) -> date | None:
    if not ISO_DAY.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def period_of(request: Request, at: datetime) -> Period:
    """`from` and `to` from the query; empty means the current calendar month up to today (Amsterdam)."""
    today = dutch_date(at)
    raw_from = (request.query_params.get("from") or "").strip() or today.replace(day=1).isoformat()
    raw_to = (request.query_params.get("to") or "").strip() or today.isoformat()
    start, end = _day(raw_from), _day(raw_to)
    wrong = [name for name, day in (("Van", start), ("Tot en met", end)) if day is None]
    if start is None or end is None:
        return Period(
            raw_from,
            raw_to,
            problem=f"{' en '.join(wrong)}: geen geldige datum. "
            "Vul een datum in als jjjj-mm-dd, bijvoorbeeld 2026-03-31.",
        )
    if not (EARLIEST <= start <= LATEST and EARLIEST <= end <= LATEST):
        return Period(raw_from, raw_to, problem=f"Kies datums tussen {EARLIEST.year} en {LATEST.year}.")
    if end < start:
        return Period(raw_from, raw_to, problem="De periode klopt niet: ‘tot en met’ ligt vóór ‘van’.")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        return Period(
            raw_from,
            raw_to,
            problem=f"Een periode is hoogstens {MAX_PERIOD_DAYS} dagen lang. Kies een kortere periode.",
        )
    return Period(raw_from, raw_to, start, end)


# --- charts: bars as wide as their share of the chart's largest value -------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    width: float  # 0..100, of the largest value in the chart
    series: str = ""  # a CSS class for the series (its label says the same in words)


@dataclass(frozen=True)
class Group:
    label: str
    bars: list[Bar]


def chart(groups: list[tuple[str, list[tuple[str, int, str]]]]) -> list[Group]:
    top = max((value for _, bars in groups for _, value, _ in bars), default=0)
    return [
        Group(
            label,
            [Bar(name, value, round(100 * value / top, 1) if top else 0.0, series) for name, value, series in bars],
        )
        for label, bars in groups
    ]


def month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{MONTHS[int(number) - 1]} {year}"


def percentage(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%".replace(".", ",")


def figures(session: Session, signed: Any, at: datetime, period: Period) -> dict[str, Any]:
    assert period.start is not None and period.end is not None
    report = monitor_api.read_monitor(
        session, as_api(monitor_api.Office, signed.principal), at, period.start, period.end, format_="html"
    )
    per_month = signals_by_partner_type_per_month(
        session, municipality_code=signed.principal.municipality_code, start=period.start, end=period.end
    )
    partner_types = [
        kind for kind in report.signals.by_partner_type if any(counts.get(kind) for counts in per_month.values())
    ]
    attempts, reached = report.attempts.by_channel, report.attempts.reached_by_channel
    return {
        "report": report,
        "deadline": [(DEADLINE[outcome], getattr(report.cases, outcome.value)) for outcome in DeadlineOutcome],
        "reach": chart(
            [
                (channel, [("Pogingen", count, "pogingen"), ("Bereikt", reached.get(channel, 0), "bereikt")])
                for channel, count in attempts.items()
            ]
        ),
        "categories": chart([("", [(category, count, "") for category, count in report.closed.by_category.items()])]),
        "per_month": per_month,
        "partner_types": partner_types,
        "months": chart(
            [(month, [(kind, counts[kind], "") for kind in partner_types]) for month, counts in per_month.items()]
        ),
    }


def page(request: Request, session: Session, signed: Any, at: datetime, period: Period) -> Response:
    context = {} if period.problem else figures(session, signed, at, period)
    return render(
        request,
        signed,
        "rapportages.html",
        status=422 if period.problem else 200,
        current="rapportages",
        period=period,
        number=number,
        percentage=percentage,
        month_label=month_label,
        **context,
    )


@router.get("", name="console-reports")
def reports(request: Request, session: SessionDep, signed: Office, at: Now) -> Response:
    return page(request, session, signed, at, period_of(request, at))


@router.get("/ddas", name=download("console-reports-ddas"))
def ddas_download(request: Request, session: SessionDep, signed: Office, at: Now) -> Response:
    period = period_of(request, at)
    if period.problem or period.start is None or period.end is None:
        return page(request, session, signed, at, period)
    return ddas_api.ddas(
        session=session, principal=as_api(ddas_api.Office, signed.principal), at=at, from_=period.start, to=period.end
    )


@router.get("/monitor.csv", name=download("console-reports-monitor-csv"))
def monitor_download(request: Request, session: SessionDep, signed: Office, at: Now) -> Response:
    period = period_of(request, at)
    if period.problem or period.start is None or period.end is None:
        return page(request, session, signed, at, period)
    report = monitor_api.read_monitor(
        session, as_api(monitor_api.Office, signed.principal), at, period.start, period.end, format_="csv"
    )
    return monitor_api.csv_response(report)


@router.get("/zaken.csv", name=download("console-reports-cases-csv"))
def cases_download(request: Request, session: SessionDep, signed: Office, at: Now) -> Response:
    return case_export_api.export_cases(
        request=request,
        session=session,
        principal=as_api(case_export_api.Office, signed.principal),
        at=at,
        format_="csv",
        state=None,
        from_=None,
        to=None,
    )
