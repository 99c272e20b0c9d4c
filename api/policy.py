"""A municipality's settings and outreach policy: data per tenant, validated, never constants in code."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Channel = Literal["letter", "phone", "visit"]
DayPart = Literal["ochtend", "middag", "avond"]


class OutreachPolicy(BaseModel):
    """How the municipality reaches out (the seed's step 1): the order of channels per
    classification, how many visit attempts, and the day parts to rotate through."""

    model_config = ConfigDict(extra="forbid")

    single: list[Channel] = Field(default=["letter", "visit"], min_length=1)
    multiple: list[Channel] = Field(default=["visit"], min_length=1)
    consecutive: list[Channel] = Field(default=["visit"], min_length=1)
    crisis: list[Channel] = Field(default=["visit", "phone"], min_length=1)
    visit_attempts: int = Field(default=3, ge=1, le=10)
    day_part_rotation: list[DayPart] = Field(default=["middag", "avond", "ochtend"], min_length=1)
    leave_card_when_not_home: bool = True


class MunicipalitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_contact_days: int = Field(default=28, ge=1, le=90, description="Days to first contact after a signal.")
    crisis_first_contact_working_days: int = Field(default=3, ge=1, le=20)
    lookback_months: int = Field(default=6, ge=1, le=24, description="Window that makes a signal consecutive.")
    retention_months: int = Field(default=6, ge=1, le=60, description="Keep personal data after closing without trajectory.")
    bkr_removal_months_after_end: int = Field(default=60, ge=0, le=120)
    reopen_window_days: int = Field(default=30, ge=0, le=365)
    max_devices_per_worker: int = Field(default=2, ge=1, le=10)
    policy: OutreachPolicy = Field(default_factory=OutreachPolicy)

    @model_validator(mode="after")
    def _crisis_is_faster(self) -> MunicipalitySettings:
        if self.crisis_first_contact_working_days > self.first_contact_days:
            raise ValueError("a crisis signal cannot have a later deadline than an ordinary one")
        return self
