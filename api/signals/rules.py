"""Rules about signals: classification per address and month, as the national monitor defines it;
repeats; the municipality's thresholds; statuses. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal, get_args

# DDAS EnumSignaalpartner: the kinds of creditor that signal (in sorted order, as the API's enums list them).
PartnerType = Literal[
    "Belastingdienst",
    "CAK Eigen bijdrage",
    "CAK Zorgverzekeringen",
    "DUO",
    "Dienst Toeslagen",
    "Energie",
    "Huur",
    "Hypotheek",
    "Overige",
    "Water",
    "Zorg",
]
PARTNER_TYPES: frozenset[str] = frozenset(get_args(PartnerType))


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
    d = bsn.encode()  # ASCII digits: each byte is 48 + the digit, so the weighted sum is off by 48 × (44 − 1)
    total = 9 * d[0] + 8 * d[1] + 7 * d[2] + 6 * d[3] + 5 * d[4] + 4 * d[5] + 3 * d[6] + 2 * d[7] - d[8] - 2064
    return total > 0 and total % 11 == 0


# --- thresholds: the least arrears the municipality acts on ------------------------------


@dataclass(frozen=True)
class Threshold:
    """For one partner type: the arrears must have lasted at least `min_days_in_arrears` days on
    the signal date and amount to at least `min_amount_cents` (the municipality's policy)."""

    min_days_in_arrears: int = 0
    min_amount_cents: int = 0


class BelowThreshold(StrEnum):
    """Why a signal is below threshold: stable slugs, stored with the signal and shown as they are."""

    ARREARS_START_AFTER_SIGNAL_DATE = "arrears-start-after-signal-date"
    ZERO_AMOUNT = "zero-amount"
    DAYS_IN_ARREARS = "days-in-arrears"
    AMOUNT = "amount"


def below_threshold(
    *, signal_date: date, arrears_since_date: date | None, amount_cents: int | None, threshold: Threshold
) -> BelowThreshold | None:
    """Why the municipality does not act on this signal, or None when it does.

    Whatever the thresholds, an arrear that starts after the day it was signalled, or an amount of
    zero, is no arrear to act on. Days in arrears are the days from `ontstaansdatum` to
    `signaaldatum`; a signal without `ontstaansdatum` is judged on its amount only, and one without
    an amount on its days only: what the creditor did not say does not count against the resident.
    """
    if arrears_since_date is not None and arrears_since_date > signal_date:
        return BelowThreshold.ARREARS_START_AFTER_SIGNAL_DATE
    if amount_cents == 0:
        return BelowThreshold.ZERO_AMOUNT
    if arrears_since_date is not None and (signal_date - arrears_since_date).days < threshold.min_days_in_arrears:
        return BelowThreshold.DAYS_IN_ARREARS
    if amount_cents is not None and amount_cents < threshold.min_amount_cents:
        return BelowThreshold.AMOUNT
    return None


# --- households, repeats and the assessment of a household's signals ----------------------

# DDAS EnumSignaalstatus: where a signal stands.
STATUS_NOT_YET = "Nog niet opgepakt"
STATUS_PICKED_UP = "Opgepakt"
STATUS_REPEAT = "Niet opgepakt: herhaalde melding"
STATUS_OTHER_REASON = "Niet opgepakt: andere reden"
# The results of a case closed before any attempt that are statuses of its signals as well.
NOT_PICKED_UP_RESULTS = frozenset(
    {
        "Inwoner al bekend bij schuldhulpverlening",
        "Inwoner is overleden",
        STATUS_OTHER_REASON,
        STATUS_REPEAT,
        "Niet opgepakt: onterecht signaal",
        "Persoon is geen inwoner (meer) in de gemeente",
    }
)
SIGNAL_STATUSES = tuple(sorted({STATUS_NOT_YET, STATUS_PICKED_UP} | NOT_PICKED_UP_RESULTS))


def signal_status(*, is_repeat: bool, case_attempted: bool, case_closed: bool, case_result: str | None) -> str:
    """A signal's DDAS status, from its case: *Nog niet opgepakt* on arrival, *Opgepakt* once its
    case had a contact attempt (any channel, reached or not), and, for a case closed before any
    attempt, why it was not picked up: the case's result where DDAS has it as a signal status,
    else *Niet opgepakt: andere reden*. A repeat is *Niet opgepakt: herhaalde melding* throughout."""
    if is_repeat:
        return STATUS_REPEAT
    if case_attempted:
        return STATUS_PICKED_UP
    if case_closed:
        return case_result if case_result in NOT_PICKED_UP_RESULTS else STATUS_OTHER_REASON
    return STATUS_NOT_YET


def address_key(*, postcode: str | None, house_number: int | None, addition: str | None) -> str | None:
    """Signals on one address belong to one household: postcode + number + addition, normalised."""
    if not postcode or house_number is None:
        return None
    normalised_addition = (addition or "").upper()
    if normalised_addition and not normalised_addition.isalnum():
        normalised_addition = "".join(ch for ch in normalised_addition if ch.isalnum())
    return f"{postcode.replace(' ', '').upper()}|{house_number}|{normalised_addition}"


def household_key(
    *, postcode: str | None, house_number: int | None, addition: str | None, bsn_digest: str | None
) -> str:
    """The address when there is one; otherwise the person (a platform that sends only a BSN)."""
    key = address_key(postcode=postcode, house_number=house_number, addition=addition)
    if key is not None:
        return key
    if bsn_digest is None:
        raise ValueError("a signal needs an address or a BSN")
    return f"bsn:{bsn_digest}"


@dataclass(frozen=True)
class SignalFacts:
    """What the rules need to know about one signal of a household."""

    key: str  # any stable id (external id)
    signal_date: date
    partner_type: str
    creditor: str | None
    arrears_since_date: date | None
    amount_cents: int | None


@dataclass(frozen=True)
class Assessment:
    kind: SignalKind
    is_repeat: bool

    @property
    def status(self) -> str:
        """On arrival; `signals.status.refresh` takes it on from the case."""
        return STATUS_REPEAT if self.is_repeat else STATUS_NOT_YET


def _creditor_key(facts: SignalFacts) -> tuple[str, str]:
    return facts.partner_type, " ".join((facts.creditor or "").lower().split())


def find_repeats(signals: Sequence[SignalFacts]) -> set[str]:
    """A repeat is the same creditor reporting the same arrear again without a higher amount
    (DDAS: "Niet opgepakt: herhaalde melding"). Signals are compared in signal-date order
    (ties by key), so the outcome does not depend on the order in which they arrived."""
    repeats: set[str] = set()
    highest: dict[tuple[tuple[str, str], date], int | None] = {}
    for facts in sorted(signals, key=lambda s: (s.signal_date, s.key)):
        if facts.arrears_since_date is None:
            continue  # without the arrear's start date there is no telling it is the same arrear
        arrear = (_creditor_key(facts), facts.arrears_since_date)
        if arrear in highest:
            previous = highest[arrear]
            if facts.amount_cents is None or (previous is not None and facts.amount_cents <= previous):
                repeats.add(facts.key)
                continue
        highest[arrear] = facts.amount_cents
    return repeats


def assess_household(signals: Sequence[SignalFacts], *, lookback_months: int) -> dict[str, Assessment]:
    """Classification and repeat status of every signal of one household; order-independent."""
    repeats = find_repeats(signals)
    on_address = [SignalOnAddress(s.signal_date, is_repeat=s.key in repeats) for s in signals]
    return {
        s.key: Assessment(
            kind=classify(on_address, month=s.signal_date.replace(day=1), lookback_months=lookback_months),
            is_repeat=s.key in repeats,
        )
        for s in signals
    }


_SEVERITY = {SignalKind.SINGLE: 0, SignalKind.CONSECUTIVE: 1, SignalKind.MULTIPLE: 2}


def case_classification(kinds: Sequence[SignalKind]) -> SignalKind:
    """A case is as serious as its most serious signal: a new signal may escalate it, never calm it."""
    return max(kinds, key=_SEVERITY.__getitem__, default=SignalKind.SINGLE)


@dataclass(frozen=True)
class Agreement:
    """A signed agreement with a creditor, as the register holds it for one partner."""

    creditor: str
    partner_type: str


def _creditor_name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def creditor_under_agreement(*, partner_type: str, creditor: str | None, agreements: Sequence[Agreement]) -> str:
    """The creditor a partner delivers a signal for, when one of its agreements covers it:
    the partner type must be the agreement's and the creditor its creditor (spelled as the
    register has it, up to case and spaces). Without a creditor, the partner's only agreement
    for that type names it. Otherwise ValueError with the reason.

    A partner delivers for the creditors it signed for and nothing else: not as another
    partner type (a crisis flag on a type it has no agreement for), not for another creditor.
    """
    same_type = [agreement for agreement in agreements if agreement.partner_type == partner_type]
    if not same_type:
        raise ValueError(f"no agreement on record for this partner as signaalpartner_type {partner_type}")
    if creditor is None:
        if len(same_type) == 1:
            return same_type[0].creditor
        raise ValueError(f"schuldeiser is required: this partner has agreements for several {partner_type} creditors")
    wanted = _creditor_name_key(creditor)
    if any(_creditor_name_key(agreement.creditor) == wanted for agreement in same_type):
        return creditor
    raise ValueError(f"no agreement on record for this partner with this schuldeiser as {partner_type}")


def status_for_creditor(status: str) -> str:
    """What a creditor may learn of its signal's DDAS status: picked up or not, never why not
    (for "Niet opgepakt: andere reden" the law allows no more; the other reasons, such as a
    resident who died or moved away, are no business of a creditor either)."""
    return status if status in (STATUS_NOT_YET, STATUS_PICKED_UP) else "Niet opgepakt"


# What the feedback (`feedback:read`) passes on as stored: the statuses that concern the signal
# itself. The others tell of the resident (died, moved away, already in debt help), which is no
# creditor's business: those are "Niet opgepakt: andere reden", as DDAS has it for any other reason.
FEEDBACK_STATUSES = (
    STATUS_NOT_YET,
    STATUS_PICKED_UP,
    STATUS_REPEAT,
    "Niet opgepakt: onterecht signaal",
    STATUS_OTHER_REASON,
)


def status_for_feedback(status: str) -> str:
    """The DDAS status a creditor's feedback shows: the signal's own, or *andere reden*."""
    return status if status in FEEDBACK_STATUSES else STATUS_OTHER_REASON
