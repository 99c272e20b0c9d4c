"""The case export for the municipality's debt-help case system: one query, read a block of rows
at a time and written as CSV or XLSX to a file (`api.platform.downloads`), never held as a list.

The column layout is `api.reports.rules.EXPORT_COLUMNS`, documented in docs/case-export.md
(the README links it); a test holds the two together. The BSN is never part of it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import IO, Any

import sqlalchemy as sa
from sqlmodel import Session

from api.cases.rules import CaseState, dutch_date, is_overdue
from api.platform import tables
from api.platform.downloads import text_to
from api.platform.spreadsheet import FORMULA_TRIGGERS
from api.platform.xlsx import write_workbook
from api.reports.facts import contact_columns, with_contacts
from api.reports.rules import EXPORT_COLUMNS, Cell, ExportedCase, category_of, day_bounds, export_cells

SHEET = "cases"
ROWS_PER_READ = 1000


def exported_cases(
    session: Session,
    *,
    municipality_code: str,
    state: str | None,
    opened_from: date | None,
    opened_to: date | None,
    limit: int,
    today: date,
) -> Iterator[ExportedCase]:
    """The municipality's cases, oldest first, with their contact facts and trajectory, in one
    statement whose rows arrive a thousand at a time."""
    cases, households, trajectories = tables.case.c, tables.household.c, tables.trajectory.c
    contacts = contact_columns()
    query = (
        sa.select(
            cases.id,
            cases.state,
            cases.classification,
            cases.crisis,
            cases.opened_at,
            cases.first_contact_due_date,
            households.street,
            households.house_number,
            households.house_number_addition,
            households.postcode,
            households.town,
            cases.assigned_worker_id,
            cases.result,
            cases.closed_at,
            cases.purged_at,
            *(contacts[name] for name in _CONTACTS),
            trajectories.decision_date,
            trajectories.end_date,
            trajectories.outcome,
        )
        .select_from(
            with_contacts(
                tables.case.join(tables.household, households.id == cases.household_id).outerjoin(
                    tables.trajectory, trajectories.case_id == cases.id
                ),
                cases.id,
            )
        )
        .where(cases.municipality_code == municipality_code)
        # A case has one household and at most one trajectory (unique case_id): one group per case,
        # and PostgreSQL reads the other columns as depending on these primary keys.
        .group_by(cases.id, households.id, trajectories.id)
        .order_by(cases.opened_at, cases.id)
        .limit(limit)
    )
    if state is not None:
        query = query.where(cases.state == state)
    if opened_from is not None:
        query = query.where(cases.opened_at >= day_bounds(opened_from, opened_from)[0])
    if opened_to is not None:
        query = query.where(cases.opened_at < day_bounds(opened_to, opened_to)[1])
    # Plain rows through the connection, unpacked by position: the ORM's row handling and a
    # named lookup per column were a third of the export's time.
    rows = session.connection().execute(query.execution_options(yield_per=ROWS_PER_READ))
    return (_exported(row, today) for row in rows)


_CONTACTS = (
    *(
        f"{channel}_attempts"
        for channel in ("letter", "phone", "visit", "mail", "sms", "appointment", "administrative")
    ),
    "first_attempt_at",
    "first_contact_at",
    "help_accepted_at",
)
_CLOSED = CaseState.CLOSED.value


def _exported(row: Sequence[Any], today: date) -> ExportedCase:
    (
        case_id,
        state,
        classification,
        crisis,
        opened_at,
        due,
        street,
        house_number,
        house_number_addition,
        postcode,
        town,
        assigned_worker_id,
        result,
        closed_at,
        purged_at,
        letter,
        phone,
        visit,
        mail,
        sms,
        appointment,
        administrative,
        first_attempt_at,
        first_contact_at,
        help_accepted_at,
        decision_date,
        end_date,
        outcome,
    ) = row
    first_attempt_on = dutch_date(first_attempt_at) if first_attempt_at else None
    return ExportedCase(
        case_id=case_id,
        state=state,
        classification=classification,
        crisis=crisis,
        opened_date=dutch_date(opened_at),
        first_contact_due_date=due,
        street=street,
        house_number=house_number,
        house_number_addition=house_number_addition,
        postcode=postcode,
        town=town,
        assigned_worker_id=assigned_worker_id,
        result=result,
        result_category=category_of(result) if result else None,
        closed_date=dutch_date(closed_at) if closed_at else None,
        letter_attempts=letter or 0,
        phone_attempts=phone or 0,
        visit_attempts=visit or 0,
        mail_attempts=mail or 0,
        sms_attempts=sms or 0,
        appointment_attempts=appointment or 0,
        administrative_attempts=administrative or 0,
        first_attempt_date=first_attempt_on,
        first_contact_date=dutch_date(first_contact_at) if first_contact_at else None,
        reached=first_contact_at is not None,
        help_accepted=help_accepted_at is not None,
        trajectory_decision_date=decision_date,
        trajectory_end_date=end_date,
        trajectory_outcome=outcome,
        purged=purged_at is not None,
        overdue=is_overdue(due=due, today=today, closed=state == _CLOSED, first_attempt_on=first_attempt_on),
    )


def write_csv(cases: Iterable[ExportedCase], out: IO[bytes], *, limit: int) -> int:
    """UTF-8, comma-separated, RFC 4180 quoting; dates as YYYY-MM-DD, empty for none. Returns the
    number of rows, and stops once it passes `limit` (the caller refuses the export then)."""
    count = 0
    with text_to(out) as text:
        writer = csv.writer(text)
        writer.writerow(EXPORT_COLUMNS)
        for count, case in enumerate(cases, start=1):
            if count > limit:
                break
            # `safe_cell` spelled out: it runs for every cell of the export.
            writer.writerow(
                [
                    ""
                    if cell is None
                    else ("'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell)
                    if type(cell) is str
                    else cell.isoformat()
                    if isinstance(cell, date)
                    else cell
                    for cell in export_cells(case)
                ]
            )
    return count


def write_xlsx(cases: Iterable[ExportedCase], out: IO[bytes], *, limit: int) -> int:
    """One sheet, `cases`: the header row, then a row per case; dates as dates, counts as numbers,
    text always text (`api.platform.xlsx`, written a row at a time)."""
    count = 0

    def rows() -> Iterator[list[Cell]]:
        nonlocal count
        for count, case in enumerate(cases, start=1):
            if count > limit:
                break
            yield export_cells(case)

    write_workbook(out, sheet=SHEET, header=EXPORT_COLUMNS, rows=rows())
    return count
