"""Residents' rights on the wire: the search, the access report, the erasure."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from api.signals.parsing import CORRECTABLE, parse_field
from api.signals.rules import is_valid_bsn


class ResidentSearch(BaseModel):
    """Exactly one way to find the person: a BSN, a surname with birth date, or an address."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=3,
        max_length=500,
        description="Why the admin searches (e.g. the request's "
        "reference); kept with the request, shown in the audit trail's request.",
    )
    bsn: str | None = Field(default=None, min_length=8, max_length=12, description="In the body, never in a URL.")
    surname: str | None = Field(default=None, min_length=1, max_length=200, description="With or without prefix.")
    birth_date: date | None = None
    postcode: str | None = Field(default=None, pattern=r"^\s*[1-9][0-9]{3}\s?[A-Za-z]{2}\s*$")
    house_number: int | None = Field(default=None, ge=1, le=99999)
    house_number_addition: str | None = Field(default=None, max_length=10)

    @field_validator("bsn")
    @classmethod
    def _a_real_bsn(cls, bsn: str | None) -> str | None:
        """Spaces and dots as people write it are fine; what is left must pass the elfproef (a BSN
        typed wrong must not answer an access request with "nothing held")."""
        if bsn is None:
            return None
        digits = "".join(ch for ch in bsn if ch not in " .-").zfill(9)
        if not (digits.isdigit() and len(digits) == 9 and is_valid_bsn(digits)):
            raise ValueError("not a valid BSN (elfproef)")
        return digits

    @model_validator(mode="after")
    def _one_way(self) -> ResidentSearch:
        ways = [
            self.bsn is not None,
            self.surname is not None or self.birth_date is not None,
            self.postcode is not None or self.house_number is not None,
        ]
        if sum(ways) != 1:
            raise ValueError("give exactly one of: bsn; surname and birth_date; postcode and house_number")
        if ways[1] and (self.surname is None or self.birth_date is None):
            raise ValueError("a search by name needs both surname and birth_date")
        if ways[2] and (self.postcode is None or self.house_number is None):
            raise ValueError("a search by address needs both postcode and house_number")
        return self

    @property
    def criterion(self) -> Literal["bsn", "name", "address"]:
        return "bsn" if self.bsn is not None else "name" if self.surname is not None else "address"


class FoundSignal(BaseModel):
    id: uuid.UUID
    external_id: str
    partner_type: str
    creditor: str | None
    amount_cents: int | None
    arrears_since_date: date | None
    signal_date: date
    received_at: datetime
    status: str
    case_id: uuid.UUID | None
    erased: bool = Field(description="Its personal data was erased (retention or a request).")


class FoundCase(BaseModel):
    id: uuid.UUID
    state: str
    opened_at: datetime
    first_contact_due_date: date
    closed_at: datetime | None
    result: str | None
    purged_at: datetime | None


class FoundHousehold(BaseModel):
    id: uuid.UUID
    address: str | None = Field(description="None once erased.")


class ResidentFound(BaseModel):
    ref: uuid.UUID = Field(description="The request: pass it to the report and the erasure.")
    criterion: Literal["bsn", "name", "address"]
    signals: list[FoundSignal]
    cases: list[FoundCase]
    households: list[FoundHousehold]
    erased_before: list[datetime] = Field(
        description="When data of this person was erased before (retention or a "
        "request), as far as the keyed hashes kept of it tell."
    )


class ReportEvent(BaseModel):
    kind: str
    label: str
    on: date
    attempt: bool
    reached: bool | None
    recorded: dict[str, str | bool | None] = Field(description="What it recorded: a note, a reason, a place, a result.")
    by: str = Field(description="Office or field (role), never a colleague's name unless policy says so.")


class ReportBkr(BaseModel):
    action: str
    start_date: date
    end_date: date | None
    removal_date: date | None
    status: str
    delivered_at: datetime | None


class ReportTrajectory(BaseModel):
    decision_date: date
    end_date: date | None
    outcome: str | None
    bkr: list[ReportBkr]


class ReportCase(FoundCase):
    classification: str
    events: list[ReportEvent]
    trajectory: ReportTrajectory | None


class AccessEntry(BaseModel):
    at: datetime
    action: str
    activity: str = Field(description="The processing activity (verwerkingsactiviteit) it belongs to.")
    legal_basis: str
    by: str = Field(description="Role and organisation (a name only where the municipality's policy says so).")


class PersonHeld(BaseModel):
    names: list[str]
    birth_dates: list[date]
    bsn: list[str] = Field(description="Masked: the last three digits only.")
    phones: list[str]
    emails: list[str]


class ResidentReport(BaseModel):
    ref: uuid.UUID
    municipality: str
    generated_at: datetime
    person: PersonHeld
    signals: list[FoundSignal]
    cases: list[ReportCase]
    households: list[FoundHousehold]
    erased_before: list[datetime]
    access_log: list[AccessEntry]


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ground: Literal["objection", "erasure"] = Field(description="objection: AVG art. 21; erasure: art. 17.")
    reason: str = Field(min_length=3, max_length=500, description="The request's reference or the admin's note.")


class KeptCase(BaseModel):
    case_id: uuid.UUID
    reason: str


class ErasureResult(BaseModel):
    ref: uuid.UUID
    erased_cases: list[uuid.UUID]
    closed_then_erased: list[uuid.UUID]
    erased_signals: int
    erased_quarantined_rows: int = Field(description="Invalid lines of imports that named the person, deleted.")
    kept: list[KeptCase]
    kept_always: str = Field(description="What the law keeps of every erased case.")


class SignalCorrection(BaseModel):
    """A correction (rectificatie, AVG art. 16) of a signal's personal fields, named as signals
    carry them on the wire (`POST /v1/signals`). Only the fields sent change; null clears one."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        min_length=3,
        max_length=500,
        description="Why (e.g. the request's reference); kept in the "
        "audit trail with the old values, and nowhere else.",
    )
    initials: str | None = Field(default=None, max_length=20)
    prefix: str | None = Field(default=None, max_length=20)
    surname: str | None = Field(default=None, max_length=200)
    birth_date: str | None = Field(default=None, max_length=20, description="YYYY-MM-DD or DD-MM-YYYY.")
    gender: str | None = Field(default=None, max_length=10, description="M, V or O (or man, vrouw, onbekend …).")
    street: str | None = Field(default=None, max_length=200)
    house_number: int | str | None = None
    house_number_addition: str | None = Field(default=None, max_length=10)
    postcode: str | None = Field(default=None, max_length=10)
    town: str | None = Field(default=None, max_length=100)

    @field_validator(*CORRECTABLE, mode="after")
    @classmethod
    def _as_intake_reads_it(cls, value: object, info: ValidationInfo) -> object:
        return None if value is None else parse_field(info.field_name or "", value)

    @model_validator(mode="after")
    def _something_to_correct(self) -> SignalCorrection:
        if not self.changes:
            raise ValueError("name at least one field to correct")
        return self

    @property
    def changes(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in CORRECTABLE if name in self.model_fields_set}


class SignalCorrected(BaseModel):
    signal_id: uuid.UUID
    changed: list[str] = Field(description="The fields whose value changed (an unchanged value sent is no change).")
    case_id: uuid.UUID | None = Field(description="The signal's case after the correction.")
    previous_case_id: uuid.UUID | None
    household_id: uuid.UUID
    regrouped: bool = Field(
        description="The address changed: the signal moved to the household of the new address "
        "and its case was regrouped and re-assessed as on intake."
    )
    classification: str | None = Field(description="The case's classification after re-assessment.")
    bkr: Literal["registration-updated", "correction-queued"] | None = Field(
        description="registration-updated: the BKR registration had not gone out and will carry the corrected data; "
        "correction-queued: it had, and a correction message goes out through the outbox."
    )
