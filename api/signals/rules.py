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


def is_valid_bsn(bsn: str) -> bool:
    """Nine digits passing the elfproef: 9·d1 + 8·d2 + … + 2·d8 − 1·d9 is a positive multiple of 11."""
    if len(bsn) != 9 or not bsn.isascii() or not bsn.isdigit():
        return False
    digits = [int(c) for c in bsn]
    total = sum(weight * digit for weight, digit in zip(range(9, 1, -1), digits[:8], strict=True)) - digits[8]
    return total > 0 and total % 11 == 0
