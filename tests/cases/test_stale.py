"""Stale cases: an open case without a signal, attempt or action for `stale_case_months` is proposed
for closing (the office decides how), and once closed it falls under retention like any other."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, select

from api.cases.retention import purge
from api.cases.rules import CaseState, is_stale, months_before
from api.models import Case, Municipality
from tests.console.helpers import browser, sign_in, text_of
from tests.factories import VAULT, at, case_of, login, make_municipality, make_user, read, upload_personal

# --- the rule -------------------------------------------------------------------------------------

states = st.sampled_from([state.value for state in CaseState])
days = st.dates(date(2020, 1, 1), date(2030, 12, 31))
months = st.integers(min_value=1, max_value=60)


@given(state=states, today=days, stale_case_months=months, data=st.data())
def test_a_case_with_any_activity_within_the_window_is_never_proposed(
    state: str, today: date, stale_case_months: int, data: st.DataObject
):
    recent = data.draw(st.dates(months_before(today, stale_case_months), today))
    assert not is_stale(state=state, last_activity_on=recent, today=today, stale_case_months=stale_case_months)


@given(today=days, stale_case_months=months, data=st.data())
def test_an_open_case_quiet_since_before_the_window_is_proposed_and_a_closed_one_never(
    today: date, stale_case_months: int, data: st.DataObject
):
    quiet = data.draw(st.dates(date(2010, 1, 1), months_before(today, stale_case_months) - timedelta(days=1)))
    state = data.draw(states)
    assert is_stale(state=state, last_activity_on=quiet, today=today, stale_case_months=stale_case_months) is (
        state != CaseState.CLOSED.value
    )


@given(state=states, last=days, today=days, shorter=months, longer=months)
def test_a_longer_window_proposes_no_more_cases(state: str, last: date, today: date, shorter: int, longer: int):
    shorter, longer = sorted((shorter, longer))
    if is_stale(state=state, last_activity_on=last, today=today, stale_case_months=longer):
        assert is_stale(state=state, last_activity_on=last, today=today, stale_case_months=shorter)


# --- through HTTP ---------------------------------------------------------------------------------

HEADER_ROW = "{id};{partner};{creditor};120;;{day};;A.;{name};1970-01-01;;;Straat;{number};;1055 AB;Amsterdam"


def row(
    signal_id: str, day: str, number: int, *, name: str = "Quiet", partner: str = "Huur", creditor: str = "Ymere"
) -> str:
    return HEADER_ROW.format(id=signal_id, partner=partner, creditor=creditor, day=day, name=name, number=number)


@pytest.fixture
def town(client: TestClient, session: Session, clock) -> dict[str, uuid.UUID]:  # type: ignore[no-untyped-def]
    make_municipality(session, "0363", "Amsterdam")
    make_user(session, role="backoffice", username="office1")
    make_user(session, role="admin", username="admin1")
    at(clock, 2026, 5, 1, 9, 0)
    upload_personal(
        client,
        login(client, "office1"),
        row("MEI-1", "2026-04-28", 1),
        row("MEI-2", "2026-04-28", 2),
        row("MEI-3", "2026-04-28", 3),
    )
    quiet, noted, joined = case_of(session, "MEI-1"), case_of(session, "MEI-2"), case_of(session, "MEI-3")
    at(clock, 2026, 6, 15, 9, 0)  # a new signal joins the third case
    upload_personal(
        client, login(client, "office1"), row("JUN-3", "2026-06-12", 3, partner="Energie", creditor="Vattenfall")
    )
    at(clock, 2026, 7, 10, 9, 0)  # a note on the second
    note = client.post(
        f"/v1/cases/{noted}/actions",
        headers=login(client, "office1"),
        json={
            "action_id": str(uuid.uuid4()),
            "kind": "note",
            "occurred_at": clock.current.isoformat(),
            "text": "Buren gesproken",
        },
    )
    assert note.status_code == 200, note.text
    at(clock, 2026, 11, 26, 9, 0)  # six months back: 26 May
    return {"quiet": quiet, "noted": noted, "joined": joined}


def stale_ids(client: TestClient) -> list[str]:
    page = client.get("/v1/cases", headers=login(client, "office1"), params={"stale": "true"})
    assert page.status_code == 200, page.text
    return [item["id"] for item in page.json()["items"]]


def test_a_quiet_case_is_proposed_and_the_office_decides(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, town, clock, app
):
    office = login(client, "office1")
    assert stale_ids(client) == [str(town["quiet"])]
    flags = {item["id"]: item["stale"] for item in client.get("/v1/cases", headers=office).json()["items"]}
    assert flags == {str(town["quiet"]): True, str(town["noted"]): False, str(town["joined"]): False}
    assert client.get("/v1/dashboard", headers=office).json()["stale"] == 1
    quiet = client.get(f"/v1/cases/{town['quiet']}", headers=office).json()
    assert quiet["stale"] is True and "Niet opgepakt: andere reden" in quiet["allowed_results"]
    assert "Definitief geen contact kunnen krijgen" not in quiet["allowed_results"]  # no attempts were made
    with browser(app) as console:
        assert sign_in(console, "office1").status_code == 303
        assert "1 zaak zonder signaal, poging of actie" in text_of(console.get("/console"))
        page = text_of(console.get(f"/console/zaken/{town['quiet']}"))
        assert "de zaak is stilgevallen" in page and "Afsluiten als ‘Niet opgepakt: andere reden’" in page
        assert "Afsluiten als ‘Definitief geen contact kunnen krijgen’" not in page

    # A municipality that waits a year proposes nothing yet.
    admin = login(client, "admin1")
    settings = client.get("/v1/municipality/settings", headers=admin).json()
    assert settings["stale_case_months"] == 6
    assert (
        client.put("/v1/municipality/settings", headers=admin, json={**settings, "stale_case_months": 12}).status_code
        == 200
    )
    assert stale_ids(client) == [] and client.get("/v1/dashboard", headers=office).json()["stale"] == 0
    assert client.put("/v1/municipality/settings", headers=admin, json=settings).status_code == 200

    closed = client.post(
        f"/v1/cases/{town['quiet']}/close", headers=office, json={"result": "Niet opgepakt: andere reden"}
    )
    assert closed.status_code == 200, closed.text
    assert stale_ids(client) == [] and client.get("/v1/dashboard", headers=office).json()["stale"] == 0

    # Closed, it falls under retention like any other case: erased `retention_months` later.
    def retention_run(now: datetime) -> list[uuid.UUID]:
        municipality = session.get(Municipality, "0363")
        assert municipality is not None
        result = purge(session, VAULT, municipality=municipality, now=now, dry_run=False)
        session.commit()
        return result.case_ids

    assert retention_run(clock.current + timedelta(days=150)) == []
    assert retention_run(clock.current + timedelta(days=190)) == [town["quiet"]]
    [case] = read(session, select(Case).where(Case.id == town["quiet"]))
    assert case.purged_at is not None


def test_the_stale_window_is_a_validated_setting(client: TestClient, town):  # type: ignore[no-untyped-def]
    admin = login(client, "admin1")
    settings = client.get("/v1/municipality/settings", headers=admin).json()
    for wrong in (0, 61, "zes"):
        refused = client.put("/v1/municipality/settings", headers=admin, json={**settings, "stale_case_months": wrong})
        assert refused.status_code == 422
        assert any(e["pointer"].endswith("/stale_case_months") for e in refused.json()["errors"])
