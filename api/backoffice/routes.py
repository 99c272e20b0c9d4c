"""HTTP surface of the back office's overview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.auth.deps import Now, allow
from api.auth.principal import Principal
from api.backoffice import service
from api.db import SessionDep
from api.problems import problem_responses

router = APIRouter(prefix="/v1/dashboard", tags=["backoffice"], responses=problem_responses(401, 403))
Office = Annotated[Principal, Depends(allow(roles=("backoffice", "admin")))]


class DashboardOut(BaseModel):
    open_by_state: dict[str, int] = Field(description="Open cases per lifecycle state.")
    overdue: int = Field(description="Open cases past their first-contact deadline.")
    due_within_7_days: int
    attempts_by_channel: dict[str, int]
    reached_by_channel: dict[str, int]
    open_conflicts: int
    devices_not_synced_for_a_day: int


@router.get("", name="dashboard", response_model=DashboardOut, summary="Deadlines, reach, conflicts, silent devices")
def dashboard(session: SessionDep, principal: Office, at: Now) -> DashboardOut:
    board = service.dashboard(session, municipality_code=principal.municipality_code, now=at)
    return DashboardOut.model_validate(board, from_attributes=True)
