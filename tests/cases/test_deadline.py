"""The first-contact deadline: 28 days (a setting), crisis signals a few working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from api.cases.rules import AMSTERDAM, add_working_days, dutch_date, first_contact_deadline, is_working_day


def test_an_ordinary_signal_must_be_acted_on_within_28_days():
    assert first_contact_deadline(
        date(2026, 11, 26), crisis=False, first_contact_days=28, crisis_working_days=3
    ) == date(2026, 12, 24)


def test_a_crisis_signal_on_friday_is_due_on_wednesday():
    friday = date(2026, 11, 27)
    assert first_contact_deadline(friday, crisis=True, first_contact_days=28, crisis_working_days=3) == date(
        2026, 12, 2
    )


closing = st.frozensets(st.dates(min_value=date(2020, 1, 1), max_value=date(2031, 3, 31)), max_size=20)


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)), st.integers(min_value=1, max_value=30), closing
)
def test_working_days_skip_weekends_holidays_and_closing_days_and_count_exactly(start: date, days: int, closed):  # type: ignore[no-untyped-def]
    result = add_working_days(start, days, closing_days=closed)
    assert is_working_day(result, closing_days=closed) and result.weekday() < 5 and result not in closed
    between = [start + timedelta(days=n) for n in range(1, (result - start).days + 1)]
    assert sum(is_working_day(day, closing_days=closed) for day in between) == days
    assert (result - start).days >= days


def test_a_crisis_signal_on_the_thursday_before_easter_is_due_after_the_holidays():
    # Good Friday 3 April and Easter Monday 6 April 2026 are not working days.
    maundy_thursday = date(2026, 4, 2)
    assert first_contact_deadline(maundy_thursday, crisis=True, first_contact_days=28, crisis_working_days=3) == date(
        2026, 4, 9
    )


def test_the_municipalitys_closing_days_do_not_count_either():
    closed = frozenset({date(2026, 12, 28), date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)})
    # Christmas Eve (Thursday): Christmas and the second day are holidays, the week after is closed.
    assert first_contact_deadline(
        date(2026, 12, 24), crisis=True, first_contact_days=28, crisis_working_days=3, closing_days=closed
    ) == date(2027, 1, 6)  # New Year's Day is a holiday too


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
    assert (day != utc_day) == (
        moment.hour >= 24 - int(moment.astimezone(AMSTERDAM).utcoffset().total_seconds() // 3600)
    )


def test_half_past_midnight_in_amsterdam_is_already_tomorrow():
    assert dutch_date(datetime(2026, 11, 26, 23, 30, tzinfo=UTC)) == date(2026, 11, 27)  # winter: UTC+1
    assert dutch_date(datetime(2026, 6, 30, 22, 30, tzinfo=UTC)) == date(2026, 7, 1)  # summer: UTC+2
    assert dutch_date(datetime(2026, 6, 30, 21, 59, tzinfo=UTC)) == date(2026, 6, 30)
