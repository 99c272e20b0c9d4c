"""Use cases of signal intake: store valid signals, group them per household into cases, report.

The import streams: rows arrive from a parser in chunks; each chunk is checked against
stored signal ids, its households are found or created and locked, and each household is
assessed in memory together with the signals it already has (classification and repeats
are order-independent); then cases are opened, joined or escalated and the chunk's signals
inserted in bulk, each once and with its verdict.
All writes of one delivery happen inside a savepoint: in all-or-nothing mode one invalid
row rolls the savepoint back and only the report is stored.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session

from api.models import Municipality, SignalImport
from api.municipality.policy import settings_of
from api.platform import metrics, tables
from api.platform.bulk import in_array, insert_rows, on_postgres
from api.platform.spill import SpillSet
from api.signals.bsn import BsnVault
from api.signals.parsing import ParsedRow, SignalInput
from api.signals.writer import Writer

Mode = Literal["all-or-nothing", "accept-valid"]
Outcome = Literal["created", "duplicate", "rejected"]
CHUNK = 2000
MAX_REPORTED_ERRORS = 1000


@dataclass
class RowOutcome:
    line: int
    external_id: str | None
    outcome: Outcome
    reason: str | None = None


@dataclass
class IntakeReport:
    total: int = 0
    created: int = 0
    duplicates: int = 0
    repeats: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)
    cases_opened: int = 0
    cases_updated: int = 0
    creditors: set[tuple[str, str]] = field(default_factory=set)
    below_threshold: dict[str, int] = field(default_factory=dict)  # signals stored below threshold, per partner type

    def error(self, line: int, column: str | None, reason: str) -> None:
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"line": line, "column": column, "reason": reason})


def _chunks(rows: Iterable[ParsedRow], size: int) -> Iterator[list[ParsedRow]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def intake(
    session: Session,
    *,
    municipality: Municipality,
    vault: BsnVault,
    rows: Iterable[ParsedRow],
    mode: Mode,
    import_id: uuid.UUID,
    now: datetime,
    keep_outcomes: bool = False,
) -> IntakeReport:
    """Store a delivery's signals; returns what happened to each row (counts, errors)."""
    code = municipality.code
    report = IntakeReport()
    seen = SpillSet()  # the delivery's signal ids so far (a million would take 90 MB in a set)
    savepoint = session.begin_nested()
    writing = True
    settings = settings_of(municipality)
    writer = Writer(session, code=code, vault=vault, settings=settings, import_id=import_id, now=now)
    stored_ids = _stored_ids(postgres=on_postgres(session))
    try:
        for chunk in _chunks(rows, CHUNK):
            # A repeat within the delivery: of an earlier chunk (asked once a chunk), or earlier in this one.
            earlier = seen.present(
                [row.signal.external_id for row in chunk if row.signal is not None and not row.errors]
            )
            here: set[str] = set()
            fresh: list[SignalInput] = []
            lines: dict[str, int] = {}
            quarantined: list[dict[str, Any]] = []
            for row in chunk:
                report.total += 1
                if row.errors or row.signal is None:
                    report.rejected += 1
                    for problem in row.errors:
                        report.error(problem.line, problem.column, problem.reason)
                    if keep_outcomes:
                        reason = "; ".join(f"{e.column or 'row'}: {e.reason}" for e in row.errors)
                        report.outcomes.append(RowOutcome(row.line, row.raw.get("signal_id"), "rejected", reason))
                    if mode == "accept-valid":
                        raw = dict(row.raw)
                        if raw.get("bsn"):  # even a mistyped BSN is kept only encrypted
                            raw["bsn"] = vault.encrypt(str(raw["bsn"]), municipality_code=code)
                        quarantined.append(
                            {
                                "id": writer.new_id(),
                                "municipality_code": code,
                                "import_id": import_id,
                                "line": row.line,
                                "raw": raw,
                                "errors": [{"column": e.column, "reason": e.reason} for e in row.errors],
                            }
                        )
                    else:
                        writing = False
                    continue
                signal = row.signal
                if signal.external_id in earlier or signal.external_id in here:
                    report.duplicates += 1
                    if keep_outcomes:
                        report.outcomes.append(
                            RowOutcome(row.line, signal.external_id, "duplicate", "repeated in this delivery")
                        )
                    continue
                here.add(signal.external_id)
                fresh.append(signal)
                if signal.creditor_name:
                    report.creditors.add((signal.creditor_name, signal.partner_type))
                lines[signal.external_id] = row.line
            # Written per chunk, not added to the session: the session would hold every rejected row of
            # the delivery until the commit (100,000 of them took 600 MB).
            insert_rows(session, _QUARANTINE, quarantined)
            seen.add_all(here)
            if not fresh or not writing:
                continue
            stored = set(session.execute(stored_ids, {"code": code, "ids": [s.external_id for s in fresh]}).scalars())
            new = [s for s in fresh if s.external_id not in stored] if stored else fresh
            report.duplicates += len(fresh) - len(new)
            if keep_outcomes:
                for signal in fresh:
                    if signal.external_id in stored:
                        report.outcomes.append(
                            RowOutcome(
                                lines[signal.external_id], signal.external_id, "duplicate", "signal id already received"
                            )
                        )
                    else:
                        report.outcomes.append(RowOutcome(lines[signal.external_id], signal.external_id, "created"))
            if new:
                writer.store(new)
                report.created += len(new)

        if mode == "all-or-nothing" and report.rejected:
            savepoint.rollback()
            report.created = 0
            if keep_outcomes:
                for outcome in report.outcomes:
                    if outcome.outcome == "created":
                        outcome.outcome, outcome.reason = "rejected", "delivery rejected as a whole (all-or-nothing)"
            return report
        writer.finish()
        report.repeats = len(writer.repeats)
        report.below_threshold = dict(sorted(writer.below_threshold.items()))
        report.cases_opened = writer.cases_opened
        report.cases_updated = writer.cases_updated
        savepoint.commit()
        return report
    finally:  # memory and temporary files of the delivery's ids and cases
        seen.close()
        writer.close()


@dataclass(frozen=True)
class Address:
    """A household's address, as a household is created with it."""

    postcode: str | None
    house_number: int | None
    house_number_addition: str | None
    street: str | None
    town: str | None


def regroup(
    session: Session, *, municipality: Municipality, vault: BsnVault, households: dict[str, Address], now: datetime
) -> dict[str, uuid.UUID]:
    """Assess households again exactly as intake does, without a new signal: after a correction
    moved a signal from one address to another, each side is grouped and classified anew (a
    household not known yet is created with its address). Returns the households' ids by key."""
    settings = settings_of(municipality)
    writer = Writer(session, code=municipality.code, vault=vault, settings=settings, import_id=uuid.uuid4(), now=now)
    known = writer.settle({key: [] for key in households}, dict(households))
    writer.finish()
    return known


_SIGNALS = tables.signal
_QUARANTINE = tables.quarantined_row


@functools.cache
def _stored_ids(*, postgres: bool) -> sa.Select[tuple[str]]:
    """The external ids among :ids the municipality :code has stored already (built once)."""
    return sa.select(_SIGNALS.c.external_id).where(
        _SIGNALS.c.municipality_code == sa.bindparam("code"), in_array(_SIGNALS.c.external_id, "ids", postgres=postgres)
    )


def missing_agreements(session: Session, *, code: str, creditors: set[tuple[str, str]]) -> list[dict[str, str]]:
    """Creditors in a delivery that are not in the municipality's register of agreements."""
    if not creditors:
        return []
    registered = {
        (name.lower(), partner_type)
        for name, partner_type in session.execute(
            sa.select(tables.creditor_agreement.c.name, tables.creditor_agreement.c.partner_type).where(
                tables.creditor_agreement.c.municipality_code == code
            )
        )
    }
    return [
        {"creditor": name, "partner_type": partner_type}
        for name, partner_type in sorted(creditors)
        if (name.lower(), partner_type) not in registered
    ]


def new_import(
    *,
    code: str,
    source: str,
    mode: Mode,
    created_by: str,
    now: datetime,
    filename: str | None = None,
    file_format: str | None = None,
    file_sha256: str | None = None,
) -> SignalImport:
    return SignalImport(
        municipality_code=code,
        source=source,
        filename=filename,
        file_format=file_format,
        file_sha256=file_sha256,
        mode=mode,
        status="completed",
        created_by=created_by,
        created_at=now,
    )


def finish_import(record: SignalImport, report: IntakeReport, *, extra: dict[str, Any]) -> SignalImport:
    rejected_whole = record.mode == "all-or-nothing" and report.rejected > 0
    record.status = "rejected" if rejected_whole else "completed"
    if rejected_whole:  # nothing of the file was kept
        metrics.count_import(created=0, duplicates=0, repeats=0, rejected=report.total)
    else:
        metrics.count_import(
            created=report.created, duplicates=report.duplicates, repeats=report.repeats, rejected=report.rejected
        )
    record.total_rows = report.total
    record.created_count = report.created
    record.duplicate_count = report.duplicates
    record.repeat_count = report.repeats
    record.rejected_count = report.rejected
    record.report = {
        "errors": report.errors,
        "errors_truncated": report.rejected > 0 and len(report.errors) >= MAX_REPORTED_ERRORS,
        "cases_opened": report.cases_opened,
        "cases_updated": report.cases_updated,
        "below_threshold": report.below_threshold,
        **extra,
    }
    return record
