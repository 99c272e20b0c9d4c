"""The reports' pure rules: result categories, shares, deadline outcomes, periods, media types, export rows."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.cases.rules import DDAS_RESULTS
from api.reports.rules import (
    CATEGORIES,
    EXPORT_COLUMNS,
    PERSONAL_COLUMNS,
    RESULT_CATEGORIES,
    UNKNOWN,
    DeadlineOutcome,
    ExportedCase,
    category_of,
    deadline_outcome,
    export_cells,
    negotiate,
    period_problem,
    share,
    tally_closed,
    tally_deadlines,
)

CSV, XLSX, JSON = "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/json"


def test_every_ddas_result_has_exactly_one_of_the_four_categories():
    assert set(RESULT_CATEGORIES) == set(DDAS_RESULTS)
    assert set(RESULT_CATEGORIES.values()) == set(CATEGORIES)


@pytest.mark.parametrize(
    ("result", "category"),
    [
        ("Niet opgepakt: herhaalde melding", "Niet opgepakt"),
        ("Inwoner is overleden", "Niet opgepakt"),
        ("Definitief geen contact kunnen krijgen", "Geen contact"),
        ("Geen reactie na eerder contact", "Geen contact"),
        ("(Budget)advies en/of quick fix", "Contact, geen vervolghulp"),
        ("Inwoner regelt het zelf/hoeft geen hulp vanuit vroegsignalering", "Contact, geen vervolghulp"),
        ("Vervolghulp en/of verwijzing financieel", "Vervolghulp"),
        ("Verwijzing zonder tussenkomst inwoner", "Vervolghulp"),
        (None, UNKNOWN),
        ("Iets anders", UNKNOWN),
    ],
)
def test_a_result_falls_in_its_category(result, category):  # type: ignore[no-untyped-def]
    assert category_of(result) == category


results = st.sampled_from([*DDAS_RESULTS, None, "legacy result"])


@given(st.dictionaries(results, st.integers(min_value=0, max_value=10_000)))
def test_closed_cases_per_result_and_per_category_add_up_to_the_total(counts):  # type: ignore[no-untyped-def]
    tally = tally_closed(counts)
    assert tally.total == sum(counts.values()) == sum(tally.by_result.values()) == sum(tally.by_category.values())
    assert set(DDAS_RESULTS) <= set(tally.by_result) and set(CATEGORIES) <= set(tally.by_category)
    assert (UNKNOWN in tally.by_category) == any(result not in RESULT_CATEGORIES for result in counts)


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**9))
def test_a_share_lies_between_zero_and_one_and_is_none_of_nothing(part, whole):  # type: ignore[no-untyped-def]
    value = share(min(part, whole), whole)
    if whole == 0:
        assert value is None
    else:
        assert value is not None and 0.0 <= value <= 1.0


def test_a_share_is_rounded_to_four_decimals():
    assert (share(1, 3), share(2, 2), share(0, 5)) == (0.3333, 1.0, 0.0)


@pytest.mark.parametrize(
    ("reached", "by_deadline", "closed", "passed", "outcome"),
    [
        (True, True, False, True, DeadlineOutcome.WITHIN),
        (True, True, True, True, DeadlineOutcome.WITHIN),  # reached in time, closed later: still in time
        (True, False, False, True, DeadlineOutcome.LATE),
        (False, False, True, True, DeadlineOutcome.CLOSED_WITHOUT_CONTACT),
        (False, False, True, False, DeadlineOutcome.CLOSED_WITHOUT_CONTACT),
        (False, False, False, True, DeadlineOutcome.OVERDUE),
        (False, False, False, False, DeadlineOutcome.PENDING),
    ],
)
def test_where_a_case_stands_against_its_deadline(reached, by_deadline, closed, passed, outcome):  # type: ignore[no-untyped-def]
    assert (
        deadline_outcome(reached=reached, reached_by_deadline=by_deadline, closed=closed, deadline_passed=passed)
        is outcome
    )


@given(
    st.lists(
        st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans(), st.integers(min_value=0, max_value=1000))
    )
)
def test_the_deadline_outcomes_of_the_cases_opened_add_up_to_the_cases_opened(groups):  # type: ignore[no-untyped-def]
    tally = tally_deadlines(
        (deadline_outcome(reached=r, reached_by_deadline=b, closed=c, deadline_passed=p), n) for r, b, c, p, n in groups
    )
    assert tally.opened == sum(n for *_, n in groups) == sum(tally.by_outcome.values())
    assert set(tally.by_outcome) == set(DeadlineOutcome)
    if tally.opened == 0:
        assert tally.share_within_deadline is None
    else:
        assert 0.0 <= tally.share_within_deadline <= 1.0  # type: ignore[operator]


def test_a_period_runs_forward_for_at_most_a_year():
    start = date(2024, 1, 1)
    assert period_problem(start, start) is None
    assert period_problem(start, date(2024, 12, 31)) is None  # 366 days: a leap year
    assert period_problem(start, date(2025, 1, 1)) == "A period covers at most 366 days."
    assert period_problem(start, start - timedelta(days=1)) == "`from` must be on or before `to`."
    assert period_problem(start, date(2030, 1, 1), max_days=None) is None


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("text/csv", CSV),
        ("text/*", CSV),
        ("application/json, text/csv", JSON),
        ("text/csv, application/json;q=0.5", CSV),
        ("text/csv;q=0.2, */*;q=0.1", CSV),
        ("text/csv;q=0, */*", JSON),  # q=0 refuses CSV explicitly
        ("TEXT/CSV; charset=utf-8", CSV),
        ("application/xml", None),
        ("text/csv;q=0", None),
        ("garbage", None),
    ],
)
def test_the_accept_header_picks_what_the_client_prefers(accept, chosen):  # type: ignore[no-untyped-def]
    assert negotiate(accept, [JSON, CSV]) == chosen


def test_a_spreadsheet_is_chosen_by_its_media_type():
    assert negotiate(XLSX, [CSV, XLSX]) == XLSX
    assert negotiate("*/*", [CSV, XLSX]) == CSV


def _exported(*, purged: bool) -> ExportedCase:
    return ExportedCase(
        case_id=uuid.UUID(int=1),
        state="closed",
        classification="single",
        crisis=False,
        opened_date=date(2026, 1, 5),
        first_contact_due_date=date(2026, 2, 2),
        street="Kinkerstraat",
        house_number=12,
        house_number_addition="A",
        postcode="1053KL",
        town="Amsterdam",
        assigned_worker_id=uuid.UUID(int=2),
        result="Inwoner is overleden",
        result_category="Niet opgepakt",
        closed_date=date(2026, 1, 20),
        letter_attempts=1,
        phone_attempts=0,
        visit_attempts=2,
        first_attempt_date=date(2026, 1, 6),
        first_contact_date=None,
        reached=False,
        help_accepted=False,
        trajectory_decision_date=None,
        trajectory_end_date=None,
        trajectory_outcome=None,
        purged=purged,
        overdue=False,
    )


def test_an_export_row_has_a_cell_per_column_with_yes_and_no_for_flags():
    cells = dict(zip(EXPORT_COLUMNS, export_cells(_exported(purged=False)), strict=True))
    assert cells["case_id"] == str(uuid.UUID(int=1)) and cells["street"] == "Kinkerstraat"
    assert (cells["crisis"], cells["reached"], cells["purged"]) == ("no", "no", "no")
    assert cells["visit_attempts"] == 2 and cells["first_contact_date"] is None


def test_a_purged_case_is_exported_without_its_address_or_worker():
    cells = dict(zip(EXPORT_COLUMNS, export_cells(_exported(purged=True)), strict=True))
    assert all(cells[name] is None for name in PERSONAL_COLUMNS)
    assert cells["purged"] == "yes" and cells["result"] == "Inwoner is overleden" and cells["visit_attempts"] == 2


def test_a_period_must_have_a_day_after_it():
    assert period_problem(date(9999, 12, 31), date(9999, 12, 31)) == "Dates must lie between 1900-01-01 and 9998-12-31."
    assert period_problem(date(1899, 12, 31), date(1900, 1, 1)) == "Dates must lie between 1900-01-01 and 9998-12-31."
    assert period_problem(date(9998, 12, 31), date(9998, 12, 31)) is None
