"""Use cases of signal intake: store valid signals, group them per household into cases, report.

The import streams: rows arrive from a parser in chunks; each chunk is checked against
stored signal ids, its households are found or created and its signals inserted in bulk.
Afterwards every household the delivery touched is re-assessed as a whole (classification
and repeats are order-independent), and cases are opened, joined or escalated.
All writes of one delivery happen inside a savepoint: in all-or-nothing mode one invalid
row rolls the savepoint back and only the report is stored.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.bulk import insert_rows, update_rows
from api.cases.rules import CaseState, first_contact_deadline
from api.models import Case, CreditorAgreement, Household, Municipality, QuarantinedRow, Signal, SignalImport
from api.policy import MunicipalitySettings
from api.sequence import reserve_change_seqs
from api.signals.bsn import BsnVault
from api.signals.parsing import ParsedRow, SignalInput
from api.signals.rules import (
    STATUS_PICKED_UP,
    SignalFacts,
    assess_household,
    case_classification,
    household_key,
)

Mode = Literal["all-or-nothing", "accept-valid"]
Outcome = Literal["created", "duplicate", "rejected"]
CHUNK = 2000
MAX_REPORTED_ERRORS = 1000
ANALYZE_AFTER = 4_000


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
    seen: set[str] = set()
    touched: set[uuid.UUID] = set()
    savepoint = session.begin_nested()
    writing = True
    statistics = _Statistics(session, ("signal", "household"))
    for chunk in _chunks(rows, CHUNK):
        fresh: list[SignalInput] = []
        lines: dict[str, int] = {}
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
                    session.add(
                        QuarantinedRow(
                            municipality_code=code, import_id=import_id, line=row.line, raw=raw,
                            errors=[{"column": e.column, "reason": e.reason} for e in row.errors],
                        )
                    )
                else:
                    writing = False
                continue
            signal = row.signal
            if signal.external_id in seen:
                report.duplicates += 1
                if keep_outcomes:
                    report.outcomes.append(RowOutcome(row.line, signal.external_id, "duplicate", "repeated in this delivery"))
                continue
            seen.add(signal.external_id)
            fresh.append(signal)
            if signal.creditor_name:
                report.creditors.add((signal.creditor_name, signal.partner_type))
            lines[signal.external_id] = row.line
        if not fresh or not writing:
            continue
        stored = set(
            session.exec(
                select(Signal.external_id).where(
                    Signal.municipality_code == code, col(Signal.external_id).in_([s.external_id for s in fresh])
                )
            )
        )
        new = [s for s in fresh if s.external_id not in stored]
        report.duplicates += len(fresh) - len(new)
        if keep_outcomes:
            for signal in fresh:
                if signal.external_id in stored:
                    report.outcomes.append(
                        RowOutcome(lines[signal.external_id], signal.external_id, "duplicate", "signal id already received")
                    )
                else:
                    report.outcomes.append(RowOutcome(lines[signal.external_id], signal.external_id, "created"))
        if new:
            touched.update(_store(session, code=code, vault=vault, signals=new, import_id=import_id, now=now))
            report.created += len(new)
            statistics.grew(report.created)

    if mode == "all-or-nothing" and report.rejected:
        savepoint.rollback()
        report.created = 0
        if keep_outcomes:
            for outcome in report.outcomes:
                if outcome.outcome == "created":
                    outcome.outcome, outcome.reason = "rejected", "delivery rejected as a whole (all-or-nothing)"
        return report
    settings = MunicipalitySettings.model_validate(municipality.settings)
    _assess_and_group(session, code=code, settings=settings, households=touched, now=now, report=report)
    savepoint.commit()
    return report


def _store(
    session: Session, *, code: str, vault: BsnVault, signals: Sequence[SignalInput], import_id: uuid.UUID, now: datetime
) -> set[uuid.UUID]:
    """Insert households that are new and the signals; returns the households touched."""
    digests = {s.external_id: vault.digest(s.bsn, municipality_code=code) for s in signals if s.bsn}
    keys = {
        s.external_id: household_key(
            postcode=s.postcode, house_number=s.house_number, addition=s.house_number_addition,
            bsn_digest=digests.get(s.external_id),
        )
        for s in signals
    }
    known = dict(
        session.execute(
            sa.select(Household.address_key, Household.id).where(
                Household.municipality_code == code, col(Household.address_key).in_(set(keys.values()))
            )
        ).all()
    )
    new_households: list[dict[str, Any]] = []
    for signal in signals:
        key = keys[signal.external_id]
        if key not in known:
            known[key] = uuid.uuid4()
            new_households.append(
                {
                    "id": known[key], "municipality_code": code, "address_key": key, "postcode": signal.postcode,
                    "house_number": signal.house_number, "house_number_addition": signal.house_number_addition,
                    "street": signal.street, "town": signal.town, "created_at": now,
                }
            )
    insert_rows(session, Household.__table__, new_households)
    insert_rows(
        session,
        Signal.__table__,
        [
            {
                "id": uuid.uuid4(), "municipality_code": code, "external_id": s.external_id,
                "household_id": known[keys[s.external_id]], "case_id": None, "import_id": import_id,
                "partner_type": s.partner_type, "creditor_name": s.creditor_name, "amount_cents": s.amount_cents,
                "arrears_since_date": s.arrears_since_date, "signal_date": s.signal_date, "received_at": now,
                "crisis": s.crisis, "warm_handover": s.warm_handover, "is_repeat": False, "status": STATUS_PICKED_UP,
                "classification": None,
                "bsn_ciphertext": vault.encrypt(s.bsn, municipality_code=code) if s.bsn else None,
                "bsn_digest": digests.get(s.external_id), "initials": s.initials, "prefix": s.prefix,
                "surname": s.surname, "birth_date": s.birth_date, "gender": s.gender, "phone": s.phone,
                "email": s.email, "created_at": now,
            }
            for s in signals
        ],
    )
    return {known[key] for key in keys.values()}


_SIGNAL_COLUMNS = (
    Signal.id, Signal.external_id, Signal.household_id, Signal.case_id, Signal.signal_date, Signal.partner_type,
    Signal.creditor_name, Signal.arrears_since_date, Signal.amount_cents, Signal.received_at, Signal.crisis,
    Signal.is_repeat, Signal.classification,
)


def _assess_and_group(
    session: Session, *, code: str, settings: MunicipalitySettings, households: set[uuid.UUID], now: datetime,
    report: IntakeReport,
) -> None:
    # Plain rows and Core statements: an import touches tens of thousands of cases, and ORM
    # objects would cost more than everything else together.
    ordered = sorted(households)
    cases = Case.__table__
    statistics = _Statistics(session, ("outreach_case",))
    opened = 0
    for start in range(0, len(ordered), 1000):
        batch = ordered[start:start + 1000]
        # Lock the households first, in a fixed order: two deliveries touching one household
        # then take turns, and the second sees the first one's signals and case. FOR NO KEY
        # UPDATE, because both already hold the KEY SHARE lock their signal inserts took through
        # the foreign key; FOR UPDATE would deadlock against it.
        session.execute(
            sa.select(Household.__table__.c.id).where(Household.__table__.c.id.in_(batch))
            .order_by(Household.__table__.c.id).with_for_update(key_share=True)
        ).all()
        signals_by_household: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for row in session.execute(sa.select(*_SIGNAL_COLUMNS).where(col(Signal.household_id).in_(batch))):
            signals_by_household[row.household_id].append(row)
        open_cases = {
            row.household_id: row
            for row in session.execute(
                sa.select(cases.c.id, cases.c.household_id, cases.c.classification, cases.c.crisis,
                          cases.c.first_contact_due_date, cases.c.version)
                .where(cases.c.household_id.in_(batch), cases.c.state != CaseState.CLOSED.value)
                .with_for_update()
            )
        }
        signal_updates: list[dict[str, Any]] = []
        new_cases: list[dict[str, Any]] = []
        changed_cases: list[dict[str, Any]] = []
        for household_id in batch:
            rows = signals_by_household[household_id]
            assessment = assess_household(
                [
                    SignalFacts(
                        key=r.external_id, signal_date=r.signal_date, partner_type=r.partner_type,
                        creditor=r.creditor_name, arrears_since_date=r.arrears_since_date, amount_cents=r.amount_cents,
                    )
                    for r in rows
                ],
                lookback_months=settings.lookback_months,
            )
            joining = [r for r in rows if r.case_id is None and not assessment[r.external_id].is_repeat]
            joining_ids = {r.id for r in joining}
            existing = open_cases.get(household_id)
            case_id = existing.id if existing is not None else (uuid.uuid4() if joining else None)
            for r in rows:
                verdict = assessment[r.external_id]
                # Repeats join an open case too, but never open one.
                target = r.case_id if r.case_id is not None else case_id
                if verdict.kind.value != r.classification or verdict.is_repeat != r.is_repeat or target != r.case_id:
                    signal_updates.append(
                        {"id": r.id, "classification": verdict.kind.value, "is_repeat": verdict.is_repeat,
                         "status": verdict.status, "case_id": target}
                    )
                if verdict.is_repeat and r.classification is None:
                    report.repeats += 1
            if case_id is None:
                continue
            members = [r for r in rows if r.case_id == case_id or r.id in joining_ids]
            classification = case_classification(
                [assessment[r.external_id].kind for r in members if not assessment[r.external_id].is_repeat]
            ).value
            dues = [_due(r, settings) for r in joining]
            if existing is None:
                new_cases.append({
                    "id": case_id, "municipality_code": code, "household_id": household_id,
                    "state": CaseState.NEW.value, "classification": classification,
                    "crisis": any(r.crisis for r in joining), "opened_at": now, "first_contact_due_date": min(dues),
                    "assigned_worker_id": None, "second_worker_id": None, "result": None, "closed_at": None,
                    "purged_at": None, "version": 1,
                })
                continue
            crisis = existing.crisis or any(r.crisis for r in joining)
            due = min([existing.first_contact_due_date, *dues])
            if (classification, crisis, due) != (existing.classification, existing.crisis, existing.first_contact_due_date):
                changed_cases.append({"id": existing.id, "classification": classification, "crisis": crisis,
                                      "first_contact_due_date": due, "version": existing.version + 1})
        sequence = iter(reserve_change_seqs(session, code, len(new_cases) + len(changed_cases)))
        for case in (*new_cases, *changed_cases):
            case["change_seq"] = next(sequence)
        insert_rows(session, cases, new_cases)
        update_rows(session, cases, changed_cases)
        update_rows(session, Signal.__table__, signal_updates)
        report.cases_opened += len(new_cases)
        report.cases_updated += len(changed_cases)
        opened += len(new_cases)
        statistics.grew(opened)


class _Statistics:
    """Keeps PostgreSQL's planner statistics in step while a delivery grows the tables.

    Inside one long transaction autovacuum cannot analyse the new rows, so the planner
    goes on believing a table is as small as it was; `IN (…2000 ids…)` then becomes a
    sequential scan per batch and the import turns quadratic. Analysing each time the rows
    written have doubled costs a few quick samples in all.
    """

    def __init__(self, session: Session, tables: tuple[str, ...]) -> None:
        self.session = session
        self.tables = tables
        self.enabled = session.get_bind().dialect.name == "postgresql"
        self.next_at = ANALYZE_AFTER

    def grew(self, written: int) -> None:
        if self.enabled and written >= self.next_at:
            self.session.execute(sa.text(f"ANALYZE {', '.join(self.tables)}"))
            self.next_at = written * 2


def _due(row: Any, settings: MunicipalitySettings):  # type: ignore[no-untyped-def]
    return first_contact_deadline(
        row.received_at.date(), crisis=row.crisis, first_contact_days=settings.first_contact_days,
        crisis_working_days=settings.crisis_first_contact_working_days,
    )


def missing_agreements(session: Session, *, code: str, creditors: set[tuple[str, str]]) -> list[dict[str, str]]:
    """Creditors in a delivery that are not in the municipality's register of agreements."""
    if not creditors:
        return []
    registered = {
        (name.lower(), partner_type)
        for name, partner_type in session.execute(
            sa.select(CreditorAgreement.name, CreditorAgreement.partner_type).where(
                CreditorAgreement.municipality_code == code
            )
        )
    }
    return [
        {"creditor": name, "partner_type": partner_type}
        for name, partner_type in sorted(creditors)
        if (name.lower(), partner_type) not in registered
    ]


def new_import(
    *, code: str, source: str, mode: Mode, created_by: str, now: datetime, filename: str | None = None,
    file_format: str | None = None, file_sha256: str | None = None,
) -> SignalImport:
    return SignalImport(
        municipality_code=code, source=source, filename=filename, file_format=file_format, file_sha256=file_sha256,
        mode=mode, status="completed", created_by=created_by, created_at=now,
    )


def finish_import(record: SignalImport, report: IntakeReport, *, extra: dict[str, Any]) -> SignalImport:
    rejected_whole = record.mode == "all-or-nothing" and report.rejected > 0
    record.status = "rejected" if rejected_whole else "completed"
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
        **extra,
    }
    return record
