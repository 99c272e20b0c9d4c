"""Planning: the API's proposed visit lists for a day, edited per visit (keep, move, drop) and accepted all at once."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlmodel import Session, col, select
from starlette.datastructures import FormData, QueryParams
from starlette.responses import Response

from api.auth.deps import Now
from api.backoffice import routes as plans_api
from api.backoffice.routes import PlanAcceptance, PlannedVisitOut, PlanRequest
from api.cases.rules import dutch_date
from api.console.labels import local_date
from api.console.staff import staff_names, workers
from api.console.web import ConsoleRoute, Form, Office, as_api, attempt, done, optional, parse, render
from api.models import Case, Household
from api.platform.db import SessionDep
from api.platform.problems import ProblemError, Unprocessable

router = APIRouter(prefix="/console/planning", route_class=ConsoleRoute)
DEFAULT_VISITS = PlanRequest.model_fields["visits_per_worker"].default


@dataclass
class PlanRow:
    """One visit on the page: what the proposal says, and where the office wants it (None: niet inplannen)."""

    visit: PlannedVisitOut
    to: uuid.UUID | None
    problem: str | None = None


@dataclass
class PlanGroup:
    worker_id: uuid.UUID | None  # the worker the proposal gave these visits to
    rows: list[PlanRow] = field(default_factory=list)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def _plan_fields(values: QueryParams | FormData) -> dict[str, Any]:
    """The plan's parameters as the form sends them (names in Dutch), in the API's words."""
    return {
        "date": values.get("datum") or None,
        "visits_per_worker": values.get("bezoeken") or DEFAULT_VISITS,
        "worker_ids": [v for v in values.getlist("medewerker") if isinstance(v, str)],
    }


def _proposal(
    session: Session, signed: Any, at: datetime, fields: dict[str, Any]
) -> tuple[PlanRequest, plans_api.PlanProposal]:
    body = parse(PlanRequest, fields)
    if not body.worker_ids:
        raise Unprocessable("Choose at least one worker.", errors=[{"pointer": "/worker_ids", "detail": "empty"}])
    return body, plans_api.propose(session, as_api(plans_api.Office, signed.principal), at, body)


def _as_groups(proposal: plans_api.PlanProposal) -> list[PlanGroup]:
    return [
        PlanGroup(item.worker_id, [PlanRow(visit, item.worker_id) for visit in item.visits]) for item in proposal.lists
    ]


def _page(
    request: Request,
    session: Session,
    signed: Any,
    at: datetime,
    *,
    fields: dict[str, Any] | None,
    groups: list[PlanGroup] | None = None,
    plan_date: date | None = None,
    error: ProblemError | None = None,
) -> Response:
    active = workers(session, signed.principal)
    chosen = {str(w.id) for w in active} if fields is None else set(fields["worker_ids"])
    return render(
        request,
        signed,
        "planning.html",
        current="planning",
        error=error,
        workers=active,
        names=staff_names(session, signed.principal),
        groups=groups,
        plan_date=plan_date,
        chosen=chosen,
        planned=sum(len(group.rows) for group in groups or []),
        datum=(fields or {}).get("date") or (dutch_date(at) + timedelta(days=1)).isoformat(),
        bezoeken=(fields or {}).get("visits_per_worker") or DEFAULT_VISITS,
    )


@router.get("", name="console-planning")
def planning(request: Request, session: SessionDep, signed: Office, at: Now) -> Response:
    if "datum" not in request.query_params:  # the form alone: propose once the office asks for it
        return _page(request, session, signed, at, fields=None)
    fields = _plan_fields(request.query_params)
    try:
        body, proposal = _proposal(session, signed, at, fields)
    except ProblemError as problem:
        return _page(request, session, signed, at, fields=fields, error=problem)
    return _page(request, session, signed, at, fields=fields, groups=_as_groups(proposal), plan_date=body.date)


def _visits(
    session: Session, signed: Any, at: datetime, fields: dict[str, Any], case_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, PlannedVisitOut]:
    """What to show of the posted visits when the page is shown again: the proposal made anew,
    and for a case no longer in it (closed meanwhile, say) its address and deadline, in one query."""
    visits: dict[uuid.UUID, PlannedVisitOut] = {}
    try:
        _, proposal = _proposal(session, signed, at, fields)
        visits = {visit.case_id: visit for item in proposal.lists for visit in item.visits}
    except ProblemError:
        pass  # the plan's own fields were tampered with: the acceptance's error says enough
    missing = [case_id for case_id in case_ids if case_id not in visits]
    if missing:
        for case, household in session.exec(
            select(Case, Household)
            .join(Household, col(Household.id) == Case.household_id)
            .where(col(Case.id).in_(missing), Case.municipality_code == signed.principal.municipality_code)
        ):
            visits[case.id] = PlannedVisitOut(
                case_id=case.id,
                first_contact_due_date=case.first_contact_due_date,
                postcode=household.postcode,
                street=household.street,
                house_number=household.house_number,
                house_number_addition=household.house_number_addition,
                day_part="",
                attempt_number=0,
            )
    return visits


@router.post("/accepteren", name="console-planning-accept")
def accept(request: Request, session: SessionDep, signed: Office, at: Now, form: Form) -> Response:
    fields = _plan_fields(form)
    # Each visit on the page posts its case (`zaak`), whose list it was on (`van-…`) and where it goes (`naar-…`).
    # An empty `naar` is "niet inplannen"; anything else goes to the API as sent, so it judges every id itself.
    posted = [
        (case_id, _uuid(form.get(f"van-{case_id}")), optional(form, f"naar-{case_id}"))
        for case_id in dict.fromkeys(form.getlist("zaak"))
        if isinstance(case_id, str)
    ]
    lists: dict[str, list[str]] = {}
    for case_text, _, to in posted:
        if to is not None:
            lists.setdefault(to, []).append(case_text)
    acceptance = {"lists": [{"worker_id": worker_id, "case_ids": case_ids} for worker_id, case_ids in lists.items()]}
    result, problem = attempt(
        session,
        lambda: plans_api.accept(
            session, as_api(plans_api.Office, signed.principal), at, parse(PlanAcceptance, acceptance)
        ),
    )
    if problem is None:
        count = len(result.items)
        when = f" voor {local_date(date.fromisoformat(fields['date']))}" if _is_date(fields["date"]) else ""
        return done(
            signed,
            f"Planning{when} geaccepteerd: {count} {'zaak' if count == 1 else 'zaken'} toegewezen.",
            "/console/planning",
        )
    # Shown again as the office left it: every visit on its list, with the choice it made.
    refused = {
        str(e.get("case_id")): str(e.get("detail") or e.get("type") or "")
        for e in problem.extra.get("errors") or []
        if isinstance(e, dict) and e.get("case_id")
    }
    ids = [case_id for case_id in (_uuid(c) for c, _, _ in posted) if case_id is not None]
    visits = _visits(session, signed, at, fields, ids)
    groups: dict[uuid.UUID | None, PlanGroup] = {}
    for case_text, origin, to in posted:
        case_id = _uuid(case_text)
        if case_id is None or case_id not in visits:
            continue
        group = groups.setdefault(origin, PlanGroup(origin))
        group.rows.append(PlanRow(visits[case_id], _uuid(to), refused.get(str(case_id))))
    plan_date = date.fromisoformat(fields["date"]) if _is_date(fields["date"]) else None
    return _page(
        request, session, signed, at, fields=fields, groups=list(groups.values()), plan_date=plan_date, error=problem
    )


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(value)
        return True
    except (TypeError, ValueError):
        return False
