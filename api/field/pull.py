"""The pull: a device's encrypted visit list, whole or what changed since its cursor."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import or_
from sqlmodel import Session, col, select

from api.auth.principal import Principal
from api.cases.rules import AMSTERDAM, ATTEMPT_CHANNELS, Attempt, CaseState, add_working_days, dutch_date, next_action
from api.field.devices import note_device
from api.models import Case
from api.municipality.policy import MunicipalitySettings, settings_of
from api.platform import tables
from api.platform.bulk import in_array, on_postgres, written_in
from api.platform.problems import Forbidden
from sync.cursor import Cursor, decode_cursor, encode_cursor, usable_for
from sync.protocol import (
    Arrear,
    CaseNote,
    PreviousAttempt,
    Removal,
    Resident,
    VisitAddress,
    VisitCase,
    VisitList,
    case_set_checksum,
)


def visit_list_expiry(now: datetime, *, working_days: int, closing_days: frozenset[date] = frozenset()) -> datetime:
    """End of the working day `working_days` after today, Amsterdam time (the default: tomorrow,
    or Monday when pulled on Friday, or after Easter Monday when pulled on Maundy Thursday)."""
    local = dutch_date(now)
    day = add_working_days(local, working_days, closing_days=closing_days) if working_days else local
    return datetime.combine(day, time(23, 59, 59), AMSTERDAM).astimezone(UTC)


def _note_pull(*, unsent: bool) -> sa.Update:
    """The holdings are read and rewritten after this, under the device's row lock. It also reads
    the tenant's change number (the new cursor: read before the cases, so nothing up to it can be
    missing from them) and its settings, all in one statement."""
    dv, ts, mu = tables.device, tables.tenant_sequence, tables.municipality
    code: sa.BindParameter[str] = sa.bindparam("code")
    return note_device({"last_pull_at": sa.bindparam("now")}, unsent=unsent).returning(
        dv.c.id,
        dv.c.public_jwk,
        dv.c.key_thumbprint,
        sa.select(ts.c.last_seq).where(ts.c.municipality_code == code).scalar_subquery().label("last_seq"),
        sa.select(mu.c.settings).where(mu.c.code == code).scalar_subquery().label("settings"),
    )


# A pull's fixed statements, built once (building one costs more than running it here).
_NOTE_PULL, _NOTE_PULL_AND_UNSENT = _note_pull(unsent=False), _note_pull(unsent=True)
_HOLDINGS = sa.select(tables.device_holding.c.case_id, tables.device_holding.c.version).where(
    tables.device_holding.c.device_id == sa.bindparam("device_id")
)
_c, _h = tables.case, tables.household
_VISIBLE = (
    sa.select(
        _c.c.id,
        _c.c.version,
        _c.c.change_seq,
        _c.c.state,
        _c.c.classification,
        _c.c.crisis,
        _c.c.first_contact_due_date,
        _c.c.household_id,
        _c.c.assigned_worker_id,
        _c.c.second_worker_id,
        _h.c.street,
        _h.c.house_number,
        _h.c.house_number_addition,
        _h.c.postcode,
        _h.c.town,
    )
    .select_from(_c.join(_h, _h.c.id == _c.c.household_id))
    .where(
        _c.c.municipality_code == sa.bindparam("code"),
        _c.c.state != CaseState.CLOSED.value,
        _c.c.purged_at.is_(None),
        or_(_c.c.assigned_worker_id == sa.bindparam("worker_id"), _c.c.second_worker_id == sa.bindparam("worker_id")),
    )
    # Walking order, as the planner orders a day list (backoffice.planning.walking_order); the
    # field app orders its stored list the same way, across pulls.
    .order_by(
        sa.func.coalesce(_h.c.postcode, ""),
        sa.func.coalesce(_h.c.street, ""),
        sa.func.coalesce(_h.c.house_number, 0),
        sa.func.coalesce(_h.c.house_number_addition, ""),
        _c.c.id,
    )
)
# Events whose payload may carry words a worker or the office wrote: shown as the case's notes.
NOTE_KINDS = frozenset({*ATTEMPT_CHANNELS, "note", "help_declined", "help_offered", "card_left"})
NOTE_FIELDS = ("text", "reason", "note")


def _visit_reads(*, postgres: bool) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """What a visit list shows of its cases' signals and of their attempts and notes, for a list of case ids."""
    sg, ev = tables.signal, tables.visit_event
    signals = (
        sa.select(
            sg.c.case_id,
            sg.c.is_repeat,
            sg.c.partner_type,
            sg.c.classification,
            sg.c.amount_cents,
            sg.c.initials,
            sg.c.prefix,
            sg.c.surname,
            sg.c.phone,
        )
        .where(in_array(sg.c.case_id, "case_ids", postgres=postgres))
        .order_by(sg.c.signal_date)
    )
    attempts = (
        sa.select(ev.c.case_id, ev.c.kind, ev.c.occurred_at, ev.c.payload, ev.c.outcome)
        .where(in_array(ev.c.case_id, "case_ids", postgres=postgres), written_in(ev.c.kind, NOTE_KINDS))
        .order_by(ev.c.occurred_at)
    )
    return signals, attempts


# By `on_postgres(session)`: an array parameter there, an expanding IN elsewhere.
_VISIT_READS = {postgres: _visit_reads(postgres=postgres) for postgres in (True, False)}


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
    session: Session,
    cases: list[Any],
    of_cases: list[uuid.UUID],
    settings: MunicipalitySettings,
    *,
    worker_id: uuid.UUID | None,
) -> list[VisitCase]:
    """`cases`: rows of the cases with their household's address; `of_cases`: their ids;
    `worker_id`: whose list it is (the other worker of a pair is the duo partner)."""
    if not cases:
        return []
    partners = {
        case.id: case.second_worker_id if case.assigned_worker_id == worker_id else case.assigned_worker_id
        for case in cases
        if case.second_worker_id is not None
    }
    names: dict[uuid.UUID, str] = (
        dict(
            session.execute(
                sa.select(tables.staff_user.c.id, tables.staff_user.c.display_name).where(
                    tables.staff_user.c.id.in_({p for p in partners.values() if p is not None})
                )
            ).all()
        )
        if partners
        else {}
    )
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
            Attempt(
                channel=ATTEMPT_CHANNELS[e.kind],
                reached=bool(e.payload.get("reached")),
                day_part=e.payload.get("day_part"),
            )
            for e in events[case.id]
            if e.outcome == "applied" and e.kind in ATTEMPT_CHANNELS
        ]
        plan = settings.policy.plan_for(classification=case.classification, crisis=case.crisis)
        planned = next_action(
            channels=list(plan.channels),
            max_attempts=plan.max_attempts,
            change_day_part=plan.change_day_part,
            after_last_attempt=plan.after_last_attempt,
            attempts=attempts,
        )
        residents = {
            (s.initials, s.prefix, s.surname, s.phone): Resident(
                initials=s.initials, prefix=s.prefix, surname=s.surname, phone=s.phone
            )
            for s in signals[case.id]
            if s.surname or s.phone
        }
        owed: dict[str, int] = defaultdict(int)
        for s in counted:
            owed[s.partner_type] += s.amount_cents or 0
        result.append(
            VisitCase(
                id=case.id,
                version=case.version,
                state=case.state,
                classification=case.classification,
                crisis=case.crisis,
                first_contact_due_date=case.first_contact_due_date,
                address=VisitAddress(
                    street=case.street,
                    house_number=case.house_number,
                    house_number_addition=case.house_number_addition,
                    postcode=case.postcode,
                    town=case.town,
                ),
                residents=list(residents.values()),
                partner_types=sorted(owed),
                signal_kinds=sorted({s.classification for s in counted if s.classification}),
                total_arrears_cents=sum(owed.values()),
                planned_action=planned.channel if planned else None,
                avoid_day_parts=list(planned.avoid_day_parts) if planned else [],
                previous_attempts=[
                    PreviousAttempt(
                        occurred_at=e.occurred_at,
                        day_part=e.payload.get("day_part"),
                        kind=e.kind,
                        reached=e.payload.get("reached"),
                    )
                    for e in events[case.id]
                    if e.kind in ATTEMPT_CHANNELS
                ],
                paired=case.second_worker_id is not None,
                arrears=[Arrear(partner_type=kind, amount_cents=amount) for kind, amount in sorted(owed.items())],
                duo_partner=names.get(partners[case.id]) if partners.get(case.id) else None,
                notes=[
                    CaseNote(occurred_at=e.occurred_at, kind=e.kind, text=text)
                    for e in events[case.id]
                    for text in [
                        next(
                            (
                                e.payload[f]
                                for f in NOTE_FIELDS
                                if isinstance(e.payload.get(f), str) and e.payload[f].strip()
                            ),
                            None,
                        )
                    ]
                    if text is not None
                ],
            )
        )
    return result


CURSOR_GENERATION = 1


def pull(
    session: Session,
    principal: Principal,
    *,
    cursor_text: str | None,
    checksum: str | None,
    unsent: int | None,
    now: datetime,
) -> tuple[VisitList, Any]:
    """The device's visit list, and the device's `public_jwk` and `key_thumbprint` to seal it with."""
    if principal.device_id is None:
        raise Forbidden(
            "Pulling a visit list needs a device-bound token (POST /v1/devices).", slug="device-token-required"
        )
    # Plain rows throughout: a pull runs for every device several times a day, and ORM
    # objects for 40 cases with their households, signals and events cost more than the rest.
    holdings_table = tables.device_holding
    code = principal.municipality_code
    device = session.execute(
        _NOTE_PULL if unsent is None else _NOTE_PULL_AND_UNSENT,
        {"device_id": principal.device_id, "code": code, "now": now, "unsent": unsent},
    ).one()
    current_seq = device.last_seq
    settings = settings_of(device)
    holdings = dict(session.execute(_HOLDINGS, {"device_id": device.id}).all())
    cursor = decode_cursor(cursor_text)
    expected = case_set_checksum(holdings.items())
    full = (
        not usable_for(
            cursor, tenant=code, generation=CURSOR_GENERATION, oldest_retained_seq=0, current_seq=current_seq
        )
        or (checksum is not None and checksum != expected)
        or not holdings
    )
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
        session.execute(
            holdings_table.delete().where(holdings_table.c.device_id == device.id, holdings_table.c.case_id.in_(gone))
        )
    fresh = [
        {"device_id": device.id, "case_id": c.id, "municipality_code": code, "version": c.version}
        for c in visible
        if c.id not in holdings
    ]
    moved = [
        {"device_id": device.id, "case_id": c.id, "version": c.version}
        for c in visible
        if c.id in holdings and holdings[c.id] != c.version
    ]
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
        cursor=encode_cursor(Cursor(tenant=code, seq=current_seq, generation=CURSOR_GENERATION)),
        full=full,
        upserts=upserts,
        removed=removed,
        expires_at=visit_list_expiry(
            now, working_days=settings.visit_list_working_days, closing_days=settings.closed_on
        ),
        server_time=now,
        idle_lock_minutes=settings.device_idle_lock_minutes,
    )
    return visit_list, device
