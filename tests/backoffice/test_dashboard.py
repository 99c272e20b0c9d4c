"""The back office's dashboard counts what needs attention today."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from api.models import Conflict, Device, VisitEvent
from tests.factories import NOW, login, make_case, make_municipality, make_user


def test_the_dashboard_counts_deadlines_reach_conflicts_and_silent_devices(client: TestClient, session: Session):
    make_municipality(session)
    make_municipality(session, "0599", "Rotterdam")
    worker = make_user(session, role="worker", username="worker1")
    make_user(session, role="backoffice", username="office1")
    overdue, soon, later = (
        make_case(session),
        make_case(session, postcode="1053KL"),
        make_case(session, postcode="1102XY"),
    )
    make_case(session, code="0599", postcode="3011AA")  # another municipality: never counted
    overdue.first_contact_due_date, soon.first_contact_due_date = date(2026, 11, 20), date(2026, 11, 30)
    later.first_contact_due_date, later.state = date(2027, 1, 5), "planned"
    for case in (overdue, soon, later):
        session.add(case)
    for kind, reached in (("visit_attempt", False), ("visit_attempt", True), ("phone_attempt", False), ("note", None)):
        session.add(
            VisitEvent(
                id=__import__("uuid").uuid4(),
                municipality_code="0363",
                case_id=soon.id,
                author_id=worker.id,
                kind=kind,
                occurred_at=NOW,
                received_at=NOW,
                base_version=1,
                payload={} if reached is None else {"reached": reached},
                outcome="applied",
                change_seq=0,
            )
        )
    session.add(
        Conflict(municipality_code="0363", case_id=later.id, kind="accepted-and-declined", sides=[], opened_at=NOW)
    )
    for synced in (NOW - timedelta(days=3), NOW - timedelta(hours=2)):
        session.add(
            Device(
                municipality_code="0363",
                worker_id=worker.id,
                label="phone",
                public_jwk={},
                key_thumbprint="t",
                enrolled_at=NOW - timedelta(days=10),
                last_pull_at=synced,
            )
        )
    session.commit()

    board = client.get("/v1/dashboard", headers=login(client, "office1")).json()

    assert board["open_by_state"] == {"new": 2, "planned": 1}
    # "soon" was visited in time: its deadline is met, so it is no longer counted as due.
    assert (board["overdue"], board["due_within_7_days"]) == (1, 0)
    assert board["attempts_by_channel"] == {"visit": 2, "phone": 1}
    assert board["reached_by_channel"] == {"visit": 1, "phone": 0}
    assert board["open_conflicts"] == 1 and board["devices_not_synced_for_a_day"] == 1
    assert client.get("/v1/dashboard", headers=login(client, "worker1")).status_code == 403


def test_the_dashboard_counts_the_attempts_on_open_cases_only(client: TestClient, session: Session):
    """The dashboard watches the work in hand: a closed case's attempts are history (the monitor
    counts a period's), and years of them must not slow the screen the office opens every morning."""
    import uuid

    make_municipality(session)
    worker = make_user(session, role="worker", username="worker1")
    make_user(session, role="backoffice", username="office1")
    open_case, closed_case = make_case(session), make_case(session, postcode="1053KL")
    closed_case.state, closed_case.result, closed_case.closed_at = "closed", "Geen reactie na eerder contact", NOW
    session.add(closed_case)
    for case, kind, reached in (
        (open_case, "visit_attempt", False),
        (closed_case, "visit_attempt", True),
        (closed_case, "phone_attempt", True),
    ):
        session.add(
            VisitEvent(
                id=uuid.uuid4(),
                municipality_code="0363",
                case_id=case.id,
                author_id=worker.id,
                kind=kind,
                occurred_at=NOW,
                received_at=NOW,
                base_version=1,
                payload={"reached": reached},
                outcome="applied",
                change_seq=0,
            )
        )
    session.commit()

    board = client.get("/v1/dashboard", headers=login(client, "office1")).json()

    assert board["attempts_by_channel"] == {"visit": 1}
    assert board["reached_by_channel"] == {"visit": 0}


def test_the_dashboard_and_the_console_show_when_retention_last_ran(client: TestClient, session: Session, app, clock):  # type: ignore[no-untyped-def]
    from api.cases.retention import purge
    from api.models import Municipality
    from tests.console.helpers import browser, sign_in, text_of
    from tests.factories import VAULT

    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    assert client.get("/v1/dashboard", headers=login(client, "office1")).json()["retention_last_run_at"] is None
    with browser(app) as console:
        assert sign_in(console, "office1").status_code == 303
        assert "Bewaartermijn nog nooit toegepast: de dagelijkse opschoning loopt niet" in text_of(
            console.get("/console")
        )
        municipality = session.get(Municipality, "0363")
        assert municipality is not None
        purge(session, VAULT, municipality=municipality, now=NOW, dry_run=True)  # a dry run is no run
        session.commit()
        assert client.get("/v1/dashboard", headers=login(client, "office1")).json()["retention_last_run_at"] is None
        purge(session, VAULT, municipality=municipality, now=NOW, dry_run=False)  # nothing due: still a run
        session.commit()
        board = client.get("/v1/dashboard", headers=login(client, "office1")).json()
        assert board["retention_last_run_at"].startswith("2026-11-26T09:00:00")
        assert "Bewaartermijn laatst toegepast op 26-11-2026 10:00." in text_of(console.get("/console"))
        clock.advance(days=3)
        assert sign_in(console, "office1").status_code == 303
        assert "de dagelijkse opschoning loopt niet" in text_of(console.get("/console"))
