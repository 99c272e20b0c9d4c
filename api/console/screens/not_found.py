"""Any other /console address: an HTML "not found" page for people, not the API's problem JSON."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.console.web import ConsoleRoute, Office, render
from api.platform.problems import NotFound

router = APIRouter(prefix="/console", route_class=ConsoleRoute)


@router.get("/{rest:path}", name="console-not-found")
def not_found(request: Request, signed: Office, rest: str) -> Response:
    return render(request, signed, "error.html", error=NotFound("There is no console page at this address."))
