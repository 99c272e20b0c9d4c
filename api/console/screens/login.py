"""Inloggen and uitloggen: the console's session cookie (HttpOnly, SameSite=Strict) and its CSRF lock."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, Request
from fastapi.params import Form as FormParam
from starlette.responses import RedirectResponse, Response

from api.audit.service import record
from api.auth.deps import Now
from api.auth.service import InvalidGrant, sign_in
from api.auth.throttle import TooManyAttempts
from api.console import sessions
from api.console.web import ConsoleRoute, Form, Office, render, same_origin
from api.platform.db import SessionDep
from api.platform.problems import ProblemError, Unauthorized

router = APIRouter(prefix="/console", route_class=ConsoleRoute)

# The sign-in form has no session yet to hold a CSRF token, so it uses a double-submit cookie:
# another site cannot read it to copy into the form it posts (login CSRF).
LOGIN_COOKIE = "doorstep_console_login"


def _safe_next(request: Request, value: str | None) -> str:
    """Only a console screen: `volgende` must never send a browser to another site, nor start a download.

    Judged on the path as the service will route it: decoded (`%2F` is a slash by then, so
    `/console/signalen/<id>%2Fquarantaine` is the quarantine download) and without dot segments
    (a browser resolves `..` and `%2E%2E` before it asks)."""
    if not value or not value.startswith("/console") or value.startswith("//") or "\\" in value:
        return "/console"
    parts = urlsplit(value)
    path = unquote(parts.path)
    if parts.scheme or parts.netloc or "\\" in path or "//" in path or {".", ".."} & set(path.split("/")):
        return "/console"
    return value if any(screen.match(path) for screen in request.app.state.console_screens) else "/console"


def _login_page(
    request: Request,
    *,
    next_url: str,
    status: int = 200,
    error: ProblemError | None = None,
    username: str | None = None,
    **flags: bool,
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        None,
        "login.html",
        status=status,
        error=error,
        login_csrf=token,
        next_url=next_url,
        username=username,
        **flags,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/console/inloggen",
        secure=sessions.secure_cookie(request.app.state.settings),
        max_age=3600,
    )
    return response


@router.get("/inloggen", name="console-login-form")
def login_form(
    request: Request, volgende: str | None = None, uitgelogd: bool = False, verlopen: bool = False
) -> Response:
    return _login_page(request, next_url=_safe_next(request, volgende), signed_out=uitgelogd, expired=verlopen)


@router.post("/inloggen", name="console-login")
def login(
    request: Request,
    session: SessionDep,
    at: Now,
    username: Annotated[str, FormParam(max_length=64)] = "",
    password: Annotated[str, FormParam(max_length=200)] = "",
    csrf_token: Annotated[str, FormParam(max_length=100)] = "",
    volgende: Annotated[str, FormParam(max_length=2000)] = "",
) -> Response:
    settings = request.app.state.settings
    next_url = _safe_next(request, volgende)
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not same_origin(request) or not cookie or not secrets.compare_digest(cookie.encode(), csrf_token.encode()):
        return _login_page(
            request,
            next_url=next_url,
            status=403,
            username=username,
            error=Unauthorized("The sign-in form expired; it was sent again.", slug="csrf-failed"),
        )
    try:
        user = sign_in(
            session,
            settings=settings,
            login=username,
            password=password,
            address=request.client.host if request.client else None,
            now=at,
            allowed=lambda account: account.role in sessions.CONSOLE_ROLES,
        )
    except TooManyAttempts as exc:
        page = _login_page(request, next_url=next_url, status=429, username=username, error=exc)
        page.headers.update(exc.headers)
        return page
    except InvalidGrant:
        problem = Unauthorized(
            "Unknown username, wrong password, inactive account, or an account without back-office role.",
            slug="login-failed",
        )
        return _login_page(request, next_url=next_url, status=401, username=username, error=problem)
    # A session this browser still holds (someone else's, on a shared PC) ends here.
    sessions.sign_out_token(session, request.cookies.get(sessions.COOKIE))
    token = sessions.sign_in(session, user=user, settings=settings, now=at)
    record(
        session,
        sessions.principal_of(user),
        action="console.login",
        resource_type="staff_user",
        resource_id=user.id,
        at=at,
    )
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/console",
        secure=sessions.secure_cookie(settings),
        max_age=settings.console_session_hours * 3600,
    )
    response.delete_cookie(LOGIN_COOKIE, path="/console/inloggen")
    return response


@router.post("/uitloggen", name="console-logout")
def logout(request: Request, session: SessionDep, at: Now, signed: Office, form: Form) -> Response:
    record(
        session,
        signed.principal,
        action="console.logout",
        resource_type="staff_user",
        resource_id=signed.user.id,
        at=at,
    )
    sessions.sign_out(session, signed.row)
    response = RedirectResponse("/console/inloggen?uitgelogd=true", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/console")
    return response
