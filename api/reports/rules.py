"""Rules of the reports: result categories, shares, a case against its deadline, periods, the export row. Pure."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from operator import attrgetter
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")  # the service's calendar (cases.rules.dutch_date)

# --- closed cases: the 16 DDAS results in four categories -----------------------------------

NOT_PICKED_UP = "Niet opgepakt"
NO_CONTACT = "Geen contact"
CONTACT_NO_FOLLOW_UP = "Contact, geen vervolghulp"
FOLLOW_UP = "Vervolghulp"
CATEGORIES = (NOT_PICKED_UP, NO_CONTACT, CONTACT_NO_FOLLOW_UP, FOLLOW_UP)
UNKNOWN = "Onbekend"  # a closed case without one of the 16 results (never written by this service)

# The category answers one question: how did the outreach end? Not picked up (no outreach was
# needed or possible: a repeat, a wrong signal, already in debt help, moved away, deceased),
# no contact in the end, contact without help beyond the conversation itself (a quick fix or
# budget advice counts here: it is not *vervolg*hulp), or follow-up help / a referral.
RESULT_CATEGORIES: dict[str, str] = {
    "Niet opgepakt: andere reden": NOT_PICKED_UP,
    "Niet opgepakt: herhaalde melding": NOT_PICKED_UP,
    "Niet opgepakt: onterecht signaal": NOT_PICKED_UP,
    "Inwoner al bekend bij schuldhulpverlening": NOT_PICKED_UP,
    "Inwoner heeft al een ander lopend traject": NOT_PICKED_UP,
    "Persoon is geen inwoner (meer) in de gemeente": NOT_PICKED_UP,
    "Inwoner is overleden": NOT_PICKED_UP,
    "Definitief geen contact kunnen krijgen": NO_CONTACT,
    "Geen reactie na eerder contact": NO_CONTACT,
    "Inwoner heeft zelf al betaald/betalingsregeling getroffen": CONTACT_NO_FOLLOW_UP,
    "Inwoner regelt het zelf/hoeft geen hulp vanuit vroegsignalering": CONTACT_NO_FOLLOW_UP,
    "(Budget)advies en/of quick fix": CONTACT_NO_FOLLOW_UP,
    "Vervolghulp en/of verwijzing": FOLLOW_UP,
    "Vervolghulp en/of verwijzing financieel": FOLLOW_UP,
    "Vervolghulp en/of verwijzing niet financieel": FOLLOW_UP,
    "Verwijzing zonder tussenkomst inwoner": FOLLOW_UP,
}


def category_of(result: str | None) -> str:
    return RESULT_CATEGORIES.get(result or "", UNKNOWN)


@dataclass(frozen=True)
class ClosedTally:
    total: int
    by_result: dict[str, int]  # every one of the 16 results, zero included
    by_category: dict[str, int]  # the four categories, zero included; `Onbekend` only when it occurs


def tally_closed(counts: Mapping[str | None, int]) -> ClosedTally:
    """Closed cases per result and per category: both add up to the total."""
    by_result = {result: 0 for result in RESULT_CATEGORIES}
    by_category = {category: 0 for category in CATEGORIES}
    for result, count in counts.items():
        category = category_of(result)
        by_category[category] = by_category.get(category, 0) + count
        key = result if result in RESULT_CATEGORIES else UNKNOWN
        by_result[key] = by_result.get(key, 0) + count
    return ClosedTally(total=sum(counts.values()), by_result=by_result, by_category=by_category)


def share(part: int, whole: int) -> float | None:
    """`part` of `whole`, rounded to four decimals; None when there is nothing to share."""
    if whole <= 0:
        return None
    return round(min(max(part, 0), whole) / whole, 4)


# --- a case against its first-contact deadline ----------------------------------------------


class DeadlineOutcome(StrEnum):
    WITHIN = "first_contact_within_deadline"  # first reached on or before the due date
    LATE = "first_contact_after_deadline"
    CLOSED_WITHOUT_CONTACT = "closed_without_contact"
    OVERDUE = "open_past_deadline_without_contact"  # not reached, still open, due date passed
    PENDING = "open_within_deadline_without_contact"  # not reached yet, still in time


def deadline_outcome(
    *, reached: bool, reached_by_deadline: bool, closed: bool, deadline_passed: bool
) -> DeadlineOutcome:
    """Where a case stands against its first-contact deadline (28 days; crisis: a few working days).

    `reached`: an attempt reached the resident; `reached_by_deadline`: the first such attempt
    was on or before the due date; `deadline_passed`: today is after the due date.
    """
    if reached:
        return DeadlineOutcome.WITHIN if reached_by_deadline else DeadlineOutcome.LATE
    if closed:
        return DeadlineOutcome.CLOSED_WITHOUT_CONTACT
    return DeadlineOutcome.OVERDUE if deadline_passed else DeadlineOutcome.PENDING


class FirstOutcome(StrEnum):
    """When the first attempt (or the first reach) came, against the case's deadline."""

    WITHIN = "within_deadline"  # on or before the due date
    AFTER = "after_deadline"
    NONE_YET = "none_yet"


def first_against_deadline(*, happened: bool, by_deadline: bool) -> FirstOutcome:
    if not happened:
        return FirstOutcome.NONE_YET
    return FirstOutcome.WITHIN if by_deadline else FirstOutcome.AFTER


@dataclass(frozen=True)
class FirstTally:
    by_outcome: dict[FirstOutcome, int]  # every outcome, zero included; adds up to the cases opened
    share_within_deadline: float | None  # of the cases opened; None when none were


def tally_first(groups: Iterable[tuple[FirstOutcome, int]]) -> FirstTally:
    by_outcome = {outcome: 0 for outcome in FirstOutcome}
    for outcome, count in groups:
        by_outcome[outcome] += count
    return FirstTally(
        by_outcome=by_outcome, share_within_deadline=share(by_outcome[FirstOutcome.WITHIN], sum(by_outcome.values()))
    )


@dataclass(frozen=True)
class DeadlineTally:
    opened: int
    by_outcome: dict[DeadlineOutcome, int]  # every outcome, zero included; adds up to `opened`
    share_within_deadline: float | None  # of the cases opened; None when none were


def tally_deadlines(groups: Iterable[tuple[DeadlineOutcome, int]]) -> DeadlineTally:
    by_outcome = {outcome: 0 for outcome in DeadlineOutcome}
    for outcome, count in groups:
        by_outcome[outcome] += count
    opened = sum(by_outcome.values())
    return DeadlineTally(
        opened=opened, by_outcome=by_outcome, share_within_deadline=share(by_outcome[DeadlineOutcome.WITHIN], opened)
    )


# --- periods and media types ----------------------------------------------------------------

MAX_PERIOD_DAYS = 366  # a year, leap years included
# Reports count in whole days up to the day after a period: 9999-12-31 has no day after it.
EARLIEST, LATEST = date(1900, 1, 1), date(9998, 12, 31)


def period_problem(start: date, end: date, *, max_days: int | None = MAX_PERIOD_DAYS) -> str | None:
    """Why `start`..`end` (both included) is not a period a report covers, or None."""
    if not (EARLIEST <= start <= LATEST and EARLIEST <= end <= LATEST):
        return f"Dates must lie between {EARLIEST} and {LATEST}."
    if start > end:
        return "`from` must be on or before `to`."
    if max_days is not None and (end - start).days + 1 > max_days:
        return f"A period covers at most {max_days} days."
    return None


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in Amsterdam, as UTC moments: whole Dutch days,
    the service's one calendar (`cases.rules.dutch_date`)."""
    return (
        datetime.combine(start, time(), AMSTERDAM).astimezone(UTC),
        datetime.combine(end + timedelta(days=1), time(), AMSTERDAM).astimezone(UTC),
    )


def months_of(start: date, end: date) -> list[str]:
    """The calendar months `start`..`end` touches, as `YYYY-MM`, in order."""
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def tally_by_month(
    counts: Iterable[tuple[date | str, str, int]], *, start: date, end: date, keys: Iterable[str]
) -> dict[str, dict[str, int]]:
    """Counts per day and key folded into the months of `start`..`end`: every month and every key, zero included
    (a key outside `keys` is added where it occurs)."""
    keys = list(keys)
    tally = {month: dict.fromkeys(keys, 0) for month in months_of(start, end)}
    for day, key, count in counts:
        per_key = tally.setdefault(str(day)[:7], dict.fromkeys(keys, 0))
        per_key[key] = per_key.get(key, 0) + count
    return tally


def negotiate(accept: str | None, offered: Sequence[str]) -> str | None:
    """The offered media type the `Accept` header prefers (RFC 9110 §12.5.1), or None if it takes none.

    No header (or an empty one) takes the first offered. The most specific range that matches
    an offer sets its quality; equal qualities go to the earlier offer.
    """
    if accept is None or not accept.strip():
        return offered[0] if offered else None
    ranges: list[tuple[str, str, float]] = []
    for item in accept.split(","):
        media_range, *params = (part.strip() for part in item.split(";"))
        kind, _, subtype = media_range.lower().partition("/")
        if not kind or not subtype:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        ranges.append((kind, subtype, quality))
    best: tuple[float, str] | None = None
    for offer in offered:
        kind, _, subtype = offer.lower().partition("/")
        matches = [
            (specificity, quality)
            for range_kind, range_subtype, quality in ranges
            for specificity in [
                2
                if (range_kind, range_subtype) == (kind, subtype)
                else 1
                if range_kind == kind and range_subtype == "*"
                else 0
                if (range_kind, range_subtype) == ("*", "*")
                else -1
            ]
            if specificity >= 0
        ]
        if not matches:
            continue
        quality = max(matches)[1]
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, offer)
    return best[1] if best else None


# --- the case export ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportedCase:
    """One row of the case export, in the documented column order (README: "Case export")."""

    case_id: uuid.UUID
    state: str
    classification: str
    crisis: bool
    opened_date: date
    first_contact_due_date: date
    street: str | None
    house_number: int | None
    house_number_addition: str | None
    postcode: str | None
    town: str | None
    assigned_worker_id: uuid.UUID | None
    result: str | None
    result_category: str | None
    closed_date: date | None
    letter_attempts: int
    phone_attempts: int
    visit_attempts: int
    first_attempt_date: date | None
    first_contact_date: date | None
    reached: bool
    help_accepted: bool
    trajectory_decision_date: date | None
    trajectory_end_date: date | None
    trajectory_outcome: str | None
    purged: bool
    overdue: bool  # as of the export: open, no attempt on or before the due date, that day ended
    # The channels DDAS added besides letter, phone and visit (columns only ever come at the end).
    mail_attempts: int = 0
    sms_attempts: int = 0
    appointment_attempts: int = 0
    administrative_attempts: int = 0


EXPORT_COLUMNS = tuple(field.name for field in fields(ExportedCase))
# Erased with retention: a purged case is exported for its figures, never for whom it was about.
PERSONAL_COLUMNS = ("street", "house_number", "house_number_addition", "postcode", "town", "assigned_worker_id")

Cell = str | int | date | None


_EXPORT_VALUES = attrgetter(*EXPORT_COLUMNS)
_PERSONAL_INDEXES = tuple(index for index, name in enumerate(EXPORT_COLUMNS) if name in PERSONAL_COLUMNS)


def export_cells(case: ExportedCase) -> list[Cell]:
    """The row as cells: yes/no for flags, None for empty; a purged case without its personal columns.
    (Run for every row of an export: one C call reads the fields, one comprehension converts.)"""
    cells: list[Cell] = [
        "yes" if value is True else "no" if value is False else str(value) if type(value) is uuid.UUID else value
        for value in _EXPORT_VALUES(case)
    ]
    if case.purged:
        for index in _PERSONAL_INDEXES:
            cells[index] = None
    return cells
