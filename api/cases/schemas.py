"""Wire shapes of cases as the back office and partners read them (never the BSN)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel


class AddressOut(BaseModel):
    street: str | None
    house_number: int
    house_number_addition: str | None
    postcode: str
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
    initials: str | None
    prefix: str | None
    surname: str | None


class CaseSummary(BaseModel):
    id: uuid.UUID
    state: str
    classification: str
    crisis: bool
    opened_at: datetime
    deadline_date: date
    assigned_worker_id: uuid.UUID | None
    second_worker_id: uuid.UUID | None
    result: str | None
    version: int
    address: AddressOut


class CaseDetail(CaseSummary):
    signals: list[CaseSignalOut]


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None


class CaseCursor(BaseModel):
    deadline_date: date
    id: uuid.UUID
