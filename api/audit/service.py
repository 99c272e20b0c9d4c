"""The audit trail: every read or write of personal data appends who, what, which case, when."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col, select

from api.auth.principal import Principal
from api.bulk import on_postgres
from api.logs import request_id_var
from api.models import AuditEntry


def record(
    session: Session,
    principal: Principal,
    *,
    action: str,
    resource_type: str,
    at: datetime,
    resource_id: str | uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction: if the work rolls back, so does its trail.

    `detail` must hold identifiers and counts only, never the personal data itself.
    """
    session.add(
        AuditEntry(
            municipality_code=principal.municipality_code,
            at=at,
            actor_type=principal.kind,
            actor_id=principal.actor_id,
            action=action,
            resource_type=resource_type,
            resource_id=str(resource_id) if resource_id is not None else None,
            case_id=case_id,
            request_id=request_id_var.get(),
            detail=detail or {},
        )
    )


def _case_reads() -> sa.Insert:
    """`INSERT … SELECT` of one entry per case id of an array (PostgreSQL), built once: building
    it took longer than running it."""
    table = AuditEntry.__table__
    case = sa.func.unnest(sa.bindparam("case_ids", type_=postgresql.ARRAY(sa.Uuid))).table_valued("case_id").render_derived()
    values = {name: sa.bindparam(name, type_=table.c[name].type)
              for name in ("municipality_code", "at", "actor_type", "actor_id", "action", "resource_type", "request_id",
                           "detail")}
    values["resource_id"] = sa.cast(case.c.case_id, table.c.resource_id.type)
    values["case_id"] = case.c.case_id
    return table.insert().from_select(list(values), sa.select(*values.values()).select_from(case))


_CASE_READS = _case_reads()


def record_case_reads(
    session: Session, principal: Principal, *, case_ids: Sequence[uuid.UUID], action: str, at: datetime
) -> None:
    """One entry per case, written in one statement (lists and pulls show dozens of cases).

    On PostgreSQL the rows are made by the database from one array of case ids: a pull of 40
    cases then costs one parameter, not 40 rows of ten."""
    if not case_ids:
        return
    request_id = request_id_var.get()
    table = AuditEntry.__table__
    if on_postgres(session):
        session.execute(_CASE_READS, {
            "case_ids": list(case_ids), "municipality_code": principal.municipality_code, "at": at,
            "actor_type": principal.kind, "actor_id": principal.actor_id, "action": action, "resource_type": "case",
            "request_id": request_id, "detail": {},
        })
        return
    session.execute(
        table.insert(),
        [
            {"municipality_code": principal.municipality_code, "at": at, "actor_type": principal.kind,
             "actor_id": principal.actor_id, "action": action, "resource_type": "case", "resource_id": str(case_id),
             "case_id": case_id, "request_id": request_id, "detail": {}}
            for case_id in case_ids
        ],
    )


def search(
    session: Session,
    *,
    municipality_code: str,
    case_id: uuid.UUID | None,
    actor_id: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    after_id: int | None,
    limit: int,
) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.municipality_code == municipality_code)
    if case_id is not None:
        query = query.where(AuditEntry.case_id == case_id)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    if after_id is not None:
        query = query.where(col(AuditEntry.id) > after_id)
    return list(session.exec(query.order_by(col(AuditEntry.id)).limit(limit)))
