"""Signalen: upload a platform file (with a progress indicator), the recent imports, and an import's report."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from api.auth.deps import Now
from api.auth.principal import Principal
from api.console.staff import staff_names
from api.console.web import ConsoleRoute, Form, Office, as_api, attempt, download, optional, parse, render
from api.platform.db import SessionDep
from api.platform.problems import ProblemError, Unprocessable
from api.platform.tenancy import own_municipality
from api.signals import imports
from api.signals import routes as signal_api
from api.signals.parsing import EXPORT_NAMES, FileRefused  # reasons name columns as the platforms export them; so do we
from api.signals.schemas import ImportMode

router = APIRouter(prefix="/console/signalen", route_class=ConsoleRoute)

WORDS = {
    "mode": {"all-or-nothing": "Alles of niets", "accept-valid": "Geldige regels verwerken"},
    "format": {"csv": "CSV", "xlsx": "Excel (xlsx)", "ddas-json": "DDAS-JSON"},
    "source": {"file": "Bestand", "api": "Koppeling"},
}


class UploadForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    mode: ImportMode = "all-or-nothing"


def _names(session: Session, principal: Principal) -> dict[str, str]:
    """Who imported: `created_by` is a staff user's id as text (or a partner's client id)."""
    return {str(key): name for key, name in staff_names(session, principal).items()}


def upload_page(
    request: Request, session: Session, signed: Any, *, error: ProblemError | None = None, mode: str = "all-or-nothing"
) -> Response:
    recent = signal_api.list_imports(session, as_api(signal_api.Importer, signed.principal))
    return render(
        request,
        signed,
        "signalen.html",
        current="signalen",
        error=error,
        imports=recent.items,
        mode=mode,
        names=_names(session, signed.principal),
        words=WORDS,
        max_mb=request.app.state.settings.max_import_bytes // (1024 * 1024),
        max_bytes=request.app.state.settings.max_import_bytes,
    )


@router.get("", name="console-signals")
def signals(request: Request, session: SessionDep, signed: Office) -> Response:
    return upload_page(request, session, signed)


@router.post("", name="console-signals-upload")
def upload(request: Request, session: SessionDep, signed: Office, at: Now, form: Form) -> Response:
    mode = optional(form, "mode") or "all-or-nothing"
    upload_file = form.get("file")

    def run() -> imports.Imported:
        chosen = parse(UploadForm, {"mode": mode})
        if not isinstance(upload_file, UploadFile) or not upload_file.filename:
            raise Unprocessable("Choose a file to import.", slug="no-file")
        try:
            return imports.import_file(
                session,
                municipality=own_municipality(session, signed.principal),
                stream=upload_file.file,
                filename=upload_file.filename,
                mode=chosen.mode,
                actor=as_api(signal_api.Importer, signed.principal),
                vault=request.app.state.vault,
                limits=request.app.state.settings.import_limits(),
                now=at,
            )
        except FileRefused as exc:
            raise signal_api.refused(exc) from exc

    imported, problem = attempt(session, run)  # a refused file leaves nothing behind
    if problem is not None:
        return upload_page(
            request, session, signed, error=problem, mode=mode if mode in WORDS["mode"] else "all-or-nothing"
        )
    # No flash: with JavaScript the browser follows this redirect twice (XMLHttpRequest, then the page).
    return RedirectResponse(f"/console/signalen/{imported.row.id}", status_code=303)


@router.get("/{import_id}", name="console-import")
def import_report(request: Request, session: SessionDep, signed: Office, import_id: uuid.UUID) -> Response:
    report = signal_api.get_import(session, as_api(signal_api.Importer, signed.principal), import_id)
    return render(
        request,
        signed,
        "import.html",
        current="signalen",
        report=report,
        words=WORDS,
        names=_names(session, signed.principal),
        columns=EXPORT_NAMES,
        # The API keeps a quarantine for accept-valid imports only; rejected rows of an
        # all-or-nothing file are in the report, and the whole file is to be sent again.
        has_quarantine=report.mode == "accept-valid" and report.rejected > 0,
    )


@router.get("/{import_id}/quarantaine", name=download("console-quarantine"))
def quarantine(request: Request, session: SessionDep, signed: Office, at: Now, import_id: uuid.UUID) -> Response:
    return signal_api.download_quarantine(request, session, as_api(signal_api.Office, signed.principal), at, import_id)
