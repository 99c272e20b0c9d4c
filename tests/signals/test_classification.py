"""Classification per address and month, as the national monitor defines it."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from api.signals.rules import SignalKind, SignalOnAddress, classify

NOV = date(2026, 11, 1)


def test_one_signal_is_single():
    assert classify([SignalOnAddress(date(2026, 11, 3))], month=NOV) is SignalKind.SINGLE


def test_two_signals_in_the_same_month_are_multiple():
    signals = [SignalOnAddress(date(2026, 11, 3)), SignalOnAddress(date(2026, 11, 28))]
    assert classify(signals, month=NOV) is SignalKind.MULTIPLE


def test_a_signal_in_the_previous_six_months_makes_it_consecutive():
    signals = [SignalOnAddress(date(2026, 5, 30)), SignalOnAddress(date(2026, 11, 3))]
    assert classify(signals, month=NOV) is SignalKind.CONSECUTIVE


def test_a_signal_seven_months_back_does_not_count():
    signals = [SignalOnAddress(date(2026, 4, 30)), SignalOnAddress(date(2026, 11, 3))]
    assert classify(signals, month=NOV) is SignalKind.SINGLE


def test_a_repeat_of_the_same_arrear_counts_for_nothing():
    signals = [SignalOnAddress(date(2026, 11, 3)), SignalOnAddress(date(2026, 11, 20), is_repeat=True)]
    assert classify(signals, month=NOV) is SignalKind.SINGLE


def test_the_lookback_is_a_setting():
    signals = [SignalOnAddress(date(2026, 8, 15)), SignalOnAddress(date(2026, 11, 3))]
    assert classify(signals, month=NOV, lookback_months=2) is SignalKind.SINGLE
    assert classify(signals, month=NOV, lookback_months=3) is SignalKind.CONSECUTIVE


signal_dates = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 11, 30))


@given(st.lists(st.builds(SignalOnAddress, signal_dates, st.booleans()), max_size=12))
def test_classification_ignores_order_and_later_months(signals: list[SignalOnAddress]):
    later = [SignalOnAddress(date(2026, 12, 5)), SignalOnAddress(date(2027, 1, 9))]
    kind = classify(signals, month=NOV)
    assert classify(list(reversed(signals)), month=NOV) is kind
    assert classify(signals + later, month=NOV) is kind


@given(st.lists(st.builds(SignalOnAddress, signal_dates), min_size=2, max_size=12))
def test_two_or_more_non_repeat_signals_in_the_month_are_always_multiple(signals: list[SignalOnAddress]):
    in_month = [SignalOnAddress(date(2026, 11, 2)), SignalOnAddress(date(2026, 11, 9))]
    assert classify(signals + in_month, month=NOV) is SignalKind.MULTIPLE
