"""Tenant scoping: a row of another municipality is indistinguishable from no row at all."""

from __future__ import annotations

import uuid
from typing import Protocol, TypeVar

from sqlmodel import Session

from api.auth.principal import Principal
from api.models import Municipality
from api.platform.problems import NotFound


class TenantRow(Protocol):
    municipality_code: str


T = TypeVar("T")


def owned(session: Session, model: type[T], row_id: uuid.UUID, principal: Principal, *, lock: bool = False) -> T:
    """Load a row of the caller's municipality, or 404 (never 403: existence is not leaked)."""
    row = session.get(model, row_id, with_for_update=lock)
    if row is None or getattr(row, "municipality_code", None) != principal.municipality_code:
        raise NotFound(f"No such {model.__name__.lower()}.")
    return row


def own_municipality(session: Session, principal: Principal, *, lock: bool = False) -> Municipality:
    """The caller's municipality row (404 if it was never set up)."""
    municipality = session.get(Municipality, principal.municipality_code, with_for_update=lock)
    if municipality is None:
        raise NotFound("Your municipality is not set up.")
    return municipality
