"""ASGI middleware: request ids, one access-log line per request, the request body limit, and the
deprecated spellings of query keys."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from urllib.parse import unquote_plus

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.platform.logs import request_id_var
from api.platform.problems import problem_body

access_log = logging.getLogger("doorstep.access")
errors_log = logging.getLogger("doorstep.errors")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_NO_STORE = (b"cache-control", b"no-store")
PUBLIC_PREFIX = "/console/static/"  # the console's style sheet and script: the same for everyone


class RequestContext:
    """Assigns a request id (a sane incoming X-Request-ID is kept), logs each request, and gives
    every response the headers that keep personal data out of caches and browsers' guesses.

    The log line carries the route template and the names of query parameters only:
    paths like /cases/{id} and values like ?postcode=… must not put personal data in logs.

    Headers: `X-Content-Type-Options: nosniff` always; `Cache-Control: no-store` unless the
    response chose its own or is one of the console's static files: nearly every answer holds
    personal data or a token (RFC 6749 §5.1), and a rule by exception would miss the next one;
    HSTS outside demo mode (which serves plain http on 127.0.0.1); `API-Version` (the full
    semver, as the NL GOV API Design Rules ask) when given.
    """

    def __init__(self, app: ASGIApp, *, hsts: bool = False, api_version: str | None = None) -> None:
        self.app = app
        self.extra_headers = [(b"x-content-type-options", b"nosniff")]
        if api_version:
            self.extra_headers.append((b"api-version", api_version.encode()))
        if hsts:
            self.extra_headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()
        response_started = False
        public = scope["path"].startswith(PUBLIC_PREFIX)

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in self.extra_headers if header[0] not in present)
                if b"cache-control" not in present and not public:
                    headers.append(_NO_STORE)
                headers.append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Here, not in the framework's outermost handler: there the request id is gone, and
            # a 500 is exactly the line someone will look for by the id the client reports.
            errors_log.error("unhandled error", extra={"error_class": type(exc).__name__})
            if response_started:
                raise
            body = json.dumps(
                problem_body(
                    status=500,
                    slug="internal-error",
                    title="Internal error",
                    detail="The request was not carried out.",
                    instance=scope.get("path"),
                    request_id=request_id,
                )
            ).encode()
            await _send(send_with_id, 500, "application/problem+json", body)
        finally:
            route = scope.get("route")
            query = scope.get("query_string", b"").decode("latin-1")
            principal = scope.get("state", {}).get("principal")
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": getattr(route, "path", None) or "(unmatched)",
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "query_keys": sorted({part.split("=", 1)[0] for part in query.split("&") if part}),
                    "principal": getattr(principal, "actor_id", None),
                    "tenant": getattr(principal, "municipality_code", None),
                },
            )
            request_id_var.reset(token)


# The query keys that were snake_case until 0.2.0, by their lowerCamelCase name (API Design Rules,
# /core/query-keys-camel-case). The old spelling still works throughout 0.2.x and goes in 0.3.0.
DEPRECATED_QUERY_KEYS = {
    "case_id": "caseId",
    "actor_id": "actorId",
    "partner_type": "partnerType",
    "due_within_days": "dueWithinDays",
    "worker_id": "workerId",
    "postcode_from": "postcodeFrom",
    "postcode_to": "postcodeTo",
    "has_open_conflict": "hasOpenConflict",
    "signal_status": "signalStatus",
    "proposed_closing": "proposedClosing",
}


class QueryKeyAliases:
    """Rewrites the deprecated snake_case query keys of API paths (`/v1/…`) to their camelCase
    names before routing, so every route declares one name and the old one cannot drift from it.
    Both spellings of one key in a request is ambiguous: 400, not a silent pick."""

    def __init__(self, app: ASGIApp, *, prefix: str = "/v1/", aliases: dict[str, str] | None = None) -> None:
        self.app = app
        self.prefix = prefix
        self.aliases = DEPRECATED_QUERY_KEYS if aliases is None else aliases

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"") if scope["type"] == "http" else b""
        if not query or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        # Keys only: each value stays byte for byte as sent.
        parts = [part.partition(b"=") for part in query.split(b"&")]
        keys = [unquote_plus(key.decode("latin-1")) for key, _, _ in parts]
        old = [key for key in keys if key in self.aliases]
        if not old:
            await self.app(scope, receive, send)
            return
        both = sorted(key for key in old if self.aliases[key] in keys)
        if both:
            new = self.aliases[both[0]]
            body = json.dumps(
                problem_body(
                    status=400,
                    slug="bad-request",
                    title="Bad request",
                    instance=scope["path"],
                    detail=f"`{both[0]}` is the deprecated spelling of `{new}`; send `{new}` only.",
                )
            ).encode()
            await _send(send, 400, "application/problem+json", body)
            return
        # In place: the access log and the metrics read this scope after the route has run.
        scope["query_string"] = b"&".join(
            (self.aliases[key].encode() if key in self.aliases else raw) + sep + value
            for key, (raw, sep, value) in zip(keys, parts, strict=True)
        )
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses bodies over `max_bytes` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}  # exact paths with their own limit (file uploads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(scope["path"], self.max_bytes)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0:
                await self._refuse(send, 400, "bad-request", "Bad request", "Invalid Content-Length header.")
                return
            if declared > limit:
                await self._refuse_too_large(send, limit, scope["path"])
                return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not response_started:
                await self._refuse_too_large(send, limit, scope["path"])

    async def _refuse_too_large(self, send: Send, limit: int, path: str) -> None:
        if path.startswith("/console"):
            # People in the console's upload form, not API clients: a page they can read.
            page = _TOO_LARGE_PAGE.format(mb=limit // (1024 * 1024)).encode()
            await _send(send, 413, "text/html; charset=utf-8", page, extra=_PAGE_HEADERS)
            return
        await self._refuse(
            send,
            413,
            "payload-too-large",
            "Request body too large",
            f"The request body exceeds the limit of {limit} bytes.",
        )

    @staticmethod
    async def _refuse(send: Send, status: int, slug: str, title: str, detail: str) -> None:
        body = json.dumps(problem_body(status=status, slug=slug, title=title, detail=detail)).encode()
        await _send(send, status, "application/problem+json", body)


async def _send(
    send: Send, status: int, media_type: str, body: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    headers = [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_PAGE_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
)
_TOO_LARGE_PAGE = """<!doctype html>
<html lang="nl"><head><meta charset="utf-8"><title>Bestand te groot · Doorstep</title></head>
<body><main><h1>Het bestand is te groot</h1>
<p>Een bestand mag hoogstens {mb} MB zijn. Er is niets ingelezen.</p>
<p><a href="/console/signalen">Terug naar Signalen</a></p></main></body></html>
"""


class _TooLarge(StarletteHTTPException):
    # An HTTPException, so FastAPI's body parsing re-raises it as it is (it turns other
    # errors while reading the body into a 400) and the problem handler renders a 413.
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds the limit of {limit} bytes.")
