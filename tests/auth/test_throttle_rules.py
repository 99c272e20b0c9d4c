"""Failed sign-ins slow down and then lock, by rule: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from api.auth.rules import NONE, Failures, ThrottlePolicy, after_failure, just_locked, wait_before_next

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
POLICY = ThrottlePolicy()


def fail(times: int, *, every: timedelta = timedelta(hours=1), start: Failures = NONE) -> tuple[Failures, datetime]:
    failures, now = start, T0
    for _ in range(times):
        now += every
        failures = after_failure(failures, POLICY, now)
    return failures, now


def test_five_typos_pass_freely():
    failures, now = fail(4, every=timedelta(seconds=1))
    assert wait_before_next(failures, POLICY, now) is None


def test_after_the_free_failures_the_wait_doubles_from_one_second_to_fifteen_minutes():
    waits = []
    failures, now = NONE, T0
    for _ in range(19):
        failures = after_failure(failures, POLICY, now)
        waits.append(wait_before_next(failures, POLICY, now))
        now += timedelta(hours=1)  # each next attempt after the wait (and long before it is forgotten)
    assert waits[:4] == [None] * 4
    assert waits[4:9] == [timedelta(seconds=s) for s in (1, 2, 4, 8, 16)]
    assert max(w for w in waits if w) == timedelta(minutes=15)


def test_the_twentieth_failure_locks_for_half_an_hour_and_says_so_once():
    before, now = fail(19, every=timedelta(hours=1))
    locked = after_failure(before, POLICY, now)
    assert locked.locked_until == now + timedelta(minutes=30) and just_locked(before, locked, now)
    assert wait_before_next(locked, POLICY, now + timedelta(minutes=29)) == timedelta(minutes=1)
    again = after_failure(locked, POLICY, now + timedelta(minutes=1))
    assert not just_locked(locked, again, now + timedelta(minutes=1))


def test_failures_are_forgotten_a_day_after_the_last_unless_locked():
    failures, now = fail(10, every=timedelta(seconds=30))
    assert wait_before_next(failures, POLICY, now + timedelta(hours=24)) is None
    assert after_failure(failures, POLICY, now + timedelta(hours=24)).count == 1


def test_an_address_policy_without_a_lock_only_slows_down():
    policy = ThrottlePolicy(free_failures=20, lock_after=None)
    failures, now = NONE, T0
    for _ in range(100):
        failures = after_failure(failures, policy, now)
    assert failures.locked_until is None and wait_before_next(failures, policy, now) == policy.longest_wait


@given(st.lists(st.integers(0, 10_000), max_size=60), st.integers(0, 100_000))
def test_the_wait_never_exceeds_the_longest_or_a_running_lock(gaps: list[int], later: int):
    failures, now = NONE, T0
    for gap in gaps:
        now += timedelta(seconds=gap)
        failures = after_failure(failures, POLICY, now)
    asked = now + timedelta(seconds=later)
    wait = wait_before_next(failures, POLICY, asked)
    if wait is None:
        return
    assert wait > timedelta(0)
    assert wait <= max(POLICY.longest_wait, POLICY.lock_for)
    if failures.locked_until is None or failures.locked_until <= asked:
        assert failures.count >= POLICY.free_failures
