"""Rules about cases: the first-contact deadline, the lifecycle, the next planned action. Pure."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final, Literal
from zoneinfo import ZoneInfo

import holidays

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def dutch_date(moment: datetime) -> date:
    """The calendar day in the Netherlands at `moment`: from midnight to 01:00 (02:00 in summer)
    it is already the next day there while UTC still says the previous one.

    The service's one calendar: every day it counts (deadlines, overdue, filters, the dashboard,
    the monitor, the exports, retention) is a day in Amsterdam, taken by this function (or by
    its SQL twin `api.reports.facts.dutch_day`)."""
    return moment.astimezone(AMSTERDAM).date()


@functools.cache
def _public_holidays(year: int) -> frozenset[date]:
    # The maintained `holidays` package, not a list of our own: Easter moves, King's Day moves
    # when it falls on a Sunday, and Liberation Day is a day off only in lustrum years.
    return frozenset(holidays.country_holidays("NL", years=year))


def is_working_day(day: date, *, closing_days: frozenset[date] = frozenset()) -> bool:
    """Monday to Friday, not a Dutch public holiday, not a day the municipality is closed."""
    return day.weekday() < 5 and day not in _public_holidays(day.year) and day not in closing_days


def add_working_days(start: date, days: int, *, closing_days: frozenset[date] = frozenset()) -> date:
    """The `days`-th working day after `start` (see `is_working_day`)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current, closing_days=closing_days):
            remaining -= 1
    return current


def first_contact_deadline(
    received_date: date,
    *,
    crisis: bool,
    first_contact_days: int,
    crisis_working_days: int,
    closing_days: frozenset[date] = frozenset(),
) -> date:
    """The municipality must act within 28 days of receiving the signal (a setting); a crisis
    signal within a few working days, and never later than an ordinary one (twenty working days
    around Christmas can take longer than 28 days). `received_date` is the Dutch day the signal came in."""
    ordinary = received_date + timedelta(days=first_contact_days)
    if crisis:
        return min(add_working_days(received_date, crisis_working_days, closing_days=closing_days), ordinary)
    return ordinary


def is_overdue(*, due: date, first_attempt_on: date | None, today: date, closed: bool) -> bool:
    """The duty is to act within the deadline: any contact attempt, by any channel, reached or
    not. An open case is overdue when no attempt was made on or before its due date and that
    Dutch day has ended; an attempt in time keeps it off the overdue lists for good, a late one
    does not put the missed deadline right. A closed case is nobody's work any more."""
    return overdue_by(
        closed=closed,
        deadline_passed=today > due,
        attempted_by_deadline=first_attempt_on is not None and first_attempt_on <= due,
    )


def overdue_by(*, closed: bool, deadline_passed: bool, attempted_by_deadline: bool) -> bool:
    """`is_overdue` over the three facts it rests on (what a grouped report query yields)."""
    return not closed and deadline_passed and not attempted_by_deadline


# --- the case lifecycle -------------------------------------------------------------------


class CaseState(StrEnum):
    NEW = "new"
    PLANNED = "planned"
    CONTACTED = "contacted"
    HELP_ACCEPTED = "help_accepted"
    TRAJECTORY = "trajectory"
    CLOSED = "closed"


class CaseEvent(StrEnum):
    PLAN = "plan"  # put on a worker's list
    UNPLAN = "unplan"  # taken off every list again
    CONTACT = "contact"  # an attempt reached the resident
    ACCEPT_HELP = "accept_help"
    START_TRAJECTORY = "start_trajectory"
    CLOSE = "close"  # with one of the 16 DDAS results
    REOPEN = "reopen"


_TRANSITIONS: dict[tuple[CaseState, CaseEvent], CaseState] = {
    (CaseState.NEW, CaseEvent.PLAN): CaseState.PLANNED,
    (CaseState.NEW, CaseEvent.CONTACT): CaseState.CONTACTED,
    (CaseState.NEW, CaseEvent.CLOSE): CaseState.CLOSED,
    (CaseState.PLANNED, CaseEvent.PLAN): CaseState.PLANNED,
    (CaseState.PLANNED, CaseEvent.UNPLAN): CaseState.NEW,
    (CaseState.PLANNED, CaseEvent.CONTACT): CaseState.CONTACTED,
    (CaseState.PLANNED, CaseEvent.CLOSE): CaseState.CLOSED,
    (CaseState.CONTACTED, CaseEvent.PLAN): CaseState.CONTACTED,
    (CaseState.CONTACTED, CaseEvent.CONTACT): CaseState.CONTACTED,
    (CaseState.CONTACTED, CaseEvent.ACCEPT_HELP): CaseState.HELP_ACCEPTED,
    (CaseState.CONTACTED, CaseEvent.CLOSE): CaseState.CLOSED,
    # The handover: starting a trajectory closes early signalling (debt help takes over).
    (CaseState.HELP_ACCEPTED, CaseEvent.START_TRAJECTORY): CaseState.CLOSED,
    (CaseState.HELP_ACCEPTED, CaseEvent.CLOSE): CaseState.CLOSED,
    (CaseState.TRAJECTORY, CaseEvent.CLOSE): CaseState.CLOSED,
    (CaseState.CLOSED, CaseEvent.REOPEN): CaseState.CONTACTED,
}


class IllegalTransition(ValueError):
    def __init__(self, state: CaseState, event: CaseEvent) -> None:
        super().__init__(f"a case that is {state.value} cannot {event.value.replace('_', ' ')}")
        self.state = state
        self.event = event


def transition(state: CaseState, event: CaseEvent) -> CaseState:
    """new → planned → contacted → help accepted → closed with a DDAS result (a trajectory's
    start closes it too, with a follow-up result). `trajectory` is a state only cases from
    before the handover rule were left in."""
    try:
        return _TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(state, event) from None


def allowed_events(state: CaseState) -> list[CaseEvent]:
    return [event for (source, event) in _TRANSITIONS if source is state]


DAY_PARTS = ((0, 12, "ochtend"), (12, 18, "middag"), (18, 24, "avond"))


def day_part(moment: datetime) -> str:
    """Ochtend before 12:00, middag 12–18, avond from 18:00, Amsterdam time."""
    hour = moment.astimezone(AMSTERDAM).hour
    return next(name for start, end, name in DAY_PARTS if start <= hour < end)


# --- the next planned action --------------------------------------------------------------


# Event kinds that are contact attempts, by channel: every contact kind DDAS knows (EnumContactsoort)
# but the card. A card left at a door nobody opened is part of that visit attempt, not a second
# one: it must not use up the policy's attempts. An appointment kept (at the office or elsewhere)
# is an attempt that reached the resident; "administrative" is contact through another organisation.
ATTEMPT_CHANNELS = {
    "visit_attempt": "visit",
    "phone_attempt": "phone",
    "letter_sent": "letter",
    "mail_sent": "mail",
    "sms_sent": "sms",
    "appointment_kept": "appointment",
    "administrative": "administrative",
}
CHANNELS = ("letter", "phone", "visit", "mail", "sms", "appointment", "administrative")
# Events from the field that can change a case's state; cards and notes never do.
STATE_KINDS = frozenset(
    {
        "visit_attempt",
        "phone_attempt",
        "sms_sent",
        "appointment_kept",
        "help_offered",
        "help_accepted",
        "help_declined",
        "result_proposed",
    }
)


@dataclass(frozen=True)
class Attempt:
    channel: str  # one of CHANNELS
    reached: bool
    day_part: str | None = None  # ochtend | middag | avond


@dataclass(frozen=True)
class PlannedAction:
    channel: str | None  # None: the policy's end is reached
    attempt_number: int
    avoid_day_parts: tuple[str, ...] = ()
    after_last_attempt: str | None = None  # what the policy says to do once nothing is left


def next_action(
    *, channels: list[str], max_attempts: int, change_day_part: bool, after_last_attempt: str, attempts: list[Attempt]
) -> PlannedAction | None:
    """What the outreach policy plans next for a case that has not reached anybody yet.

    Channels are tried in order; an unreached visit is retried (up to `max_attempts`
    visits), each at a different day part when the policy asks for it. Once a resident is
    reached, outreach is done (None). After the last failed attempt the policy's
    `after_last_attempt` applies.
    """
    if any(attempt.reached for attempt in attempts):
        return None
    number = len(attempts) + 1
    for index, channel in enumerate(channels):
        used = [attempt for attempt in attempts if attempt.channel == channel]
        limit = max_attempts if channel == "visit" or index == len(channels) - 1 else 1
        if len(used) < limit:
            avoid = tuple(sorted({a.day_part for a in used if a.day_part})) if change_day_part else ()
            return PlannedAction(channel=channel, attempt_number=number, avoid_day_parts=avoid)
    return PlannedAction(channel=None, attempt_number=number, after_last_attempt=after_last_attempt)


# --- retention ----------------------------------------------------------------------------


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier, clamped to the month's end (31 May − 3 months = 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def due_for_purge(
    *, state: str, closed_on: date | None, has_trajectory: bool, purged: bool, today: date, retention_months: int
) -> bool:
    """Personal data goes `retention_months` after a case closed without a trajectory (AVG)."""
    if purged or has_trajectory or state != CaseState.CLOSED.value or closed_on is None:
        return False
    return closed_on < months_before(today, retention_months)


# The 16 results of a vroegsignaalzaak, exactly as DDAS v1.2 (EnumEindresultaat) spells them.
DDAS_RESULTS = (
    "(Budget)advies en/of quick fix",
    "Definitief geen contact kunnen krijgen",
    "Geen reactie na eerder contact",
    "Inwoner al bekend bij schuldhulpverlening",
    "Inwoner heeft al een ander lopend traject",
    "Inwoner heeft zelf al betaald/betalingsregeling getroffen",
    "Inwoner is overleden",
    "Inwoner regelt het zelf/hoeft geen hulp vanuit vroegsignalering",
    "Niet opgepakt: andere reden",
    "Niet opgepakt: herhaalde melding",
    "Niet opgepakt: onterecht signaal",
    "Persoon is geen inwoner (meer) in de gemeente",
    "Vervolghulp en/of verwijzing",
    "Vervolghulp en/of verwijzing financieel",
    "Vervolghulp en/of verwijzing niet financieel",
    "Verwijzing zonder tussenkomst inwoner",
)


# --- results that fit the history ---------------------------------------------------------

# Early signalling ends at the handover: a trajectory closes the case with one of these.
HANDOVER_RESULTS = (
    "Vervolghulp en/of verwijzing financieel",
    "Vervolghulp en/of verwijzing",
    "Vervolghulp en/of verwijzing niet financieel",
)
DEFAULT_HANDOVER_RESULT = HANDOVER_RESULTS[0]
_NEEDS_REACH = frozenset({*HANDOVER_RESULTS, "(Budget)advies en/of quick fix", "Geen reactie na eerder contact"})
NO_CONTACT = "Definitief geen contact kunnen krijgen"


def result_problem(
    result: str, *, attempts: list[Attempt], reached: bool, no_contact_attempts: int, no_contact_channels: int
) -> str | None:
    """Why `result` does not fit the case's history, or None when it does.

    `reached`: the resident was reached (an attempt said so, or accepting or declining help did).
    Follow-up help, budget advice and "no response after earlier contact" need a reached
    contact; "definitely no contact" needs the opposite, after the policy's number of attempts
    over its number of channels. The other results (not picked up for a reason, moved away,
    deceased, already helped, settled it themselves) the office may know without any contact.
    """
    if result not in DDAS_RESULTS:
        return "not one of the 16 DDAS results"
    if result in _NEEDS_REACH and not reached:
        return "it needs a contact that reached the resident, and there was none"
    if result == NO_CONTACT:
        if reached:
            return "the resident was reached"
        unreached = [attempt for attempt in attempts if not attempt.reached]
        channels = {attempt.channel for attempt in unreached}
        if len(unreached) < no_contact_attempts or len(channels) < no_contact_channels:
            return (
                f"it needs at least {no_contact_attempts} attempts over {no_contact_channels} channels without "
                f"reaching anybody; there were {len(unreached)} over {len(channels)}"
            )
    return None


UnjustifiedSignal = Literal["Niet opgepakt: onterecht signaal"]
UNJUSTIFIED_SIGNAL: Final[UnjustifiedSignal] = "Niet opgepakt: onterecht signaal"
# Before anybody reached the resident: after that the conversation decides how the case ends.
PROPOSABLE_STATES = frozenset({CaseState.NEW.value, CaseState.PLANNED.value})


def closing_proposal(*, state: str, signals_below_threshold: list[bool]) -> str | None:
    """The result the service proposes to close the case with, or None.

    A case whose signals are all below the municipality's thresholds is proposed for closing as
    *Niet opgepakt: onterecht signaal* while it is open and nobody has reached the resident yet.
    Only proposed: the office confirms by closing the case with that result; nothing closes by
    itself. A signal that is not below threshold, joining later, withdraws the proposal."""
    if state in PROPOSABLE_STATES and signals_below_threshold and all(signals_below_threshold):
        return UNJUSTIFIED_SIGNAL
    return None


# What the office may close a stale case with: it decides which fits (the first needs the attempts
# `result_problem` asks for; the second always fits).
STALE_RESULTS = (NO_CONTACT, "Niet opgepakt: andere reden")


def stale_cutoff(today: date, *, stale_case_months: int) -> date:
    """The first Dutch day that still counts as recent: activity before it is old."""
    return months_before(today, stale_case_months)


def is_stale(*, state: str, last_activity_on: date, today: date, stale_case_months: int) -> bool:
    """Whether an open case is proposed for closing because nothing happened to it: no signal came
    in, no attempt was made and no action recorded for `stale_case_months` (the last of them, or the
    opening, fell before the cutoff). Only proposed, as *Definitief geen contact kunnen krijgen* or
    *Niet opgepakt: andere reden*: the office decides which, and closes it; nothing closes by itself."""
    return state != CaseState.CLOSED.value and last_activity_on < stale_cutoff(
        today, stale_case_months=stale_case_months
    )


def allowed_results(
    *, attempts: list[Attempt], reached: bool, no_contact_attempts: int, no_contact_channels: int
) -> list[str]:
    """The DDAS results that fit the history now, in the schema's order."""
    return [
        result
        for result in DDAS_RESULTS
        if result_problem(
            result,
            attempts=attempts,
            reached=reached,
            no_contact_attempts=no_contact_attempts,
            no_contact_channels=no_contact_channels,
        )
        is None
    ]
