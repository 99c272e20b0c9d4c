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

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import IO, Any

import sqlalchemy as sa
from sqlmodel import Session

from api.cases.rules import AMSTERDAM, day_part, dutch_date, months_before
from api.models import Municipality
from api.municipality.policy import settings_of
from api.platform import tables
from api.platform.downloads import text_to
from api.reports.ddas.document import CONTACT_KINDS, AttemptRow, CaseRow, Client, Period, SignalRow, delivery_text


@dataclass
class DeliveryCounts:
    """Identifiers and counts only: what the audit trail may hold about a delivery."""

    signals: int = 0
    signals_left_out: int = 0  # received in the period, but no address left or allowed to name the resident by
    cases: int = 0
    purged_cases: int = 0


ROWS_PER_READ = 2000


def write_ddas_delivery(
    session: Session, *, municipality_code: str, period: Period, now: datetime, out: IO[bytes]
) -> DeliveryCounts:
    """Write the delivery for `period` to `out` as JSON, reading its rows a block at a time."""
    municipality = session.get(Municipality, municipality_code)
    assert municipality is not None, "a principal's municipality exists"
    start, end = _moment(period.start), _moment(period.end + timedelta(days=1))
    counts = DeliveryCounts()
    text = delivery_text(
        municipality_code=municipality.code,
        municipality_name=municipality.name,
        period=period,
        delivered_at=now,
        signals=_signals(session, municipality=municipality, start=start, end=end, now=now, counts=counts),
        cases=_cases(session, municipality_code=municipality_code, start=start, end=end, counts=counts),
    )
    with text_to(out) as written:
        written.writelines(text)
    return counts


def _moment(day: date) -> datetime:
    """Midnight at the start of `day` in the Netherlands (a signal on 1 Jan 00:30 belongs to January)."""
    return datetime.combine(day, time(0), AMSTERDAM)


def _signals(
    session: Session,
    *,
    municipality: Municipality,
    start: datetime,
    end: datetime,
    now: datetime,
    counts: DeliveryCounts,
) -> Iterator[SignalRow]:
    retention_months = settings_of(municipality).retention_months
    # Retention erases a signal without a case `retention_months` after it arrived and leaves no
    # mark on it; its household may keep the address for a newer signal, so the age decides.
    caseless_erased_before = datetime.combine(months_before(now.date(), retention_months), time(0), now.tzinfo)
    # Plain rows through the connection: the ORM's row handling would add a third to the export's time.
    sg, hh, cs = tables.signal.c, tables.household.c, tables.case.c
    rows = session.connection().execute(
        sa.select(
            sg.external_id,
            sg.partner_type,
            sg.status,
            sg.signal_date,
            sg.crisis,
            sg.warm_handover,
            sg.amount_cents,
            sg.arrears_since_date,
            sg.birth_date,
            sg.gender,
            sg.case_id.is_(None),  # whether it has a case, not its id as a UUID object per row
            sg.received_at,
            hh.postcode,
            hh.house_number,
            hh.house_number_addition,
            cs.purged_at,
        )
        .join(tables.household, hh.id == sg.household_id)
        .outerjoin(tables.case, cs.id == sg.case_id)
        .where(sg.municipality_code == municipality.code, sg.received_at >= start, sg.received_at < end)
        .order_by(sg.received_at, sg.external_id)
        .execution_options(yield_per=ROWS_PER_READ)
    )
    for (
        external_id,
        partner_type,
        status,
        signal_date,
        crisis,
        warm_handover,
        amount_cents,
        arrears_since_date,
        birth_date,
        gender,
        caseless,
        received_at,
        postcode,
        house_number,
        house_number_addition,
        purged_at,
    ) in rows:
        erased = purged_at is not None or (caseless and received_at < caseless_erased_before)
        person = None
        if not erased and postcode is not None and house_number is not None:
            person = Client(
                postcode=postcode,
                house_number=house_number,
                house_number_addition=house_number_addition,
                birth_date=birth_date,
                gender=gender,
            )
        if person is None:
            counts.signals_left_out += 1
        else:
            counts.signals += 1
        yield SignalRow(
            external_id=external_id,
            partner_type=partner_type,
            status=status,
            signal_date=signal_date,
            crisis=crisis,
            warm_handover=warm_handover,
            amount_cents=amount_cents,
            arrears_since_date=arrears_since_date,
            client=person,
        )


def _cases(
    session: Session, *, municipality_code: str, start: datetime, end: datetime, counts: DeliveryCounts
) -> Iterator[CaseRow]:
    # The same condition joins every query below: one query per kind of row, never one per case,
    # and no list of ids as parameters (a city has tens of thousands of cases). All three come in
    # the cases' order, so each case's signal ids and attempts are the next rows of their query:
    # read side by side, a block at a time, nothing of the period is held but the current case.
    connection = session.connection()  # plain rows, as for the signals
    cs, sg, ev = tables.case.c, tables.signal.c, tables.visit_event.c
    in_period = (
        cs.municipality_code == municipality_code,
        cs.opened_at < end,
        sa.or_(cs.closed_at.is_(None), cs.closed_at >= start),
    )
    in_case_order = (cs.opened_at, cs.id)
    # The case id only matches rows to their case: as the database's text, not a UUID object each.
    case_key = sa.cast(cs.id, sa.String)
    cases = connection.execute(
        sa.select(case_key, cs.opened_at, cs.closed_at, cs.result, cs.purged_at)
        .where(*in_period)
        .order_by(*in_case_order)
        .execution_options(yield_per=ROWS_PER_READ)
    )
    signal_ids = _Following(
        connection.execute(
            sa.select(case_key, sg.external_id)
            .join(tables.case, cs.id == sg.case_id)
            .where(*in_period, sg.municipality_code == municipality_code, sg.received_at < end)
            .order_by(*in_case_order, sg.received_at, sg.external_id)
            .execution_options(yield_per=ROWS_PER_READ)
        )
    )
    # Every attempt counts, also one caught in a conflict: the conflict is about the case's
    # state, the visit or call itself happened. The events are the cases' own (the tenant is the
    # case's, as in `facts.with_contacts`): with statistics that lag behind a large delivery,
    # PostgreSQL read the whole municipality's events index for every case when asked for the
    # events' municipality as well (130 s for 50,000 cases instead of a few).
    attempts = _Following(
        connection.execute(
            sa.select(case_key, ev.kind, ev.occurred_at, ev.payload)
            .join(tables.case, cs.id == ev.case_id)
            .where(*in_period, ev.kind.in_(list(CONTACT_KINDS)), ev.occurred_at < end)
            .order_by(*in_case_order, ev.occurred_at, ev.id)
            .execution_options(yield_per=ROWS_PER_READ)
        )
    )
    for key, opened_at, closed_at, result, purged_at in cases:
        counts.cases += 1
        counts.purged_cases += purged_at is not None
        yield CaseRow(
            opened_on=dutch_date(opened_at),
            result=result if closed_at is not None and closed_at < end else None,
            signal_ids=tuple(external_id for _, external_id in signal_ids.of(key)),
            attempts=tuple(_attempt(kind, occurred_at, payload) for _, kind, occurred_at, payload in attempts.of(key)),
        )


class _Following:
    """Rows ordered like the cases, each starting with its case id: `of(case_id)` takes the rows
    of that case, which are the next ones if it has any (the cases are asked for in order)."""

    def __init__(self, rows: Iterable[Any]) -> None:
        self._rows = iter(rows)
        self._next = next(self._rows, None)

    def of(self, case_id: str) -> list[Any]:
        taken = []
        while self._next is not None and self._next[0] == case_id:
            taken.append(self._next)
            self._next = next(self._rows, None)
        return taken


def _attempt(kind: str, occurred_at: datetime, payload: dict[str, Any]) -> AttemptRow:
    # Devices' attempts and cards carry the day part they were stored with; an office call, mail,
    # SMS, appointment or administrative contact has its time; a letter has no day part.
    part = payload.get("day_part")
    if part is None and kind != "letter_sent":
        part = day_part(occurred_at)
    return AttemptRow(kind=kind, on=dutch_date(occurred_at), reached=bool(payload.get("reached")), day_part=part)
