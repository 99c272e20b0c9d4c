"""Wire shapes of trajectories and their BKR registrations (never the resident's data)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.cases.rules import DEFAULT_HANDOVER_RESULT, HANDOVER_RESULTS


class BkrAttemptOut(BaseModel):
    number: int
    started_at: datetime
    finished_at: datetime | None
    outcome: Literal["sending", "delivered", "retry", "rejected"] = Field(
        description="`sending`: the worker stopped before it could record an answer; the next attempt resends "
        "with the same idempotency key."
    )
    http_status: int | None
    error: str | None


class BkrRegistrationOut(BaseModel):
    id: uuid.UUID
    trajectory_id: uuid.UUID
    case_id: uuid.UUID
    action: Literal["register", "end", "remove"] = Field(
        description="register: the SH registration; end: its end date and removal date; remove: the removal, sent "
        "once on the removal date by the daily retention run."
    )
    contract_type: str
    start_date: date
    end_date: date | None
    removal_date: date | None
    status: Literal["pending", "delivered", "failed"] = Field(
        description="failed: BKR refused it (4xx) or attempts ran out; `last_error` says why, and "
        "`POST …/retry` sends it again."
    )
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    bkr_reference: str | None
    created_at: datetime
    attempt_log: list[BkrAttemptOut]


class BkrRegistrationPage(BaseModel):
    items: list[BkrRegistrationOut]
    next_cursor: str | None


class BkrCursor(BaseModel):
    created_at: datetime
    id: uuid.UUID


class TrajectoryOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    decision_date: date
    end_date: date | None
    outcome: Literal["completed", "terminated", "other"] | None
    started_by: uuid.UUID
    ended_by: uuid.UUID | None
    created_at: datetime
    registrations: list[BkrRegistrationOut]


class TrajectoryStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision_date: date = Field(description="Date of the municipal decision (beschikking); the BKR start date.")
    signal_id: uuid.UUID | None = Field(
        default=None,
        description="Whose registration: the resident named on this signal of the case. Needed only "
        "when the case's signals name different people.",
    )
    base_version: int | None = Field(default=None, ge=1, description="The case version you saw; 409 if it moved on.")
    result: Literal[HANDOVER_RESULTS] = Field(  # type: ignore[valid-type]
        default=DEFAULT_HANDOVER_RESULT,
        description="The follow-up result the early-signalling case closes with: debt help takes over from here.",
    )


class TrajectoryEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    end_date: date = Field(description="The actual end date, sent to BKR.")
    outcome: Literal["completed", "terminated", "other"] = Field(
        description="completed: successfully finished (some municipalities have BKR remove the registration "
        "sooner then); terminated: stopped early."
    )
