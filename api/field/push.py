"""The push: events recorded offline, each placed, reconciled with its case and answered."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.auth.principal import Principal
from api.cases.rules import (
    ATTEMPT_CHANNELS,
    DDAS_RESULTS,
    STATE_KINDS,
    CaseEvent,
    CaseState,
    allowed_events,
    day_part,
    transition,
)
from api.field.devices import note_device
from api.models import Conflict
from api.platform import tables
from api.platform.bulk import in_array, insert_rows, on_postgres, update_rows, written_in
from api.platform.problems import Forbidden
from api.platform.sequence import reserve_change_seqs
from api.signals import status as signal_status
from sync.events import (
    OUTCOME_KINDS,
    Disagreement,
    EventResult,
    Fact,
    OfficeChange,
    PushBatch,
    PushEvent,
    PushResult,
    Reconciled,
    check_payload,
    clock_skewed,
    placed,
    reconcile,
)


def _body_hash(event: PushEvent) -> str:
    body = json.dumps(
        {
            "case_id": str(event.case_id),
            "kind": event.kind,
            "occurred_at": event.occurred_at.isoformat(),
            "base_version": event.base_version,
            "payload": event.payload,
        },
        sort_keys=True,
        separators=(",", ":"),
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


_EVENT_ATTRS = (
    "id",
    "municipality_code",
    "case_id",
    "device_id",
    "author_id",
    "kind",
    "occurred_at",
    "base_version",
    "payload",
    "clock_skew",
    "body_hash",
    "outcome",
)
_CASE_COLUMNS = (
    "id",
    "municipality_code",
    "state",
    "version",
    "opened_at",
    "assigned_worker_id",
    "second_worker_id",
    "purged_at",
)


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
    return note_device(
        {"last_push_at": sa.bindparam("now"), "last_push_event_count": sa.bindparam("count")}, unsent=unsent
    ).returning(tables.device.c.id)


def _push_reads(*, postgres: bool) -> tuple[sa.Select[Any], sa.Select[Any], sa.CompoundSelect[Any]]:
    """The batch's cases, locked in id order, each with whether this device holds it; the batch's
    event ids already stored; and the same with the stored state events of the cases."""
    cs, ev, hd = tables.case, tables.visit_event, tables.device_holding
    held_by_device = sa.exists().where(hd.c.device_id == sa.bindparam("device_id"), hd.c.case_id == cs.c.id)
    cases = (
        sa.select(*(cs.c[name] for name in _CASE_COLUMNS), held_by_device)
        .where(in_array(cs.c.id, "case_ids", postgres=postgres), cs.c.municipality_code == sa.bindparam("code"))
        .order_by(cs.c.id)
        .with_for_update(of=cs)
    )
    columns = (
        ev.c.id,
        ev.c.municipality_code,
        ev.c.outcome,
        ev.c.body_hash,
        ev.c.case_id,
        ev.c.device_id,
        ev.c.author_id,
        ev.c.kind,
        ev.c.occurred_at,
        ev.c.base_version,
        ev.c.payload,
    )
    asked = sa.select(*columns, sa.true().label("asked")).where(in_array(ev.c.id, "event_ids", postgres=postgres))
    # Two index lookups in one statement (with an OR of the two, the plan scanned the table). The
    # kinds in the statement's text, not as parameters: so its plan, even a generic one of the
    # prepared statement, can use the index of state events (models.VisitEvent).
    with_state = sa.union_all(
        asked,
        sa.select(*columns, sa.false().label("asked")).where(
            in_array(ev.c.case_id, "case_ids", postgres=postgres), written_in(ev.c.kind, STATE_KINDS)
        ),
    )
    return cases, asked, with_state


# A push's fixed statements, built once (building them cost more than running them).
_NOTE_PUSH, _NOTE_PUSH_AND_UNSENT = _note_push(unsent=False), _note_push(unsent=True)
_PUSH_READS = {postgres: _push_reads(postgres=postgres) for postgres in (True, False)}


def _verdict(case: _PushCase, events: list[Any], *, resolved: frozenset[frozenset[uuid.UUID]]) -> Reconciled:
    closed = [OfficeChange("closed", case.version)] if case.state == CaseState.CLOSED.value else []
    if not events:
        return _NOTHING
    return reconcile(
        [
            Fact(
                event_id=e.id,
                kind=e.kind,
                occurred_at=e.occurred_at,
                author=str(e.device_id or e.author_id),
                base_version=e.base_version,
                payload=e.payload,
            )
            for e in events
        ],
        office_changes=closed,
        resolved=resolved,
    )


def _outcomes_after_reassignment(case: _PushCase, new_events: list[_NewEvent]) -> list[_NewEvent]:
    """Outcomes from a device that no longer holds the case after a reassignment: recorded on stale ground."""
    return [
        e
        for e in new_events
        if e.author_id not in (case.assigned_worker_id, case.second_worker_id) and e.kind in OUTCOME_KINDS
    ]


def _reconcile_case(
    session: Session,
    case: _PushCase,
    new_events: list[_NewEvent],
    *,
    events: list[Any],
    existing: list[Conflict],
    now: datetime,
    verdict: Reconciled | None = None,
) -> None:
    """Fold the case's state events (cards and notes never change state) and raise new conflicts.

    Sets the outcome of new events that raise a conflict and the case's new state and version;
    the caller gives it a change number and writes them. `verdict`: the rules' answer, when the
    caller already has it (no stored conflicts to take into account).
    """
    resolved = frozenset(
        frozenset(uuid.UUID(i) for i in c.resolution.get("event_ids", []))
        for c in existing
        if c.resolved_at is not None and c.resolution
    )
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
        session.add(
            Conflict(
                municipality_code=case.municipality_code,
                case_id=case.id,
                kind=disagreement.kind,
                opened_at=now,
                sides=[
                    {
                        "event_id": str(i),
                        "device_id": str(by_id[i].device_id) if by_id[i].device_id else None,
                        "author_id": str(by_id[i].author_id),
                        "kind": by_id[i].kind,
                        "occurred_at": by_id[i].occurred_at.isoformat(),
                        "base_version": by_id[i].base_version,
                        "payload": by_id[i].payload,
                    }
                    for i in disagreement.event_ids
                ],
            )
        )
        known.add(ids)
        for i in disagreement.event_ids:
            if i in new_ids:
                by_id[i].outcome = "conflict"
    state = CaseState(case.state)
    if state is not CaseState.CLOSED and not disagreements:
        for case_event in (
            CaseEvent.CONTACT if verdict.reached else None,
            CaseEvent.ACCEPT_HELP if verdict.help == "accepted" else None,
        ):
            if case_event is not None and case_event in allowed_events(state):
                state = transition(state, case_event)
    case.state = state.value
    case.version += 1


_NOTHING = reconcile([])


def _lock_cases(
    session: Session, batch: PushBatch, *, code: str, device_id: uuid.UUID
) -> tuple[dict[uuid.UUID, _PushCase], set[uuid.UUID]]:
    """The batch's cases of this municipality, locked in id order; and those the device holds
    (on its list although no longer assigned to its worker)."""
    cases: dict[uuid.UUID, _PushCase] = {}
    held: set[uuid.UUID] = set()
    case_ids = sorted({event.case_id for event in batch.events}, key=str)
    if not case_ids:
        return cases, held
    read_cases = _PUSH_READS[on_postgres(session)][0]
    for *columns, is_held in session.execute(read_cases, {"case_ids": case_ids, "code": code, "device_id": device_id}):
        cases[columns[0]] = _PushCase(*columns)
        if is_held:
            held.add(columns[0])
    return cases, held


def _read_events(
    session: Session, batch: PushBatch, cases: dict[uuid.UUID, _PushCase]
) -> tuple[dict[uuid.UUID, Any], dict[uuid.UUID, list[Any]]]:
    """One read of visit_event for two things: the batch's ids already stored (duplicates), and
    the stored state events of the batch's cases, which the rules fold."""
    stored: dict[uuid.UUID, Any] = {}
    state_events: dict[uuid.UUID, list[Any]] = defaultdict(list)
    if not batch.events:
        return stored, state_events
    _, read_asked, read_asked_and_state = _PUSH_READS[on_postgres(session)]
    event_ids = sorted({e.event_id for e in batch.events}, key=str)
    query, parameters = (
        (read_asked_and_state, {"event_ids": event_ids, "case_ids": list(cases)})
        if cases
        else (read_asked, {"event_ids": event_ids})
    )
    for found in session.execute(query, parameters):
        if found.asked:
            stored[found.id] = found
        else:
            state_events[found.case_id].append(found)
    return stored, state_events


def _reconcile_touched(
    session: Session,
    cases: dict[uuid.UUID, _PushCase],
    touched: dict[uuid.UUID, list[_NewEvent]],
    state_events: dict[uuid.UUID, list[Any]],
    *,
    now: datetime,
) -> None:
    """Fold each touched case's events through the rules: its new state and version, and the
    conflicts raised or kept.

    Everything the rules need, for all touched cases at once: a batch of 100 events touches
    dozens of cases, and a few queries per case would dominate the push. Conflicts are rare:
    stored ones are read only for cases where the rules see a disagreement at all (what the
    back office resolved only ever removes disagreements)."""
    # Cards and notes never change state (their payloads cannot say `reached`): the rules see state events only.
    facts = {
        case_id: state_events[case_id] + [e for e in new_events if e.kind in STATE_KINDS]
        for case_id, new_events in touched.items()
    }
    first_look = {case_id: _verdict(cases[case_id], facts[case_id], resolved=frozenset()) for case_id in touched}
    disputed = [
        case_id
        for case_id in touched
        if first_look[case_id].conflicts or _outcomes_after_reassignment(cases[case_id], touched[case_id])
    ]
    existing: dict[uuid.UUID, list[Conflict]] = defaultdict(list)
    if disputed:
        for conflict in session.exec(select(Conflict).where(col(Conflict.case_id).in_(disputed))):
            existing[conflict.case_id].append(conflict)
    for case_id, new_events in touched.items():
        stored_conflicts = existing.get(case_id, [])
        _reconcile_case(
            session,
            cases[case_id],
            new_events,
            events=facts[case_id],
            existing=stored_conflicts,
            now=now,
            verdict=None if stored_conflicts else first_look[case_id],
        )


def _store(
    session: Session,
    code: str,
    cases: dict[uuid.UUID, _PushCase],
    touched: dict[uuid.UUID, list[_NewEvent]],
    *,
    now: datetime,
) -> None:
    """Insert the new events, number the touched cases for the phones and write their state."""
    new_rows = [
        {"received_at": now, "change_seq": 0, **{name: getattr(row, name) for name in _EVENT_ATTRS}}
        for rows in touched.values()
        for row in rows
    ]
    if not new_rows:
        return
    touched_ids = list(touched)
    insert_rows(session, tables.visit_event, new_rows)
    session.flush()  # the conflicts raised while reconciling
    # The tenant's change counter last: its row lock is held until commit and every push,
    # pull-visible office action and import of the tenant takes turns on it.
    for case_id, change_seq in zip(touched_ids, reserve_change_seqs(session, code, len(touched_ids)), strict=True):
        cases[case_id].change_seq = change_seq
    update_rows(
        session,
        tables.case,
        [
            {
                "id": case_id,
                "state": cases[case_id].state,
                "version": cases[case_id].version,
                "change_seq": cases[case_id].change_seq,
            }
            for case_id in touched_ids
        ],
    )
    # An attempt picks up the case's signals (most pushes hold one; notes and cards do not).
    signal_status.refresh(
        session,
        {
            row.case_id
            for rows in touched.values()
            for row in rows
            if row.kind in ATTEMPT_CHANNELS and row.outcome == "applied"
        },
        now=now,
    )


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
    # The pure part of checking each event first, before any lock is taken: concurrent pushes
    # wait for each other's locks, so the less that happens while holding them the better.
    checked = [_check_event(event) for event in batch.events]
    device_id = session.execute(
        _NOTE_PUSH if batch.unsent is None else _NOTE_PUSH_AND_UNSENT,
        {"device_id": principal.device_id, "now": now, "count": len(batch.events), "unsent": batch.unsent},
    ).scalar_one()
    code = principal.municipality_code
    cases, held = _lock_cases(session, batch, code=code, device_id=device_id)
    stored, state_events = _read_events(session, batch, cases)
    # By position: an event repeated inside one batch is applied once and a duplicate after.
    results: list[EventResult | None] = [None] * len(batch.events)
    position: dict[uuid.UUID, int] = {}
    touched: dict[uuid.UUID, list[_NewEvent]] = defaultdict(list)
    assert principal.user_id is not None
    for index, (event, (digest, payload, problem, occurred)) in enumerate(zip(batch.events, checked, strict=True)):
        previous = stored.get(event.event_id)
        if previous is not None:
            if previous.body_hash != digest or previous.municipality_code != code:
                results[index] = EventResult(
                    event_id=event.event_id, result="rejected", reason="event id already used for a different event"
                )
            else:
                results[index] = EventResult(
                    event_id=event.event_id, result="duplicate", reason=f"stored before as {previous.outcome}"
                )
            continue
        case = cases.get(event.case_id)
        mine = case is not None and principal.user_id in (case.assigned_worker_id, case.second_worker_id)
        if case is None or case.purged_at is not None or not (mine or case.id in held):
            results[index] = EventResult(event_id=event.event_id, result="rejected", reason="unknown case")
            continue
        if problem is not None:
            results[index] = EventResult(event_id=event.event_id, result="rejected", reason=problem)
            continue
        assert occurred is not None  # an event without a problem has its time
        row = _NewEvent(
            id=event.event_id,
            municipality_code=code,
            case_id=case.id,
            device_id=device_id,
            author_id=principal.user_id,
            kind=event.kind,
            occurred_at=occurred,
            base_version=event.base_version,
            payload=dict(payload),
            clock_skew=clock_skewed(occurred, received_at=now, case_opened_at=case.opened_at),
            body_hash=digest,
        )
        stored[event.event_id] = row
        position[row.id] = index
        touched[case.id].append(row)
    _reconcile_touched(session, cases, touched, state_events, now=now)
    _store(session, code, cases, touched, now=now)
    for rows in touched.values():
        for row in rows:
            results[position[row.id]] = EventResult(
                event_id=row.id,
                result="conflict" if row.outcome == "conflict" else "applied",
                reason="needs review by the back office" if row.outcome == "conflict" else None,
                case_version=cases[row.case_id].version,
            )
    return PushResult(results=[result for result in results if result is not None], server_time=now)
