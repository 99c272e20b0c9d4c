"""Wire shapes of signal intake, imports, creditor agreements."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.signals.rules import PartnerType

ImportMode = Literal["all-or-nothing", "accept-valid"]


class SignalIn(BaseModel):
    """One signal as a partner delivers it; the same fields as the file import (English names)."""

    model_config = ConfigDict(extra="forbid")

    signal_id: str = Field(min_length=1, max_length=100)
    partner_type: str = Field(max_length=40, description="A DDAS EnumSignaalpartner value, e.g. `Huur`.")
    creditor: str | None = Field(default=None, max_length=200)
    amount: str | float | None = Field(default=None, description="Euros: `1234`, `1234.56` or `1.234,56`.")
    arrears_since: str | None = Field(default=None, max_length=20, description="YYYY-MM-DD or DD-MM-YYYY.")
    signal_date: str = Field(max_length=20, description="YYYY-MM-DD or DD-MM-YYYY.")
    crisis: bool | str | None = None
    warm_handover: bool | str | None = None
    bsn: str | None = Field(default=None, max_length=12)
    initials: str | None = Field(default=None, max_length=20)
    prefix: str | None = Field(default=None, max_length=20)
    surname: str | None = Field(default=None, max_length=200)
    birth_date: str | None = Field(default=None, max_length=20)
    gender: str | None = Field(default=None, max_length=10)
    street: str | None = Field(default=None, max_length=200)
    house_number: str | int | None = None
    house_number_addition: str | None = Field(default=None, max_length=10)
    postcode: str | None = Field(default=None, max_length=10)
    town: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)


class SignalBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signals: list[SignalIn] = Field(min_length=1, max_length=1000)


class SignalResult(BaseModel):
    index: int = Field(description="Position in the batch, from 0.")
    signal_id: str | None
    result: Literal["created", "duplicate", "rejected"]
    reason: str | None = None


class SignalBatchResult(BaseModel):
    import_id: uuid.UUID
    results: list[SignalResult]


class RowErrorOut(BaseModel):
    line: int
    column: str | None
    reason: str


class MissingAgreement(BaseModel):
    creditor: str
    partner_type: str


class ImportReportOut(BaseModel):
    id: uuid.UUID
    source: Literal["file", "api"]
    filename: str | None
    format: str | None
    mode: ImportMode
    status: Literal["completed", "rejected"]
    created_at: datetime
    created_by: str
    total_rows: int
    created: int
    duplicates: int
    repeats: int
    rejected: int
    cases_opened: int
    cases_updated: int
    errors: list[RowErrorOut]
    errors_truncated: bool
    unknown_columns: list[str]
    warnings: list[str]
    creditors_without_agreement: list[MissingAgreement]
    duplicate_of: uuid.UUID | None = Field(default=None, description="An earlier import of the very same file.")
    below_threshold: dict[str, int] | None = Field(
        default=None,
        description="Signals stored below the municipality's threshold, per partner type (e.g. "
        '`{"Water": 1}`; types without any are left out). Null for a partner: why the municipality does not act on '
        "a signal is none of a creditor's business.",
    )


class ImportList(BaseModel):
    items: list[ImportReportOut]


class AgreementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    partner_type: PartnerType
    agreement_date: date
    platform: Literal["VPS", "RIS", "API", "other"]
    partner_client_id: str | None = Field(
        default=None, max_length=64, description="Client id of the integration partner that delivers for this creditor."
    )


class AgreementOut(BaseModel):
    id: uuid.UUID
    name: str
    partner_type: str
    agreement_date: date
    platform: str
    partner_client_id: str | None


class AgreementList(BaseModel):
    items: list[AgreementOut]


class BsnOut(BaseModel):
    signal_id: uuid.UUID
    bsn: str | None


class BsnSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bsn: str = Field(min_length=8, max_length=12, description="Sent in the body, never in a URL (URLs end up in logs).")


class BsnMatch(BaseModel):
    signal_id: uuid.UUID
    external_id: str
    case_id: uuid.UUID | None
    signal_date: date
    partner_type: str
    below_threshold: bool = Field(default=False, description="Below the municipality's threshold when it came in.")


class BsnMatches(BaseModel):
    items: list[BsnMatch]


class DeliveredSignal(BaseModel):
    """One of a partner's own signals, as far as a creditor may know it."""

    signal_id: str = Field(description="The partner's own id of the signal.")
    partner_type: str
    creditor: str | None
    signal_date: date
    received_at: datetime
    status: Literal["Nog niet opgepakt", "Opgepakt", "Niet opgepakt"] = Field(
        description="Whether the municipality picked the signal up; never why not."
    )


class DeliveredSignalPage(BaseModel):
    items: list[DeliveredSignal]
    next_cursor: str | None


class Feedback(BaseModel):
    """What the law lets a creditor know of a signal it delivered (the terugkoppeling)."""

    signal_id: str = Field(description="The partner's own id of the signal.")
    status: Literal[
        "Nog niet opgepakt",
        "Opgepakt",
        "Niet opgepakt: herhaalde melding",
        "Niet opgepakt: onterecht signaal",
        "Niet opgepakt: andere reden",
    ] = Field(
        description="The signal's DDAS status (EnumSignaalstatus). A status that tells of the resident rather than "
        "the signal (deceased, moved away, already known to debt help) is given as `Niet opgepakt: andere reden`."
    )
    status_changed_at: datetime = Field(description="When the status last changed (its arrival, if never).")
    in_debt_help: bool = Field(description="Whether a debt-help trajectory started for the resident.")
    changed_at: datetime = Field(
        description="The latest of `status_changed_at` and the trajectory's start: what `since` compares with."
    )


class FeedbackPage(BaseModel):
    items: list[Feedback]
    next_cursor: str | None


class FeedbackCursor(BaseModel):
    changed_at: datetime
    id: uuid.UUID


class DeliveredCursor(BaseModel):
    received_at: datetime
    id: uuid.UUID
