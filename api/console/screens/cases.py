"""Zaken: the case list with the API's filters, and a case's page with its timeline and the office's actions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, get_args

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from starlette.responses import Response

from api.auth.deps import Now
from api.bkr.schemas import TrajectoryEnd, TrajectoryStart
from api.cases import routes as case_api
from api.cases import trajectory_routes as trajectory_api
from api.cases.rules import AMSTERDAM, HANDOVER_RESULTS, STALE_RESULTS, CaseState, dutch_date
from api.cases.schemas import AssignmentRequest, CloseRequest, OfficeAction
from api.console.staff import device_labels, staff_names, workers
from api.console.web import ConsoleRoute, Form, Office, as_api, attempt, done, filled, optional, parse, render
from api.platform.db import SessionDep
from api.platform.problems import ProblemError
from api.signals.rules import SIGNAL_STATUSES, PartnerType

router = APIRouter(prefix="/console/zaken", route_class=ConsoleRoute)
PAGE_SIZE = 50


class CaseListQuery(BaseModel):
    """The filters of `GET /v1/cases`, as the console's filter form sends them (empty = not set)."""

    model_config = ConfigDict(extra="ignore")

    state: CaseState | None = None
    open: bool | None = None
    classification: Literal["single", "multiple", "consecutive"] | None = None
    partner_type: PartnerType | None = None
    due_within_days: int | None = Field(default=None, ge=0, le=365)
    overdue: bool | None = None
    worker_id: uuid.UUID | None = None
    unassigned: bool | None = None
    postcode_from: str | None = Field(default=None, pattern=case_api.POSTCODE_BOUND)
    postcode_to: str | None = Field(default=None, pattern=case_api.POSTCODE_BOUND)
    has_open_conflict: bool | None = None
    crisis: bool | None = None
    signal_status: case_api.SignalStatus | None = None
    proposed_closing: bool | None = None
    objection: bool | None = None
    stale: bool | None = None
    cursor: str | None = Field(default=None, max_length=200)


@router.get("", name="console-cases")
def case_list(request: Request, session: SessionDep, signed: Office, at: Now) -> Response:
    raw = filled(request)
    query = parse(CaseListQuery, raw)
    page = case_api.list_cases(
        session, as_api(case_api.CaseReader, signed.principal), at, **query.model_dump(), limit=PAGE_SIZE
    )
    filters = {key: value for key, value in raw.items() if key != "cursor"}
    return render(
        request,
        signed,
        "zaken.html",
        current="zaken",
        page=page,
        filters=filters,
        raw=raw,
        workers=workers(session, signed.principal),
        names=staff_names(session, signed.principal),
        partner_types=get_args(PartnerType),
        signal_statuses=SIGNAL_STATUSES,
    )


def case_page(
    request: Request,
    session: Session,
    signed: Any,
    at: datetime,
    case_id: uuid.UUID,
    *,
    error: ProblemError | None = None,
) -> Response:
    case = case_api.get_case(session, as_api(case_api.CaseReader, signed.principal), at, case_id)
    devices = device_labels(session, signed.principal, (event.device_id for event in case.events))
    people = {(s.initials, s.prefix, s.surname): s for s in case.signals if s.surname}
    today = dutch_date(at)
    return render(
        request,
        signed,
        "zaak.html",
        current="zaken",
        case=case,
        error=error,
        devices=devices,
        names=staff_names(session, signed.principal),
        workers=workers(session, signed.principal),
        handover_results=HANDOVER_RESULTS,
        stale_results=STALE_RESULTS,
        people=list(people.values()),
        today=today,
        now_local=at.astimezone(AMSTERDAM).strftime("%Y-%m-%dT%H:%M"),
        action_id=uuid.uuid4(),
    )


@router.get("/{case_id}", name="console-case")
def case_detail(request: Request, session: SessionDep, signed: Office, at: Now, case_id: uuid.UUID) -> Response:
    return case_page(request, session, signed, at, case_id)


def _moment(value: str | None, at: datetime) -> datetime | str:
    """A `datetime-local` field, read as Amsterdam time; empty means now. Anything else goes to the
    API's model as it was typed, which refuses it with a clear error."""
    if not value:
        return at
    try:
        return datetime.fromisoformat(value).replace(tzinfo=AMSTERDAM)
    except ValueError:
        return value


def _after(
    request: Request, session: Session, signed: Any, at: datetime, case_id: uuid.UUID, action: Any, message: str
) -> Response:
    _, problem = attempt(session, action)
    if problem is not None:
        return case_page(request, session, signed, at, case_id, error=problem)
    return done(signed, message, f"/console/zaken/{case_id}")


_ASKS_REACHED = {"phone_attempt", "mail_sent", "sms_sent", "administrative"}


@router.post("/{case_id}/actie", name="console-case-action")
def office_action(
    request: Request, session: SessionDep, signed: Office, at: Now, form: Form, case_id: uuid.UUID
) -> Response:
    kind = optional(form, "kind")
    fields = {
        "action_id": optional(form, "action_id"),
        "kind": kind,
        "base_version": optional(form, "base_version"),
        "occurred_at": _moment(optional(form, "occurred_at"), at),
        "reached": optional(form, "reached") == "ja" if kind in _ASKS_REACHED else None,
        "text": optional(form, "text") if kind == "note" else None,
    }
    labels = {
        "letter_sent": "Brief vastgelegd.",
        "phone_attempt": "Telefoonpoging vastgelegd.",
        "mail_sent": "Mail vastgelegd.",
        "sms_sent": "SMS/Whatsapp vastgelegd.",
        "appointment_kept": "Afspraak op locatie vastgelegd.",
        "administrative": "Administratief contact vastgelegd.",
        "note": "Notitie opgeslagen.",
        "help_accepted": "Hulp aanvaard vastgelegd.",
    }
    return _after(
        request,
        session,
        signed,
        at,
        case_id,
        lambda: case_api.act(
            session, as_api(case_api.Office, signed.principal), at, case_id, parse(OfficeAction, fields)
        ),
        labels.get(kind or "", "Vastgelegd."),
    )


@router.post("/{case_id}/afsluiten", name="console-case-close")
def close(request: Request, session: SessionDep, signed: Office, at: Now, form: Form, case_id: uuid.UUID) -> Response:
    fields = {"result": optional(form, "result"), "base_version": optional(form, "base_version")}
    return _after(
        request,
        session,
        signed,
        at,
        case_id,
        lambda: case_api.close_case(
            session, as_api(case_api.Office, signed.principal), at, case_id, parse(CloseRequest, fields)
        ),
        "Zaak afgesloten.",
    )


@router.post("/{case_id}/heropenen", name="console-case-reopen")
def reopen(request: Request, session: SessionDep, signed: Office, at: Now, form: Form, case_id: uuid.UUID) -> Response:
    return _after(
        request,
        session,
        signed,
        at,
        case_id,
        lambda: case_api.reopen_case(session, as_api(case_api.Office, signed.principal), at, case_id),
        "Zaak heropend.",
    )


@router.post("/{case_id}/toewijzing", name="console-case-assign")
def assign(request: Request, session: SessionDep, signed: Office, at: Now, form: Form, case_id: uuid.UUID) -> Response:
    fields = {"worker_id": optional(form, "worker_id"), "second_worker_id": optional(form, "second_worker_id")}
    return _after(
        request,
        session,
        signed,
        at,
        case_id,
        lambda: case_api.assign_case(
            session, as_api(case_api.Office, signed.principal), at, case_id, parse(AssignmentRequest, fields)
        ),
        "Zaak toegewezen.",
    )


@router.post("/{case_id}/traject", name="console-trajectory-start")
def start_trajectory(
    request: Request, session: SessionDep, signed: Office, at: Now, form: Form, case_id: uuid.UUID
) -> Response:
    fields = {
        "decision_date": optional(form, "decision_date"),
        "signal_id": optional(form, "signal_id"),
        "base_version": optional(form, "base_version"),
    }
    if optional(form, "result"):  # absent: the API's default follow-up result
        fields["result"] = optional(form, "result")
    return _after(
        request,
        session,
        signed,
        at,
        case_id,
        lambda: trajectory_api.start_trajectory(
            session, as_api(trajectory_api.Office, signed.principal), at, case_id, parse(TrajectoryStart, fields)
        ),
        "Traject gestart; de BKR-registratie staat klaar voor verzending.",
    )


@router.post("/{case_id}/traject/einde", name="console-trajectory-end")
def end_trajectory(
    request: Request, session: SessionDep, signed: Office, at: Now, form: Form, case_id: uuid.UUID
) -> Response:
    fields = {"end_date": optional(form, "end_date"), "outcome": optional(form, "outcome")}
    return _after(
        request,
        session,
        signed,
        at,
        case_id,
        lambda: trajectory_api.end_trajectory(
            session, as_api(trajectory_api.Office, signed.principal), at, case_id, parse(TrajectoryEnd, fields)
        ),
        "Einde traject vastgelegd; BKR krijgt de einddatum.",
    )
