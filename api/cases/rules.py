"""Rules about cases: the first-contact deadline. Pure: dates in, dates out."""

from __future__ import annotations

from datetime import date, timedelta


def add_working_days(start: date, days: int) -> date:
    """Monday to Friday; public holidays are not yet taken into account."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def first_contact_deadline(
    received_date: date, *, crisis: bool, first_contact_days: int, crisis_working_days: int
) -> date:
    """The municipality must act within 28 days of receiving the signal (a setting);
    a crisis signal within a few working days."""
    if crisis:
        return add_working_days(received_date, crisis_working_days)
    return received_date + timedelta(days=first_contact_days)
