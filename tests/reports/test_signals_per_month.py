"""Signals by partner type per month: the monitor's `received`, spread over the months of the period."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session

from api.reports.monitor.service import signals_by_partner_type_per_month
from api.reports.rules import months_of, tally_by_month
from tests.reports.helpers import monitor


def test_the_months_of_a_period_run_across_a_new_year():
    assert months_of(date(2025, 11, 30), date(2026, 2, 1)) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert months_of(date(2026, 3, 5), date(2026, 3, 5)) == ["2026-03"]


def test_days_fold_into_their_month_with_every_month_and_key_present():
    tally = tally_by_month(
        [(date(2026, 1, 31), "Huur", 2), ("2026-01-02", "Huur", 1), (date(2026, 3, 1), "Zorg", 4)],
        start=date(2026, 1, 15),
        end=date(2026, 3, 10),
        keys=["Huur", "Zorg"],
    )
    assert tally == {
        "2026-01": {"Huur": 3, "Zorg": 0},
        "2026-02": {"Huur": 0, "Zorg": 0},
        "2026-03": {"Huur": 0, "Zorg": 4},
    }


@given(
    st.lists(
        st.tuples(
            st.dates(date(2026, 1, 1), date(2026, 12, 31)),
            st.sampled_from(["Huur", "Zorg", "DUO"]),
            st.integers(0, 1000),
        )
    )
)
def test_folding_into_months_loses_no_signal(counts):  # type: ignore[no-untyped-def]
    tally = tally_by_month(counts, start=date(2026, 1, 1), end=date(2026, 12, 31), keys=["Huur", "Zorg"])
    assert len(tally) == 12
    assert sum(sum(per_key.values()) for per_key in tally.values()) == sum(count for _, _, count in counts)


def test_each_month_holds_the_signals_received_in_it_as_the_monitor_counts_them(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, march
):
    per_month = signals_by_partner_type_per_month(
        session, municipality_code="0363", start=date(2026, 2, 1), end=date(2026, 4, 30)
    )
    session.rollback()
    nonzero = {month: {k: v for k, v in counts.items() if v} for month, counts in per_month.items()}
    # S0 in February; S5 at 23:30 UTC on 31 March still in March; S6 at 00:30 UTC on 1 April in April.
    assert nonzero == {
        "2026-02": {"Zorg": 1},
        "2026-03": {"Huur": 4, "Energie": 2, "Water": 1, "Zorg": 1},
        "2026-04": {"Huur": 1},
    }
    assert all(len(counts) == 11 for counts in per_month.values())  # every DDAS partner type, zero included
    march_report = monitor(client, march["office"]).json()["signals"]["by_partner_type"]
    assert per_month["2026-03"] == march_report
    rotterdam = signals_by_partner_type_per_month(
        session, municipality_code="0599", start=date(2026, 3, 1), end=date(2026, 3, 31)
    )
    assert sum(rotterdam["2026-03"].values()) == 2
