"""The writer of one delivery: households found or created and locked, each assessed with the
signals it already has, cases opened, joined or re-classified, and the rows written in bulk.

intake (api.signals.service) feeds it a chunk at a time; a correction that moves a signal
(api.residents.correction) re-assesses through it too.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session

from api.cases.rules import CaseState, dutch_date, first_contact_deadline
from api.municipality.policy import MunicipalitySettings
from api.platform import tables
from api.platform.bulk import in_array, insert_rows, on_postgres, update_rows
from api.platform.sequence import reserve_change_seqs
from api.platform.spill import SpillSet
from api.residents.rules import name_forms, name_key
from api.signals import status as signal_status
from api.signals.bsn import BsnVault
from api.signals.parsing import SignalInput
from api.signals.rules import (
    STATUS_NOT_YET,
    SignalFacts,
    Threshold,
    assess_household,
    below_threshold,
    case_classification,
    household_key,
)

ANALYZE_AFTER = 4_000

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


@dataclass
class _Changes:
    """What one settle decided, written together at its end."""

    new_signals: list[dict[str, Any]] = field(default_factory=list)
    signal_updates: list[dict[str, Any]] = field(default_factory=list)
    new_cases: list[dict[str, Any]] = field(default_factory=list)
    renumbered_cases: list[dict[str, Any]] = field(default_factory=list)  # a new version and change number
    amended_cases: list[dict[str, Any]] = field(default_factory=list)  # already renumbered by this delivery


class Writer:
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
        # Cases this delivery opened or already gave a new version (their ids' bytes): a million rows
        # open some 660,000 cases, so past a limit the set moves to a temporary file.
        self.numbered = SpillSet()
        self.renumbered: list[uuid.UUID] = []  # existing cases it changed: they get a change number at the end
        self.written = 0
        self.statistics = _Statistics(session, _LOOKED_UP)
        self.reads = _reads(postgres=on_postgres(session))
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
        known, existing = self._find_or_create(households, addresses)
        stored, open_cases = self._lock_and_read(existing)
        changes = _Changes()
        new_id = self.new_id
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
                changes.new_signals.append(row)
                changes.new_cases.append(self._new_case(single_case_id, household_id, "single", [fresh], key=key))
                continue
            self._assess(key, household_id, [*earlier, *group] if earlier else group, existing_case, changes)
        self._write(changes)
        return known

    def _find_or_create(
        self, households: dict[str, list[_Fresh]], addresses: dict[str, Any]
    ) -> tuple[dict[str, uuid.UUID], list[uuid.UUID]]:
        """The households' ids by key, new ones inserted with their first address; and the ids of
        those that existed, in a fixed order (the order they are locked in)."""
        session, code = self.session, self.code
        known = dict(session.execute(self.reads.households, {"code": code, "keys": list(households)}).all())
        existing = sorted(known.values())
        new_households: list[dict[str, Any]] = []
        for key, first in addresses.items():
            if key not in known:
                known[key] = self.new_id()
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
                        "created_at": self.now,
                    }
                )
        insert_rows(session, _HOUSEHOLDS, new_households)
        return known, existing

    def _lock_and_read(self, existing: list[uuid.UUID]) -> tuple[dict[uuid.UUID, list[Any]], dict[uuid.UUID, Any]]:
        """Lock the households that existed and read their stored signals and open cases."""
        session = self.session
        stored: dict[uuid.UUID, list[Any]] = defaultdict(list)
        if not existing:
            return stored, {}
        # Lock the households that existed first, in a fixed order. FOR NO KEY UPDATE: the
        # signal inserts take a KEY SHARE lock through the foreign key, which it leaves be.
        reads, ids = self.reads, {"ids": existing}
        session.execute(reads.lock, ids).all()
        for signal in session.execute(reads.signals, ids):
            stored[signal.household_id].append(signal)
        open_cases = {row.household_id: row for row in session.execute(reads.open_cases, ids)}
        return stored, open_cases

    def _assess(
        self, key: str, household_id: uuid.UUID, rows: list[Any], existing_case: Any, changes: _Changes
    ) -> None:
        """Assess one household with all its signals, stored and new: each signal's verdict and
        case, and the case opened or changed, into `changes`."""
        import_id = self.import_id
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
            lookback_months=self.settings.lookback_months,
        )
        joining = [r for r in rows if r.case_id is None and not assessment[r.external_id].is_repeat]
        joining_ids = {r.id for r in joining}
        case_id = existing_case.id if existing_case is not None else (self.new_id() if joining else None)
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
                changes.new_signals.append(row)
                if verdict.is_repeat:
                    self.repeats.add(r.id)
                continue
            if verdict.kind.value != r.classification or verdict.is_repeat != r.is_repeat or target != r.case_id:
                changes.signal_updates.append(
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
            return
        members = [r for r in rows if r.case_id == case_id or r.id in joining_ids]
        classification = case_classification(
            [assessment[r.external_id].kind for r in members if not assessment[r.external_id].is_repeat]
        ).value
        if existing_case is None:
            changes.new_cases.append(self._new_case(case_id, household_id, classification, joining, key=key))
            return
        crisis = existing_case.crisis or any(r.crisis for r in joining)
        due = min([existing_case.first_contact_due_date, *(self._due(r) for r in joining)])
        if not joining and (classification, crisis, due) == (
            existing_case.classification,
            existing_case.crisis,
            existing_case.first_contact_due_date,
        ):
            return  # a new signal that joins changes the case too (its residents, its arrears)
        change = {"id": case_id, "classification": classification, "crisis": crisis, "first_contact_due_date": due}
        if case_id.bytes in self.numbered:
            changes.amended_cases.append(change)
        else:
            self.numbered.add_all((case_id.bytes,))
            changes.renumbered_cases.append(change | {"version": existing_case.version + 1})

    def _write(self, changes: _Changes) -> None:
        """Store what the assessment decided, and count it."""
        session = self.session
        self.renumbered.extend(case["id"] for case in changes.renumbered_cases)
        insert_rows(session, _CASES, changes.new_cases)
        insert_rows(session, _SIGNALS, changes.new_signals)
        update_rows(session, _SIGNALS, changes.signal_updates)
        update_rows(session, _CASES, changes.renumbered_cases)
        update_rows(session, _CASES, changes.amended_cases)
        self.cases_opened += len(changes.new_cases)
        self.cases_updated += len(changes.renumbered_cases)
        self.numbered.add_all(case["id"].bytes for case in changes.new_cases)
        self.written += len(changes.new_signals)
        self.statistics.grew(self.written)

    def close(self) -> None:
        """Forget the cases this delivery numbered (all written by now); `finish` does not need them."""
        self.numbered.close()

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


class _Reads(NamedTuple):
    """The writer's reads, built once: building one cost some 0.6 ms a chunk, running it 15-20."""

    households: sa.Select[Any]  # :code, :keys — households by address key
    lock: sa.Select[Any]  # :ids
    signals: sa.Select[Any]  # :ids — the households' stored signals
    open_cases: sa.Select[Any]  # :ids — the households' open cases, locked


@functools.cache
def _reads(*, postgres: bool) -> _Reads:
    def among(column: sa.ColumnElement[Any], name: str) -> sa.ColumnElement[bool]:
        return in_array(column, name, postgres=postgres)

    return _Reads(
        households=sa.select(_HOUSEHOLDS.c.address_key, _HOUSEHOLDS.c.id).where(
            _HOUSEHOLDS.c.municipality_code == sa.bindparam("code"), among(_HOUSEHOLDS.c.address_key, "keys")
        ),
        lock=sa.select(_HOUSEHOLDS.c.id)
        .where(among(_HOUSEHOLDS.c.id, "ids"))
        .order_by(_HOUSEHOLDS.c.id)
        .with_for_update(key_share=True),
        signals=sa.select(*_SIGNAL_COLUMNS).where(among(_SIGNALS.c.household_id, "ids")),
        open_cases=sa.select(
            _CASES.c.id,
            _CASES.c.household_id,
            _CASES.c.classification,
            _CASES.c.crisis,
            _CASES.c.first_contact_due_date,
            _CASES.c.version,
        )
        .where(among(_CASES.c.household_id, "ids"), _CASES.c.state != CaseState.CLOSED.value)
        .with_for_update(),
    )


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
