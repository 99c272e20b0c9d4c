"""Rules about signals: classification per address and month, as the national monitor defines it. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class SignalKind(StrEnum):
    SINGLE = "single"  # enkelvoudig
    MULTIPLE = "multiple"  # meervoudig
    CONSECUTIVE = "consecutive"  # opeenvolgend


@dataclass(frozen=True)
class SignalOnAddress:
    signal_date: date
    is_repeat: bool = False


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def classify(signals_on_address: Sequence[SignalOnAddress], *, month: date, lookback_months: int = 6) -> SignalKind:
    """Enkelvoudig, meervoudig or opeenvolgend, as defined in the national monitor.

    Multiple: two or more signals on the address in `month`. Consecutive: another signal
    on the address in the `lookback_months` before it. Repeats of the same arrear do not count.
    """
    target = _month_index(month)
    counted = [s for s in signals_on_address if not s.is_repeat]
    in_month = sum(1 for s in counted if _month_index(s.signal_date) == target)
    earlier = any(0 < target - _month_index(s.signal_date) <= lookback_months for s in counted)
    if in_month >= 2:
        return SignalKind.MULTIPLE
    if earlier:
        return SignalKind.CONSECUTIVE
    return SignalKind.SINGLE
