"""Rules of signing in: how failed attempts slow down and lock an account or an address. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures pass freely, how the wait grows after them, when it becomes a lock.

    The defaults are the account's: five free failures (typos), then a wait that doubles with
    every failure from one second up to fifteen minutes, and after twenty a lock for half an
    hour that an admin can lift. Failures count until a success, or until `forget_after` has
    passed without one.
    """

    free_failures: int = 5
    lock_after: int | None = 20
    lock_for: timedelta = timedelta(minutes=30)
    first_wait: timedelta = timedelta(seconds=1)
    longest_wait: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Failures:
    """What is stored about one account or address: failed attempts in a row, the last one, a lock."""

    count: int = 0
    last_at: datetime | None = None
    locked_until: datetime | None = None


NONE = Failures()


def _current(failures: Failures, policy: ThrottlePolicy, now: datetime) -> Failures:
    """Failures long past are forgotten, unless a lock still runs."""
    if failures.locked_until is not None and now < failures.locked_until:
        return failures
    if failures.last_at is None or now - failures.last_at >= policy.forget_after:
        return NONE
    return failures


def wait_before_next(failures: Failures, policy: ThrottlePolicy, now: datetime) -> timedelta | None:
    """How long until the next attempt is heard; None: it is heard now."""
    failures = _current(failures, policy, now)
    if failures.locked_until is not None and now < failures.locked_until:
        return failures.locked_until - now
    if failures.count < policy.free_failures or failures.last_at is None:
        return None
    doublings = min(failures.count - policy.free_failures, 30)
    wait = min(policy.first_wait * 2**doublings, policy.longest_wait)
    ready_at = failures.last_at + wait
    return ready_at - now if now < ready_at else None


def after_failure(failures: Failures, policy: ThrottlePolicy, now: datetime) -> Failures:
    """The record after one more failure; it locks when the count reaches `lock_after`."""
    count = _current(failures, policy, now).count + 1
    locked = policy.lock_after is not None and count >= policy.lock_after
    return Failures(count=count, last_at=now, locked_until=now + policy.lock_for if locked else None)


def just_locked(before: Failures, after: Failures, now: datetime) -> bool:
    """Whether this failure is the one that locked (for the audit trail: once per lock)."""
    return after.locked_until is not None and (before.locked_until is None or before.locked_until <= now)
