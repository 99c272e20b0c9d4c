"""The municipality's thresholds as a rule: which signals it does not act on, and which cases it
proposes to close as an unjustified signal. Pure, no database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.cases.rules import closing_proposal
from api.municipality.policy import DEFAULT_THRESHOLDS, MunicipalitySettings
from api.signals.rules import PARTNER_TYPES, BelowThreshold, Threshold, below_threshold

SIGNALLED = date(2026, 11, 3)
THIRTY_DAYS = Threshold(min_days_in_arrears=30)


def judged(
    *,
    since: date | None = SIGNALLED - timedelta(days=90),
    amount: int | None = 50_000,
    threshold: Threshold = THIRTY_DAYS,
) -> BelowThreshold | None:
    return below_threshold(signal_date=SIGNALLED, arrears_since_date=since, amount_cents=amount, threshold=threshold)


@pytest.mark.parametrize(
    ("since_days_before", "amount", "threshold", "reason"),
    [
        (90, 50_000, THIRTY_DAYS, None),
        (30, 50_000, THIRTY_DAYS, None),  # exactly the minimum is enough
        (29, 50_000, THIRTY_DAYS, BelowThreshold.DAYS_IN_ARREARS),
        (0, 50_000, THIRTY_DAYS, BelowThreshold.DAYS_IN_ARREARS),
        (-1, 50_000, THIRTY_DAYS, BelowThreshold.ARREARS_START_AFTER_SIGNAL_DATE),
        (-1, 50_000, Threshold(), BelowThreshold.ARREARS_START_AFTER_SIGNAL_DATE),  # whatever the policy
        (90, 0, Threshold(), BelowThreshold.ZERO_AMOUNT),
        (90, 9_999, Threshold(min_amount_cents=10_000), BelowThreshold.AMOUNT),
        (90, 10_000, Threshold(min_amount_cents=10_000), None),
        (None, 50_000, THIRTY_DAYS, None),  # no ontstaansdatum: judged on the amount only
        (None, 9_999, Threshold(min_days_in_arrears=30, min_amount_cents=10_000), BelowThreshold.AMOUNT),
        (10, None, Threshold(min_days_in_arrears=30, min_amount_cents=10_000), BelowThreshold.DAYS_IN_ARREARS),
        (90, None, Threshold(min_amount_cents=10_000), None),  # no amount: judged on the days only
    ],
)
def test_a_signal_is_below_threshold_for_the_reason_the_rule_names(since_days_before, amount, threshold, reason):  # type: ignore[no-untyped-def]
    since = None if since_days_before is None else SIGNALLED - timedelta(days=since_days_before)
    assert judged(since=since, amount=amount, threshold=threshold) == reason


def test_reasons_are_stable_slugs():
    assert [reason.value for reason in BelowThreshold] == [
        "arrears-start-after-signal-date",
        "zero-amount",
        "days-in-arrears",
        "amount",
    ]


def test_the_defaults_are_thirty_days_for_the_four_creditors_and_180_for_cak_health_insurance():
    defaults = MunicipalitySettings().rule_thresholds()
    assert set(defaults) == PARTNER_TYPES == set(DEFAULT_THRESHOLDS)
    assert {t: d.min_days_in_arrears for t, d in defaults.items() if d.min_days_in_arrears} == {
        "Huur": 30,
        "Energie": 30,
        "Water": 30,
        "Zorg": 30,
        "CAK Zorgverzekeringen": 180,
    }
    assert all(d.min_amount_cents == 0 for d in defaults.values())


def test_a_partner_type_left_out_of_the_settings_keeps_its_default():
    settings = MunicipalitySettings.model_validate({"thresholds": {"Water": {"min_amount_cents": 5000}}})
    assert settings.rule_thresholds()["Water"] == Threshold(min_days_in_arrears=0, min_amount_cents=5000)
    assert settings.rule_thresholds()["CAK Zorgverzekeringen"] == Threshold(min_days_in_arrears=180)


thresholds = st.builds(Threshold, min_days_in_arrears=st.integers(0, 400), min_amount_cents=st.integers(0, 10**7))
arrears_since = st.none() | st.integers(-30, 400).map(lambda days: SIGNALLED - timedelta(days=days))
amounts = st.none() | st.integers(0, 10**7)


@given(
    since=arrears_since,
    amount=amounts,
    lower=thresholds,
    more_days=st.integers(0, 400),
    more_cents=st.integers(0, 10**7),
)
def test_raising_a_threshold_never_unmarks_a_signal(since, amount, lower, more_days, more_cents):  # type: ignore[no-untyped-def]
    higher = Threshold(
        min_days_in_arrears=lower.min_days_in_arrears + more_days, min_amount_cents=lower.min_amount_cents + more_cents
    )
    if judged(since=since, amount=amount, threshold=lower) is not None:
        assert judged(since=since, amount=amount, threshold=higher) is not None


@given(since=arrears_since, amount=amounts)
def test_without_minimums_only_an_arrear_that_cannot_be_one_is_below(since, amount):  # type: ignore[no-untyped-def]
    assert judged(since=since, amount=amount, threshold=Threshold()) in (
        None,
        BelowThreshold.ARREARS_START_AFTER_SIGNAL_DATE,
        BelowThreshold.ZERO_AMOUNT,
    )


@pytest.mark.parametrize(
    ("state", "below", "proposal"),
    [
        ("new", [True], "Niet opgepakt: onterecht signaal"),
        ("planned", [True, True], "Niet opgepakt: onterecht signaal"),
        ("new", [True, False], None),  # one signal the municipality acts on is enough to act
        ("new", [], None),
        ("contacted", [True], None),  # the resident was reached: the conversation decides
        ("help_accepted", [True], None),
        ("closed", [True], None),
    ],
)
def test_a_case_is_proposed_for_closing_when_all_its_signals_are_below_threshold(state, below, proposal):  # type: ignore[no-untyped-def]
    assert closing_proposal(state=state, signals_below_threshold=below) == proposal
