"""Schemathesis against the app's own OpenAPI, in-process and authenticated: no 5xx, no response off-schema."""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from api.app import create_app
from tests.factories import login, make_case, make_municipality, make_user

# CI replays a fixed exploration so that a landing does not hang on luck; set
# DOORSTEP_FUZZ_RANDOM=1 to explore new inputs (do it before a release, and keep what it finds).
DERANDOMIZE = os.environ.get("DOORSTEP_FUZZ_RANDOM") != "1"

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def fuzz_app(app: FastAPI, session: Session) -> FastAPI:
    # The same app with its /openapi.json served (off by default outside demo mode): the fuzzer reads it.
    state = app.state
    app = create_app(state.settings.model_copy(update={"api_docs": True}), engine=state.engine, clock=state.clock)
    make_municipality(session)
    admin = make_user(session, role="admin", username="fuzz-admin")
    make_case(session, worker=None)
    app.state.fuzz_admin = admin
    return app


def _operations(app: FastAPI) -> list:  # type: ignore[type-arg]
    api_schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in api_schema.get_all_operations()]


def test_api_never_errors_and_always_matches_its_schema(fuzz_app: FastAPI):
    # Schemathesis' pytest plugin does not run under this pytest; driving Hypothesis
    # directly per operation gives the same coverage.
    with TestClient(fuzz_app) as client:
        headers = login(client, "fuzz-admin")
    operations = _operations(fuzz_app)
    assert len(operations) >= 14
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=DERANDOMIZE,
        )
        def run(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
