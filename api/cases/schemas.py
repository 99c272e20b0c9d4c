"""Wire shapes of cases as the back office and partners read them (never the BSN)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.cases.rules import DDAS_RESULTS


class AddressOut(BaseModel):
    street: str | None
    house_number: int | None
    house_number_addition: str | None
    postcode: str | None
    town: str | None


class CaseSignalOut(BaseModel):
    id: uuid.UUID
    external_id: str
    partner_type: str
    creditor_name: str | None
    amount_cents: int | None
    arrears_since_date: date | None
    signal_date: date
    received_at: datetime
    crisis: bool
    warm_handover: bool
    is_repeat: bool
    status: str = Field(description="DDAS signal status, e.g. `Opgepakt` or `Niet opgepakt: herhaalde melding`.")
    classification: str | None
    initials: str | None
    prefix: str | None
    surname: str | None


class CaseSummary(BaseModel):
    id: uuid.UUID
    state: Literal["new", "planned", "contacted", "help_accepted", "trajectory", "closed"]
    classification: str
    crisis: bool
    opened_at: datetime
    first_contact_due_date: date
    assigned_worker_id: uuid.UUID | None
    second_worker_id: uuid.UUID | None
    result: str | None
    version: int
    address: AddressOut


class PlannedActionOut(BaseModel):
    channel: Literal["letter", "phone", "visit"] | None = Field(description="None: the policy has run out of attempts.")
    attempt_number: int
    avoid_day_parts: list[str]
    after_last_attempt: str | None


class CaseEventOut(BaseModel):
    id: uuid.UUID
    kind: str
    occurred_at: datetime
    received_at: datetime
    device_id: uuid.UUID | None
    author_id: uuid.UUID
    base_version: int
    outcome: str = Field(description="applied, or conflict while the back office has not decided")
    clock_skew: bool = Field(description="The device clock said a time that cannot be right; shown, not trusted.")
    payload: dict[str, Any]


class CaseDetail(CaseSummary):
    signals: list[CaseSignalOut]
    events: list[CaseEventOut]
    next_planned_action: PlannedActionOut | None = Field(description="None once the resident has been reached.")


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None


class CaseCursor(BaseModel):
    first_contact_due_date: date
    id: uuid.UUID


DdasResult = Literal[DDAS_RESULTS]  # type: ignore[valid-type]  # the 16 results, as DDAS spells them


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: DdasResult = Field(description="One of the 16 DDAS results, spelled exactly as the schema does.")
    base_version: int | None = Field(default=None, ge=1, description="The case version you saw; 409 if it moved on.")


class AssignmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: uuid.UUID
    second_worker_id: uuid.UUID | None = Field(default=None, description="Doorstep visits in pairs: both devices hold the case.")


class BulkAssignment(AssignmentRequest):
    case_id: uuid.UUID


class BulkAssignmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignments: list[BulkAssignment] = Field(min_length=1, max_length=500)


class BulkAssignmentResult(BaseModel):
    items: list[CaseSummary]
