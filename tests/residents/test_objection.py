"""A household under objection is not visited again behind the office's back: a later signal opens a
case, marked, out of automatic planning, on the dashboard and in the console, until the office decides."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import ResidentRequest
from tests.console.helpers import browser, sign_in, text_of
from tests.factories import (
    BSN,
    REASON,
    at,
    case_of,
    de_vries,
    jansen,
    login,
    make_municipality,
    make_user,
    read,
    upload_personal,
)


@pytest.fixture
def objected(client: TestClient, session: Session, clock) -> str:  # type: ignore[no-untyped-def]
    """Jansen objected in October: her case was closed and erased on the ground of objection."""
    make_municipality(session, "0363", "Amsterdam")
    make_user(session, role="backoffice", username="office1")
    make_user(session, role="admin", username="admin1")
    make_user(session, role="worker", username="worker1")
    at(clock, 2026, 10, 5, 9, 0)
    upload_personal(client, login(client, "office1"), jansen("OKT-1", "2026-10-01"))
    return erase(client, "objection")


def erase(client: TestClient, ground: str) -> str:
    admin = login(client, "admin1")
    ref = client.post("/v1/residents/search", headers=admin, json={"reason": REASON, "bsn": BSN}).json()["ref"]
    erased = client.post(
        f"/v1/residents/{ref}/erasure", headers=admin, json={"ground": ground, "reason": "AVG-bezwaar 7"}
    )
    assert erased.status_code == 200, erased.text
    return ref


def case_row(client: TestClient, case_id) -> dict:  # type: ignore[no-untyped-def, type-arg]
    items = client.get("/v1/cases", headers=login(client, "office1"), params={"open": "true"}).json()["items"]
    return next(item for item in items if item["id"] == str(case_id))


def planned(client: TestClient) -> set[str]:
    proposal = client.post("/v1/plans", headers=login(client, "office1"), json={"date": "2026-11-27"})
    assert proposal.status_code == 200, proposal.text
    return {visit["case_id"] for worker in proposal.json()["lists"] for visit in worker["visits"]}


def test_a_later_signal_opens_a_marked_case_that_waits_for_the_office(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, objected, clock, app
):
    at(clock, 2026, 11, 26, 9, 0)
    upload_personal(
        client,
        login(client, "office1"),
        jansen("NOV-1", "2026-11-20", creditor="Vattenfall", partner="Energie"),
        jansen("NOV-4", "2026-11-21", creditor="Waternet", partner="Water"),
        de_vries("NOV-2", "2026-11-20"),
        de_vries("NOV-3", "2026-11-21"),
    )
    again, stranger = case_of(session, "NOV-1"), case_of(session, "NOV-2")
    office = login(client, "office1")

    assert case_row(client, again)["objection"] is True and case_row(client, stranger)["objection"] is False
    listed = client.get("/v1/cases", headers=office, params={"objection": "true"}).json()["items"]
    assert [item["id"] for item in listed] == [str(again)]
    assert client.get("/v1/dashboard", headers=office).json()["objection_pending"] == 1
    # Both are visits by policy (two signals in a month): only the one without objection is planned.
    assert planned(client) == {str(stranger)}
    with browser(app) as console:
        assert sign_in(console, "office1").status_code == 303
        assert "1 nieuwe zaak bij een huishouden dat eerder bezwaar maakte" in text_of(console.get("/console"))
        assert "eerder bezwaar" in text_of(console.get("/console/zaken?objection=true"))
        assert "Eerder bezwaar" in text_of(console.get(f"/console/zaken/{again}"))

    # The office decides to reach out after all: it assigns the case, and from then on it is planned like any.
    worker = client.get("/v1/auth/me", headers=login(client, "worker1")).json()["id"]
    assert client.post(f"/v1/cases/{again}/assignment", headers=office, json={"worker_id": worker}).status_code == 200
    assert client.get("/v1/dashboard", headers=office).json()["objection_pending"] == 0
    assert str(again) in planned(client)
    assert case_row(client, again)["objection"] is True  # the mark stays on the case


def test_the_objection_is_known_by_name_and_birth_date_at_another_address(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, objected, clock
):
    at(clock, 2026, 11, 26, 9, 0)
    moved = "NOV-9;Zorg;Zilveren Kruis;120;;2026-11-20;;J.;Jansen;1980-05-17;V;;Dam;2;;1012 JS;Amsterdam"
    upload_personal(client, login(client, "office1"), moved)
    assert case_row(client, case_of(session, "NOV-9"))["objection"] is True


def test_an_erasure_on_request_is_no_objection_and_the_request_keeps_its_reason(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, clock
):
    make_municipality(session, "0363", "Amsterdam")
    make_user(session, role="backoffice", username="office1")
    make_user(session, role="admin", username="admin1")
    at(clock, 2026, 10, 5, 9, 0)
    upload_personal(client, login(client, "office1"), jansen("OKT-1", "2026-10-01"))
    ref = erase(client, "erasure")
    [request] = read(session, select(ResidentRequest).where(ResidentRequest.id == uuid.UUID(ref)))
    assert (request.erasure_ground, request.erasure_reason, request.erased_at) == (
        "erasure",
        "AVG-bezwaar 7",
        datetime(2026, 10, 5, 9, 0, tzinfo=UTC),
    )
    at(clock, 2026, 11, 26, 9, 0)
    upload_personal(
        client, login(client, "office1"), jansen("NOV-1", "2026-11-20", creditor="Vattenfall", partner="Energie")
    )
    assert case_row(client, case_of(session, "NOV-1"))["objection"] is False
