"""The sync wire protocol shared by server and clients: what a pull carries, how a device's case set is summed.

Devices stay on old app versions for months: fields are only ever added, never renamed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import date, datetime

from pydantic import BaseModel, Field


class PreviousAttempt(BaseModel):
    occurred_at: datetime
    day_part: str | None
    kind: str
    reached: bool | None


class CaseNote(BaseModel):
    """What a worker wrote down about the case: a note, why help was declined, what was said."""

    occurred_at: datetime
    kind: str = Field(description="note | help_declined | help_offered | visit_attempt | phone_attempt | ...")
    text: str


class VisitAddress(BaseModel):
    street: str | None
    house_number: int | None
    house_number_addition: str | None
    postcode: str | None
    town: str | None


class Resident(BaseModel):
    initials: str | None
    prefix: str | None
    surname: str | None
    phone: str | None


class Arrear(BaseModel):
    partner_type: str
    amount_cents: int = Field(description="What the case's signals from this kind of creditor report, together.")


class VisitCase(BaseModel):
    """A case as the doorstep needs it, and nothing more (never a BSN)."""

    id: uuid.UUID
    version: int
    state: str
    classification: str
    crisis: bool
    first_contact_due_date: date
    address: VisitAddress
    residents: list[Resident]
    partner_types: list[str]
    signal_kinds: list[str]
    total_arrears_cents: int
    planned_action: str | None
    avoid_day_parts: list[str]
    previous_attempts: list[PreviousAttempt]
    paired: bool = Field(description="Visited in pairs: another worker's device holds this case too.")
    arrears: list[Arrear] = Field(
        default_factory=list, description="Per creditor type, by type (added December 2026; older servers send none)."
    )
    duo_partner: str | None = Field(
        default=None, description="The other worker's name when visited in pairs (added December 2026)."
    )
    notes: list[CaseNote] = Field(
        default_factory=list, description="Earlier notes on the case, oldest first (added December 2026)."
    )


class Removal(BaseModel):
    case_id: uuid.UUID
    reason: str = Field(description="closed | reassigned | purged | unavailable")


class VisitList(BaseModel):
    """The plaintext of a pull's JWE."""

    cursor: str
    full: bool
    upserts: list[VisitCase]
    removed: list[Removal]
    expires_at: datetime
    server_time: datetime
    idle_lock_minutes: int = Field(
        default=5,
        ge=1,
        le=60,
        description="The municipality's policy: lock the app after this many idle minutes (added December 2026).",
    )


def case_set_checksum(cases: Iterable[tuple[uuid.UUID, int]]) -> str:
    """What a device holds, summed: sha256 over sorted `case_id:version` lines. A device
    that sends a different sum than the server expects gets a full snapshot."""
    lines = "\n".join(sorted(f"{case_id}:{version}" for case_id, version in cases))
    return hashlib.sha256(lines.encode()).hexdigest()
