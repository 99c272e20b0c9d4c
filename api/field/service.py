"""Use cases of the field: enrolling and revoking devices, the back office's view of them, pulls."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlmodel import Session, col, select

from api.auth.principal import Principal
from api.field.rules import UnacceptableKey, accept_public_jwk
from api.cases.rules import Attempt, CaseState, add_working_days, next_action
from api.models import (
    Case, Conflict, Device, DeviceHolding, Household, Municipality, RefreshToken, Signal, StaffUser, TenantSequence,
    VisitEvent,
)
from api.policy import MunicipalitySettings
from api.problems import Conflict as ConflictProblem
from api.problems import Forbidden, NotFound, Unprocessable
from api.tenancy import owned
from sync.cursor import Cursor, decode_cursor, encode_cursor, usable_for
from sync.protocol import PreviousAttempt, Removal, Resident, VisitAddress, VisitCase, VisitList, case_set_checksum


def enroll(session: Session, principal: Principal, *, public_jwk: dict, label: str, now: datetime) -> tuple[Device, StaffUser]:
    if principal.role != "worker" or principal.user_id is None:
        raise Forbidden("Only outreach workers enroll devices.")
    try:
        thumbprint = accept_public_jwk(public_jwk)
    except UnacceptableKey as exc:
        raise Unprocessable(f"The public key is not acceptable: {exc}.", slug="unacceptable-key") from exc
    # Lock the worker so two enrolments at once cannot both slip under the limit.
    worker = session.get(StaffUser, principal.user_id, with_for_update=True)
    assert worker is not None
    municipality = session.get(Municipality, principal.municipality_code)
    limit = MunicipalitySettings.model_validate(municipality.settings if municipality else {}).max_devices_per_worker
    active = session.exec(
        select(Device.id).where(Device.worker_id == worker.id, col(Device.revoked_at).is_(None))
    ).all()
    if len(active) >= limit:
        raise ConflictProblem(
            f"You already have {len(active)} active device(s), the most this municipality allows; revoke one first.",
            slug="device-limit", limit=limit,
        )
    device = Device(
        municipality_code=principal.municipality_code, worker_id=worker.id, label=label,
        public_jwk={k: public_jwk[k] for k in ("kty", "n", "e", "alg", "use", "kid") if k in public_jwk},
        key_thumbprint=thumbprint, enrolled_at=now,
    )
    session.add(device)
    session.flush()
    return device, worker


def revoke(session: Session, principal: Principal, device_id: uuid.UUID, *, now: datetime) -> Device:
    device = owned(session, Device, device_id, principal, lock=True)
    if principal.role == "worker" and device.worker_id != principal.user_id:
        raise NotFound("No such device.")  # another worker's phone: as if it did not exist
    if device.revoked_at is None:
        device.revoked_at = now
        device.revoked_by = principal.user_id
        for token in session.exec(
            select(RefreshToken).where(RefreshToken.device_id == device.id, col(RefreshToken.revoked_at).is_(None))
        ):
            token.revoked_at = now
            session.add(token)
        session.add(device)
        session.flush()
    return device


def list_devices(session: Session, principal: Principal) -> list[tuple[Device, StaffUser, int]]:
    query = (
        select(Device, StaffUser)
        .join(StaffUser, col(StaffUser.id) == Device.worker_id)
        .where(Device.municipality_code == principal.municipality_code)
    )
    if principal.role == "worker":
        query = query.where(Device.worker_id == principal.user_id)
    rows = session.exec(query.order_by(col(StaffUser.username), col(Device.enrolled_at))).all()
    pending: Counter[str] = Counter()
    for conflict in session.exec(
        select(Conflict).where(Conflict.municipality_code == principal.municipality_code, col(Conflict.resolved_at).is_(None))
    ):
        for device_id in {str(side.get("device_id")) for side in conflict.sides if side.get("device_id")}:
            pending[device_id] += 1
    return [(device, worker, pending[str(device.id)]) for device, worker in rows]


# --- pull: the encrypted visit list ---------------------------------------------------------

ATTEMPT_KINDS = {"visit_attempt", "card_left", "phone_attempt", "visit", "not_home", "letter_sent"}
DAY_PARTS = ((0, 12, "ochtend"), (12, 18, "middag"), (18, 24, "avond"))
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def visit_list_expiry(now: datetime, *, working_days: int) -> datetime:
    """End of the working day `working_days` after today, Amsterdam time (the default: tomorrow,
    or Monday when pulled on Friday)."""
    local = now.astimezone(AMSTERDAM).date()
    day = add_working_days(local, working_days) if working_days else local
    return datetime.combine(day, time(23, 59, 59), AMSTERDAM).astimezone(UTC)


def pull(
    session: Session, principal: Principal, *, cursor_text: str | None, checksum: str | None, unsent: int | None,
    now: datetime,
) -> tuple[VisitList, Device]:
    if principal.device_id is None:
        raise Forbidden("Pulling a visit list needs a device-bound token (POST /v1/devices).", slug="device-token-required")
    # One pull of a device at a time: its holdings are read and rewritten below.
    device = session.get(Device, principal.device_id, with_for_update=True)
    assert device is not None
    code = principal.municipality_code
    municipality = session.get(Municipality, code)
    settings = MunicipalitySettings.model_validate(municipality.settings if municipality else {})
    current_seq = session.exec(select(TenantSequence.last_seq).where(TenantSequence.municipality_code == code)).one()
    holdings = {
        holding.case_id: holding
        for holding in session.exec(select(DeviceHolding).where(DeviceHolding.device_id == device.id))
    }
    cursor = decode_cursor(cursor_text)
    expected = case_set_checksum((case_id, h.version) for case_id, h in holdings.items())
    full = not usable_for(cursor, tenant=code, generation=CURSOR_GENERATION, oldest_retained_seq=0,
                          current_seq=current_seq) or (checksum is not None and checksum != expected) or not holdings
    worker_id = principal.user_id
    visible = list(
        session.exec(
            select(Case).where(
                Case.municipality_code == code, Case.state != CaseState.CLOSED.value, col(Case.purged_at).is_(None),
                or_(Case.assigned_worker_id == worker_id, Case.second_worker_id == worker_id),
            )
        )
    )
    visible_ids = {case.id for case in visible}
    changed = [case for case in visible if full or case.change_seq > cursor.seq or case.id not in holdings]  # type: ignore[union-attr]
    gone = [case_id for case_id in holdings if case_id not in visible_ids]
    removed = _removals(session, gone, worker_id)
    upserts = _visit_cases(session, changed, settings)
    for case_id in gone:
        session.delete(holdings[case_id])
    for case in visible:
        holding = holdings.get(case.id)
        if holding is None:
            session.add(DeviceHolding(device_id=device.id, case_id=case.id, municipality_code=code, version=case.version))
        elif holding.version != case.version:
            holding.version = case.version
            session.add(holding)
    device.last_pull_at = now
    if unsent is not None:
        device.unsent_events_reported = unsent
    session.add(device)
    session.flush()
    visit_list = VisitList(
        cursor=encode_cursor(Cursor(tenant=code, seq=current_seq, generation=CURSOR_GENERATION)), full=full,
        upserts=upserts, removed=removed,
        expires_at=visit_list_expiry(now, working_days=settings.visit_list_working_days), server_time=now,
    )
    return visit_list, device


def _removals(session: Session, case_ids: list[uuid.UUID], worker_id: uuid.UUID | None) -> list[Removal]:
    cases = {case.id: case for case in session.exec(select(Case).where(col(Case.id).in_(case_ids)))} if case_ids else {}
    removals = []
    for case_id in case_ids:
        case = cases.get(case_id)
        if case is None:
            reason = "unavailable"
        elif case.purged_at is not None:
            reason = "purged"
        elif case.state == CaseState.CLOSED.value:
            reason = "closed"
        elif worker_id not in (case.assigned_worker_id, case.second_worker_id):
            reason = "reassigned"
        else:
            reason = "unavailable"
        removals.append(Removal(case_id=case_id, reason=reason))
    return removals


def _visit_cases(session: Session, cases: list[Case], settings: MunicipalitySettings) -> list[VisitCase]:
    if not cases:
        return []
    ids = [case.id for case in cases]
    households = {h.id: h for h in session.exec(select(Household).where(col(Household.id).in_([c.household_id for c in cases])))}
    signals: dict[uuid.UUID, list[Signal]] = defaultdict(list)
    for signal in session.exec(select(Signal).where(col(Signal.case_id).in_(ids))):
        signals[signal.case_id].append(signal)  # type: ignore[index]
    events: dict[uuid.UUID, list[VisitEvent]] = defaultdict(list)
    for event in session.exec(
        select(VisitEvent).where(col(VisitEvent.case_id).in_(ids), col(VisitEvent.kind).in_(ATTEMPT_KINDS))
        .order_by(col(VisitEvent.occurred_at))
    ):
        events[event.case_id].append(event)
    result = []
    for case in cases:
        household = households[case.household_id]
        counted = [s for s in signals[case.id] if not s.is_repeat]
        attempts = [
            Attempt(channel=_CHANNELS.get(e.kind, "visit"), reached=bool(e.payload.get("reached")),
                    day_part=e.payload.get("day_part"))
            for e in events[case.id] if e.outcome == "applied"
        ]
        plan = settings.policy.plan_for(classification=case.classification, crisis=case.crisis)
        planned = next_action(channels=list(plan.channels), max_attempts=plan.max_attempts,
                              change_day_part=plan.change_day_part, after_last_attempt=plan.after_last_attempt,
                              attempts=attempts)
        residents = {
            (s.initials, s.prefix, s.surname, s.phone): Resident(initials=s.initials, prefix=s.prefix, surname=s.surname,
                                                                 phone=s.phone)
            for s in sorted(signals[case.id], key=lambda s: s.signal_date)
            if s.surname or s.phone
        }
        result.append(
            VisitCase(
                id=case.id, version=case.version, state=case.state, classification=case.classification,
                crisis=case.crisis, first_contact_due_date=case.first_contact_due_date,
                address=VisitAddress(street=household.street, house_number=household.house_number,
                                     house_number_addition=household.house_number_addition,
                                     postcode=household.postcode, town=household.town),
                residents=list(residents.values()),
                partner_types=sorted({s.partner_type for s in counted}),
                signal_kinds=sorted({s.classification for s in counted if s.classification}),
                total_arrears_cents=sum(s.amount_cents or 0 for s in counted),
                planned_action=planned.channel if planned else None,
                avoid_day_parts=list(planned.avoid_day_parts) if planned else [],
                previous_attempts=[
                    PreviousAttempt(occurred_at=e.occurred_at, day_part=e.payload.get("day_part"), kind=e.kind,
                                    reached=e.payload.get("reached"))
                    for e in events[case.id]
                ],
                paired=case.second_worker_id is not None,
            )
        )
    return result


_CHANNELS = {"phone_attempt": "phone", "letter_sent": "letter"}
CURSOR_GENERATION = 1
