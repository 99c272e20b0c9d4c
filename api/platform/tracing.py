"""OpenTelemetry tracing, off unless `DOORSTEP_OTEL_ENDPOINT` is set: one server span per request,
exported over OTLP/HTTP, carrying the request id so a trace and the logs, the audit trail and the
LDV export (whose `trace_id` is the request id) find each other.

The SDK and the OTLP exporter are the optional extra `doorstep[otel]` (the API package comes with
FastAPI): without the setting nothing imports them, so `make run` and a plain install never need
them. With the setting and without the packages the service refuses to start, rather than running
untraced while someone believes it is traced. FastAPI's own spans stay off (`create_app`): they
carry the query string's values.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import __version__


def tracer_provider(endpoint: str) -> Any:
    """Spans to `endpoint` (an OTLP/HTTP traces URL) in batches, off the request path; `shutdown()`
    sends what is left."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise RuntimeError(
            "DOORSTEP_OTEL_ENDPOINT is set but OpenTelemetry is not installed: pip install 'doorstep[otel]'"
        ) from exc
    provider = TracerProvider(resource=Resource.create({"service.name": "doorstep", "service.version": __version__}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=5)))
    # The app's own provider, not the process-global one: two apps in one process (tests) stay apart.
    return provider


class Tracing:
    """A server span per HTTP request, named by method and route template (`GET /v1/cases/{case_id}`,
    never an id: spans leave the municipality's network for the collector). A `traceparent` from the
    caller is continued. Inside `RequestContext`, so the request id is known."""

    def __init__(self, app: ASGIApp, *, tracer: Any) -> None:
        from opentelemetry.propagate import extract
        from opentelemetry.trace import SpanKind, Status, StatusCode

        self.app, self.tracer = app, tracer
        self._extract, self._kind, self._status, self._error = extract, SpanKind.SERVER, Status, StatusCode.ERROR

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self.tracer.start_as_current_span(
            scope["method"], context=self._extract(carrier), kind=self._kind, record_exception=False
        ) as span:
            try:
                await self.app(scope, receive, send_status)
            finally:
                template = getattr(scope.get("route"), "path", None)
                span.update_name(f"{scope['method']} {template}" if template else scope["method"])
                span.set_attribute("http.request.method", scope["method"])
                if template:
                    span.set_attribute("http.route", template)
                span.set_attribute("http.response.status_code", status)
                span.set_attribute("doorstep.request_id", scope.get("state", {}).get("request_id", ""))
                if status >= 500:
                    span.set_status(self._status(self._error))
