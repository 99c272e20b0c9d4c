"""create_app(settings): routers, error handlers, middleware, lifespan. No module-level app."""

from __future__ import annotations

import gc
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from sqlalchemy.engine import Engine

from api import __version__
from api.audit.routes import activities_router
from api.audit.routes import router as audit_router
from api.auth import passwords
from api.auth.keys import KeyRing, demo_signing_key
from api.auth.routes import auth_router, users_router
from api.auth.safety import check_configuration, check_credentials
from api.backoffice.routes import plans_router
from api.backoffice.routes import router as backoffice_router
from api.bkr.routes import router as bkr_router
from api.cases.routes import router as cases_router
from api.cases.trajectory_routes import router as trajectory_router
from api.console import routes as console
from api.field.routes import conflicts_router, sync_router
from api.field.routes import router as devices_router
from api.field_app import routes as field_app
from api.municipality.routes import router as municipality_router
from api.platform import health, tracing
from api.platform.db import head_revision, make_engine
from api.platform.metrics import Metrics, RequestMetrics
from api.platform.middleware import BodyLimit, QueryKeyAliases, RequestContext
from api.platform.problems import MEDIA_TYPE, Problem, install_handlers
from api.reports.case_export.routes import router as case_export_router
from api.reports.ddas.routes import router as ddas_router
from api.reports.monitor.routes import router as monitor_router
from api.residents.routes import router as residents_router
from api.settings import Settings
from api.signals.bsn import vault_from_settings
from api.signals.routes import agreements_router
from api.signals.routes import router as signals_router

DESCRIPTION = """
Doorstep is the API behind a municipality's **vroegsignalering** (early signalling of
payment arrears): creditors' signals come in, are grouped into cases per household, and
outreach workers visit with an offline-first phone app; the back office plans, reconciles
and, only when a debt-relief trajectory starts, registers at BKR.

**Authentication.** `POST /v1/auth/token` (OAuth2): staff use the password grant;
integration partners use client credentials with scopes `signals:write`, `cases:read`,
`feedback:read`, `reports:read`. Access tokens are RS256 JWTs valid for at most 15 minutes; verify them with
the keys at `GET /v1/auth/jwks`.

**Errors** are `application/problem+json` (RFC 9457) with a stable `type` per kind of
error, e.g. `urn:doorstep:problem:not-found`. Validation errors list JSON pointers in `errors`.

**Tenancy.** Everything is scoped to the municipality in your token; another
municipality's data answers 404.
"""

TAGS = [
    {"name": "auth", "description": "Tokens for staff and integration partners; public keys."},
    {"name": "users", "description": "Staff accounts of the municipality (back office reads, admins change)."},
    {"name": "signals", "description": "Signals in: platform files (CSV, XLSX, DDAS JSON) and the partner API."},
    {"name": "agreements", "description": "The register of creditors the municipality has a signed agreement with."},
    {"name": "cases", "description": "Vroegsignaalzaken: one per household, with the 28-day deadline."},
    {
        "name": "devices",
        "description": "Outreach workers' phones: enrolment with a public key, revocation, sync health.",
    },
    {"name": "sync", "description": "Offline-first sync for field devices: encrypted visit lists."},
    {"name": "conflicts", "description": "Disagreements about case state, with both sides, for the back office."},
    {"name": "backoffice", "description": "The back office's overview of the day."},
    {"name": "municipality", "description": "The municipality's settings and outreach policy."},
    {"name": "audit", "description": "Who read or wrote which personal data (for the data protection officer)."},
    {"name": "residents", "description": "Residents' rights under the AVG: find the person, access report, erasure."},
    {
        "name": "reports",
        "description": "Figures and deliveries: the monitor report, the DDAS delivery to CBS, the case export.",
    },
    {"name": "health", "description": "Liveness and readiness probes."},
]


def operation_id(route: APIRoute) -> str:
    """`users-list`, `auth-token`: readable method names for generated clients."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}".replace("_", "-")


def settled(app: FastAPI) -> FastAPI:
    """For a process that is about to serve `app`: what is alive now (the code, the routes, the
    schemas: some 200,000 objects) lives as long as the process, so it goes out of the garbage
    collector's sight. A full collection then no longer walks it: 0.5 ms instead of about 90 ms,
    a pause in the middle of some request. Collected first, so no garbage is kept for good."""
    gc.collect()
    gc.freeze()
    return app


def create_app(
    settings: Settings, *, engine: Engine | None = None, clock: Callable[[], datetime] | None = None
) -> FastAPI:
    check_configuration(settings)
    passwords.pool.configure(workers=settings.password_hashing_workers, queue=settings.password_hashing_queue)
    keys = KeyRing(settings.jwt_signing_keys or [demo_signing_key(settings.var_dir)])
    vault = vault_from_settings(settings)
    engine = engine or make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.demo:
            check_credentials(engine)
        yield
        if provider := getattr(app.state, "tracer_provider", None):
            provider.shutdown()  # the spans still in the batch

    app = FastAPI(
        title="Doorstep",
        version=__version__,
        summary="Offline-first early signalling of payment arrears for Dutch municipalities",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry spans carry `url.path` and `url.query` with their values (a
        # postcode, a name searched in the console): off, even under a process-wide provider.
        # `api/platform/tracing.py` traces by route template instead, when DOORSTEP_OTEL_ENDPOINT is set.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        # FastAPI's defaults, or no documentation at all.
        docs_url="/docs" if settings.serves_api_docs else None,
        redoc_url="/redoc" if settings.serves_api_docs else None,
        openapi_url="/openapi.json" if settings.serves_api_docs else None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.keys = keys
    app.state.vault = vault
    app.state.clock = clock or (lambda: datetime.now(UTC))
    app.state.head_revision = head_revision()

    install_handlers(app)
    # The case export before the cases router: `GET /v1/cases/{case_id}` would take "export" for an id.
    routers = (
        auth_router,
        users_router,
        signals_router,
        agreements_router,
        case_export_router,
        cases_router,
        devices_router,
        sync_router,
        conflicts_router,
        backoffice_router,
        plans_router,
        municipality_router,
        monitor_router,
        ddas_router,
        audit_router,
        activities_router,
        trajectory_router,
        bkr_router,
        residents_router,
        health.router,
    )
    for router in routers:
        app.include_router(router)
    console.install(app)
    field_app.install(app)

    app.add_middleware(QueryKeyAliases)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "API-Version"],
        )
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        overrides={"/v1/signals/imports": settings.max_import_bytes, console.UPLOAD_PATH: settings.max_import_bytes},
    )
    app.state.metrics = Metrics()
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    if settings.otel_endpoint:
        app.state.tracer_provider = tracing.tracer_provider(settings.otel_endpoint)
        app.add_middleware(tracing.Tracing, tracer=app.state.tracer_provider.get_tracer("doorstep"))
    app.add_middleware(RequestContext, hsts=not settings.demo, api_version=__version__)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


# The NL GOV API Design Rules ask for a contact in `info` (/core/doc-openapi-contact).
CONTACT = {
    "name": "Doorstep",
    "email": "doorstep@vroegsignalering.example",
    "url": "https://vroegsignalering.example/doorstep",
}
API_PREFIX = "/v1"
_API_VERSION_HEADER = {
    "description": "The full version of the API (semver), on every response.",
    "schema": {"type": "string", "example": __version__},
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, shaped for the NL GOV API Design Rules (`make lint-api`): every error
    response a Problem, `API-Version` on every response, 400 wherever a request can be malformed,
    the major version in `servers`, nullable dates and times with their `format`."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schema["info"]["contact"] = CONTACT
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components["headers"] = {"API-Version": _API_VERSION_HEADER}
    version_header = {"API-Version": {"$ref": "#/components/headers/API-Version"}}
    problem_content = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    malformed = {
        "description": "The request cannot be read (e.g. an invalid Content-Length, or both spellings of a query key)",
        "content": problem_content,
    }
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = {
                    "description": "Validation failed; `errors` lists field paths",
                    "content": problem_content,
                }
            # Any request can be malformed (an invalid Content-Length, both spellings of a query key).
            if operation.get("parameters") or operation.get("requestBody") or method in ("post", "put", "patch"):
                responses.setdefault("400", malformed)
            for response in responses.values():
                response["headers"] = {**response.get("headers", {}), **version_header}
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    for model in schemas.values():
        _nullable_formats(model)
    _versioned_servers(schema)
    schema = _pascal_case_schema_names(schema)
    app.openapi_schema = schema
    return schema


def _nullable_formats(model: dict[str, Any]) -> None:
    """`date | None` as `{type: [string, null], format: date}` instead of Pydantic's `anyOf`: the same
    JSON Schema, but the `format` stands where readers and the ADR linter look for it."""
    for name, prop in model.get("properties", {}).items():
        variants = prop.get("anyOf", [])
        if len(variants) != 2 or {"type": "null"} not in variants:
            continue
        (value,) = [variant for variant in variants if variant != {"type": "null"}]
        if "format" in value and isinstance(value.get("type"), str) and set(value) <= {"type", "format"}:
            rest = {key: item for key, item in prop.items() if key != "anyOf"}
            model["properties"][name] = {"type": [value["type"], "null"], "format": value["format"], **rest}


def _pascal_case_schema_names(schema: dict[str, Any]) -> dict[str, Any]:
    """FastAPI names form bodies `Body_auth-token`; the ADR wants UpperCamelCase: `BodyAuthToken`."""
    schemas = schema["components"]["schemas"]
    renames = {name: "".join(part[:1].upper() + part[1:] for part in re.split(r"[_-]", name)) for name in schemas}
    schema["components"]["schemas"] = {renames[name]: model for name, model in schemas.items()}
    text = json.dumps(schema)
    for name, pascal in renames.items():
        if pascal != name:
            text = text.replace(f'"#/components/schemas/{name}"', f'"#/components/schemas/{pascal}"')
    renamed: dict[str, Any] = json.loads(text)
    return renamed


def _versioned_servers(schema: dict[str, Any]) -> None:
    """The major version in the server URL (ADR /core/uri-version): `servers: [/v1]` and paths
    relative to it; the probes outside `/v1` (`/healthz`, `/readyz`) name their own server `/`.
    The URLs are the same as before: only where the document writes `/v1` moved."""
    paths: dict[str, Any] = {}
    for path, item in schema.get("paths", {}).items():
        if path.startswith(API_PREFIX + "/"):
            paths[path.removeprefix(API_PREFIX)] = item
        else:
            paths[path] = {**item, "servers": [{"url": "/", "description": "Outside the versioned API"}]}
    schema["servers"] = [{"url": API_PREFIX, "description": "This service, major version 1"}]
    schema["paths"] = paths
