"""OpenTelemetry tracing: off by default (nothing imported), and when set, one span per request to
the collector, named by route template, with the request id that links it to the logs and the audit."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session

from api.app import create_app
from api.settings import Settings
from tests.factories import login, make_case, make_municipality, make_user

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def collector() -> Iterator[tuple[str, list[bytes]]]:
    """An OTLP/HTTP collector that keeps what it is sent."""
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", received
    server.shutdown()
    server.server_close()


def _spans(bodies: list[bytes]) -> list:  # type: ignore[type-arg]
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    spans = []
    for body in bodies:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        spans += [span for resource in request.resource_spans for scope in resource.scope_spans for span in scope.spans]
    return spans


def test_a_request_is_a_span_with_its_route_template_and_request_id(app: FastAPI, session: Session, clock, collector):  # type: ignore[no-untyped-def]
    endpoint, received = collector
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    case = make_case(session)
    traced = create_app(
        app.state.settings.model_copy(update={"otel_endpoint": endpoint}), engine=app.state.engine, clock=clock
    )
    with TestClient(traced) as client:
        headers = login(client, "office1")
        response = client.get(
            f"/v1/cases/{case.id}", headers={**headers, "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01"}
        )
        assert response.status_code == 200
        assert client.get("/v1/cases?postcodeFrom=1055AB&postcodeTo=1055AB", headers=headers).status_code == 200
    # Leaving the client shut the app down, which sends the spans still batched.
    (span,) = [span for span in _spans(received) if span.name == "GET /v1/cases/{case_id}"]
    attributes = {a.key: a.value.string_value or a.value.int_value for a in span.attributes}
    assert attributes["doorstep.request_id"] == response.headers["X-Request-ID"]
    assert attributes["http.route"] == "/v1/cases/{case_id}" and attributes["http.response.status_code"] == 200
    assert span.trace_id.hex() == TRACE_ID  # the caller's trace goes on
    assert [span.name for span in _spans(received) if span.name == "GET /v1/cases"] == ["GET /v1/cases"]
    exported = b"".join(received)
    assert str(case.id).encode() not in exported and b"1055AB" not in exported  # no ids, no query values


def test_without_the_setting_the_service_runs_where_the_otel_extra_is_not_installed():
    # A process in which the extra's packages (the SDK, the exporter) cannot be imported.
    script = """
import sys
class NoOpenTelemetry:
    def find_spec(self, name, path=None, target=None):
        if name.startswith(("opentelemetry.sdk", "opentelemetry.exporter")):
            raise ImportError(name)
sys.meta_path.insert(0, NoOpenTelemetry())
from fastapi.testclient import TestClient
from api.openapi_export import document_app
app = document_app()
assert TestClient(app).get("/healthz").status_code == 200
assert not hasattr(app.state, "tracer_provider")
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


@pytest.mark.parametrize("endpoint", ["collector:4318", "ftp://collector/v1/traces", "http://collector/ v1"])
def test_an_endpoint_must_be_an_http_url(endpoint: str):
    with pytest.raises(ValidationError):
        Settings(otel_endpoint=endpoint)
