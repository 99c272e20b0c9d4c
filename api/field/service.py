"""Use cases of the field: enrolling and revoking devices, the back office's view of them, pulls."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import or_
from sqlmodel import Session, col, select

from api.auth.principal import Principal
from api.bulk import in_array, insert_rows, on_postgres, update_rows, written_in
from api.field.rules import UnacceptableKey, accept_public_jwk
from api.cases.rules import (
    AMSTERDAM, ATTEMPT_CHANNELS, DDAS_RESULTS, STATE_KINDS, Attempt, CaseEvent, CaseState, add_working_days,
    allowed_events, dutch_date, next_action, transition,
)
from api.models import (
    Case, Conflict, Device, DeviceHolding, Household, Municipality, RefreshToken, Signal, StaffUser, TenantSequence,
    VisitEvent,
)
from api.policy import MunicipalitySettings
from api.problems import Conflict as ConflictProblem
from api.problems import Forbidden, NotFound, Unprocessable
from api.tenancy import owned
from api.sequence import next_change_seq, reserve_change_seqs
from api.signals import status as signal_status
from sync.cursor import Cursor, decode_cursor, encode_cursor, usable_for
from sync.events import (
    OUTCOME_KINDS, Disagreement, EventResult, Fact, OfficeChange, PushBatch, PushEvent, PushResult, Reconciled,
    check_payload, clock_skewed, placed, reconcile,
)
from sync.protocol import (
    Arrear, CaseNote, PreviousAttempt, Removal, Resident, VisitAddress, VisitCase, VisitList, case_set_checksum,
)


def enroll(session: Session, principal: Principal, *, public_jwk: dict, label: str, now: datetime) -> tuple[Device, StaffUser]:
    if principal.role != "worker" or principal.user_id is None:
        raise Forbidden("Only outreach workers enroll devices.")
    if principal.device_id is not None:
        # A device enrolled by another device's token would outlive that device's revocation.
        raise Forbidden("Enroll a device with your own sign-in, not with a device's token.", slug="staff-login-required")
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


def sign_in_again(session: Session, principal: Principal, device_id: uuid.UUID, *, now: datetime) -> tuple[Device, StaffUser]:
    """The worker's own device, for a new token pair once its session has ended; the device's
    earlier refresh tokens end here (one session per device)."""
    device = owned(session, Device, device_id, principal, lock=True)
    if device.worker_id != principal.user_id:
        raise NotFound("No such device.")  # another worker's phone: as if it did not exist
    if device.revoked_at is not None:
        raise ConflictProblem("This device was revoked: delete its local data and keys, then enroll again.",
                              slug="device-revoked", wipe=True)
    for token in session.exec(
        select(RefreshToken).where(RefreshToken.device_id == device.id, col(RefreshToken.revoked_at).is_(None))
    ):
        token.revoked_at = now
        session.add(token)
    worker = session.get(StaffUser, device.worker_id)
    assert worker is not None
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

DAY_PARTS = ((0, 12, "ochtend"), (12, 18, "middag"), (18, 24, "avond"))


def visit_list_expiry(now: datetime, *, working_days: int, closing_days: frozenset[date] = frozenset()) -> datetime:
    """End of the working day `working_days` after today, Amsterdam time (the default: tomorrow,
    or Monday when pulled on Friday, or after Easter Monday when pulled on Maundy Thursday)."""
    local = dutch_date(now)
    day = add_working_days(local, working_days, closing_days=closing_days) if working_days else local
    return datetime.combine(day, time(23, 59, 59), AMSTERDAM).astimezone(UTC)


def _note_device(noted: dict[str, Any], *, unsent: bool) -> sa.Update:
    """Lock the device (one sync of a device at a time) and note this sync in its row; with
    `unsent`, also the number of events the device says are still in its outbox."""
    dv = Device.__table__
    if unsent:
        noted = {**noted, "unsent_events_reported": sa.bindparam("unsent")}
    return dv.update().where(dv.c.id == sa.bindparam("device_id")).values(**noted)


def _note_pull(*, unsent: bool) -> sa.Update:
    """The holdings are read and rewritten after this, under the device's row lock. It also reads
    the tenant's change number (the new cursor: read before the cases, so nothing up to it can be
    missing from them) and its settings, all in one statement."""
    dv, ts, mu = Device.__table__, TenantSequence.__table__, Municipality.__table__
    code = sa.bindparam("code")
    return _note_device({"last_pull_at": sa.bindparam("now")}, unsent=unsent).returning(
        dv.c.id, dv.c.public_jwk, dv.c.key_thumbprint,
        sa.select(ts.c.last_seq).where(ts.c.municipality_code == code).scalar_subquery().label("last_seq"),
        sa.select(mu.c.settings).where(mu.c.code == code).scalar_subquery().label("settings"),
    )


# A pull's fixed statements, built once (building one costs more than running it here).
_NOTE_PULL, _NOTE_PULL_AND_UNSENT = _note_pull(unsent=False), _note_pull(unsent=True)
_HOLDINGS = sa.select(DeviceHolding.__table__.c.case_id, DeviceHolding.__table__.c.version).where(
    DeviceHolding.__table__.c.device_id == sa.bindparam("device_id"))
_c, _h = Case.__table__, Household.__table__
_VISIBLE = (
    sa.select(_c.c.id, _c.c.version, _c.c.change_seq, _c.c.state, _c.c.classification, _c.c.crisis,
              _c.c.first_contact_due_date, _c.c.household_id, _c.c.assigned_worker_id, _c.c.second_worker_id,
              _h.c.street, _h.c.house_number, _h.c.house_number_addition, _h.c.postcode, _h.c.town)
    .select_from(_c.join(_h, _h.c.id == _c.c.household_id))
    .where(_c.c.municipality_code == sa.bindparam("code"), _c.c.state != CaseState.CLOSED.value,
           _c.c.purged_at.is_(None),
           or_(_c.c.assigned_worker_id == sa.bindparam("worker_id"), _c.c.second_worker_id == sa.bindparam("worker_id")))
    # Walking order, as the planner orders a day list (backoffice.planning.walking_order); the
    # field app orders its stored list the same way, across pulls.
    .order_by(sa.func.coalesce(_h.c.postcode, ""), sa.func.coalesce(_h.c.street, ""),
              sa.func.coalesce(_h.c.house_number, 0), sa.func.coalesce(_h.c.house_number_addition, ""), _c.c.id)
)
# Events whose payload may carry words a worker or the office wrote: shown as the case's notes.
NOTE_KINDS = frozenset({*ATTEMPT_CHANNELS, "note", "help_declined", "help_offered", "card_left"})
NOTE_FIELDS = ("text", "reason", "note")


def _visit_reads(*, postgres: bool) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """What a visit list shows of its cases' signals and of their attempts and notes, for a list of case ids."""
    sg, ev = Signal.__table__, VisitEvent.__table__
    signals = (sa.select(sg.c.case_id, sg.c.is_repeat, sg.c.partner_type, sg.c.classification, sg.c.amount_cents,
                         sg.c.initials, sg.c.prefix, sg.c.surname, sg.c.phone)
               .where(in_array(sg.c.case_id, "case_ids", postgres=postgres)).order_by(sg.c.signal_date))
    attempts = (sa.select(ev.c.case_id, ev.c.kind, ev.c.occurred_at, ev.c.payload, ev.c.outcome)
                .where(in_array(ev.c.case_id, "case_ids", postgres=postgres), written_in(ev.c.kind, NOTE_KINDS))
                .order_by(ev.c.occurred_at))
    return signals, attempts


# By `on_postgres(session)`: an array parameter there, an expanding IN elsewhere.
_VISIT_READS = {postgres: _visit_reads(postgres=postgres) for postgres in (True, False)}


def pull(
    session: Session, principal: Principal, *, cursor_text: str | None, checksum: str | None, unsent: int | None,
    now: datetime,
) -> tuple[VisitList, Any]:
    """The device's visit list, and the device's `public_jwk` and `key_thumbprint` to seal it with."""
    if principal.device_id is None:
        raise Forbidden("Pulling a visit list needs a device-bound token (POST /v1/devices).", slug="device-token-required")
    # Plain rows throughout: a pull runs for every device several times a day, and ORM
    # objects for 40 cases with their households, signals and events cost more than the rest.
    holdings_table = DeviceHolding.__table__
    code = principal.municipality_code
    device = session.execute(
        _NOTE_PULL if unsent is None else _NOTE_PULL_AND_UNSENT,
        {"device_id": principal.device_id, "code": code, "now": now, "unsent": unsent},
    ).one()
    current_seq = device.last_seq
    settings = MunicipalitySettings.model_validate(device.settings or {})
    holdings = dict(session.execute(_HOLDINGS, {"device_id": device.id}).all())
    cursor = decode_cursor(cursor_text)
    expected = case_set_checksum(holdings.items())
    full = not usable_for(cursor, tenant=code, generation=CURSOR_GENERATION, oldest_retained_seq=0,
                          current_seq=current_seq) or (checksum is not None and checksum != expected) or not holdings
    worker_id = principal.user_id
    visible = session.execute(_VISIBLE, {"code": code, "worker_id": worker_id}).all()
    visible_ids = {case.id for case in visible}
    changed = [case for case in visible if full or case.change_seq > cursor.seq or case.id not in holdings]  # type: ignore[union-attr]
    gone = [case_id for case_id in holdings if case_id not in visible_ids]
    removed = _removals(session, gone, worker_id)
    # By the ids read above, not by re-running the condition: a case closed or reassigned between
    # the two statements (READ COMMITTED) must not come back without its residents and attempts.
    upserts = _visit_cases(session, changed, [case.id for case in changed], settings, worker_id=worker_id)
    if gone:
        session.execute(holdings_table.delete().where(holdings_table.c.device_id == device.id,
                                                      holdings_table.c.case_id.in_(gone)))
    fresh = [{"device_id": device.id, "case_id": c.id, "municipality_code": code, "version": c.version}
             for c in visible if c.id not in holdings]
    moved = [{"device_id": device.id, "case_id": c.id, "version": c.version}
             for c in visible if c.id in holdings and holdings[c.id] != c.version]
    if fresh:
        session.execute(holdings_table.insert(), fresh)
    if moved:
        session.execute(
            holdings_table.update()
            .where(holdings_table.c.device_id == sa.bindparam("d"), holdings_table.c.case_id == sa.bindparam("c"))
            .values(version=sa.bindparam("v")),
            [{"d": m["device_id"], "c": m["case_id"], "v": m["version"]} for m in moved],
        )
    visit_list = VisitList(
        cursor=encode_cursor(Cursor(tenant=code, seq=current_seq, generation=CURSOR_GENERATION)), full=full,
        upserts=upserts, removed=removed,
        expires_at=visit_list_expiry(now, working_days=settings.visit_list_working_days,
                                     closing_days=settings.closed_on), server_time=now,
        idle_lock_minutes=settings.device_idle_lock_minutes,
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


def _visit_cases(
    session: Session, cases: list[Any], of_cases: list[uuid.UUID], settings: MunicipalitySettings, *,
    worker_id: uuid.UUID | None,
) -> list[VisitCase]:
    """`cases`: rows of the cases with their household's address; `of_cases`: their ids;
    `worker_id`: whose list it is (the other worker of a pair is the duo partner)."""
    if not cases:
        return []
    partners = {case.id: case.second_worker_id if case.assigned_worker_id == worker_id else case.assigned_worker_id
                for case in cases if case.second_worker_id is not None}
    names: dict[uuid.UUID, str] = dict(session.execute(  # type: ignore[arg-type]
        sa.select(StaffUser.__table__.c.id, StaffUser.__table__.c.display_name)
        .where(StaffUser.__table__.c.id.in_({p for p in partners.values() if p is not None}))
    ).all()) if partners else {}
    read_signals, read_attempts = _VISIT_READS[on_postgres(session)]
    signals: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in session.execute(read_signals, {"case_ids": of_cases}):
        signals[row.case_id].append(row)
    events: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in session.execute(read_attempts, {"case_ids": of_cases}):
        events[row.case_id].append(row)
    result = []
    for case in cases:
        counted = [s for s in signals[case.id] if not s.is_repeat]
        attempts = [
            Attempt(channel=ATTEMPT_CHANNELS[e.kind], reached=bool(e.payload.get("reached")),
                    day_part=e.payload.get("day_part"))
            for e in events[case.id] if e.outcome == "applied" and e.kind in ATTEMPT_CHANNELS
        ]
        plan = settings.policy.plan_for(classification=case.classification, crisis=case.crisis)
        planned = next_action(channels=list(plan.channels), max_attempts=plan.max_attempts,
                              change_day_part=plan.change_day_part, after_last_attempt=plan.after_last_attempt,
                              attempts=attempts)
        residents = {
            (s.initials, s.prefix, s.surname, s.phone): Resident(initials=s.initials, prefix=s.prefix, surname=s.surname,
                                                                 phone=s.phone)
            for s in signals[case.id]
            if s.surname or s.phone
        }
        owed: dict[str, int] = defaultdict(int)
        for s in counted:
            owed[s.partner_type] += s.amount_cents or 0
        result.append(
            VisitCase(
                id=case.id, version=case.version, state=case.state, classification=case.classification,
                crisis=case.crisis, first_contact_due_date=case.first_contact_due_date,
                address=VisitAddress(street=case.street, house_number=case.house_number,
                                     house_number_addition=case.house_number_addition,
                                     postcode=case.postcode, town=case.town),
                residents=list(residents.values()),
                partner_types=sorted(owed),
                signal_kinds=sorted({s.classification for s in counted if s.classification}),
                total_arrears_cents=sum(owed.values()),
                planned_action=planned.channel if planned else None,
                avoid_day_parts=list(planned.avoid_day_parts) if planned else [],
                previous_attempts=[
                    PreviousAttempt(occurred_at=e.occurred_at, day_part=e.payload.get("day_part"), kind=e.kind,
                                    reached=e.payload.get("reached"))
                    for e in events[case.id] if e.kind in ATTEMPT_CHANNELS
                ],
                paired=case.second_worker_id is not None,
                arrears=[Arrear(partner_type=kind, amount_cents=amount) for kind, amount in sorted(owed.items())],
                duo_partner=names.get(partners[case.id]) if partners.get(case.id) else None,  # type: ignore[arg-type]
                notes=[
                    CaseNote(occurred_at=e.occurred_at, kind=e.kind, text=text)
                    for e in events[case.id]
                    for text in [next((e.payload[f] for f in NOTE_FIELDS if isinstance(e.payload.get(f), str)
                                       and e.payload[f].strip()), None)]
                    if text is not None
                ],
            )
        )
    return result


CURSOR_GENERATION = 1


# --- push: events recorded offline -----------------------------------------------------------


def _body_hash(event: PushEvent) -> str:
    body = json.dumps(
        {"case_id": str(event.case_id), "kind": event.kind, "occurred_at": event.occurred_at.isoformat(),
         "base_version": event.base_version, "payload": event.payload},
        sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(slots=True)
class _PushCase:
    """The columns of a locked case that push reads and writes (plain, no ORM object)."""

    id: uuid.UUID
    municipality_code: str
    state: str
    version: int
    opened_at: datetime
    assigned_worker_id: uuid.UUID | None
    second_worker_id: uuid.UUID | None
    purged_at: datetime | None
    change_seq: int = 0


@dataclass(slots=True)
class _NewEvent:
    """An event of this batch, to be stored as one `visit_event` row."""

    id: uuid.UUID
    municipality_code: str
    case_id: uuid.UUID
    device_id: uuid.UUID
    author_id: uuid.UUID
    kind: str
    occurred_at: datetime
    base_version: int
    payload: dict[str, Any]
    clock_skew: bool
    body_hash: str
    outcome: str = "applied"


_EVENT_ATTRS = ("id", "municipality_code", "case_id", "device_id", "author_id", "kind", "occurred_at", "base_version", "payload",
                "clock_skew", "body_hash", "outcome")
_CASE_COLUMNS = ("id", "municipality_code", "state", "version", "opened_at", "assigned_worker_id", "second_worker_id",
                 "purged_at")


def _check_event(event: PushEvent) -> tuple[str, dict[str, Any], str | None, datetime | None]:
    """What push needs of one event that depends on the event alone: its body hash, the payload
    as stored (with the day part) or why it is refused, and when it happened in UTC (None when
    the server cannot place it at all: then it is refused)."""
    try:
        occurred = placed(event.occurred_at)
    except ValueError as exc:
        return _body_hash(event), {}, str(exc), None
    try:
        payload = check_payload(event.kind, event.payload, results=DDAS_RESULTS)
    except ValueError as exc:
        return _body_hash(event), {}, str(exc), occurred
    if event.kind in ATTEMPT_CHANNELS or event.kind == "card_left":
        payload["day_part"] = day_part(occurred)
    return _body_hash(event), payload, None, occurred


def _note_push(*, unsent: bool) -> sa.Update:
    return _note_device({"last_push_at": sa.bindparam("now"), "last_push_event_count": sa.bindparam("count")},
                        unsent=unsent).returning(Device.__table__.c.id)


def _push_reads(*, postgres: bool) -> tuple[sa.Select[Any], sa.Select[Any], sa.CompoundSelect[Any]]:
    """The batch's cases, locked in id order, each with whether this device holds it; the batch's
    event ids already stored; and the same with the stored state events of the cases."""
    cs, ev, hd = Case.__table__, VisitEvent.__table__, DeviceHolding.__table__
    held_by_device = sa.exists().where(hd.c.device_id == sa.bindparam("device_id"), hd.c.case_id == cs.c.id)
    cases = (sa.select(*(cs.c[name] for name in _CASE_COLUMNS), held_by_device)
             .where(in_array(cs.c.id, "case_ids", postgres=postgres), cs.c.municipality_code == sa.bindparam("code"))
             .order_by(cs.c.id).with_for_update(of=cs))
    columns = (ev.c.id, ev.c.municipality_code, ev.c.outcome, ev.c.body_hash, ev.c.case_id, ev.c.device_id,
               ev.c.author_id, ev.c.kind, ev.c.occurred_at, ev.c.base_version, ev.c.payload)
    asked = sa.select(*columns, sa.true().label("asked")).where(in_array(ev.c.id, "event_ids", postgres=postgres))
    # Two index lookups in one statement (with an OR of the two, the plan scanned the table). The
    # kinds in the statement's text, not as parameters: so its plan, even a generic one of the
    # prepared statement, can use the index of state events (models.VisitEvent).
    with_state = sa.union_all(asked, sa.select(*columns, sa.false().label("asked")).where(
        in_array(ev.c.case_id, "case_ids", postgres=postgres), written_in(ev.c.kind, STATE_KINDS)))
    return cases, asked, with_state


# A push's fixed statements, built once (building them cost more than running them).
_NOTE_PUSH, _NOTE_PUSH_AND_UNSENT = _note_push(unsent=False), _note_push(unsent=True)
_PUSH_READS = {postgres: _push_reads(postgres=postgres) for postgres in (True, False)}


def push(session: Session, principal: Principal, batch: PushBatch, *, now: datetime) -> PushResult:
    """Store a device's events in one transaction: each applied, a duplicate, a conflict or rejected.

    Cases are locked in id order before anything is read, so two pushes touching one case
    take turns (no lost update) and cannot deadlock each other.

    Plain rows and Core statements throughout: a batch of 100 events touching dozens of
    cases would otherwise spend most of its time building and flushing ORM objects.
    """
    if principal.device_id is None:
        raise Forbidden("Pushing events needs a device-bound token.", slug="device-token-required")
    if batch.device_id != principal.device_id:
        raise Forbidden("The batch names another device than the token.", slug="device-mismatch")
    cs, ev = Case.__table__, VisitEvent.__table__
    # The pure part of checking each event first, before any lock is taken: concurrent pushes
    # wait for each other's locks, so the less that happens while holding them the better.
    checked = [_check_event(event) for event in batch.events]
    device_id = session.execute(
        _NOTE_PUSH if batch.unsent is None else _NOTE_PUSH_AND_UNSENT,
        {"device_id": principal.device_id, "now": now, "count": len(batch.events), "unsent": batch.unsent},
    ).scalar_one()
    code = principal.municipality_code
    read_cases, read_asked, read_asked_and_state = _PUSH_READS[on_postgres(session)]
    case_ids = sorted({event.case_id for event in batch.events}, key=str)
    cases: dict[uuid.UUID, _PushCase] = {}
    held: set[uuid.UUID] = set()
    if case_ids:
        for *columns, is_held in session.execute(read_cases, {"case_ids": case_ids, "code": code, "device_id": device_id}):
            cases[columns[0]] = _PushCase(*columns)
            if is_held:
                held.add(columns[0])
    # One read of visit_event for two things: the batch's ids already stored (duplicates), and
    # the stored state events of the batch's cases, which the rules fold below.
    stored: dict[uuid.UUID, Any] = {}
    state_events: dict[uuid.UUID, list[Any]] = defaultdict(list)
    if batch.events:
        event_ids = sorted({e.event_id for e in batch.events}, key=str)
        query, parameters = ((read_asked_and_state, {"event_ids": event_ids, "case_ids": list(cases)}) if cases
                             else (read_asked, {"event_ids": event_ids}))
        for row in session.execute(query, parameters):
            if row.asked:
                stored[row.id] = row
            else:
                state_events[row.case_id].append(row)
    # By position: an event repeated inside one batch is applied once and a duplicate after.
    results: list[EventResult | None] = [None] * len(batch.events)
    position: dict[uuid.UUID, int] = {}
    touched: dict[uuid.UUID, list[_NewEvent]] = defaultdict(list)
    assert principal.user_id is not None
    for index, (event, (digest, payload, problem, occurred)) in enumerate(zip(batch.events, checked)):
        previous = stored.get(event.event_id)
        if previous is not None:
            if previous.body_hash != digest or previous.municipality_code != code:
                results[index] = EventResult(event_id=event.event_id, result="rejected",
                                             reason="event id already used for a different event")
            else:
                results[index] = EventResult(event_id=event.event_id, result="duplicate",
                                             reason=f"stored before as {previous.outcome}")
            continue
        case = cases.get(event.case_id)
        mine = case is not None and principal.user_id in (case.assigned_worker_id, case.second_worker_id)
        if case is None or case.purged_at is not None or not (mine or case.id in held):
            results[index] = EventResult(event_id=event.event_id, result="rejected", reason="unknown case")
            continue
        if problem is not None:
            results[index] = EventResult(event_id=event.event_id, result="rejected", reason=problem)
            continue
        row = _NewEvent(
            id=event.event_id, municipality_code=code, case_id=case.id, device_id=device_id, author_id=principal.user_id, kind=event.kind,
            occurred_at=occurred, base_version=event.base_version, payload=dict(payload),
            clock_skew=clock_skewed(occurred, received_at=now, case_opened_at=case.opened_at), body_hash=digest,
        )
        stored[event.event_id] = row
        position[row.id] = index
        touched[case.id].append(row)
    # Everything the rules need, for all touched cases at once: a batch of 100 events touches
    # dozens of cases, and a few queries per case would dominate the push. Conflicts are rare:
    # stored ones are read only for cases where the rules see a disagreement at all (what the
    # back office resolved only ever removes disagreements).
    touched_ids = list(touched)
    # Cards and notes never change state (their payloads cannot say `reached`): the rules see state events only.
    facts = {case_id: state_events[case_id] + [e for e in new_events if e.kind in STATE_KINDS]
             for case_id, new_events in touched.items()}
    first_look = {case_id: _verdict(cases[case_id], facts[case_id], resolved=frozenset()) for case_id in touched_ids}
    disputed = [case_id for case_id in touched_ids
                if first_look[case_id].conflicts or _outcomes_after_reassignment(cases[case_id], touched[case_id])]
    existing: dict[uuid.UUID, list[Conflict]] = defaultdict(list)
    if disputed:
        for conflict in session.exec(select(Conflict).where(col(Conflict.case_id).in_(disputed))):
            existing[conflict.case_id].append(conflict)
    for case_id, new_events in touched.items():
        stored_conflicts = existing.get(case_id, [])
        _reconcile_case(session, cases[case_id], new_events, events=facts[case_id], existing=stored_conflicts,
                        now=now, verdict=None if stored_conflicts else first_look[case_id])
    new_rows = [
        {"received_at": now, "change_seq": 0,
         **{name: getattr(row, name) for name in _EVENT_ATTRS}}
        for rows in touched.values() for row in rows
    ]
    if new_rows:
        insert_rows(session, ev, new_rows)
        session.flush()  # the conflicts raised above
        # The tenant's change counter last: its row lock is held until commit and every push,
        # pull-visible office action and import of the tenant takes turns on it.
        for case_id, change_seq in zip(touched_ids, reserve_change_seqs(session, code, len(touched_ids)), strict=True):
            cases[case_id].change_seq = change_seq
        update_rows(session, cs, [
            {"id": case_id, "state": cases[case_id].state, "version": cases[case_id].version,
             "change_seq": cases[case_id].change_seq}
            for case_id in touched_ids
        ])
        # An attempt picks up the case's signals (most pushes hold one; notes and cards do not).
        signal_status.refresh(session, {row.case_id for rows in touched.values() for row in rows
                                        if row.kind in ATTEMPT_CHANNELS and row.outcome == "applied"}, now=now)
    for rows in touched.values():
        for row in rows:
            results[position[row.id]] = EventResult(
                event_id=row.id, result="conflict" if row.outcome == "conflict" else "applied",
                reason="needs review by the back office" if row.outcome == "conflict" else None,
                case_version=cases[row.case_id].version,
            )
    return PushResult(results=[result for result in results if result is not None], server_time=now)


def day_part(moment: datetime) -> str:
    """Ochtend before 12:00, middag 12–18, avond from 18:00, Amsterdam time."""
    hour = moment.astimezone(AMSTERDAM).hour
    return next(name for start, end, name in DAY_PARTS if start <= hour < end)


def _verdict(case: _PushCase, events: list[Any], *, resolved: frozenset[frozenset[uuid.UUID]]) -> Reconciled:
    closed = [OfficeChange("closed", case.version)] if case.state == CaseState.CLOSED.value else []
    if not events:
        return _NOTHING
    return reconcile(
        [Fact(event_id=e.id, kind=e.kind, occurred_at=e.occurred_at, author=str(e.device_id or e.author_id),
              base_version=e.base_version, payload=e.payload) for e in events],
        office_changes=closed,
        resolved=resolved,
    )


def _outcomes_after_reassignment(case: _PushCase, new_events: list[_NewEvent]) -> list[_NewEvent]:
    """Outcomes from a device that no longer holds the case after a reassignment: recorded on stale ground."""
    return [e for e in new_events
            if e.author_id not in (case.assigned_worker_id, case.second_worker_id) and e.kind in OUTCOME_KINDS]


def _reconcile_case(
    session: Session, case: _PushCase, new_events: list[_NewEvent], *, events: list[Any], existing: list[Conflict],
    now: datetime, verdict: Reconciled | None = None,
) -> None:
    """Fold the case's state events (cards and notes never change state) and raise new conflicts.

    Sets the outcome of new events that raise a conflict and the case's new state and version;
    the caller gives it a change number and writes them. `verdict`: the rules' answer, when the
    caller already has it (no stored conflicts to take into account).
    """
    resolved = frozenset(frozenset(uuid.UUID(i) for i in c.resolution.get("event_ids", [])) for c in existing
                         if c.resolved_at is not None and c.resolution)
    known = {frozenset(side["event_id"] for side in c.sides) for c in existing}
    new_ids = {event.id for event in new_events}
    if verdict is None:
        verdict = _verdict(case, events, resolved=resolved)
    disagreements = list(verdict.conflicts)
    for event in _outcomes_after_reassignment(case, new_events):
        disagreements.append(Disagreement("outcome-after-reassigned", (event.id,)))
    by_id: dict[uuid.UUID, Any] = {e.id: e for e in events}
    by_id.update((e.id, e) for e in new_events)
    for disagreement in disagreements:
        ids = frozenset(str(i) for i in disagreement.event_ids)
        if not ids & {str(i) for i in new_ids} or ids in known:
            continue
        session.add(Conflict(
            municipality_code=case.municipality_code, case_id=case.id, kind=disagreement.kind, opened_at=now,
            sides=[{"event_id": str(i), "device_id": str(by_id[i].device_id) if by_id[i].device_id else None,
                    "author_id": str(by_id[i].author_id), "kind": by_id[i].kind,
                    "occurred_at": by_id[i].occurred_at.isoformat(), "base_version": by_id[i].base_version,
                    "payload": by_id[i].payload} for i in disagreement.event_ids],
        ))
        known.add(ids)
        for i in disagreement.event_ids:
            if i in new_ids:
                by_id[i].outcome = "conflict"
    state = CaseState(case.state)
    if state is not CaseState.CLOSED and not disagreements:
        for event in (CaseEvent.CONTACT if verdict.reached else None,
                      CaseEvent.ACCEPT_HELP if verdict.help == "accepted" else None):
            if event is not None and event in allowed_events(state):
                state = transition(state, event)
    case.state = state.value
    case.version += 1


_NOTHING = reconcile([])


# --- conflicts: the back office's review queue ---------------------------------------------


def open_conflicts(session: Session, principal: Principal) -> list[Conflict]:
    return list(session.exec(
        select(Conflict).where(Conflict.municipality_code == principal.municipality_code,
                               col(Conflict.resolved_at).is_(None)).order_by(col(Conflict.opened_at))
    ))


def resolve(session: Session, principal: Principal, conflict_id: uuid.UUID, *, decision: str, note: str | None,
            now: datetime) -> Conflict:
    conflict = owned(session, Conflict, conflict_id, principal, lock=True)
    if conflict.resolved_at is not None:
        raise ConflictProblem("This conflict was resolved already.", slug="conflict-resolved")
    case = session.get(Case, conflict.case_id, with_for_update=True)
    assert case is not None
    state = CaseState(case.state)
    if decision == "help_accepted":
        if state is CaseState.NEW or state is CaseState.PLANNED:
            state = transition(state, CaseEvent.CONTACT)
        if CaseEvent.ACCEPT_HELP in allowed_events(state):
            state = transition(state, CaseEvent.ACCEPT_HELP)
    elif decision == "help_declined" and state in (CaseState.NEW, CaseState.PLANNED):
        state = transition(state, CaseEvent.CONTACT)
    conflict.resolved_at = now
    conflict.resolved_by = principal.user_id
    conflict.resolution = {"decision": decision, "note": note, "event_ids": [side["event_id"] for side in conflict.sides]}
    for event in session.exec(select(VisitEvent).where(col(VisitEvent.id).in_(
            [uuid.UUID(side["event_id"]) for side in conflict.sides]))):
        event.outcome = "applied" if decision != "keep_office" else "conflict"
        session.add(event)
    case.state = state.value
    case.version += 1
    case.change_seq = next_change_seq(session, case.municipality_code)  # devices learn the outcome on their next pull
    session.add(case)
    session.add(conflict)
    session.flush()
    signal_status.refresh(session, [case.id], now=now)
    return conflict
