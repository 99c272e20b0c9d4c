"""Reconciliation of field events: a fold over the set of facts, with conflicts by rule table."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.events import (
    EARLIEST_PLACEABLE,
    LATEST_PLACEABLE,
    Fact,
    OfficeChange,
    check_payload,
    clock_skewed,
    placed,
    reconcile,
)

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
RESULTS = ("Inwoner is overleden", "Vervolghulp en/of verwijzing financieel")


def fact(kind: str, *, author: str = "phone-a", minutes: int = 0, version: int = 2, **payload) -> Fact:  # type: ignore[no-untyped-def]
    return Fact(
        event_id=uuid.uuid4(),
        kind=kind,
        occurred_at=T0 + timedelta(minutes=minutes),
        author=author,
        base_version=version,
        payload=payload,
    )


def test_accepted_and_declined_by_two_workers_is_a_conflict():
    accepted, declined = fact("help_accepted", author="phone-a"), fact("help_declined", author="phone-b", reason="nee")
    result = reconcile([accepted, declined])
    assert [c.kind for c in result.conflicts] == ["accepted-and-declined"]
    assert set(result.conflicts[0].event_ids) == {accepted.event_id, declined.event_id}


def test_one_worker_changing_their_mind_is_no_conflict():
    result = reconcile([fact("help_declined", minutes=0, reason="eerst nee"), fact("help_accepted", minutes=5)])
    assert result.conflicts == () and result.help == "accepted"


def test_two_different_proposed_results_disagree():
    result = reconcile(
        [fact("result_proposed", result=RESULTS[0]), fact("result_proposed", author="b", result=RESULTS[1])]
    )
    assert [c.kind for c in result.conflicts] == ["different-results"]


def test_an_outcome_on_a_version_before_the_office_closed_the_case_disagrees_but_a_visit_does_not():
    outcome, visit = fact("help_accepted", version=2), fact("visit_attempt", version=2, reached=False)
    result = reconcile([outcome, visit], office_changes=[OfficeChange("closed", 3)])
    assert [(c.kind, c.event_ids) for c in result.conflicts] == [("outcome-after-closed", (outcome.event_id,))]


def test_a_resolved_disagreement_is_not_raised_again():
    accepted, declined = fact("help_accepted"), fact("help_declined", author="b", reason="nee")
    resolved = frozenset({frozenset({accepted.event_id, declined.event_id})})
    assert reconcile([accepted, declined], resolved=resolved).conflicts == ()


kinds = st.sampled_from(["visit_attempt", "card_left", "help_accepted", "help_declined", "note", "result_proposed"])
facts_strategy = st.lists(
    st.builds(
        lambda kind, author, minutes, result, reached: fact(
            kind,
            author=author,
            minutes=minutes,
            **(
                {"result": result}
                if kind == "result_proposed"
                else {"reached": reached}
                if kind == "visit_attempt"
                else {"reason": "x"}
                if kind == "help_declined"
                else {}
            ),
        ),
        kinds,
        st.sampled_from(["a", "b"]),
        st.integers(0, 600),
        st.sampled_from(RESULTS),
        st.booleans(),
    ),
    max_size=8,
)


@given(facts_strategy, st.randoms())
def test_case_state_is_the_same_whatever_order_events_arrive_in(facts: list[Fact], random):  # type: ignore[no-untyped-def]
    shuffled = list(facts)
    random.shuffle(shuffled)
    first, second = reconcile(facts), reconcile(shuffled)
    assert (first.reached, first.help, first.proposed_result) == (second.reached, second.help, second.proposed_result)
    assert set(first.conflicts) == set(second.conflicts)


@given(facts_strategy)
def test_events_never_vanish_into_a_conflict_without_naming_them(facts: list[Fact]):
    ids = {f.event_id for f in facts}
    assert all(set(c.event_ids) <= ids for c in reconcile(facts).conflicts)


@pytest.mark.parametrize(
    ("kind", "payload", "problem"),
    [
        ("visit_attempt", {}, "reached"),
        ("help_declined", {"reason": ""}, "reason"),
        ("note", {"text": "x", "bsn": "111222333"}, "bsn"),
        ("result_proposed", {"result": "Klaar"}, "DDAS"),
    ],
)
def test_payloads_are_validated_per_kind(kind: str, payload: dict, problem: str):
    with pytest.raises(ValueError, match=problem):
        check_payload(kind, payload, results=RESULTS)


def test_clock_skew_flags_the_future_and_the_time_before_the_case():
    assert clock_skewed(T0 + timedelta(minutes=11), received_at=T0, case_opened_at=T0 - timedelta(days=1))
    assert clock_skewed(T0 - timedelta(days=2), received_at=T0, case_opened_at=T0 - timedelta(days=1))
    assert not clock_skewed(T0 - timedelta(hours=3), received_at=T0, case_opened_at=T0 - timedelta(days=1))


@given(
    st.datetimes(
        min_value=datetime(1, 1, 1),
        max_value=datetime(9999, 12, 31, 23, 59, 59, 999999),
        timezones=st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-1439, 1439)),
    )
)
def test_an_event_time_is_placed_in_utc_or_refused_with_a_reason(moment: datetime):
    try:
        utc = placed(moment)
    except ValueError as refusal:
        assert "occurred_at" in str(refusal)
        return
    assert utc == moment and utc.tzinfo is UTC
    assert EARLIEST_PLACEABLE <= utc < LATEST_PLACEABLE
    utc.astimezone(ZoneInfo("Europe/Amsterdam")) + timedelta(days=1)  # the day arithmetic a report does
    utc - timedelta(days=1)


def test_the_last_half_hour_of_the_calendar_cannot_be_placed():
    for edge in ("9999-12-31T23:30:00+00:00", "0001-01-01T00:00:00+14:00", "1899-12-31T23:59:59+00:00"):
        with pytest.raises(ValueError):
            placed(datetime.fromisoformat(edge))
