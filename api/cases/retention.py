"""Retention: personal data of cases closed without a trajectory is erased after `retention_months`.

What stays is what the reports count: the case with its classification, dates and result,
its signals' partner type, amount and dates, and contact attempts without free text.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.audit.service import record
from api.auth.principal import Principal
from api.bkr.outbox import enqueue_removal, removals_due
from api.cases.rules import AMSTERDAM, CaseState, due_for_purge, dutch_date, months_before
from api.models import (
    AuditEntry,
    BkrRegistration,
    Case,
    Conflict,
    ErasedSubject,
    Household,
    Municipality,
    QuarantinedRow,
    Signal,
    SignalImport,
    Trajectory,
    VisitEvent,
)
from api.municipality.policy import settings_of
from api.platform.sequence import reserve_change_seqs
from api.residents.rules import name_forms, name_key
from api.signals.bsn import BsnVault

KEPT_EVENT_FIELDS = ("reached", "day_part", "channel", "result", "outcome")
CORRECTION_PERSONAL = ("old", "reason")  # what a correction's audit entry holds of the person


PERSONAL_SIGNAL_FIELDS = dict(
    bsn_ciphertext=None,
    bsn_digest=None,
    initials=None,
    prefix=None,
    surname=None,
    birth_date=None,
    gender=None,
    phone=None,
    email=None,
)


@dataclass
class PurgeResult:
    municipality_code: str
    case_ids: list[uuid.UUID]
    quarantined_rows: int
    caseless_signals: int = 0
    bkr_removals: int = 0


def purge(
    session: Session, vault: BsnVault, *, municipality: Municipality, now: datetime, dry_run: bool
) -> PurgeResult:
    settings = settings_of(municipality)
    today = dutch_date(now)
    cutoff = months_before(today, settings.retention_months)
    before_cutoff = datetime.combine(cutoff, time(), AMSTERDAM)  # the start of that Dutch day
    candidates = session.exec(
        select(Case)
        .where(
            Case.municipality_code == municipality.code,
            Case.state == CaseState.CLOSED.value,
            col(Case.purged_at).is_(None),
            col(Case.closed_at) < before_cutoff,
        )
        .with_for_update()
    ).all()
    with_trajectory = set(
        session.exec(select(Trajectory.case_id).where(col(Trajectory.case_id).in_([c.id for c in candidates])))
    )
    due = [
        case
        for case in candidates
        if due_for_purge(
            state=case.state,
            closed_on=dutch_date(case.closed_at) if case.closed_at else None,
            has_trajectory=case.id in with_trajectory,
            purged=False,
            today=today,
            retention_months=settings.retention_months,
        )
    ]
    old_imports = select(SignalImport.id).where(
        SignalImport.municipality_code == municipality.code, col(SignalImport.created_at) < before_cutoff
    )
    quarantined = session.exec(
        select(sa.func.count()).select_from(QuarantinedRow).where(col(QuarantinedRow.import_id).in_(old_imports))
    ).one()
    # Signals that never opened outreach (repeats without an open case) have no case to close:
    # they go `retention_months` after they were received.
    caseless = session.exec(
        select(Signal.id, Signal.household_id).where(
            Signal.municipality_code == municipality.code,
            col(Signal.case_id).is_(None),
            col(Signal.received_at) < before_cutoff,
            sa.or_(*(getattr(Signal, name).is_not(None) for name in PERSONAL_SIGNAL_FIELDS)),
        )
    ).all()
    removals = removals_due(session, municipality_code=municipality.code, today=today)
    result = PurgeResult(municipality.code, [case.id for case in due], int(quarantined), len(caseless), len(removals))
    if dry_run:
        return result
    for end in removals:  # BKR removes a registration on its removal date: we send it, once
        enqueue_removal(session, end, now=now)
    system = Principal(kind="system", actor_id="retention", municipality_code=municipality.code)
    # Every run leaves its mark, also one that found nothing due: the dashboard shows when
    # retention last ran, so a stopped schedule is seen.
    record(
        session,
        system,
        action="retention.run",
        resource_type="municipality",
        resource_id=municipality.code,
        at=now,
        detail={
            "cases": len(due),
            "signals": len(caseless),
            "quarantined_rows": int(quarantined),
            "bkr_removals": len(removals),
        },
    )
    if not due and not quarantined and not caseless:
        session.flush()
        return result
    erase(session, vault, cases=due, caseless_signal_ids=[row[0] for row in caseless], now=now, ground="retention")
    session.execute(sa.delete(QuarantinedRow).where(col(QuarantinedRow.import_id).in_(old_imports)))
    for case in due:
        record(
            session, system, action="cases.purge", resource_type="case", resource_id=case.id, case_id=case.id, at=now
        )
    if quarantined:
        record(
            session,
            system,
            action="signals.quarantine-purge",
            resource_type="quarantined_row",
            at=now,
            detail={"rows": int(quarantined)},
        )
    for signal_id, _ in caseless:
        record(session, system, action="signals.purge", resource_type="signal", resource_id=signal_id, at=now)
    session.flush()
    return result


def erase(
    session: Session,
    vault: BsnVault,
    *,
    cases: Sequence[Case],
    caseless_signal_ids: Sequence[uuid.UUID],
    now: datetime,
    ground: str,
) -> None:
    """Erase the personal data of `cases` and of signals without a case, as retention does and as
    a resident's erasure does: names, BSN, contact details and free text go; what the reports
    count stays (dates, partner types, amounts, results, attempts without their text). What stays
    of the person is keyed hashes (`ErasedSubject`), and devices drop the cases on their next pull."""
    ids = [case.id for case in cases]
    if not ids and not caseless_signal_ids:
        return
    signals = session.exec(
        select(Signal).where(sa.or_(col(Signal.case_id).in_(ids), col(Signal.id).in_(list(caseless_signal_ids))))
    ).all()
    households = {
        h.id: h
        for h in session.exec(
            select(Household).where(
                col(Household.id).in_({s.household_id for s in signals} | {c.household_id for c in cases})
            )
        )
    }
    _remember(session, vault, signals, households, now=now, ground=ground)
    session.execute(
        sa.update(Signal).where(col(Signal.id).in_([s.id for s in signals])).values(**PERSONAL_SIGNAL_FIELDS)
    )
    for event in session.exec(select(VisitEvent).where(col(VisitEvent.case_id).in_(ids))):
        event.payload = {key: value for key, value in event.payload.items() if key in KEPT_EVENT_FIELDS}
        session.add(event)
    # A BKR registration that never went out (refused, given up) still holds the resident as BKR
    # would have known them; a delivered one was cleared on delivery.
    trajectories = select(Trajectory.id).where(col(Trajectory.case_id).in_(ids))
    session.execute(
        sa.update(BkrRegistration).where(col(BkrRegistration.trajectory_id).in_(trajectories)).values(subject={})
    )
    # A correction kept the old values in the audit trail, and only there: they go with the rest.
    for entry in session.exec(
        select(AuditEntry).where(
            AuditEntry.action == "residents.correction",
            AuditEntry.resource_type == "signal",
            col(AuditEntry.resource_id).in_([str(s.id) for s in signals]),
        )
    ):
        entry.detail = {key: value for key, value in entry.detail.items() if key not in CORRECTION_PERSONAL}
        session.add(entry)
    # Conflicts hold both sides' payloads (notes, reasons) and the office's note on the decision.
    for conflict in session.exec(select(Conflict).where(col(Conflict.case_id).in_(ids))):
        conflict.sides = [
            {
                **side,
                "payload": {
                    key: value for key, value in (side.get("payload") or {}).items() if key in KEPT_EVENT_FIELDS
                },
            }
            for side in conflict.sides
        ]
        if conflict.resolution:
            conflict.resolution = {key: value for key, value in conflict.resolution.items() if key != "note"}
        session.add(conflict)
    if cases:
        sequence = iter(reserve_change_seqs(session, cases[0].municipality_code, len(cases)))
        for case in cases:
            case.purged_at = now
            case.assigned_worker_id = None
            case.second_worker_id = None
            case.version += 1
            case.change_seq = next(sequence)  # devices learn that the case was purged
            session.add(case)
    _forget_households(session, set(households))


def _remember(
    session: Session,
    vault: BsnVault,
    signals: Sequence[Signal],
    households: dict[uuid.UUID, Household],
    *,
    now: datetime,
    ground: str,
) -> None:
    """Keyed hashes of whom the erased signals named (BSN, name with birth date, address): a later
    search finds "erased on …", and an objection is still known when a new signal arrives."""
    seen: set[tuple[str, str, uuid.UUID | None]] = set()
    for signal in signals:
        digest = vault.digester(signal.municipality_code)
        household = households.get(signal.household_id)
        keys = [("bsn", signal.bsn_digest)]
        if signal.surname and signal.birth_date:
            keys.extend(
                ("name", digest(name_key(form, signal.birth_date)))
                for form in name_forms(prefix=signal.prefix, surname=signal.surname)
            )
        if household is not None and not household.address_key.startswith(("purged:", "bsn:")):
            keys.append(("address", digest(f"address|{household.address_key}")))
        for kind, value in keys:
            if value is None or (kind, value, signal.case_id) in seen:
                continue
            seen.add((kind, value, signal.case_id))
            session.add(
                ErasedSubject(
                    municipality_code=signal.municipality_code,
                    kind=kind,
                    digest=value,
                    signal_id=signal.id,
                    case_id=signal.case_id,
                    household_id=signal.household_id,
                    ground=ground,
                    erased_at=now,
                )
            )


def _forget_households(session: Session, household_ids: set[uuid.UUID]) -> None:
    """An address is erased once no case and no signal of the household still needs it."""
    still_needed = set(
        session.exec(
            select(Case.household_id).where(col(Case.household_id).in_(household_ids), col(Case.purged_at).is_(None))
        )
    ) | set(
        session.exec(
            select(Signal.household_id).where(
                col(Signal.household_id).in_(household_ids),
                col(Signal.case_id).is_(None),
                sa.or_(col(Signal.surname).is_not(None), col(Signal.bsn_ciphertext).is_not(None)),
            )
        )
    )
    for household in session.exec(select(Household).where(col(Household.id).in_(household_ids - still_needed))):
        household.address_key = f"purged:{household.id}"
        household.postcode = None
        household.house_number = None
        household.house_number_addition = None
        household.street = None
        household.town = None
        session.add(household)
