"""Retention never erases a case handed over to a trajectory while the trajectory or its BKR
registration runs: the municipality must answer for both (Wgs)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from api.cases.retention import purge
from api.models import Case, Municipality, Signal
from tests.bkr.helpers import BkrDouble, accepted_case, deliver, start
from tests.factories import VAULT, login, read


def test_a_trajectory_case_is_kept_while_the_trajectory_and_its_registration_run(  # type: ignore[no-untyped-def]
    client, session: Session, office, db, clock, bkr: BkrDouble
):
    case = accepted_case(client, session, office)
    assert start(client, office, case.id).status_code == 201  # the case closes with the handover
    assert deliver(db, bkr.client(), clock).delivered == 1

    def retention_run() -> list:  # type: ignore[type-arg]
        municipality = session.get(Municipality, "0363")
        assert municipality is not None
        result = purge(session, VAULT, municipality=municipality, now=clock.current, dry_run=False)
        session.commit()
        return result.case_ids

    def kept() -> bool:
        [row] = read(session, select(Case).where(Case.id == case.id))
        [signal] = read(session, select(Signal).where(Signal.case_id == case.id))
        return row.purged_at is None and signal.surname == "Jansen"

    clock.advance(days=400)  # far past `retention_months` after the case closed: the trajectory runs
    assert retention_run() == [] and kept()
    ended = client.post(
        f"/v1/cases/{case.id}/trajectory/end",
        headers=login(client, "office1"),
        json={"end_date": (clock.current.date() - timedelta(days=1)).isoformat(), "outcome": "terminated"},
    )
    assert ended.status_code == 200, ended.text
    assert deliver(db, bkr.client(), clock).delivered == 1
    clock.advance(days=400)  # ended, and the registration runs five years after the end
    assert retention_run() == [] and kept()
