"""Reads a municipality's signals and cases for a DDAS delivery, in a fixed handful of queries.

What belongs in the delivery for a period (dates in Amsterdam time, both days included):
- `vroegsignalen`: the signals received in the period;
- `vroegsignaalzaken`: every case that was open at some moment of the period (opened before
  its end, not closed before its start), as it stood at the end of the period: the signals it
  had then, all its contact attempts until then, and its result if it was closed by then.
  DDAS has no case id: CBS recognises a case by its signal ids, and each delivery gives the
  case's whole history so far, as DDAS asks for trajectories that overlap the period.

Personal data that retention erased stays erased: signals of a purged case, and signals
without a case past the retention period, are not delivered as vroegsignalen (the schema
requires a resident they no longer have), while their cases keep what retention keeps for
reports: dates, result, contact attempts and the signal ids.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from api.cases.rules import AMSTERDAM, dutch_date, months_before
from api.field.service import day_part
from api.models import Case, Household, Municipality, Signal, VisitEvent
from api.policy import MunicipalitySettings
from api.reports.ddas import CONTACT_KINDS, AttemptRow, CaseRow, Client, Period, SignalRow, delivery


@dataclass(frozen=True)
class DeliveryCounts:
    """Identifiers and counts only: what the audit trail may hold about a delivery."""

    signals: int
    signals_left_out: int  # received in the period, but no address left or allowed to name the resident by
    cases: int
    purged_cases: int


def ddas_delivery(
    session: Session, *, municipality_code: str, period: Period, now: datetime
) -> tuple[dict[str, Any], DeliveryCounts]:
    municipality = session.get(Municipality, municipality_code)
    assert municipality is not None, "a principal's municipality exists"
    start, end = _moment(period.start), _moment(period.end + timedelta(days=1))
    signals = _signals(session, municipality=municipality, start=start, end=end, now=now)
    cases, purged = _cases(session, municipality_code=municipality_code, start=start, end=end)
    document = delivery(
        municipality_code=municipality.code, municipality_name=municipality.name, period=period, delivered_at=now,
        signals=signals, cases=cases,
    )
    left_out = sum(1 for signal in signals if signal.client is None)
    counts = DeliveryCounts(signals=len(signals) - left_out, signals_left_out=left_out, cases=len(cases),
                            purged_cases=purged)
    return document, counts


def _moment(day: date) -> datetime:
    """Midnight at the start of `day` in the Netherlands (a signal on 1 Jan 00:30 belongs to January)."""
    return datetime.combine(day, time(0), AMSTERDAM)


def _signals(
    session: Session, *, municipality: Municipality, start: datetime, end: datetime, now: datetime
) -> list[SignalRow]:
    retention_months = MunicipalitySettings.model_validate(municipality.settings).retention_months
    # Retention erases a signal without a case `retention_months` after it arrived and leaves no
    # mark on it; its household may keep the address for a newer signal, so the age decides.
    caseless_erased_before = datetime.combine(months_before(now.date(), retention_months), time(0), now.tzinfo)
    # Plain rows through the connection: the ORM's row handling would add a third to the export's time.
    rows = session.connection().execute(
        sa.select(
            Signal.external_id, Signal.partner_type, Signal.status, Signal.signal_date, Signal.crisis,
            Signal.warm_handover, Signal.amount_cents, Signal.arrears_since_date, Signal.birth_date, Signal.gender,
            Signal.case_id, Signal.received_at, Household.postcode, Household.house_number,
            Household.house_number_addition, Case.purged_at,
        )
        .join(Household, col(Household.id) == Signal.household_id)
        .outerjoin(Case, col(Case.id) == Signal.case_id)
        .where(Signal.municipality_code == municipality.code, col(Signal.received_at) >= start,
               col(Signal.received_at) < end)
        .order_by(col(Signal.received_at), col(Signal.external_id))
    )
    signals = []
    for row in rows:
        erased = row.purged_at is not None or (row.case_id is None and row.received_at < caseless_erased_before)
        person = None
        if not erased and row.postcode is not None and row.house_number is not None:
            person = Client(
                postcode=row.postcode, house_number=row.house_number,
                house_number_addition=row.house_number_addition, birth_date=row.birth_date, gender=row.gender,
            )
        signals.append(SignalRow(
            external_id=row.external_id, partner_type=row.partner_type, status=row.status,
            signal_date=row.signal_date, crisis=row.crisis, warm_handover=row.warm_handover,
            amount_cents=row.amount_cents, arrears_since_date=row.arrears_since_date, client=person,
        ))
    return signals


def _cases(session: Session, *, municipality_code: str, start: datetime, end: datetime) -> tuple[list[CaseRow], int]:
    # The same condition joins every query below: one query per kind of row, never one per
    # case, and no list of ids as parameters (a city has tens of thousands of cases).
    connection = session.connection()  # plain rows, as for the signals
    in_period = (
        Case.municipality_code == municipality_code, col(Case.opened_at) < end,
        sa.or_(col(Case.closed_at).is_(None), col(Case.closed_at) >= start),
    )
    cases = connection.execute(
        sa.select(Case.id, Case.opened_at, Case.closed_at, Case.result, Case.purged_at)
        .where(*in_period).order_by(col(Case.opened_at), col(Case.id))
    ).all()
    signal_ids: dict[uuid.UUID, list[str]] = defaultdict(list)
    for case_id, external_id in connection.execute(
        sa.select(Signal.case_id, Signal.external_id).join(Case, col(Case.id) == Signal.case_id)
        .where(*in_period, Signal.municipality_code == municipality_code, col(Signal.received_at) < end)
        .order_by(col(Signal.received_at), col(Signal.external_id))
    ):
        signal_ids[case_id].append(external_id)
    attempts: dict[uuid.UUID, list[AttemptRow]] = defaultdict(list)
    # Every attempt counts, also one caught in a conflict: the conflict is about the case's
    # state, the visit or call itself happened.
    for case_id, kind, occurred_at, payload in connection.execute(
        sa.select(VisitEvent.case_id, VisitEvent.kind, VisitEvent.occurred_at, VisitEvent.payload)
        .join(Case, col(Case.id) == VisitEvent.case_id)
        .where(*in_period, VisitEvent.municipality_code == municipality_code,
               col(VisitEvent.kind).in_(list(CONTACT_KINDS)), col(VisitEvent.occurred_at) < end)
        .order_by(col(VisitEvent.occurred_at), col(VisitEvent.id))
    ):
        attempts[case_id].append(_attempt(kind, occurred_at, payload))
    rows = [
        CaseRow(
            opened_on=dutch_date(case.opened_at),
            result=case.result if case.closed_at is not None and case.closed_at < end else None,
            signal_ids=tuple(signal_ids[case.id]), attempts=tuple(attempts[case.id]),
        )
        for case in cases
    ]
    return rows, sum(1 for case in cases if case.purged_at is not None)


def _attempt(kind: str, occurred_at: datetime, payload: dict[str, Any]) -> AttemptRow:
    # Devices' attempts and cards carry the day part they were stored with; an office call, mail,
    # SMS, appointment or administrative contact has its time; a letter has no day part.
    part = payload.get("day_part")
    if part is None and kind != "letter_sent":
        part = day_part(occurred_at)
    return AttemptRow(kind=kind, on=dutch_date(occurred_at), reached=bool(payload.get("reached")), day_part=part)
