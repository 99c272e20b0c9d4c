"""The BKR rules, pure: who is registered, with what, until when, and how delivery retries.

Only the start of a debt-relief trajectory (the municipal decision, *beschikking*)
registers a resident at BKR, with contract type SH, no amount and the decision date as
start date. Signals, attempts, visits, accepted help, intakes, advice, a declined offer or
a closed case never do (the seed article; DOMAIN.md step 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal

CONTRACT_TYPE = "SH"  # Schuldhulp
TrajectoryOutcome = Literal["completed", "terminated", "other"]
SUBJECT_FIELDS = ("initials", "prefix", "surname", "birth_date", "gender")
ADDRESS_FIELDS = ("street", "house_number", "house_number_addition", "postcode", "town")


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Aug + 6 months = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month - timedelta(days=1)).day))


def removal_date(
    end_date: date, outcome: TrajectoryOutcome, *, months_after_end: int, months_after_success: int | None
) -> date:
    """BKR removes an SH registration five years after the trajectory ends by default; some
    municipalities (the four largest cities) have it removed sooner after a successful end."""
    months = months_after_success if outcome == "completed" and months_after_success is not None else months_after_end
    return add_months(end_date, months)


@dataclass(frozen=True)
class Person:
    initials: str | None
    prefix: str | None
    surname: str | None
    birth_date: date | None
    gender: str | None

    def key(self) -> tuple[str, date | None, str]:
        """Two signals name the same resident when surname, birth date and initials agree."""
        return (
            (self.surname or "").strip().casefold(),
            self.birth_date,
            (self.initials or "").replace(".", "").replace(" ", "").casefold(),
        )


class SubjectProblem(StrEnum):
    UNIDENTIFIED = "resident-unidentified"  # no signal names anybody
    AMBIGUOUS = "resident-ambiguous"  # the signals name different people: the office picks one
    INCOMPLETE = "resident-incomplete"  # BKR needs at least a surname and a birth date


def choose_subject(people: list[Person]) -> Person | SubjectProblem:
    """The resident a trajectory registers: the one person the case's signals name."""
    named = [person for person in people if person.surname]
    if not named:
        return SubjectProblem.UNIDENTIFIED
    distinct = {person.key() for person in named}
    if len(distinct) > 1:
        return SubjectProblem.AMBIGUOUS
    # The most complete record of that person (signals differ in what the platform filled in).
    best = max(named, key=lambda person: sum(getattr(person, name) is not None for name in SUBJECT_FIELDS))
    return best if best.birth_date is not None else SubjectProblem.INCOMPLETE


# --- delivery -----------------------------------------------------------------------------


class Delivery(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # a timeout, a dropped connection or a 5xx: try again later, same key
    REJECTED = "rejected"  # a 4xx: BKR says no; a person must look


# BKR does not accept *us* (credentials, access): no registration is at fault, so none fails.
NOT_ACCEPTED = (401, 403)


def judge(status_code: int | None) -> Delivery:
    """What an answer means. None: no answer at all (timeout, connection lost)."""
    if status_code is None or status_code >= 500 or status_code in (408, 425, 429, *NOT_ACCEPTED):
        return Delivery.RETRY
    if 200 <= status_code < 300:
        return Delivery.DELIVERED
    return Delivery.REJECTED


def retry_delay(attempt: int, *, base_seconds: float = 30.0, cap_seconds: float = 3600.0) -> timedelta:
    """Exponential backoff after the `attempt`-th failed try: 30 s, 1 min, 2 min … at most an hour."""
    if attempt < 1:
        raise ValueError("attempts count from 1")
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** min(attempt - 1, 32)))
