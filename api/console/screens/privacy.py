"""Privacy (admins, the data protection officer): find a resident, give them their access report,
and erase on objection or request, with what the law keeps and why."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.auth.deps import Now
from api.console.web import ConsoleRoute, Form, Office, as_api, attempt, done, optional, parse, render
from api.platform.db import SessionDep
from api.platform.problems import ProblemError
from api.residents import correction, service
from api.residents import routes as resident_api
from api.residents.document import fragment
from api.residents.schemas import ErasureRequest, ResidentSearch, SignalCorrection
from api.signals.parsing import CORRECTABLE

router = APIRouter(prefix="/console/privacy", route_class=ConsoleRoute)


def _page(
    request: Request,
    signed: Any,
    *,
    found: Any = None,
    form: dict[str, str | None] | None = None,
    error: ProblemError | None = None,
) -> Response:
    return render(request, signed, "privacy.html", current="privacy", found=found, form=form or {}, error=error)


@router.get("", name="console-privacy")
def privacy(request: Request, signed: Office) -> Response:
    as_api(resident_api.Admin, signed.principal)
    return _page(request, signed)


@router.post("/zoeken", name="console-privacy-search")
def search(request: Request, session: SessionDep, signed: Office, at: Now, form: Form) -> Response:
    principal = as_api(resident_api.Admin, signed.principal)
    fields = {
        name: optional(form, name)
        for name in ("reason", "bsn", "surname", "birth_date", "postcode", "house_number", "house_number_addition")
    }
    found, problem = attempt(
        session,
        lambda: service.search(
            session,
            principal,
            request.app.state.vault,
            parse(ResidentSearch, {k: v for k, v in fields.items() if v}),
            now=at,
        ),
    )
    return _page(request, signed, found=found, form=fields, error=problem)


@router.get("/{ref}", name="console-privacy-report")
def report(request: Request, session: SessionDep, signed: Office, at: Now, ref: uuid.UUID) -> Response:
    principal = as_api(resident_api.Admin, signed.principal)
    answer = service.report(session, principal, request.app.state.vault, ref, now=at)
    return render(
        request,
        signed,
        "privacy_rapport.html",
        current="privacy",
        ref=ref,
        report=fragment(answer),
        erasure=None,
        signals=_correctable(answer),
    )


def _correctable(answer: Any) -> list[Any]:
    return [s for s in answer.signals if not s.erased]


@router.post("/{ref}/corrigeren", name="console-privacy-correct")
def correct(request: Request, session: SessionDep, signed: Office, at: Now, form: Form, ref: uuid.UUID) -> Response:
    """Only the fields filled in change (an empty field leaves the value as it is)."""
    principal = as_api(resident_api.Admin, signed.principal)
    body = {name: value for name in ("reason", *CORRECTABLE) if (value := optional(form, name)) is not None}
    signal_id = optional(form, "signal_id")

    def run() -> Any:
        chosen = service.signal_of_request(session, principal, ref, signal_id)
        return correction.correct(
            session, principal, request.app.state.vault, chosen, parse(SignalCorrection, body), now=at
        )

    result, problem = attempt(session, run)
    if problem is not None:
        answer = service.report(session, principal, request.app.state.vault, ref, now=at)
        return render(
            request,
            signed,
            "privacy_rapport.html",
            current="privacy",
            ref=ref,
            report=fragment(answer),
            erasure=None,
            error=problem,
            signals=_correctable(answer),
            correction=body,
        )
    if not result.changed:
        return done(signed, "Niets gewijzigd: de ingevulde waarden stonden er al.", f"/console/privacy/{ref}")
    moved = " Het signaal is verhuisd naar het huishouden van het nieuwe adres." if result.regrouped else ""
    bkr = {
        "registration-updated": " De BKR-registratie gaat met de gecorrigeerde gegevens uit.",
        "correction-queued": " Een correctie gaat naar het BKR.",
    }.get(result.bkr or "", "")
    return done(signed, f"Gecorrigeerd: {', '.join(result.changed)}.{moved}{bkr}", f"/console/privacy/{ref}")


@router.post("/{ref}/wissen", name="console-privacy-erase")
def erase(request: Request, session: SessionDep, signed: Office, at: Now, form: Form, ref: uuid.UUID) -> Response:
    principal = as_api(resident_api.Admin, signed.principal)
    body = {"ground": optional(form, "ground"), "reason": optional(form, "reason")}
    result, problem = attempt(
        session,
        lambda: service.erasure(session, principal, request.app.state.vault, ref, parse(ErasureRequest, body), now=at),
    )
    if problem is not None:
        answer = service.report(session, principal, request.app.state.vault, ref, now=at)
        return render(
            request,
            signed,
            "privacy_rapport.html",
            current="privacy",
            ref=ref,
            report=fragment(answer),
            erasure=None,
            error=problem,
            signals=_correctable(answer),
        )
    kept = "; ".join(f"zaak {k.case_id}: {k.reason}" for k in result.kept)
    return done(
        signed,
        f"Gewist: {len(result.erased_cases)} zaak/zaken en {result.erased_signals} signaal/signalen."
        + (f" Bewaard: {kept}" if kept else ""),
        f"/console/privacy/{ref}",
    )
