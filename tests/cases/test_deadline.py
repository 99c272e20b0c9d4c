"""The first-contact deadline: 28 days (a setting), crisis signals a few working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from api.cases.rules import AMSTERDAM, add_working_days, dutch_date, first_contact_deadline


def test_an_ordinary_signal_must_be_acted_on_within_28_days():
    assert first_contact_deadline(date(2026, 11, 26), crisis=False, first_contact_days=28, crisis_working_days=3) == date(
        2026, 12, 24
    )


def test_a_crisis_signal_on_friday_is_due_on_wednesday():
    friday = date(2026, 11, 27)
    assert first_contact_deadline(friday, crisis=True, first_contact_days=28, crisis_working_days=3) == date(2026, 12, 2)


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)), st.integers(min_value=1, max_value=30))
def test_working_days_never_land_in_a_weekend_and_are_never_sooner_than_calendar_days(start: date, days: int):
    result = add_working_days(start, days)
    assert result.weekday() < 5
    assert (result - start).days >= days
    # Every 5 working days span at most 7 calendar days (plus the weekend at either end).
    assert (result - start).days <= days + 2 * (days // 5 + 1)


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)), st.integers(min_value=1, max_value=20))
def test_crisis_is_never_later_than_ordinary_when_the_settings_say_so(received: date, crisis_days: int):
    ordinary = first_contact_deadline(received, crisis=False, first_contact_days=28, crisis_working_days=crisis_days)
    crisis = first_contact_deadline(received, crisis=True, first_contact_days=28, crisis_working_days=crisis_days)
    assert crisis <= ordinary


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    st.booleans(),
    st.integers(min_value=1, max_value=20),
)
def test_the_deadline_is_never_later_than_receipt_plus_28_days(received: date, crisis: bool, crisis_days: int):
    due = first_contact_deadline(received, crisis=crisis, first_contact_days=28, crisis_working_days=crisis_days)
    assert received < due <= received + timedelta(days=28)


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)))
def test_the_dutch_day_is_the_utc_day_or_the_next_one_after_22_or_23_utc(moment: datetime):
    """Amsterdam is one hour ahead of UTC in winter and two in summer: never behind, never a day more."""
    day = dutch_date(moment)
    utc_day = moment.date()
    assert day in (utc_day, utc_day + timedelta(days=1))
    assert (day != utc_day) == (moment.hour >= 24 - int(moment.astimezone(AMSTERDAM).utcoffset().total_seconds() // 3600))


def test_half_past_midnight_in_amsterdam_is_already_tomorrow():
    assert dutch_date(datetime(2026, 11, 26, 23, 30, tzinfo=UTC)) == date(2026, 11, 27)  # winter: UTC+1
    assert dutch_date(datetime(2026, 6, 30, 22, 30, tzinfo=UTC)) == date(2026, 7, 1)  # summer: UTC+2
    assert dutch_date(datetime(2026, 6, 30, 21, 59, tzinfo=UTC)) == date(2026, 6, 30)
