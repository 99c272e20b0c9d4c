"""Wire shapes of cases as the back office and partners read them (never the BSN)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.bkr.schemas import TrajectoryOut
from api.cases.rules import DDAS_RESULTS, UnjustifiedSignal
from api.signals.rules import BelowThreshold

BelowThresholdReason = Literal[tuple(reason.value for reason in BelowThreshold)]  # type: ignore[valid-type]


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
    below_threshold: bool = Field(
        default=False, description="Below the municipality's threshold for its partner type when it came in."
    )
    below_threshold_reason: BelowThresholdReason | None = Field(  # type: ignore[valid-type]
        default=None,
        description="Why: the arrear starts after the signal date, the amount is zero, too few days in "
        "arrears, or too small an amount (`thresholds` in the municipality's settings).",
    )


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
    first_attempt_date: date | None = Field(
        default=None, description="The Dutch day of the first contact attempt (any channel, reached or not)."
    )
    overdue: bool = Field(
        default=False, description="Open, no attempt on or before `first_contact_due_date`, and that day has ended."
    )
    objection: bool = Field(
        default=False,
        description="Opened by a signal about a household or person that objected before (AVG art. "
        "21): the office decides whether to reach out. Left out of automatic planning until it is assigned or closed.",
    )
    stale: bool = Field(
        default=False,
        description="Open, and no signal, attempt or action for the municipality's `stale_case_months`: "
        "proposed for closing as 'Definitief geen contact kunnen krijgen' or 'Niet opgepakt: andere reden' (the office "
        "decides which, as far as `allowed_results` lets it). Only a proposal: nothing closes by itself.",
    )
    closing_proposal: UnjustifiedSignal | None = Field(
        default=None,
        description="The result the service proposes to close the case with: 'Niet opgepakt: "
        "onterecht signaal' while every signal of the case is below threshold and nobody has reached the resident "
        "yet. Only a proposal: the office confirms by closing the case with it.",
    )


class PlannedActionOut(BaseModel):
    channel: Literal["letter", "phone", "visit", "mail", "sms", "appointment", "administrative"] | None = Field(
        description="None: the policy has run out of attempts."
    )
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


class CaseConflictOut(BaseModel):
    id: uuid.UUID
    kind: str
    opened_at: datetime
    resolved_at: datetime | None
    sides: list[dict[str, Any]] = Field(description="What each side says: author, device, when, base version.")
    resolution: dict[str, Any] | None


class CaseDetail(CaseSummary):
    signals: list[CaseSignalOut]
    events: list[CaseEventOut] = Field(description="Field events and office actions, in the order they happened.")
    conflicts: list[CaseConflictOut]
    trajectory: TrajectoryOut | None = Field(description="The debt-relief trajectory and its BKR registrations.")
    next_planned_action: PlannedActionOut | None = Field(description="None once the resident has been reached.")
    allowed_results: list[str] = Field(
        default_factory=list,
        description="The DDAS results that fit the case's history now (closing with another "
        "is refused with 409 `result-does-not-fit`); empty once the case is closed.",
    )


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
    second_worker_id: uuid.UUID | None = Field(
        default=None, description="Doorstep visits in pairs: both devices hold the case."
    )


class BulkAssignment(AssignmentRequest):
    case_id: uuid.UUID


class BulkAssignmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignments: list[BulkAssignment] = Field(min_length=1, max_length=500)


class BulkAssignmentResult(BaseModel):
    items: list[CaseSummary]


class OfficeAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action_id: uuid.UUID = Field(description="Generated by the client: sending the same action again changes nothing.")
    kind: Literal[
        "letter_sent",
        "phone_attempt",
        "mail_sent",
        "sms_sent",
        "appointment",
        "appointment_kept",
        "administrative",
        "note",
        "help_accepted",
    ] = Field(
        description="Contact attempts by channel (DDAS EnumContactsoort): letter_sent (Brief), phone_attempt "
        "(Telefoon), mail_sent (Mail), sms_sent (SMS/Whatsapp), appointment_kept (Afspraak op locatie: reached), "
        "administrative (Administratief: contact through another organisation). appointment: one made, not yet "
        "kept (no attempt). help_accepted: the resident, once reached, accepted help (by phone or at the office)."
    )
    occurred_at: AwareDatetime
    base_version: int | None = Field(default=None, ge=1, description="The case version you saw; 409 if it moved on.")
    reached: bool | None = Field(
        default=None,
        description="phone_attempt (required), mail_sent, sms_sent, "
        "administrative: was the resident reached? (appointment_kept: always)",
    )
    appointment_at: AwareDatetime | None = Field(default=None, description="appointment: when and ...")
    location: str | None = Field(default=None, max_length=200, description="... where (afspraak op locatie).")
    text: str | None = Field(default=None, max_length=2000, description="note: the text.")


class OfficeActionResult(BaseModel):
    action_id: uuid.UUID
    result: Literal["applied", "duplicate"]
    case: CaseSummary
