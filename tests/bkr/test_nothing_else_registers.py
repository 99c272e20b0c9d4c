"""Nothing but the start of a trajectory registers at BKR: property-tested over generated
case histories, driven through the public API (partner signals, field pushes from a
device, office actions, closing and reopening), on whichever database the suite runs."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from api.cases.rules import DDAS_RESULTS
from api.models import BkrRegistration, Case, Household, Trajectory
from tests.factories import (
    KEYS,
    add_agreement,
    jwk_of,
    login,
    make_municipality,
    make_partner,
    make_user,
    partner_login,
    read,
)

WHEN = datetime(2026, 11, 26, 8, 0, tzinfo=UTC).isoformat()
numbers = itertools.count(1)

office_steps = st.one_of(
    st.tuples(st.just("office"), st.sampled_from(["letter_sent", "note", "appointment", "help_accepted"]), st.just({})),
    st.tuples(st.just("office"), st.just("phone_attempt"), st.fixed_dictionaries({"reached": st.booleans()})),
)
field_steps = st.one_of(
    st.tuples(st.just("field"), st.sampled_from(["card_left", "help_offered", "help_accepted"]), st.just({})),
    st.tuples(
        st.just("field"),
        st.sampled_from(["visit_attempt", "phone_attempt"]),
        st.fixed_dictionaries({"reached": st.booleans()}),
    ),
    st.tuples(st.just("field"), st.just("help_declined"), st.just({"reason": "regelt het zelf"})),
    st.tuples(st.just("field"), st.just("note"), st.just({"text": "intake gepland, budgetadvies gegeven"})),
    st.tuples(st.just("field"), st.just("result_proposed"), st.sampled_from(DDAS_RESULTS).map(lambda r: {"result": r})),
)
case_steps = st.one_of(
    st.tuples(st.just("close"), st.sampled_from(DDAS_RESULTS), st.just({})),
    st.tuples(st.just("reopen"), st.just(""), st.just({})),
    st.tuples(st.just("signal"), st.sampled_from(["Huur", "Energie", "Zorg", "Water"]), st.just({})),
    st.tuples(st.just("trajectory"), st.just(""), st.just({})),
)
histories = st.lists(st.one_of(office_steps, field_steps, case_steps), min_size=1, max_size=10)


@pytest.fixture
def world(client: TestClient, session: Session):  # type: ignore[no-untyped-def]
    make_municipality(session)
    make_user(session, role="backoffice", username="office1")
    worker = make_user(session, role="worker", username="worker1")
    partner = make_partner(session, scopes=("signals:write",))
    office = login(client, "office1")
    # A platform partner delivering for one creditor of each type the histories send.
    for name, partner_type in (
        ("Woonstad", "Huur"),
        ("Eneco", "Energie"),
        ("Zilveren Kruis", "Zorg"),
        ("Evides", "Water"),
    ):
        add_agreement(client, office, partner.client_id, name=name, partner_type=partner_type)
    enrolled = client.post(
        "/v1/devices", headers=login(client, "worker1"), json={"public_jwk": jwk_of(KEYS[0]), "label": "phone"}
    ).json()
    return {
        "office": office,
        "worker": worker,
        "partner": partner_login(client, partner.client_id),
        "device": {"id": enrolled["device_id"], "headers": {"Authorization": f"Bearer {enrolled['access_token']}"}},
    }


def signal(postcode: str, number: int, partner_type: str) -> dict:
    return {
        "signal_id": f"GEN-{next(numbers)}-{uuid.uuid4().hex[:6]}",
        "partner_type": partner_type,
        "signal_date": "2026-11-20",
        "postcode": postcode,
        "house_number": number,
        "surname": "Smit",
        "birth_date": "1975-06-30",
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(accepted_first=st.booleans(), history=histories)
def test_only_a_started_trajectory_ever_registers(client: TestClient, session: Session, world, accepted_first, history):  # type: ignore[no-untyped-def]
    office, partner, device = world["office"], world["partner"], world["device"]
    house = next(numbers)
    response = client.post("/v1/signals", headers=partner, json={"signals": [signal("3011AB", house, "Huur")]})
    assert response.json()["results"][0]["result"] == "created", response.text
    [case_id] = [
        c.id
        for c in read(
            session,
            select(Case).join(Household, Household.id == Case.household_id).where(Household.house_number == house),
        )
    ]
    assign = client.post(f"/v1/cases/{case_id}/assignment", headers=office, json={"worker_id": str(world["worker"].id)})
    assert assign.status_code == 200, assign.text
    if accepted_first:  # so that many histories can reach a trajectory at all
        history = [("office", "phone_attempt", {"reached": True}), ("office", "help_accepted", {}), *history]
    started = 0
    for step, what, payload in history:
        version = read(session, select(Case).where(Case.id == case_id))[0].version
        if step == "office":
            response = client.post(
                f"/v1/cases/{case_id}/actions",
                headers=office,
                json={
                    "action_id": str(uuid.uuid4()),
                    "kind": what,
                    "occurred_at": WHEN,
                    **payload,
                    **({"appointment_at": WHEN} if what == "appointment" else {}),
                    **({"text": "gebeld"} if what == "note" else {}),
                },
            )
            # 409: not possible in this state (accepting help before contact, acting on a closed case).
            assert response.status_code in (200, 409), response.text
        elif step == "field":
            pushed = client.post(
                "/v1/sync/push",
                headers=device["headers"],
                json={
                    "device_id": device["id"],
                    "events": [
                        {
                            "event_id": str(uuid.uuid4()),
                            "case_id": str(case_id),
                            "kind": what,
                            "occurred_at": WHEN,
                            "base_version": version,
                            "payload": payload,
                        }
                    ],
                },
            )
            assert pushed.status_code == 200, pushed.text
        elif step == "close":
            response = client.post(f"/v1/cases/{case_id}/close", headers=office, json={"result": what})
            assert response.status_code in (200, 409), response.text
        elif step == "reopen":
            response = client.post(f"/v1/cases/{case_id}/reopen", headers=office)
            assert response.status_code in (200, 409), response.text
        elif step == "signal":
            response = client.post("/v1/signals", headers=partner, json={"signals": [signal("3011AB", house, what)]})
            assert response.status_code == 200 and response.json()["results"][0]["result"] == "created", response.text
        else:
            response = client.post(
                f"/v1/cases/{case_id}/trajectory", headers=office, json={"decision_date": "2026-11-26"}
            )
            assert response.status_code in (201, 409, 422), response.text
            started += response.status_code == 201
        registrations = read(
            session,
            select(BkrRegistration)
            .join(Trajectory, Trajectory.id == BkrRegistration.trajectory_id)
            .where(Trajectory.case_id == case_id),
        )
        assert [r.action for r in registrations] == ["register"] * started
        assert all(r.contract_type == "SH" and r.start_date.isoformat() == "2026-11-26" for r in registrations)
    trajectories = read(session, select(Trajectory).where(Trajectory.case_id == case_id))
    assert len(trajectories) == started <= 1
    event(f"trajectory started: {bool(started)}")
