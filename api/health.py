"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.db import current_revision
from api.problems import problem_response, problem_responses

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
    "/readyz", name="ready", response_model=Ready, summary="Database reachable and migrated to head",
    responses=problem_responses(503),
)
def readyz(request: Request) -> Ready | JSONResponse:
    engine, head = request.app.state.engine, request.app.state.head_revision
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revision = current_revision(engine)
    except SQLAlchemyError:
        return problem_response(status=503, slug="not-ready", title="Not ready", detail="The database is not reachable.")
    if revision != head:
        return problem_response(
            status=503, slug="not-ready", title="Not ready",
            detail=f"The database is at migration {revision or 'none'}, the code expects {head}.",
        )
    return Ready(status="ready", revision=revision)
