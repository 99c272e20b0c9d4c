"""Errors as RFC 9457 problem details: one exception base, a catalog of stable types, one renderer.

    ProblemError                      (status, stable `type`, title; `detail` per occurrence)
     ├── NotFound            404      not-found        (also hides other tenants' rows)
     ├── Unauthorized        401      unauthorized / invalid-token / invalid-grant …
     ├── Forbidden           403      forbidden / insufficient-scope
     ├── NotAcceptable       406      not-acceptable   (no representation the `Accept` header takes)
     ├── Conflict            409      conflict / version-conflict / duplicate
     ├── Unprocessable       422      validation-error (field paths in `errors`)
     └── PayloadTooLarge     413      payload-too-large

Framework errors (unknown route, wrong method, request validation, database trouble) are
mapped onto the same catalog in `install_handlers`, so a client never sees another shape.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

PROBLEM_BASE = "urn:doorstep:problem:"
MEDIA_TYPE = "application/problem+json"

log = logging.getLogger("doorstep.errors")


class Problem(BaseModel):
    """RFC 9457 problem details, as every error response of this API carries them."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=[PROBLEM_BASE + "not-found"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class ProblemError(Exception):
    status = 500
    slug = "internal-error"
    title = "Internal error"
    commit_changes = False  # True: the request's transaction is committed despite the error

    def __init__(
        self,
        detail: str | None = None,
        *,
        slug: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        commit_changes: bool = False,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.commit_changes = commit_changes
        self.detail = detail
        if slug:
            self.slug = slug
        if title:
            self.title = title
        self.headers = headers or {}
        self.extra = extra


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Not found"


class Unauthorized(ProblemError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="doorstep"'})
        super().__init__(detail, **kwargs)


class Forbidden(ProblemError):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotAcceptable(ProblemError):
    status, slug, title = 406, "not-acceptable", "Not acceptable"


class Conflict(ProblemError):
    status, slug, title = 409, "conflict", "Conflict with the current state"


class Unprocessable(ProblemError):
    status, slug, title = 422, "validation-error", "The request is not valid"


class PayloadTooLarge(ProblemError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class ServiceUnavailable(ProblemError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


def problem_body(
    *, status: int, slug: str, title: str, detail: str | None = None, instance: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body


def problem_response(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status=status, slug=slug, title=title, detail=detail, instance=instance, **extra),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


def _json_pointer(loc: tuple[Any, ...]) -> str:
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in loc)


def validation_errors(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Field paths and messages only: the offending input is never echoed (it may be a BSN)."""
    return [
        {
            "pointer": _json_pointer(tuple(error.get("loc", ()))),
            "detail": error.get("msg", ""),
            "code": error.get("type"),
        }
        for error in errors
    ]


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            status=exc.status,
            slug=exc.slug,
            title=exc.title,
            detail=exc.detail,
            headers=exc.headers,
            instance=request.url.path,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(
            status=422,
            slug="validation-error",
            title="The request is not valid",
            detail="One or more fields are invalid; see `errors`.",
            instance=request.url.path,
            errors=validation_errors(list(exc.errors())),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        return problem_response(
            status=exc.status_code,
            slug=slug,
            title=title,
            detail=detail,
            headers=getattr(exc, "headers", None),
            instance=request.url.path,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A unique constraint caught a race that the service's own check could not see.
        log.warning("integrity error", extra={"error_class": type(exc.orig).__name__})
        return problem_response(
            status=409,
            slug="conflict",
            title="Conflict with the current state",
            detail="The change conflicts with data stored meanwhile; reload and retry.",
            instance=request.url.path,
        )

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # Input the schema allowed but the database cannot hold (a NUL character, a number
        # out of range): still the caller's input, so a 422 and not a 500.
        return problem_response(
            status=422,
            slug="validation-error",
            title="The request is not valid",
            detail="A value cannot be stored (e.g. it contains a NUL character or is out of range).",
            instance=request.url.path,
            errors=[],
        )

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.error("database error", extra={"error_class": type(exc.orig).__name__})
        return problem_response(
            status=503,
            slug="database-unavailable",
            title="Database unavailable",
            detail="The request was not carried out; retry later.",
            headers={"Retry-After": "5"},
            instance=request.url.path,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", extra={"error_class": type(exc).__name__})
        return problem_response(
            status=500,
            slug="internal-error",
            title="Internal error",
            detail="The request was not carried out.",
            instance=request.url.path,
        )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problem statuses an operation can return."""
    content = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    descriptions = {
        400: "Bad request",
        401: "Missing, invalid or expired token",
        403: "Role or scope does not allow this",
        404: "Not found (or not in your municipality)",
        406: "None of the offered media types is acceptable",
        409: "Conflict with the current state",
        413: "Request body too large",
        415: "Not a file type this endpoint takes",
        422: "Validation failed; `errors` lists field paths",
        429: "Too many failed attempts; `Retry-After` says when to try again",
        503: "Not ready, or too busy: retry later",
    }
    return {status: {"description": descriptions[status], "content": content} for status in statuses}
