"""Repeats and classification of a household's signals: the DDAS rules, independent of arrival order."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from api.signals.rules import (
    STATUS_REPEAT,
    SignalFacts,
    SignalKind,
    address_key,
    assess_household,
    case_classification,
    find_repeats,
    household_key,
    is_valid_bsn,
)


def facts(
    key: str,
    day: date,
    *,
    partner: str = "Huur",
    creditor: str | None = "Ymere",
    since: date | None = date(2026, 8, 1),
    amount: int | None = 50_000,
) -> SignalFacts:
    return SignalFacts(
        key=key, signal_date=day, partner_type=partner, creditor=creditor, arrears_since_date=since, amount_cents=amount
    )


def test_same_creditor_same_arrear_same_amount_is_a_repeat():
    signals = [facts("a", date(2026, 10, 5)), facts("b", date(2026, 11, 5))]
    assert find_repeats(signals) == {"b"}
    assert assess_household(signals, lookback_months=6)["b"].status == STATUS_REPEAT


def test_a_higher_amount_must_be_picked_up():
    signals = [facts("a", date(2026, 10, 5)), facts("b", date(2026, 11, 5), amount=75_000)]
    assert find_repeats(signals) == set()


def test_a_lower_amount_is_still_a_repeat():
    signals = [facts("a", date(2026, 10, 5)), facts("b", date(2026, 11, 5), amount=20_000)]
    assert find_repeats(signals) == {"b"}


def test_another_creditor_or_another_arrear_is_not_a_repeat():
    signals = [
        facts("a", date(2026, 10, 5)),
        facts("b", date(2026, 11, 5), creditor="Stadgenoot"),
        facts("c", date(2026, 11, 6), since=date(2026, 10, 1)),
        facts("d", date(2026, 11, 7), partner="Energie"),
    ]
    assert find_repeats(signals) == set()


def test_creditor_names_match_regardless_of_case_and_spacing():
    signals = [
        facts("a", date(2026, 10, 5), creditor="Woonstichting  De Key"),
        facts("b", date(2026, 11, 5), creditor="woonstichting de key"),
    ]
    assert find_repeats(signals) == {"b"}


def test_a_repeat_does_not_make_the_household_multiple():
    signals = [facts("a", date(2026, 11, 2)), facts("b", date(2026, 11, 20))]
    assessed = assess_household(signals, lookback_months=6)
    assert assessed["a"].kind is SignalKind.SINGLE and assessed["b"].is_repeat


def test_case_classification_takes_the_most_serious_signal():
    assert case_classification([SignalKind.SINGLE, SignalKind.MULTIPLE, SignalKind.CONSECUTIVE]) is SignalKind.MULTIPLE
    assert case_classification([SignalKind.SINGLE, SignalKind.CONSECUTIVE]) is SignalKind.CONSECUTIVE
    assert case_classification([]) is SignalKind.SINGLE


def test_households_are_keyed_by_normalised_address_and_fall_back_to_the_bsn():
    assert address_key(postcode="1053 kl", house_number=12, addition="a-1") == "1053KL|12|A1"
    assert address_key(postcode=None, house_number=12, addition=None) is None
    assert household_key(postcode=None, house_number=None, addition=None, bsn_digest="abc") == "bsn:abc"
    assert household_key(postcode="1053KL", house_number=12, addition=None, bsn_digest="abc") == "1053KL|12|"


def test_elfproef():
    assert is_valid_bsn("111222333") and is_valid_bsn("123456782")
    assert not is_valid_bsn("123456789") and not is_valid_bsn("12345678") and not is_valid_bsn("12345678a")
    assert not is_valid_bsn("000000000")


day = st.dates(min_value=date(2025, 6, 1), max_value=date(2026, 12, 31))
household_signals = st.lists(
    st.builds(
        facts,
        key=st.uuids().map(str),
        day=day,
        partner=st.sampled_from(["Huur", "Energie", "Zorg"]),
        creditor=st.sampled_from(["Ymere", "Vattenfall", None]),
        since=st.sampled_from([date(2026, 1, 1), date(2026, 5, 1), None]),
        amount=st.sampled_from([10_000, 20_000, None]),
    ),
    max_size=10,
    unique_by=lambda s: s.key,
)


@given(household_signals, st.randoms())
def test_assessment_is_the_same_whatever_order_signals_arrive_in(signals: list[SignalFacts], random):  # type: ignore[no-untyped-def]
    shuffled = list(signals)
    random.shuffle(shuffled)
    assert assess_household(signals, lookback_months=6) == assess_household(shuffled, lookback_months=6)


@given(household_signals)
def test_the_first_report_of_an_arrear_is_never_a_repeat(signals: list[SignalFacts]):
    repeats = find_repeats(signals)
    earliest = min(signals, key=lambda s: (s.signal_date, s.key), default=None)
    assert earliest is None or earliest.key not in repeats


@given(household_signals, st.integers(min_value=1, max_value=24))
def test_a_signal_next_month_never_changes_the_classification_of_earlier_months(
    signals: list[SignalFacts], lookback: int
):
    if not signals:
        return
    before = assess_household(signals, lookback_months=lookback)
    latest = max(s.signal_date for s in signals)
    next_month = (latest.replace(day=28) + timedelta(days=4)).replace(day=1)
    later = facts("later", next_month, creditor="Other")
    after = assess_household([*signals, later], lookback_months=lookback)
    assert all(after[s.key] == before[s.key] for s in signals)
    # ... while the newcomer itself sees them: consecutive when a counted signal lies in its look-back.
    months = next_month.year * 12 + next_month.month
    in_window = [
        s
        for s in signals
        if not before[s.key].is_repeat and 0 < months - (s.signal_date.year * 12 + s.signal_date.month) <= lookback
    ]
    assert (after["later"].kind is SignalKind.CONSECUTIVE) == bool(in_window)
