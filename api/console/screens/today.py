"""Vandaag: the numbers the back office starts the day with, each linking to its list."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.auth.deps import Now
from api.backoffice import service
from api.console.web import ConsoleRoute, Office, render
from api.platform.db import SessionDep

router = APIRouter(prefix="/console", route_class=ConsoleRoute)


@router.get("", name="console-today")
def today(request: Request, session: SessionDep, signed: Office, at: Now) -> Response:
    board = service.dashboard(session, municipality_code=signed.principal.municipality_code, now=at)
    return render(
        request,
        signed,
        "vandaag.html",
        current="vandaag",
        board=board,
        now=at,
        retention_late=service.retention_late(board.retention_last_run_at, now=at),
    )
