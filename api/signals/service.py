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

import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session

from api.cases.rules import CaseState, dutch_date, first_contact_deadline
from api.models import Municipality, SignalImport
from api.municipality.policy import MunicipalitySettings, settings_of
from api.platform import metrics, tables
from api.platform.bulk import among, insert_rows, on_postgres, update_rows
from api.platform.sequence import reserve_change_seqs
from api.residents.rules import name_forms, name_key
from api.signals import status as signal_status
from api.signals.bsn import BsnVault
from api.signals.parsing import ParsedRow, SignalInput
from api.signals.rules import (
    STATUS_NOT_YET,
    SignalFacts,
    Threshold,
    assess_household,
    below_threshold,
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
    seen: set[str] = set()
    savepoint = session.begin_nested()
    writing = True
    settings = settings_of(municipality)
    writer = _Writer(session, code=code, vault=vault, settings=settings, import_id=import_id, now=now)
    for chunk in _chunks(rows, CHUNK):
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
            if signal.external_id in seen:
                report.duplicates += 1
                if keep_outcomes:
                    report.outcomes.append(
                        RowOutcome(row.line, signal.external_id, "duplicate", "repeated in this delivery")
                    )
                continue
            seen.add(signal.external_id)
            fresh.append(signal)
            if signal.creditor_name:
                report.creditors.add((signal.creditor_name, signal.partner_type))
            lines[signal.external_id] = row.line
        # Written per chunk, not added to the session: the session would hold every rejected row of
        # the delivery until the commit (100,000 of them took 600 MB).
        insert_rows(session, _QUARANTINE, quarantined)
        if not fresh or not writing:
            continue
        stored = set(
            session.execute(
                sa.select(_SIGNALS.c.external_id).where(
                    _SIGNALS.c.municipality_code == code,
                    among(session, _SIGNALS.c.external_id, [s.external_id for s in fresh]),
                )
            ).scalars()
        )
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
    writer = _Writer(session, code=municipality.code, vault=vault, settings=settings, import_id=uuid.uuid4(), now=now)
    known = writer.settle({key: [] for key in households}, dict(households))
    writer.finish()
    return known


_SIGNALS = tables.signal
_QUARANTINE = tables.quarantined_row
_HOUSEHOLDS = tables.household
_CASES = tables.case
_SIGNAL_COLUMNS = (
    _SIGNALS.c.id,
    _SIGNALS.c.external_id,
    _SIGNALS.c.household_id,
    _SIGNALS.c.case_id,
    _SIGNALS.c.import_id,
    _SIGNALS.c.signal_date,
    _SIGNALS.c.partner_type,
    _SIGNALS.c.creditor_name,
    _SIGNALS.c.arrears_since_date,
    _SIGNALS.c.amount_cents,
    _SIGNALS.c.received_at,
    _SIGNALS.c.crisis,
    _SIGNALS.c.is_repeat,
    _SIGNALS.c.classification,
)


def _uuid4s() -> Iterator[uuid.UUID]:
    """What uuid.uuid4() gives, as an endless supply: one os.urandom call per 4,096 ids, not one each."""
    new = uuid.UUID
    while True:
        block = os.urandom(16 * 4096)
        for start in range(0, len(block), 16):
            yield new(bytes=block[start : start + 16], version=4)


class _Fresh:
    """A signal of this delivery about to be inserted, shaped like a stored row for the rules."""

    __slots__ = (
        "id",
        "external_id",
        "case_id",
        "signal_date",
        "partner_type",
        "creditor_name",
        "arrears_since_date",
        "amount_cents",
        "crisis",
        "row",
    )

    is_repeat = False
    classification = None

    def __init__(self, signal_id: uuid.UUID, signal: SignalInput, row: dict[str, Any]) -> None:
        self.id = signal_id
        self.external_id = signal.external_id
        self.case_id = None
        self.signal_date = signal.signal_date
        self.partner_type = signal.partner_type
        self.creditor_name = signal.creditor_name
        self.arrears_since_date = signal.arrears_since_date
        self.amount_cents = signal.amount_cents
        self.crisis = signal.crisis
        self.row = row


class _Writer:
    """Writes a delivery chunk by chunk, each signal once and with its verdict.

    Per chunk: find or create the households, lock the ones that existed (in a fixed order:
    two deliveries touching one household take turns, and the second sees the first one's
    signals and case), read their stored signals and open cases, assess every household of the
    chunk in memory (its stored signals and the new ones together: classification and repeats
    are order-independent), then insert cases and signals and update what changed. A household
    whose signals are spread over several chunks is re-assessed with each; the last assessment
    sees all of them, so the outcome is the one a single assessment of the whole delivery gives.
    """

    def __init__(
        self,
        session: Session,
        *,
        code: str,
        vault: BsnVault,
        settings: MunicipalitySettings,
        import_id: uuid.UUID,
        now: datetime,
    ) -> None:
        self.session = session
        self.code = code
        self.vault = vault
        self.settings = settings
        self.import_id = import_id
        self.now = now
        self.due = _due_on(dutch_date(now), crisis=False, settings=settings)
        self.crisis_due = _due_on(dutch_date(now), crisis=True, settings=settings)
        self.repeats: set[uuid.UUID] = set()  # this delivery's signals that are repeats
        self.cases_opened = 0
        self.cases_updated = 0
        self.numbered: set[uuid.UUID] = set()  # cases this delivery opened or already gave a new version
        self.renumbered: list[uuid.UUID] = []  # existing cases it changed: they get a change number at the end
        self.written = 0
        self.statistics = _Statistics(session, _LOOKED_UP)
        self.new_id = _uuid4s().__next__
        # Judged by the thresholds in force when the signal came in, like its deadline.
        self.thresholds = settings.rule_thresholds()
        self.below_threshold: Counter[str] = Counter()  # this delivery's signals below threshold, per partner type
        self.objections: set[str] | None = None  # the keyed hashes left by objections, read when first needed

    def store(self, signals: Sequence[SignalInput]) -> None:
        code, now, import_id = self.code, self.now, self.import_id
        digest, encrypt, new_id = self.vault.digester(code), self.vault.encrypter(code), self.new_id
        thresholds, no_threshold, below = self.thresholds, Threshold(), self.below_threshold
        households: dict[str, list[_Fresh]] = {}
        firsts: dict[str, SignalInput] = {}
        for s in signals:
            bsn_digest = digest(s.bsn) if s.bsn else None
            key = household_key(
                postcode=s.postcode,
                house_number=s.house_number,
                addition=s.house_number_addition,
                bsn_digest=bsn_digest,
            )
            signal_id = new_id()
            reason = below_threshold(
                signal_date=s.signal_date,
                arrears_since_date=s.arrears_since_date,
                amount_cents=s.amount_cents,
                threshold=thresholds.get(s.partner_type, no_threshold),
            )
            if reason is not None:
                below[s.partner_type] += 1
            row = {
                "id": signal_id,
                "municipality_code": code,
                "external_id": s.external_id,
                "household_id": None,
                "case_id": None,
                "import_id": import_id,
                "partner_type": s.partner_type,
                "creditor_name": s.creditor_name,
                "amount_cents": s.amount_cents,
                "arrears_since_date": s.arrears_since_date,
                "signal_date": s.signal_date,
                "received_at": now,
                "crisis": s.crisis,
                "warm_handover": s.warm_handover,
                "is_repeat": False,
                "status": STATUS_NOT_YET,
                "classification": None,
                "bsn_ciphertext": encrypt(s.bsn) if s.bsn else None,
                "bsn_digest": bsn_digest,
                "initials": s.initials,
                "prefix": s.prefix,
                "surname": s.surname,
                "birth_date": s.birth_date,
                "gender": s.gender,
                "phone": s.phone,
                "email": s.email,
                "created_at": now,
                "below_threshold": reason is not None,
                "below_threshold_reason": reason and reason.value,
            }
            fresh = _Fresh(signal_id, s, row)
            group = households.get(key)
            if group is None:
                households[key] = [fresh]
                firsts[key] = s
            else:
                group.append(fresh)
        self.settle(households, firsts)

    def settle(self, households: dict[str, list[_Fresh]], addresses: dict[str, Any]) -> dict[str, uuid.UUID]:
        """Find or create each household (by key, with the address it is created with), lock the
        ones that existed, and assess each with its stored signals and the new ones in `households`:
        cases opened, joined or re-classified. With no new signals it re-assesses what is stored
        (a correction that moved a signal). Returns the households' ids by key."""
        session, code, now, import_id, new_id = self.session, self.code, self.now, self.import_id, self.new_id
        firsts = addresses
        known = dict(
            session.execute(
                sa.select(_HOUSEHOLDS.c.address_key, _HOUSEHOLDS.c.id).where(
                    _HOUSEHOLDS.c.municipality_code == code, among(session, _HOUSEHOLDS.c.address_key, list(households))
                )
            ).all()
        )
        existing = sorted(known.values())
        new_households: list[dict[str, Any]] = []
        for key, first in firsts.items():
            if key not in known:
                known[key] = new_id()
                new_households.append(
                    {
                        "id": known[key],
                        "municipality_code": code,
                        "address_key": key,
                        "postcode": first.postcode,
                        "house_number": first.house_number,
                        "house_number_addition": first.house_number_addition,
                        "street": first.street,
                        "town": first.town,
                        "created_at": now,
                    }
                )
        insert_rows(session, _HOUSEHOLDS, new_households)

        stored: dict[uuid.UUID, list[Any]] = defaultdict(list)
        open_cases: dict[uuid.UUID, Any] = {}
        if existing:
            # Lock the households that existed first, in a fixed order. FOR NO KEY UPDATE: the
            # signal inserts take a KEY SHARE lock through the foreign key, which it leaves be.
            session.execute(
                sa.select(_HOUSEHOLDS.c.id)
                .where(among(session, _HOUSEHOLDS.c.id, existing))
                .order_by(_HOUSEHOLDS.c.id)
                .with_for_update(key_share=True)
            ).all()
            for signal in session.execute(
                sa.select(*_SIGNAL_COLUMNS).where(among(session, _SIGNALS.c.household_id, existing))
            ):
                stored[signal.household_id].append(signal)
            open_cases = {
                row.household_id: row
                for row in session.execute(
                    sa.select(
                        _CASES.c.id,
                        _CASES.c.household_id,
                        _CASES.c.classification,
                        _CASES.c.crisis,
                        _CASES.c.first_contact_due_date,
                        _CASES.c.version,
                    )
                    .where(among(session, _CASES.c.household_id, existing), _CASES.c.state != CaseState.CLOSED.value)
                    .with_for_update()
                )
            }

        new_signals: list[dict[str, Any]] = []
        signal_updates: list[dict[str, Any]] = []
        new_cases: list[dict[str, Any]] = []
        renumbered_cases: list[dict[str, Any]] = []  # a new version and change number
        amended_cases: list[dict[str, Any]] = []  # already renumbered by this delivery
        lookback = self.settings.lookback_months
        for key, group in households.items():
            household_id = known[key]
            earlier = stored.get(household_id)
            existing_case = open_cases.get(household_id)
            if earlier is None and existing_case is None and len(group) == 1:
                # The common case, quickly: one signal on a household new to the rules is single,
                # not a repeat, and opens a case of its own.
                fresh = group[0]
                single_case_id = new_id()
                row = fresh.row
                row["household_id"], row["case_id"], row["classification"] = household_id, single_case_id, "single"
                new_signals.append(row)
                new_cases.append(self._new_case(single_case_id, household_id, "single", [fresh], key=key))
                continue
            rows: list[Any] = [*earlier, *group] if earlier else group
            assessment = assess_household(
                [
                    SignalFacts(
                        key=r.external_id,
                        signal_date=r.signal_date,
                        partner_type=r.partner_type,
                        creditor=r.creditor_name,
                        arrears_since_date=r.arrears_since_date,
                        amount_cents=r.amount_cents,
                    )
                    for r in rows
                ],
                lookback_months=lookback,
            )
            joining = [r for r in rows if r.case_id is None and not assessment[r.external_id].is_repeat]
            joining_ids = {r.id for r in joining}
            case_id = existing_case.id if existing_case is not None else (new_id() if joining else None)
            for r in rows:
                verdict = assessment[r.external_id]
                # Repeats join an open case too, but never open one; an earlier delivery's repeat
                # (caseless because no case was open then) stays out of a case opened later.
                if r.case_id is not None:
                    target = r.case_id
                elif type(r) is _Fresh or r.import_id == import_id or r.id in joining_ids:
                    target = case_id
                else:
                    target = None
                if type(r) is _Fresh:
                    row = r.row
                    row["household_id"], row["case_id"] = household_id, target
                    row["classification"], row["is_repeat"] = verdict.kind.value, verdict.is_repeat
                    row["status"] = verdict.status
                    new_signals.append(row)
                    if verdict.is_repeat:
                        self.repeats.add(r.id)
                    continue
                if verdict.kind.value != r.classification or verdict.is_repeat != r.is_repeat or target != r.case_id:
                    signal_updates.append(
                        {
                            "id": r.id,
                            "classification": verdict.kind.value,
                            "is_repeat": verdict.is_repeat,
                            "status": verdict.status,
                            "case_id": target,
                        }
                    )
                    if r.import_id == import_id:
                        (self.repeats.add if verdict.is_repeat else self.repeats.discard)(r.id)
            if case_id is None:
                continue
            members = [r for r in rows if r.case_id == case_id or r.id in joining_ids]
            classification = case_classification(
                [assessment[r.external_id].kind for r in members if not assessment[r.external_id].is_repeat]
            ).value
            if existing_case is None:
                new_cases.append(self._new_case(case_id, household_id, classification, joining, key=key))
                continue
            crisis = existing_case.crisis or any(r.crisis for r in joining)
            due = min([existing_case.first_contact_due_date, *(self._due(r) for r in joining)])
            if not joining and (classification, crisis, due) == (
                existing_case.classification,
                existing_case.crisis,
                existing_case.first_contact_due_date,
            ):
                continue  # a new signal that joins changes the case too (its residents, its arrears)
            change = {"id": case_id, "classification": classification, "crisis": crisis, "first_contact_due_date": due}
            if case_id in self.numbered:
                amended_cases.append(change)
            else:
                self.numbered.add(case_id)
                renumbered_cases.append(change | {"version": existing_case.version + 1})

        self.renumbered.extend(case["id"] for case in renumbered_cases)
        insert_rows(session, _CASES, new_cases)
        insert_rows(session, _SIGNALS, new_signals)
        update_rows(session, _SIGNALS, signal_updates)
        update_rows(session, _CASES, renumbered_cases)
        update_rows(session, _CASES, amended_cases)
        self.cases_opened += len(new_cases)
        self.cases_updated += len(renumbered_cases)
        self.numbered.update(case["id"] for case in new_cases)
        self.written += len(new_signals)
        self.statistics.grew(self.written)
        return known

    def finish(self) -> None:
        """Number the existing cases this delivery changed, so devices holding them learn of it.

        Last, just before the commit: the tenant's change counter is a row lock held until then,
        and every push and office action of the municipality waits for it; taken per chunk, a
        long import would hold up the whole field for as long as it runs."""
        numbers = reserve_change_seqs(self.session, self.code, len(self.renumbered))
        update_rows(
            self.session,
            _CASES,
            [{"id": case_id, "change_seq": number} for case_id, number in zip(self.renumbered, numbers, strict=True)],
        )
        # A signal joining a case that was already attempted is picked up with it (new cases have
        # had no attempt yet: their signals arrive as `Nog niet opgepakt`, as inserted).
        signal_status.refresh(self.session, self.renumbered, now=self.now)

    def _new_case(
        self, case_id: uuid.UUID, household_id: uuid.UUID, classification: str, joining: Sequence[Any], *, key: str
    ) -> dict[str, Any]:
        crisis = any(r.crisis for r in joining)
        return {
            "id": case_id,
            "municipality_code": self.code,
            "household_id": household_id,
            "state": CaseState.NEW.value,
            "classification": classification,
            "crisis": crisis,
            "opened_at": self.now,
            "first_contact_due_date": min(self._due(r) for r in joining),
            "assigned_worker_id": None,
            "second_worker_id": None,
            "result": None,
            "closed_at": None,
            "purged_at": None,
            "version": 1,
            "objection": self._under_objection(key, joining),
            # No change number: no device sees a case before it is assigned, and assigning numbers it.
            "change_seq": 0,
        }

    def _under_objection(self, key: str, joining: Sequence[Any]) -> bool:
        """Whether the household or a person a new case's signals name objected before: matched by
        the keyed hashes an objection's erasure left (`erased_subject`), as a resident search is."""
        if self.objections is None:
            self.objections = set(
                self.session.execute(
                    sa.select(tables.erased_subject.c.digest).where(
                        tables.erased_subject.c.municipality_code == self.code,
                        tables.erased_subject.c.ground == "objection",
                    )
                ).scalars()
            )
        if not self.objections:
            return False
        digest = self.vault.digester(self.code)
        keys = set() if key.startswith("bsn:") else {digest(f"address|{key}")}
        for signal in joining:
            row = signal.row if type(signal) is _Fresh else {}
            if row.get("bsn_digest"):
                keys.add(row["bsn_digest"])
            if row.get("surname") and row.get("birth_date"):
                keys.update(
                    digest(name_key(form, row["birth_date"]))
                    for form in name_forms(prefix=row.get("prefix"), surname=row["surname"])
                )
        return not keys.isdisjoint(self.objections)

    def _due(self, row: Any) -> Any:
        if type(row) is _Fresh:
            return self.crisis_due if row.crisis else self.due
        return _due(row, self.settings)


# The columns the import looks rows up by, per table: what the planner needs to know while a delivery grows them.
_LOOKED_UP = {
    "signal": ("id", "municipality_code", "external_id", "household_id"),
    "household": ("id", "municipality_code", "address_key"),
    "outreach_case": ("id", "household_id", "state"),
}


# The rows the planner knows of the smallest of these tables (pg_class.reltuples, -1 before any ANALYZE).
_KNOWN_ROWS = sa.text(
    "SELECT coalesce(min(greatest(c.reltuples, 0)), 0)::bigint FROM unnest(CAST(:tables AS text[])) AS t (name)"
    " JOIN pg_class c ON c.oid = to_regclass(t.name)"
)


class _Statistics:
    """Keeps PostgreSQL's planner statistics in step while a delivery grows the tables.

    Inside one long transaction autovacuum cannot analyse the new rows, so the planner
    goes on believing a table is as small as it was; `IN (…2000 ids…)` then becomes a
    sequential scan per batch and the import turns quadratic. Analysing each time the rows
    written have doubled costs a few quick samples in all; only the columns the import looks
    rows up by (a third of the time of all columns; autovacuum does the rest after the commit).

    Only once the delivery has doubled what the planner already knows of the smallest table: a
    sample of a table with years of history is no quick one (ANALYZE reads up to 30,000 of its
    pages; at a million cases that was a third of a 10,000-row import), and a delivery that adds
    a few per cent to it changes no plan.
    """

    def __init__(self, session: Session, columns: dict[str, tuple[str, ...]]) -> None:
        self.session = session
        self.statement = sa.text(
            "ANALYZE " + ", ".join(f"{table} ({', '.join(names)})" for table, names in columns.items())
        )
        self.enabled = on_postgres(session)
        known = 0
        if self.enabled:
            known = int(
                session.execute(_KNOWN_ROWS, {"tables": list(columns)}).scalar_one()  # -1: never analysed
            )
        self.next_at = max(ANALYZE_AFTER, known)

    def grew(self, written: int) -> None:
        if self.enabled and written >= self.next_at:
            self.session.execute(self.statement)
            self.next_at = written * 2


def _due(row: Any, settings: MunicipalitySettings) -> date:
    return _due_on(dutch_date(row.received_at), crisis=row.crisis, settings=settings)


def _due_on(received: date, *, crisis: bool, settings: MunicipalitySettings) -> date:
    """The first-contact deadline of a signal received on the Dutch day `received`."""
    return first_contact_deadline(
        received,
        crisis=crisis,
        first_contact_days=settings.first_contact_days,
        crisis_working_days=settings.crisis_first_contact_working_days,
        closing_days=settings.closed_on,
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
