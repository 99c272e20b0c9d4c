"""The BKR rules as pure functions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.bkr.rules import Delivery, Person, SubjectProblem, add_months, choose_subject, judge, removal_date, retry_delay


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 11, 26), 6, date(2027, 5, 26)),
        (date(2026, 8, 31), 6, date(2027, 2, 28)),
        (date(2027, 8, 31), 6, date(2028, 2, 29)),
        (date(2026, 12, 15), 60, date(2031, 12, 15)),
        (date(2026, 1, 31), 0, date(2026, 1, 31)),
    ],
)
def test_add_months_clamps_to_the_end_of_the_month(day: date, months: int, expected: date):
    assert add_months(day, months) == expected


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.integers(0, 120))
def test_add_months_lands_in_the_right_month_never_before_the_day(day: date, months: int):
    later = add_months(day, months)
    assert (later.year * 12 + later.month) - (day.year * 12 + day.month) == months
    assert later.day == day.day or later.day < day.day and (later + timedelta(days=1)).day == 1


def test_removal_follows_the_municipality_and_the_outcome():
    end = date(2027, 3, 31)
    assert removal_date(end, "terminated", months_after_end=60, months_after_success=6) == date(2032, 3, 31)
    assert removal_date(end, "completed", months_after_end=60, months_after_success=6) == date(2027, 9, 30)
    assert removal_date(end, "completed", months_after_end=60, months_after_success=None) == date(2032, 3, 31)
    assert removal_date(end, "other", months_after_end=0, months_after_success=6) == end


def person(
    surname: str | None = "Jansen",
    birth: date | None = date(1980, 5, 1),
    initials: str | None = "J.",
    gender: str | None = None,
) -> Person:
    return Person(initials=initials, prefix=None, surname=surname, birth_date=birth, gender=gender)


def test_the_subject_is_the_one_person_the_signals_name_in_its_fullest_record():
    chosen = choose_subject([person(gender=None), person(initials="J", gender="V"), person(surname=None)])
    assert chosen == person(initials="J", gender="V")


def test_no_name_different_people_or_no_birth_date_are_refused():
    assert choose_subject([]) is SubjectProblem.UNIDENTIFIED
    assert choose_subject([person(surname=None)]) is SubjectProblem.UNIDENTIFIED
    assert choose_subject([person(), person(surname="de Vries")]) is SubjectProblem.AMBIGUOUS
    assert choose_subject([person(), person(birth=date(1990, 1, 1))]) is SubjectProblem.AMBIGUOUS
    assert choose_subject([person(birth=None)]) is SubjectProblem.INCOMPLETE


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Delivery.DELIVERED),
        (201, Delivery.DELIVERED),
        (None, Delivery.RETRY),
        (500, Delivery.RETRY),
        (503, Delivery.RETRY),
        (429, Delivery.RETRY),
        (408, Delivery.RETRY),
        (400, Delivery.REJECTED),
        (401, Delivery.RETRY),
        (403, Delivery.RETRY),
        (404, Delivery.REJECTED),
        (409, Delivery.REJECTED),
        (422, Delivery.REJECTED),
    ],
)
def test_timeouts_and_5xx_are_retried_4xx_stop(status: int | None, verdict: Delivery):
    assert judge(status) is verdict


@given(st.integers(1, 200))
def test_backoff_doubles_and_is_capped(attempt: int):
    delay = retry_delay(attempt)
    assert timedelta(seconds=30) <= delay <= timedelta(hours=1)
    assert retry_delay(attempt + 1) >= delay
    if delay < timedelta(minutes=30):
        assert retry_delay(attempt + 1) == 2 * delay


def test_backoff_counts_from_one():
    with pytest.raises(ValueError, match="from 1"):
        retry_delay(0)
