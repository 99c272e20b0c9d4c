"""The audit trail: every read or write of personal data appends who, what, which case, when."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api import __version__
from api.audit.activities import activity_for
from api.audit.rules import Actor, Entry, ldv_record
from api.auth.principal import Principal
from api.models import AuditEntry, Case, Municipality, PartnerClient, StaffUser
from api.platform import tables
from api.platform.bulk import on_postgres
from api.platform.logs import request_id_var


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
    table = tables.audit_entry
    case = (
        sa.func.unnest(sa.bindparam("case_ids", type_=postgresql.ARRAY(sa.Uuid)))
        .table_valued("case_id")
        .render_derived()
    )
    values: dict[str, sa.ColumnElement[Any]] = {
        name: sa.bindparam(name, type_=table.c[name].type)
        for name in (
            "municipality_code",
            "at",
            "actor_type",
            "actor_id",
            "action",
            "resource_type",
            "request_id",
            "detail",
        )
    }
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
    table = tables.audit_entry
    if on_postgres(session):
        session.execute(
            _CASE_READS,
            {
                "case_ids": list(case_ids),
                "municipality_code": principal.municipality_code,
                "at": at,
                "actor_type": principal.kind,
                "actor_id": principal.actor_id,
                "action": action,
                "resource_type": "case",
                "request_id": request_id,
                "detail": {},
            },
        )
        return
    session.execute(
        table.insert(),
        [
            {
                "municipality_code": principal.municipality_code,
                "at": at,
                "actor_type": principal.kind,
                "actor_id": principal.actor_id,
                "action": action,
                "resource_type": "case",
                "resource_id": str(case_id),
                "case_id": case_id,
                "request_id": request_id,
                "detail": {},
            }
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
    data_subject: uuid.UUID | None = None,
) -> list[AuditEntry]:
    query = _filtered(
        select(AuditEntry),
        municipality_code=municipality_code,
        case_id=case_id,
        actor_id=actor_id,
        action=action,
        since=since,
        until=until,
        data_subject=data_subject,
    )
    if after_id is not None:
        query = query.where(col(AuditEntry.id) > after_id)
    return list(session.exec(query.order_by(col(AuditEntry.id)).limit(limit)))


def _filtered(
    query: Any,
    *,
    municipality_code: str,
    case_id: uuid.UUID | None,
    actor_id: str | None,
    action: str | None,
    since: datetime | None,
    until: datetime | None,
    data_subject: uuid.UUID | None,
) -> Any:
    query = query.where(AuditEntry.municipality_code == municipality_code)
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
    if data_subject is not None:
        # Through the case: every entry about a household's personal data names its case.
        query = query.where(col(AuditEntry.case_id).in_(select(Case.id).where(Case.household_id == data_subject)))
    return query


def ldv_export(
    engine: Engine,
    *,
    municipality_code: str,
    case_id: uuid.UUID | None,
    actor_id: str | None,
    data_subject: uuid.UUID | None,
    since: datetime | None,
    until: datetime | None,
    batch: int = 1000,
) -> Iterator[bytes]:
    """The trail as a JSON array of Logboek Dataverwerkingen records, oldest first, written while it
    is read: `batch` entries at a time by id, so memory stays flat however long the trail.

    Its own session (a streamed body outlives the request's, which has committed by then); on
    PostgreSQL one REPEATABLE READ transaction, so pages do not shift under concurrent writes."""
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        actors = _Actors(session, municipality_code)
        query = _filtered(
            select(AuditEntry, Case.household_id).outerjoin(Case, col(Case.id) == col(AuditEntry.case_id)),
            municipality_code=municipality_code,
            case_id=case_id,
            actor_id=actor_id,
            action=None,
            since=since,
            until=until,
            data_subject=data_subject,
        ).order_by(col(AuditEntry.id))
        after = 0
        separator = b"[\n"
        while True:
            rows = session.exec(query.where(col(AuditEntry.id) > after).limit(batch)).all()
            for entry, household_id in rows:
                record = ldv_record(
                    Entry(
                        id=entry.id,
                        at=entry.at,
                        action=entry.action,
                        actor_id=entry.actor_id,
                        resource_type=entry.resource_type,
                        resource_id=entry.resource_id,
                        case_id=entry.case_id,
                        request_id=entry.request_id,
                        household_id=household_id,
                    ),
                    activity=activity_for(entry.action),
                    actor=actors.of(entry),
                    service_version=__version__,
                )
                yield separator + json.dumps(record, ensure_ascii=False).encode()
                separator = b",\n"
            if len(rows) < batch:
                break
            after = rows[-1][0].id
            session.expunge_all()
        yield b"[]\n" if separator == b"[\n" else b"\n]\n"


class _Actors:
    """Who acted, as role and organisation; looked up once per actor (a trail holds a few actors many times)."""

    def __init__(self, session: Session, municipality_code: str) -> None:
        municipality = session.get(Municipality, municipality_code)
        self.session = session
        self.organisation = f"Gemeente {municipality.name}" if municipality else f"Gemeente {municipality_code}"
        self.known: dict[tuple[str, str], Actor] = {}

    def of(self, entry: AuditEntry) -> Actor:
        key = (entry.actor_type, entry.actor_id)
        if key not in self.known:
            self.known[key] = self._look_up(*key)
        return self.known[key]

    def _look_up(self, actor_type: str, actor_id: str) -> Actor:
        if actor_type == "staff":
            try:
                user = self.session.get(StaffUser, uuid.UUID(actor_id))
            except ValueError:
                user = None
            return Actor(role=user.role if user else "staff", organisation=self.organisation)
        if actor_type == "partner":
            partner = self.session.exec(select(PartnerClient).where(PartnerClient.client_id == actor_id)).first()
            return Actor(role="partner", organisation=partner.name if partner else actor_id)
        return Actor(role="system", organisation=self.organisation)
