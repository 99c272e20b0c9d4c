"""The case lifecycle, the next planned action of the outreach policy, and retention dates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.cases.rules import (
    Attempt,
    CaseEvent,
    CaseState,
    IllegalTransition,
    allowed_events,
    due_for_purge,
    months_before,
    next_action,
    transition,
)


def test_the_happy_path_from_new_to_the_handover():
    state = CaseState.NEW
    for event in (CaseEvent.PLAN, CaseEvent.CONTACT, CaseEvent.ACCEPT_HELP, CaseEvent.START_TRAJECTORY):
        state = transition(state, event)
    assert state is CaseState.CLOSED  # a trajectory hands the case over to debt help


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (CaseState.NEW, CaseEvent.START_TRAJECTORY),
        (CaseState.PLANNED, CaseEvent.ACCEPT_HELP),
        (CaseState.CLOSED, CaseEvent.CLOSE),
        (CaseState.TRAJECTORY, CaseEvent.PLAN),
        (CaseState.NEW, CaseEvent.REOPEN),
    ],
)
def test_illegal_transitions_name_the_current_state(state: CaseState, event: CaseEvent):
    with pytest.raises(IllegalTransition, match=state.value):
        transition(state, event)


@given(st.lists(st.sampled_from(list(CaseEvent)), max_size=20))
def test_any_event_sequence_stays_in_known_states_and_only_trajectory_follows_accepted_help(events: list[CaseEvent]):
    state = CaseState.NEW
    for event in events:
        try:
            following = transition(state, event)
        except IllegalTransition:
            assert event not in allowed_events(state)
            continue
        if following is CaseState.TRAJECTORY:
            assert state is CaseState.HELP_ACCEPTED
        state = following
    assert state in set(CaseState)


def test_every_state_but_trajectory_can_be_closed_or_reopened():
    for state in CaseState:
        assert allowed_events(state), state


POLICY = {
    "channels": ["letter", "visit"],
    "max_attempts": 3,
    "change_day_part": True,
    "after_last_attempt": "close_no_contact",
}


def test_a_single_signal_starts_with_a_letter_then_visits():
    assert next_action(**POLICY, attempts=[]).channel == "letter"
    after_letter = next_action(**POLICY, attempts=[Attempt("letter", reached=False)])
    assert after_letter.channel == "visit" and after_letter.attempt_number == 2


def test_a_retry_visit_avoids_the_day_parts_already_tried():
    attempts = [Attempt("letter", False), Attempt("visit", False, "middag"), Attempt("visit", False, "avond")]
    planned = next_action(**POLICY, attempts=attempts)
    assert planned.channel == "visit" and planned.avoid_day_parts == ("avond", "middag")


def test_after_the_last_failed_attempt_the_policy_decides():
    attempts = [Attempt("letter", False)] + [Attempt("visit", False, part) for part in ("middag", "avond", "ochtend")]
    planned = next_action(**POLICY, attempts=attempts)
    assert planned.channel is None and planned.after_last_attempt == "close_no_contact"


def test_once_reached_nothing_more_is_planned():
    assert next_action(**POLICY, attempts=[Attempt("letter", False), Attempt("visit", True, "avond")]) is None


def test_months_before_clamps_to_the_end_of_the_month():
    assert months_before(date(2026, 5, 31), 3) == date(2026, 2, 28)
    assert months_before(date(2026, 11, 26), 6) == date(2026, 5, 26)
    assert months_before(date(2026, 1, 15), 1) == date(2025, 12, 15)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(min_value=0, max_value=120))
def test_months_before_is_never_after_the_day_and_within_a_month_of_exact(day: date, months: int):
    earlier = months_before(day, months)
    assert earlier <= day
    assert (day.year * 12 + day.month) - (earlier.year * 12 + earlier.month) == months


def test_purge_only_closed_cases_without_trajectory_past_retention():
    base = {
        "state": "closed",
        "closed_on": date(2026, 4, 1),
        "has_trajectory": False,
        "purged": False,
        "today": date(2026, 11, 26),
        "retention_months": 6,
    }
    assert due_for_purge(**base)
    assert not due_for_purge(**base | {"closed_on": date(2026, 6, 1)})
    assert not due_for_purge(**base | {"has_trajectory": True})
    assert not due_for_purge(**base | {"state": "contacted"})
    assert not due_for_purge(**base | {"purged": True})
