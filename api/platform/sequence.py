"""The per-tenant change sequence: a strictly increasing counter that orders sync cursors."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from api.models import TenantSequence

_NEXT = text("UPDATE tenant_sequence SET last_seq = last_seq + 1 WHERE municipality_code = :code RETURNING last_seq")
_RESERVE = text(
    "UPDATE tenant_sequence SET last_seq = last_seq + :n WHERE municipality_code = :code RETURNING last_seq"
)


def start_sequence(session: Session, municipality_code: str) -> None:
    session.add(TenantSequence(municipality_code=municipality_code, last_seq=0))


def next_change_seq(session: Session, municipality_code: str) -> int:
    """Take the next number. The UPDATE holds the row lock until the transaction ends, so
    two writers of one tenant serialize here and numbers are never handed out twice."""
    value = session.execute(_NEXT, {"code": municipality_code}).scalar_one()
    return int(value)


def reserve_change_seqs(session: Session, municipality_code: str, count: int) -> range:
    """Take `count` consecutive numbers in one statement (bulk imports touch thousands of cases)."""
    if count <= 0:
        return range(0)
    last = session.execute(_RESERVE, {"code": municipality_code, "n": count}).scalar_one()
    return range(int(last) - count + 1, int(last) + 1)
