"""Correction (rectificatie, AVG art. 16) of a signal's personal fields.

The old values go into the audit trail and nowhere else. A corrected address moves the signal
to the household of the new address and regroups both households exactly as intake does
(`signals.service.regroup`); the cases it touches get a new version, so devices holding them get
the corrected case on their next pull (or `removed`, for one that closed). A BKR registration of
the resident that has not gone out yet goes out with the corrected data; one BKR already holds
gets a correction message through the outbox.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.audit.service import record
from api.auth.principal import Principal
from api.bkr.outbox import enqueue_correction
from api.bkr.rules import ADDRESS_FIELDS, SUBJECT_FIELDS, Person
from api.cases import service as cases
from api.cases.retention import PERSONAL_SIGNAL_FIELDS
from api.cases.rules import CaseState
from api.models import BkrRegistration, Case, Household, Municipality, Signal, Trajectory
from api.platform.problems import Conflict, Unprocessable
from api.platform.tenancy import owned
from api.residents.schemas import SignalCorrected, SignalCorrection
from api.signals.bsn import BsnVault
from api.signals.rules import STATUS_OTHER_REASON, household_key
from api.signals.service import Address, regroup

PERSON_FIELDS = ("initials", "prefix", "surname", "birth_date", "gender")


def _shown(value: object) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def correct(
    session: Session,
    principal: Principal,
    vault: BsnVault,
    signal_id: uuid.UUID,
    body: SignalCorrection,
    *,
    now: datetime,
) -> SignalCorrected:
    signal = owned(session, Signal, signal_id, principal, lock=True)
    household = session.get(Household, signal.household_id, with_for_update=True)
    assert household is not None
    case = session.get(Case, signal.case_id, with_for_update=True) if signal.case_id else None
    if _erased(signal, household, case):
        raise Conflict("This signal's personal data was erased; there is nothing left to correct.", slug="erased")
    current: dict[str, object] = {name: getattr(signal, name) for name in PERSON_FIELDS}
    current |= {name: getattr(household, name) for name in ADDRESS_FIELDS}
    changed = {name: value for name, value in body.changes.items() if current[name] != value}
    if not changed:
        return SignalCorrected(
            signal_id=signal.id,
            changed=[],
            case_id=signal.case_id,
            previous_case_id=signal.case_id,
            household_id=household.id,
            regrouped=False,
            classification=case.classification if case else None,
            bkr=None,
        )
    # Each value as intake parses it (SignalCorrection's validators): typed as the columns are.
    after: dict[str, Any] = current | changed
    address = Address(**{name: after[name] for name in ADDRESS_FIELDS})
    new_key = _household_key(address, bsn_digest=signal.bsn_digest)
    subject_before = Person(**{name: getattr(signal, name) for name in PERSON_FIELDS}).key()
    for name in PERSON_FIELDS:
        if name in changed:
            setattr(signal, name, changed[name])
    session.add(signal)
    previous_case_id = signal.case_id
    municipality = session.get(Municipality, principal.municipality_code)
    assert municipality is not None
    regrouped = new_key != household.address_key
    touched: set[uuid.UUID] = set()
    if not regrouped:
        for name in ADDRESS_FIELDS:  # the same address, spelled right: the household's own record
            if name in changed:
                setattr(household, name, changed[name])
        session.add(household)
        if case is not None:
            touched.add(case.id)
    else:
        _move(
            session,
            municipality=municipality,
            vault=vault,
            signal=signal,
            case=case,
            household=household,
            new_key=new_key,
            address=address,
            principal=principal,
            now=now,
            touched=touched,
        )
    session.flush()
    for case_id in sorted(touched):
        touched_case = session.get(Case, case_id, with_for_update=True)
        if touched_case is not None and touched_case.purged_at is None:
            cases.new_version(session, touched_case, now=now)  # devices get the corrected case on their next pull
    session.refresh(signal)
    bkr = _bkr(session, signal, subject_before=subject_before, now=now)
    final_case = session.get(Case, signal.case_id) if signal.case_id else None
    _audit(
        session,
        principal,
        signal,
        previous_case_id=previous_case_id,
        old={name: current[name] for name in changed},
        reason=body.reason,
        regrouped=regrouped,
        bkr=bkr,
        now=now,
    )
    return SignalCorrected(
        signal_id=signal.id,
        changed=sorted(changed),
        case_id=signal.case_id,
        previous_case_id=previous_case_id,
        household_id=signal.household_id,
        regrouped=regrouped,
        classification=final_case.classification if final_case else None,
        bkr=bkr,
    )


def _erased(signal: Signal, household: Household, case: Case | None) -> bool:
    """Whether the signal's personal data is gone: its case purged, or (without a case) its
    household's address or all of its own personal fields."""
    if case is not None:
        return case.purged_at is not None
    return household.address_key.startswith("purged:") or all(
        getattr(signal, name) is None for name in PERSONAL_SIGNAL_FIELDS
    )


def _household_key(address: Address, *, bsn_digest: str | None) -> str:
    """The key of the household the corrected signal belongs to, as intake groups it; 422 for an
    address intake would refuse."""
    if (address.postcode is None) != (address.house_number is None):
        missing = "house_number" if address.house_number is None else "postcode"
        raise Unprocessable(
            "An address needs both a postcode and a house number.",
            errors=[{"pointer": f"/body/{missing}", "detail": "required with the other", "code": "missing"}],
        )
    try:
        return household_key(
            postcode=address.postcode,
            house_number=address.house_number,
            addition=address.house_number_addition,
            bsn_digest=bsn_digest,
        )
    except ValueError:
        raise Unprocessable(
            "Without a BSN the signal needs an address.",
            errors=[{"pointer": "/body/postcode", "detail": "required: the signal has no BSN", "code": "missing"}],
        ) from None


def _audit(
    session: Session,
    principal: Principal,
    signal: Signal,
    *,
    previous_case_id: uuid.UUID | None,
    old: dict[str, object],
    reason: str,
    regrouped: bool,
    bkr: Literal["registration-updated", "correction-queued"] | None,
    now: datetime,
) -> None:
    """The correction in the audit trail, with the old values (and nowhere else); a signal that
    moved to another case is recorded on that case too."""
    fields = sorted(old)
    record(
        session,
        principal,
        action="residents.correction",
        resource_type="signal",
        resource_id=signal.id,
        case_id=previous_case_id,
        at=now,
        detail={
            "reason": reason.strip(),
            "fields": fields,
            "old": {name: _shown(old[name]) for name in fields},
            "regrouped": regrouped,
            "case_after": str(signal.case_id) if signal.case_id else None,
            "bkr": bkr,
        },
    )
    if signal.case_id is not None and signal.case_id != previous_case_id:
        record(
            session,
            principal,
            action="residents.correction",
            resource_type="signal",
            resource_id=signal.id,
            case_id=signal.case_id,
            at=now,
            detail={"fields": fields, "moved_from": str(previous_case_id)},
        )
    session.flush()


def _move(
    session: Session,
    *,
    municipality: Municipality,
    vault: BsnVault,
    signal: Signal,
    case: Case | None,
    household: Household,
    new_key: str,
    address: Address,
    principal: Principal,
    now: datetime,
    touched: set[uuid.UUID],
) -> None:
    """The signal goes to the household of its corrected address, and both households are grouped
    again as on intake. An open case that is only this signal's moves with it (it keeps its
    deadline, attempts and assignment: the worker's phone gets the right address); otherwise the
    signal leaves its case and joins the new household's open case, or opens one. A closed case
    is history: the signal keeps it (it is not re-assessed, so what was reported stays true)."""
    old_key = household.address_key
    old_address = Address(**{name: getattr(household, name) for name in ADDRESS_FIELDS})
    target = regroup(session, municipality=municipality, vault=vault, households={new_key: address}, now=now)[new_key]
    others = (
        session.exec(
            select(sa.func.count()).select_from(Signal).where(Signal.case_id == case.id, Signal.id != signal.id)
        ).one()
        if case is not None
        else 0
    )
    open_there = session.exec(
        select(Case.id).where(
            Case.household_id == target, Case.state != CaseState.CLOSED.value, col(Case.purged_at).is_(None)
        )
    ).first()
    signal.household_id = target
    emptied: Case | None = None
    if case is not None and case.state == CaseState.CLOSED.value:
        if not others:
            case.household_id = target
            session.add(case)
    elif case is not None and not others and open_there is None:
        case.household_id = target
        session.add(case)
        touched.add(case.id)
    elif case is not None:
        signal.case_id = None  # regrouping below puts it in the new household's case
        touched.add(case.id)
        emptied = case if not others else None
    session.add(signal)
    session.flush()
    regroup(
        session, municipality=municipality, vault=vault, households={new_key: address, old_key: old_address}, now=now
    )
    session.expire_all()
    if emptied is not None:
        # Nothing of the case is left at the wrong address: it ends, and the signal is picked up
        # in the case of the address it belongs to.
        cases.close(session, principal, emptied.id, result=STATUS_OTHER_REASON, base_version=None, now=now)
        touched.discard(emptied.id)
    moved = session.get(Signal, signal.id)
    if moved is not None and moved.case_id is not None:
        touched.add(moved.case_id)
    _forget_if_unused(session, household.id)


def _forget_if_unused(session: Session, household_id: uuid.UUID) -> None:
    """The wrong address is kept nowhere once no signal names it (the audit trail keeps it): the
    household goes, or, where a closed case still counts in the reports, its address does."""
    if session.exec(select(Signal.id).where(Signal.household_id == household_id)).first() is not None:
        return
    if session.exec(select(Case.id).where(Case.household_id == household_id)).first() is None:
        session.execute(sa.delete(Household).where(col(Household.id) == household_id))
        return
    session.execute(
        sa.update(Household)
        .where(col(Household.id) == household_id)
        .values(
            address_key=f"purged:{household_id}",
            postcode=None,
            house_number=None,
            house_number_addition=None,
            street=None,
            town=None,
        )
    )


def _bkr(
    session: Session, signal: Signal, *, subject_before: tuple[str, date | None, str], now: datetime
) -> Literal["registration-updated", "correction-queued"] | None:
    """The resident's BKR registration, if this signal's person is the one registered: not gone out
    yet, it goes out corrected; held by BKR, a correction message follows it."""
    if signal.case_id is None:
        return None
    trajectory = session.exec(select(Trajectory).where(Trajectory.case_id == signal.case_id)).first()
    if trajectory is None:
        return None
    rows = {
        row.action: row
        for row in session.exec(
            select(BkrRegistration)
            .where(BkrRegistration.trajectory_id == trajectory.id, BkrRegistration.action != "correct")
            .with_for_update()
        )
    }
    registration = rows.get("register")
    if registration is None or "remove" in rows:
        return None
    if registration.subject:
        registered = registration.subject.get("person", {})
        born = registered.get("birth_date")
        if (
            Person(
                **{name: registered.get(name) for name in SUBJECT_FIELDS[:3]},
                gender=None,
                birth_date=date.fromisoformat(born) if born else None,
            ).key()
            != subject_before
        ):
            return None  # the registration names another resident of the household
    else:
        named = {
            Person(**{name: getattr(s, name) for name in SUBJECT_FIELDS}).key()
            for s in session.exec(
                select(Signal).where(
                    Signal.case_id == signal.case_id, Signal.id != signal.id, col(Signal.surname).is_not(None)
                )
            )
        }
        if named - {subject_before}:
            return None  # several residents: the registered one is not known to be this one
    household = session.get(Household, signal.household_id)
    assert household is not None
    person = {name: _shown(getattr(signal, name)) for name in SUBJECT_FIELDS}
    subject = {"person": person, "address": {name: getattr(household, name) for name in ADDRESS_FIELDS}}
    if registration.status == "pending" and registration.attempts == 0:
        registration.subject = subject
        session.add(registration)
        return "registration-updated"
    waiting = session.exec(
        select(BkrRegistration).where(
            BkrRegistration.trajectory_id == trajectory.id,
            BkrRegistration.action == "correct",
            BkrRegistration.status == "pending",
            BkrRegistration.attempts == 0,
        )
    ).first()
    if waiting is not None:  # one correction not sent yet: it carries the latest data
        waiting.subject = subject
        session.add(waiting)
    else:
        enqueue_correction(session, registration, subject=subject, now=now)
    return "correction-queued"
