"""A municipality's settings and outreach policy: data per tenant, validated, never constants in code."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.signals.rules import PartnerType, Threshold

Channel = Literal["letter", "phone", "visit", "mail", "sms", "appointment", "administrative"]
DayPart = Literal["ochtend", "middag", "avond"]


AfterLastAttempt = Literal["close_no_contact", "send_letter", "back_office_review"]


class ChannelPlan(BaseModel):
    """For one classification: the channels in order, how many attempts, and what then."""

    model_config = ConfigDict(extra="forbid")

    channels: list[Channel] = Field(min_length=1, max_length=6)
    max_attempts: int = Field(default=3, ge=1, le=10, description="Visit attempts (other channels: one each).")
    change_day_part: bool = Field(default=True, description="A retry must be at another day part.")
    after_last_attempt: AfterLastAttempt = Field(
        default="back_office_review",
        description="close_no_contact: close as 'Definitief geen contact kunnen krijgen'; "
        "send_letter: a last letter; back_office_review: a person decides.",
    )


class OutreachPolicy(BaseModel):
    """How the municipality reaches out (the seed's step 1), per classification; crisis
    signals follow `crisis` whatever their classification."""

    model_config = ConfigDict(extra="forbid")

    single: ChannelPlan = Field(default_factory=lambda: ChannelPlan(channels=["letter", "visit"], max_attempts=2))
    multiple: ChannelPlan = Field(default_factory=lambda: ChannelPlan(channels=["visit", "letter"], max_attempts=3))
    consecutive: ChannelPlan = Field(default_factory=lambda: ChannelPlan(channels=["visit", "letter"], max_attempts=3))
    crisis: ChannelPlan = Field(
        default_factory=lambda: ChannelPlan(
            channels=["visit", "phone"], max_attempts=3, after_last_attempt="back_office_review"
        )
    )
    day_part_rotation: list[DayPart] = Field(default=["middag", "avond", "ochtend"], min_length=1, max_length=3)
    leave_card_when_not_home: bool = True
    no_contact_after_attempts: int = Field(
        default=3,
        ge=1,
        le=20,
        description="Attempts without reaching anybody before a case may close as 'Definitief geen contact kunnen krijgen'.",
    )
    no_contact_after_channels: int = Field(default=2, ge=1, le=4, description="... over at least this many channels.")

    def plan_for(self, *, classification: str, crisis: bool) -> ChannelPlan:
        if crisis:
            return self.crisis
        return {"single": self.single, "multiple": self.multiple, "consecutive": self.consecutive}[classification]


class ArrearsThreshold(BaseModel):
    """The least arrears the municipality acts on, for one partner type."""

    model_config = ConfigDict(extra="forbid")

    min_days_in_arrears: int = Field(
        default=0, ge=0, le=3650, description="Days from `ontstaansdatum` to `signaaldatum`; fewer is below threshold."
    )
    min_amount_cents: int = Field(
        default=0, ge=0, le=100_000_000_000, description="Amount in cents; less is below threshold (0: no minimum)."
    )


# The defaults (issue 14): 30 days for the four fixed-cost creditors the law obliges to signal
# (housing, energy, water, health insurers), 180 for CAK Zorgverzekeringen; the other partner types
# have no minimum until the municipality sets one, and no type has a minimum amount.
DEFAULT_THRESHOLDS: dict[PartnerType, ArrearsThreshold] = {
    partner_type: ArrearsThreshold(
        min_days_in_arrears={"Huur": 30, "Energie": 30, "Water": 30, "Zorg": 30, "CAK Zorgverzekeringen": 180}.get(
            partner_type, 0
        )
    )
    for partner_type in get_args(PartnerType)
}


class MunicipalitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_contact_days: int = Field(default=28, ge=1, le=90, description="Days to first contact after a signal.")
    crisis_first_contact_working_days: int = Field(default=3, ge=1, le=20)
    lookback_months: int = Field(default=6, ge=1, le=24, description="Window that makes a signal consecutive.")
    retention_months: int = Field(
        default=6, ge=1, le=60, description="Keep personal data after closing without trajectory."
    )
    bkr_removal_months_after_end: int = Field(
        default=60, ge=0, le=120, description="BKR removes the SH registration this long after the trajectory ends."
    )
    bkr_removal_months_after_success: int | None = Field(
        default=None,
        ge=0,
        le=120,
        description="Sooner after a successful end (the four largest cities: 6); unset: as after any end.",
    )
    stale_case_months: int = Field(
        default=6,
        ge=1,
        le=60,
        description="An open case without a signal, attempt or action for this long is "
        "proposed for closing (Definitief geen contact kunnen krijgen or Niet opgepakt: andere reden; the office "
        "decides).",
    )
    reopen_window_days: int = Field(default=30, ge=0, le=365)
    max_devices_per_worker: int = Field(default=2, ge=1, le=10)
    visit_list_working_days: int = Field(
        default=1, ge=0, le=5, description="A visit list expires at the end of this many working days after the pull."
    )
    device_idle_lock_minutes: int = Field(
        default=5,
        ge=1,
        le=60,
        description="The field app locks itself (PIN again) after this many minutes without a touch; it always "
        "locks when hidden. Phones learn it at their next pull.",
    )
    bsn_visible_to: list[Literal["backoffice", "admin"]] = Field(
        default=["backoffice", "admin"], description="Staff roles that may reveal a BSN (audited)."
    )
    access_report_names_staff: bool = Field(
        default=False,
        description="A resident's access report names the staff who read their data; otherwise only "
        "their role and organisation (AVG art. 15 asks for recipients, not colleagues' names).",
    )
    closing_days: list[date] = Field(
        default_factory=list,
        max_length=366,
        description="Days the municipality is closed besides weekends and public holidays (e.g. between Christmas "
        "and New Year): they do not count as working days for crisis deadlines and visit lists.",
    )
    thresholds: dict[PartnerType, ArrearsThreshold] = Field(
        default_factory=lambda: dict(DEFAULT_THRESHOLDS),
        description="Per partner type, the least arrears the municipality acts on: a signal below it is stored "
        "and marked `below_threshold`, and a case whose signals all are is proposed for closing as 'Niet opgepakt: "
        "onterecht signaal'. Partner types left out keep their default (30 days for Huur, Energie, Water and Zorg, "
        "180 for CAK Zorgverzekeringen, none for the others; no minimum amount). Applies to signals received "
        "after the change.",
    )
    policy: OutreachPolicy = Field(default_factory=OutreachPolicy)

    @field_validator("closing_days")
    @classmethod
    def _sorted_once(cls, days: list[date]) -> list[date]:
        if not all(date(2000, 1, 1) <= day <= date(2999, 12, 31) for day in days):
            raise ValueError("closing days lie between 2000 and 2999")
        return sorted(set(days))

    @field_validator("thresholds")
    @classmethod
    def _every_partner_type(cls, given: dict[str, ArrearsThreshold]) -> dict[str, ArrearsThreshold]:
        return {partner_type: given.get(partner_type, default) for partner_type, default in DEFAULT_THRESHOLDS.items()}

    @property
    def closed_on(self) -> frozenset[date]:
        return frozenset(self.closing_days)

    def rule_thresholds(self) -> dict[str, Threshold]:
        """The thresholds as the rule `signals.rules.below_threshold` takes them, per partner type."""
        return {
            partner_type: Threshold(
                min_days_in_arrears=threshold.min_days_in_arrears, min_amount_cents=threshold.min_amount_cents
            )
            for partner_type, threshold in self.thresholds.items()
        }

    @model_validator(mode="after")
    def _crisis_is_faster(self) -> MunicipalitySettings:
        if self.crisis_first_contact_working_days > self.first_contact_days:
            raise ValueError("a crisis signal cannot have a later deadline than an ordinary one")
        return self


class _HasSettings(Protocol):
    settings: Any


def settings_of(municipality: _HasSettings | None) -> MunicipalitySettings:
    """A municipality's settings and policy as stored, with the defaults for anything not stored
    (and all defaults for none): the one way every area reads them."""
    return MunicipalitySettings.model_validate((municipality.settings if municipality is not None else None) or {})
