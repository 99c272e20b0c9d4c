"""Throttled sign-ins: failures per account name (or partner client) and per client address,
counted in the database so every replica meets the same limits.

The rule (how failures slow down and lock) is pure, in `api.auth.rules`. This module keeps the
counts: before an attempt is heard, its gates are read and the account's row locked (one attempt
per account at a time: a second one in flight answers 429 at once instead of holding a database
connection while it waits); after it, a failure is counted on every gate and a success clears
the account's count. An address is only slowed down, never locked: many staff may share one.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from api.auth.rules import Failures, ThrottlePolicy, after_failure, just_locked, wait_before_next
from api.platform import tables
from api.platform.problems import ProblemError
from api.settings import Settings

_table = tables.login_throttle


class TooManyAttempts(ProblemError):
    """429 with Retry-After; the same for known and unknown names (it must not tell them apart)."""

    status, slug, title = 429, "too-many-attempts", "Too many failed sign-ins"

    def __init__(self, wait: timedelta) -> None:
        seconds = max(1, math.ceil(wait.total_seconds()))
        super().__init__(
            f"Too many failed sign-ins; try again in {seconds} seconds.",
            headers={"Retry-After": str(seconds)},
            retry_after=seconds,
        )


@dataclass(frozen=True)
class Gate:
    """One thing failures are counted for: an account name as typed, a partner's client id, an address."""

    kind: str  # account | client | address
    value: str
    policy: ThrottlePolicy

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.kind}:{self.value}".encode()).hexdigest()

    @property
    def guards_an_account(self) -> bool:
        return self.kind != "address"


def gates(settings: Settings, *, kind: str, name: str, address: str | None) -> list[Gate]:
    """The account (or client) gate for `name` and, when known, the client address's."""
    account = ThrottlePolicy(
        free_failures=settings.login_failures_before_delay,
        lock_after=settings.login_failures_before_lock,
        lock_for=timedelta(minutes=settings.login_lock_minutes),
    )
    found = [Gate(kind, name.strip().casefold(), account)]
    if address:
        found.append(
            Gate(
                "address",
                address,
                ThrottlePolicy(
                    free_failures=settings.login_address_failures_before_delay,
                    lock_after=None,
                    forget_after=timedelta(hours=1),
                ),
            )
        )
    return found


def _insert(session: Session) -> sa.Insert:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(_table).on_conflict_do_nothing(index_elements=["key_hash"])
    return sqlite.insert(_table).on_conflict_do_nothing(index_elements=["key_hash"])


def _failures(row: sa.Row[Any] | None) -> Failures:
    if row is None:
        return Failures()
    return Failures(count=row.failures, last_at=row.last_failure_at, locked_until=row.locked_until)


def hold(session: Session, found: Sequence[Gate], *, now: datetime) -> dict[str, Failures]:
    """Before an attempt: the failures of each gate; TooManyAttempts when any says wait.

    The account's row is created if need be and locked for the rest of the request, NOWAIT:
    a second attempt on the same account while one is being checked is refused at once."""
    states: dict[str, Failures] = {}
    for gate in found:
        row: sa.Row[Any] | None
        if gate.guards_an_account:
            session.execute(_insert(session).values(key_hash=gate.key, failures=0))
            try:
                with session.begin_nested():
                    row = session.execute(
                        sa.select(_table).where(_table.c.key_hash == gate.key).with_for_update(nowait=True)
                    ).one()
            except sa.exc.OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
                    raise TooManyAttempts(timedelta(seconds=1)) from exc
                raise
        else:
            row = session.execute(sa.select(_table).where(_table.c.key_hash == gate.key)).one_or_none()
        states[gate.key] = _failures(row)
    waits = [wait for gate in found if (wait := wait_before_next(states[gate.key], gate.policy, now)) is not None]
    if waits:
        raise TooManyAttempts(max(waits))
    return states


def failed(session: Session, found: Sequence[Gate], *, now: datetime) -> bool:
    """Count a failure on every gate; True when it locked the account (once per lock).

    Each row is read again under a lock here: the address's too, briefly, so that failures
    from many accounts at once are all counted."""
    locked = False
    for gate in sorted(found, key=lambda g: g.key):
        if not gate.guards_an_account:
            session.execute(_insert(session).values(key_hash=gate.key, failures=0))
        before = _failures(
            session.execute(sa.select(_table).where(_table.c.key_hash == gate.key).with_for_update()).one()
        )
        after = after_failure(before, gate.policy, now)
        session.execute(
            _table.update()
            .where(_table.c.key_hash == gate.key)
            .values(failures=after.count, last_failure_at=after.last_at, locked_until=after.locked_until)
        )
        locked = locked or (gate.guards_an_account and just_locked(before, after, now))
    # Rows nobody will ask about again: nothing locked and the last failure long forgotten.
    session.execute(
        _table.delete().where(
            _table.c.last_failure_at < now - timedelta(days=2),
            sa.or_(_table.c.locked_until.is_(None), _table.c.locked_until < now),
        )
    )
    return locked


def succeeded(session: Session, found: Sequence[Gate]) -> None:
    """A sign-in that got through clears its account's failures (the address's only fade)."""
    accounts = [gate.key for gate in found if gate.guards_an_account]
    session.execute(_table.delete().where(_table.c.key_hash.in_(accounts)))


def lift(session: Session, kind: str, names: Sequence[str]) -> int:
    """An admin lifts the lock (and forgets the failures) of an account's names."""
    keys = [Gate(kind, name.strip().casefold(), ThrottlePolicy()).key for name in names]
    result = session.execute(_table.delete().where(_table.c.key_hash.in_(keys)))
    assert isinstance(result, sa.CursorResult)  # a DELETE's result counts its rows
    return result.rowcount or 0


def locked_until(session: Session, kind: str, names: Sequence[str], *, now: datetime) -> datetime | None:
    """When the lock on any of an account's names ends, if one runs now."""
    keys = [Gate(kind, name.strip().casefold(), ThrottlePolicy()).key for name in names]
    ends = (
        session.execute(
            sa.select(_table.c.locked_until).where(_table.c.key_hash.in_(keys), _table.c.locked_until > now)
        )
        .scalars()
        .all()
    )
    return max(ends) if ends else None
