"""What an integration partner may deliver: each of its rows checked against its agreements."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from api.auth.principal import Principal
from api.models import CreditorAgreement, PartnerClient, UTCDateTime
from api.platform import tables
from api.platform.problems import Conflict, Forbidden, Unprocessable
from api.signals.parsing import ParsedRow, RowError
from api.signals.rules import Agreement, creditor_under_agreement, status_for_creditor, status_for_feedback
from api.signals.schemas import DeliveredSignal, Feedback


def register(session: Session, code: str) -> list[tuple[CreditorAgreement, str | None]]:
    """The municipality's register of signed agreements by creditor name, each with the client id of
    the partner that delivers under it (None: the creditor delivers through a platform file)."""
    rows = session.execute(
        sa.select(CreditorAgreement, col(PartnerClient.client_id))
        .outerjoin(PartnerClient, col(PartnerClient.id) == CreditorAgreement.partner_client_id)
        .where(col(CreditorAgreement.municipality_code) == code)
        .order_by(col(CreditorAgreement.name))
    ).all()
    return [(agreement, client_id) for agreement, client_id in rows]


def register_agreement(
    session: Session,
    *,
    municipality_code: str,
    name: str,
    partner_type: str,
    agreement_date: date,
    platform: str,
    partner_client_id: str | None,
    now: datetime,
) -> CreditorAgreement:
    """Add a signed agreement to the register: 422 for a partner client of another municipality or
    none, 409 when the creditor is registered already for that partner type."""
    client_uuid = None
    if partner_client_id is not None:
        pc = tables.partner_client.c
        client_uuid = session.execute(
            sa.select(pc.id).where(pc.client_id == partner_client_id, pc.municipality_code == municipality_code)
        ).scalar()
        if client_uuid is None:
            raise Unprocessable("No such partner client in your municipality.", slug="unknown-partner-client")
    ag = tables.creditor_agreement.c
    exists = session.execute(
        sa.select(ag.id).where(
            ag.municipality_code == municipality_code, ag.name == name, ag.partner_type == partner_type
        )
    ).first()
    if exists is not None:
        raise Conflict("This creditor is already registered.", slug="agreement-exists")
    agreement = CreditorAgreement(
        municipality_code=municipality_code,
        name=name,
        partner_type=partner_type,
        agreement_date=agreement_date,
        platform=platform,
        partner_client_id=client_uuid,
        created_at=now,
    )
    session.add(agreement)
    session.flush()
    return agreement


def agreements_of(session: Session, principal: Principal) -> list[Agreement] | None:
    """The agreements a partner delivers under (403 without any); None for staff, whose platform
    files are checked against the register only to warn about missing creditors."""
    if principal.kind != "partner":
        return None
    ag, pc = tables.creditor_agreement, tables.partner_client
    rows = session.execute(
        sa.select(ag.c.name, ag.c.partner_type)
        .join(pc, pc.c.id == ag.c.partner_client_id)
        .where(pc.c.client_id == principal.actor_id, ag.c.municipality_code == principal.municipality_code)
    ).all()
    if not rows:
        raise Forbidden("The municipality has no signed agreement on record for this partner.", slug="no-agreement")
    return [Agreement(creditor=name, partner_type=partner_type) for name, partner_type in rows]


def under_agreements(rows: Iterable[ParsedRow], agreements: list[Agreement]) -> Iterator[ParsedRow]:
    """The rows, each valid one checked against the partner's agreements: a row no agreement covers
    becomes a row error (rejected, or quarantined in accept-valid mode); a row without a creditor
    gets the one its agreement names."""
    for row in rows:
        signal = row.signal
        if signal is not None:
            try:
                creditor = creditor_under_agreement(
                    partner_type=signal.partner_type, creditor=signal.creditor_name, agreements=agreements
                )
            except ValueError as refusal:
                column = "partner_type" if "signaalpartner_type" in str(refusal) else "creditor"
                row.errors.append(RowError(row.line, column, str(refusal)))
                row.signal = None
            else:
                if creditor != signal.creditor_name:
                    row.signal = dataclasses.replace(signal, creditor_name=creditor)
        yield row


def _own_page(
    session: Session,
    principal: Principal,
    query: sa.Select[Any],
    *,
    key: sa.ColumnElement[datetime],
    since: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> Sequence[sa.Row[Any]]:
    """`query` narrowed to the signals this partner delivered (by API or file, in its own
    municipality): one definition for every partner view. Ordered and paged by (`key`, id);
    `since` compares with `key`."""
    sg, im = tables.signal, tables.signal_import
    query = query.join(im, im.c.id == sg.c.import_id).where(
        sg.c.municipality_code == principal.municipality_code,
        im.c.municipality_code == principal.municipality_code,
        im.c.created_by == principal.actor_id,
    )
    if since is not None:
        query = query.where(key >= since)
    if after is not None:
        query = query.where(sa.tuple_(key, sg.c.id) > sa.tuple_(*after))
    return session.execute(query.order_by(key, sg.c.id).limit(limit)).all()


def delivered(
    session: Session,
    principal: Principal,
    *,
    since: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[uuid.UUID, DeliveredSignal]]:
    """The partner view (with each signal's own id, for the cursor): the signals this partner delivered (by API or file), oldest first, with
    what a creditor may know of each (`status_for_creditor`). Never the case they belong to,
    other creditors' signals, the field's visits, notes or a trajectory."""
    sg = tables.signal
    rows = _own_page(
        session,
        principal,
        sa.select(
            sg.c.id,
            sg.c.external_id,
            sg.c.partner_type,
            sg.c.creditor_name,
            sg.c.signal_date,
            sg.c.received_at,
            sg.c.status,
        ),
        key=sg.c.received_at,
        since=since,
        after=after,
        limit=limit,
    )
    return [
        (
            row.id,
            DeliveredSignal(
                signal_id=row.external_id,
                partner_type=row.partner_type,
                creditor=row.creditor_name,
                signal_date=row.signal_date,
                received_at=row.received_at,
                status=status_for_creditor(row.status),
            ),
        )
        for row in rows
    ]


def feedback(
    session: Session,
    principal: Principal,
    *,
    since: datetime | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[tuple[uuid.UUID, Feedback]]:
    """The creditor's feedback on the signals it delivered, in the order they last changed: each
    one's DDAS status as far as it concerns the signal (`status_for_feedback`), when it changed,
    and whether the resident's debt help started. Nothing of the case, the household or anyone
    else's signals. Only a partner under an agreement asks (403 otherwise)."""
    agreements_of(session, principal)
    sg, tr = tables.signal, tables.trajectory
    status_changed = sa.func.coalesce(sg.c.status_changed_at, sg.c.received_at)
    changed = sa.type_coerce(
        sa.case((tr.c.created_at > status_changed, tr.c.created_at), else_=status_changed), UTCDateTime
    ).label("changed_at")
    query = sa.select(
        sg.c.id,
        sg.c.external_id,
        sg.c.status,
        status_changed.label("status_changed_at"),
        tr.c.id.is_not(None).label("in_debt_help"),
        changed,
    ).outerjoin(tr, sa.and_(tr.c.case_id == sg.c.case_id, tr.c.municipality_code == sg.c.municipality_code))
    rows = _own_page(session, principal, query, key=changed, since=since, after=after, limit=limit)
    return [
        (
            row.id,
            Feedback(
                signal_id=row.external_id,
                status=status_for_feedback(row.status),
                status_changed_at=row.status_changed_at,
                in_debt_help=row.in_debt_help,
                changed_at=row.changed_at,
            ),
        )
        for row in rows
    ]
