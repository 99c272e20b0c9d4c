"""What an integration partner may deliver: each of its rows checked against its agreements."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from sqlmodel import Session

from api.auth.principal import Principal
from api.models import CreditorAgreement, PartnerClient
from api.problems import Forbidden
from api.signals.parsing import ParsedRow, RowError
from api.signals.rules import Agreement, creditor_under_agreement


def agreements_of(session: Session, principal: Principal) -> list[Agreement] | None:
    """The agreements a partner delivers under (403 without any); None for staff, whose platform
    files are checked against the register only to warn about missing creditors."""
    if principal.kind != "partner":
        return None
    rows = session.execute(
        sa.select(CreditorAgreement.name, CreditorAgreement.partner_type)
        .join(PartnerClient, PartnerClient.id == CreditorAgreement.partner_client_id)
        .where(PartnerClient.client_id == principal.actor_id,
               CreditorAgreement.municipality_code == principal.municipality_code)
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
                creditor = creditor_under_agreement(partner_type=signal.partner_type, creditor=signal.creditor_name,
                                                    agreements=agreements)
            except ValueError as refusal:
                column = "partner_type" if "signaalpartner_type" in str(refusal) else "creditor"
                row.errors.append(RowError(row.line, column, str(refusal)))
                row.signal = None
            else:
                if creditor != signal.creditor_name:
                    row.signal = dataclasses.replace(signal, creditor_name=creditor)
        yield row
