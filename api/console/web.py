"""The console's plumbing: its route class, who is signed in, CSRF-checked forms, and rendering.

Screens stay small: they take `Office` (the signed-in back-office member) and, for a form,
`Form`; call the API's route functions or services; and return `render(...)` or `done(...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar, get_args
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import object_session
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse

from api.auth.deps import Now
from api.auth.principal import Principal
from api.console import sessions
from api.console.labels import LABELS, amount, day_part_of, local_date, local_datetime
from api.platform.db import SessionDep
from api.platform.problems import Forbidden, ProblemError, Unprocessable, validation_errors

M = TypeVar("M", bound=BaseModel)
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(datum=local_date, datumtijd=local_datetime, bedrag=amount, dagdeel=day_part_of)
templates.env.globals.update(L=LABELS)

# Personal data on every page: never cached, never framed, no script but our own file.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

NAV = (
    ("vandaag", "Vandaag", "/console"),
    ("zaken", "Zaken", "/console/zaken"),
    ("conflicten", "Conflicten", "/console/conflicten"),
    ("planning", "Planning", "/console/planning"),
    ("signalen", "Signalen", "/console/signalen"),
    ("apparaten", "Apparaten", "/console/apparaten"),
    ("bkr", "BKR", "/console/bkr"),
    ("rapportages", "Rapportages", "/console/rapportages"),
    ("privacy", "Privacy", "/console/privacy"),  # admins only (see `render`)
)

# Dutch headlines for the API's stable problem types; the API's own (English) detail follows.
HEADLINES = {
    "not-found": "Niet gevonden.",
    "forbidden": "Uw rol staat dit niet toe.",
    "version-conflict": "De zaak is intussen gewijzigd. Bekijk de nieuwe stand en probeer het opnieuw.",
    "validation-error": "Niet alle velden zijn goed ingevuld.",
    "csrf-failed": "Het formulier is verlopen of komt niet van deze console. Probeer het opnieuw.",
    "too-many-attempts": "Te veel mislukte pogingen om in te loggen. Wacht even en probeer het dan opnieuw.",
    "busy": "Er wordt nu op veel plaatsen tegelijk ingelogd. Probeer het over een paar seconden opnieuw.",
    "conflict": "Dit kan niet in de huidige stand van de zaak.",
    "illegal-transition": "Deze stap past niet bij de huidige stand van de zaak.",
    "open-conflict": "Er staat nog een conflict open op deze zaak.",
    "trajectory-running": "Er loopt nog een traject; beëindig dat eerst.",
    "payload-too-large": "Het bestand is te groot.",
    "unsupported-file-type": "Dit bestandstype kan niet worden ingelezen.",
    "conflict-resolved": "Over dit conflict is al besloten.",
    "assignments-refused": "De planning is niet toegewezen: niet elke zaak kon naar deze medewerker.",
}


# Routes that answer with a file, not a screen: signing in never lands on one (an outside link
# through the sign-in page must not start a download of every case in the staff member's name).
DOWNLOADS: set[str] = set()


def download(name: str) -> str:
    """A download route's name, registered as one: `@router.get(path, name=download("…"))`."""
    DOWNLOADS.add(name)
    return name


class LoginRequired(Exception):
    """No live console session: the route class sends the browser to the sign-in page."""


class ConsoleRoute(APIRoute):
    """Console routes answer in HTML: problems become an error page, a missing session a redirect,
    and every response carries the security headers. Hidden from the OpenAPI document."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["include_in_schema"] = False
        super().__init__(*args, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                ended = "&verlopen=true" if request.cookies.get(sessions.COOKIE) else ""
                response = RedirectResponse(
                    f"/console/inloggen?volgende={quote(target, safe='')}{ended}", status_code=303
                )
            except ProblemError as exc:
                # The page answers instead of the problem, so the request's session would commit:
                # what the failed request wrote goes first, as it does for the API.
                signed = getattr(request.state, "console", None)
                session = object_session(signed.row) if signed is not None else None
                if session is not None and not exc.commit_changes:
                    session.rollback()
                response = error_page(request, exc)
            except RequestValidationError as exc:
                problem = Unprocessable(_fields_text(exc.errors()), errors=validation_errors(list(exc.errors())))
                response = error_page(request, problem)
            response.headers.update(SECURITY_HEADERS)
            return response

        return run


def console_user(request: Request, session: SessionDep, at: Now) -> sessions.SignedIn:
    signed = sessions.signed_in(
        session, request.cookies.get(sessions.COOKIE), settings=request.app.state.settings, now=at
    )
    if signed is None:
        raise LoginRequired()
    request.state.principal = signed.principal  # the access log names who it was
    request.state.console = signed
    return signed


Office = Annotated[sessions.SignedIn, Depends(console_user)]


def as_api(role: Any, principal: Principal) -> Principal:
    """The API route's own role check (the `Depends(allow(...))` of its principal parameter), run on
    the console's principal: a screen that calls a route function directly is held to the same roles."""
    checked: Principal = get_args(role)[1].dependency.check(principal)
    return checked


class CsrfFailed(Forbidden):
    slug, title = "csrf-failed", "Form not accepted"


def same_origin(request: Request) -> bool:
    """The form came from this service: its own address, or its public origin behind a proxy."""
    origin = request.headers.get("origin")
    own = {f"{request.url.scheme}://{request.url.netloc}", request.app.state.settings.console_origin}
    return origin is None or origin in own


async def checked_form(request: Request, signed: Office) -> FormData:
    """The posted form, once its CSRF token matches the session's and it came from this origin
    (SameSite=Strict already keeps the cookie off other sites' requests; this is the second lock)."""
    if not same_origin(request):
        raise CsrfFailed("The form was sent from another site.")
    form = await request.form(max_files=1, max_fields=2000)
    if not sessions.csrf_matches(signed.row, form.get("csrf_token")):
        raise CsrfFailed("The form's CSRF token does not match this session.")
    return form


Form = Annotated[FormData, Depends(checked_form)]


def render(
    request: Request,
    signed: sessions.SignedIn | None,
    template: str,
    *,
    status: int = 200,
    error: ProblemError | None = None,
    **context: Any,
) -> HTMLResponse:
    flash = None
    if signed is not None and signed.row.flash:
        flash, signed.row.flash = signed.row.flash, None
    return templates.TemplateResponse(
        request,
        template,
        {
            "me": signed.user if signed else None,
            "csrf": signed.row.csrf_token if signed else None,
            "flash": flash,
            "nav": [
                item for item in NAV if item[0] != "privacy" or (signed is not None and signed.user.role == "admin")
            ],
            "error": error and problem_view(error),
            **context,
        },
        status_code=error.status if error is not None and status == 200 else status,
    )


def done(signed: sessions.SignedIn, message: str, to: str) -> RedirectResponse:
    """Post/redirect/get: the message shows once on the next page."""
    signed.row.flash = message[:500]
    return RedirectResponse(to, status_code=303)


def problem_view(exc: ProblemError) -> dict[str, Any]:
    errors = exc.extra.get("errors") or []
    return {
        "headline": HEADLINES.get(exc.slug, "Dat is niet gelukt."),
        "detail": exc.detail,
        "status": exc.status,
        "errors": [
            ": ".join(str(part) for part in (e.get("pointer"), e.get("detail")) if part)
            for e in errors
            if isinstance(e, Mapping)
        ][:50],
    }


def error_page(request: Request, exc: ProblemError) -> HTMLResponse:
    signed = getattr(request.state, "console", None)
    response = render(request, signed, "error.html", error=exc)
    response.headers.update(exc.headers)
    return response


def attempt(session: Session, action: Callable[[], Any]) -> tuple[Any, ProblemError | None]:
    """Run one change in a savepoint: on a problem nothing of it is kept and the page shows why."""
    try:
        with session.begin_nested():
            return action(), None
    except ProblemError as exc:
        return None, exc


def parse(model: type[M], data: Mapping[str, Any]) -> M:
    """A form as the API's own request model: the same validation, reported in the console."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable(_fields_text(exc.errors()), errors=validation_errors(list(exc.errors()))) from exc


def _fields_text(errors: Any) -> str:
    names = sorted({str(e["loc"][-1]) for e in errors if e.get("loc")})
    return "Check: " + ", ".join(names) if names else "The request is not valid."


def filled(request: Request) -> dict[str, str]:
    """The query's fields that are filled in: a filter form sends its empty fields as ``name=``."""
    return {key: value for key, value in request.query_params.items() if value.strip()}


def optional(form: Mapping[str, Any], name: str) -> str | None:
    value = form.get(name)
    return value.strip() or None if isinstance(value, str) else None
