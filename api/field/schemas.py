"""Wire shapes of the field area: devices (sync messages come with the sync engine)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class DeviceEnroll(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_jwk: dict[str, Any] = Field(
        description="The device's RSA public key (≥ 2048 bits) as a JWK; visit lists are encrypted to it."
    )
    label: str = Field(
        min_length=1, max_length=100, description="What the worker calls the phone, e.g. `Werktelefoon`."
    )


class DeviceEnrolled(BaseModel):
    device_id: uuid.UUID
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class DeviceOut(BaseModel):
    id: uuid.UUID
    worker_id: uuid.UUID
    worker_username: str
    label: str
    key_thumbprint: str
    enrolled_at: datetime
    revoked_at: datetime | None
    last_pull_at: datetime | None
    last_push_at: datetime | None
    last_push_event_count: int | None = Field(description="Events in the device's last push.")
    unsent_events_reported: int | None = Field(
        description="Events the device said it still had to send, at its last sync."
    )
    pending_conflicts: int


class DeviceList(BaseModel):
    items: list[DeviceOut]


class ConflictSide(BaseModel):
    event_id: uuid.UUID
    device_id: uuid.UUID | None
    author_id: uuid.UUID
    kind: str
    occurred_at: datetime
    base_version: int
    payload: dict[str, Any]


class ConflictOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    kind: str
    opened_at: datetime
    sides: list[ConflictSide]
    resolved_at: datetime | None
    resolution: dict[str, Any] | None


class ConflictList(BaseModel):
    items: list[ConflictOut]


class ConflictResolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["help_accepted", "help_declined", "keep_office", "keep_both_as_facts"] = Field(
        description="help_accepted / help_declined: what the resident really said; keep_office: the office's "
        "close or reassignment stands; keep_both_as_facts: nothing changes, the events stay as history."
    )
    note: str | None = Field(default=None, max_length=2000)
