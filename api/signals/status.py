"""Signal statuses follow their case: `signals.rules.signal_status` as one UPDATE for many cases."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from api.cases.rules import ATTEMPT_CHANNELS, CaseState
from api.platform import tables
from api.platform.bulk import in_array, on_postgres
from api.signals.rules import (
    NOT_PICKED_UP_RESULTS,
    STATUS_NOT_YET,
    STATUS_OTHER_REASON,
    STATUS_PICKED_UP,
    STATUS_REPEAT,
)

_sg, _cs, _ev = tables.signal, tables.case, tables.visit_event


def _statuses() -> sa.ColumnElement[str]:
    """`signal_status` over a signal row and its case, in SQL (a test holds the two together)."""
    attempted = sa.exists().where(
        _ev.c.case_id == _sg.c.case_id, _ev.c.outcome == "applied", _ev.c.kind.in_(sorted(ATTEMPT_CHANNELS))
    )
    state = sa.select(_cs.c.state).where(_cs.c.id == _sg.c.case_id).scalar_subquery()
    result = sa.select(_cs.c.result).where(_cs.c.id == _sg.c.case_id).scalar_subquery()
    return sa.case(
        (_sg.c.is_repeat, STATUS_REPEAT),
        (attempted, STATUS_PICKED_UP),
        (
            state == CaseState.CLOSED.value,
            sa.case((result.in_(sorted(NOT_PICKED_UP_RESULTS)), result), else_=STATUS_OTHER_REASON),
        ),
        else_=STATUS_NOT_YET,
    )


_STATUS = _statuses()
_REFRESH = {
    postgres: _sg.update()
    .where(in_array(_sg.c.case_id, "case_ids", postgres=postgres), _sg.c.status != _STATUS)
    .values(status=_STATUS, status_changed_at=sa.bindparam("now", type_=_sg.c.status_changed_at.type))
    for postgres in (True, False)
}


def refresh(session: Session, case_ids: Collection[uuid.UUID], *, now: datetime) -> None:
    """Set the status of the signals of `case_ids` from their cases as they stand now: after an
    attempt, a closing, a reopening, a conflict decided, a delivery joining the case. A signal
    whose status changes remembers when (`status_changed_at`: the creditor's feedback)."""
    if case_ids:
        session.execute(_REFRESH[on_postgres(session)], {"case_ids": list(case_ids), "now": now})
