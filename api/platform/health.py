"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.platform.db import current_revision
from api.platform.metrics import CONTENT_TYPE, token_matches
from api.platform.problems import NotFound, Unauthorized, problem_response, problem_responses

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    revision: str


@router.get("/healthz", name="live", response_model=Health, summary="The process is alive")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    name="ready",
    response_model=Ready,
    summary="Database reachable and migrated to head",
    responses=problem_responses(503),
)
def readyz(request: Request) -> Ready | JSONResponse:
    engine, head = request.app.state.engine, request.app.state.head_revision
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revision = current_revision(engine)
    except SQLAlchemyError:
        return problem_response(
            status=503, slug="not-ready", title="Not ready", detail="The database is not reachable."
        )
    if revision != head:
        return problem_response(
            status=503,
            slug="not-ready",
            title="Not ready",
            detail=f"The database is at migration {revision or 'none'}, the code expects {head}.",
        )
    return Ready(status="ready", revision=revision)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text format, for the monitoring system only: off unless `DOORSTEP_METRICS_TOKEN`
    is set, and then only with that bearer token (never public)."""
    token = request.app.state.settings.metrics_token
    if token is None:
        raise NotFound("Metrics are off (set DOORSTEP_METRICS_TOKEN).")
    if not token_matches(request.headers.get("authorization"), token.get_secret_value()):
        raise Unauthorized("The metrics token is missing or wrong.")
    return Response(
        request.app.state.metrics.scrape(request.app.state.engine),
        media_type=CONTENT_TYPE,
        headers={"Cache-Control": "no-store"},
    )
