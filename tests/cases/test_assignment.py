"""Assigning cases to workers (alone or in pairs), reassigning, and the bulk variant."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import login, make_case, make_municipality, make_user


@pytest.fixture
def world(client: TestClient, session: Session):  # type: ignore[no-untyped-def]
    make_municipality(session)
    make_municipality(session, "0599", "Rotterdam")
    workers = [make_user(session, role="worker", username=f"worker{i}") for i in (1, 2, 3)]
    stranger = make_user(session, code="0599", role="worker", username="rotterdammer")
    office = make_user(session, role="backoffice", username="office1")
    cases = [make_case(session, postcode=f"10{i}0AB") for i in range(3)]
    return {
        "workers": workers,
        "stranger": stranger,
        "office": office,
        "cases": cases,
        "headers": login(client, "office1"),
    }


def _ids(client: TestClient, username: str) -> set[str]:
    return {c["id"] for c in client.get("/v1/cases", headers=login(client, username)).json()["items"]}


def test_assigning_plans_the_case_for_both_workers_of_a_pair(client: TestClient, world):  # type: ignore[no-untyped-def]
    case, (one, two, _) = world["cases"][0], world["workers"]
    response = client.post(
        f"/v1/cases/{case.id}/assignment",
        headers=world["headers"],
        json={"worker_id": str(one.id), "second_worker_id": str(two.id)},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "planned" and body["version"] == case.version + 1
    assert body["assigned_worker_id"] == str(one.id) and body["second_worker_id"] == str(two.id)
    assert str(case.id) in _ids(client, "worker1") and str(case.id) in _ids(client, "worker2")


def test_reassigning_moves_the_case(client: TestClient, world):  # type: ignore[no-untyped-def]
    case, (one, _, three) = world["cases"][0], world["workers"]
    client.post(f"/v1/cases/{case.id}/assignment", headers=world["headers"], json={"worker_id": str(one.id)})
    client.post(f"/v1/cases/{case.id}/assignment", headers=world["headers"], json={"worker_id": str(three.id)})
    assert str(case.id) not in _ids(client, "worker1") and str(case.id) in _ids(client, "worker3")


@pytest.mark.parametrize(
    ("who", "slug"), [("stranger", "unknown-worker"), ("office", "not-a-worker"), ("same", "same-worker")]
)
def test_only_active_workers_of_the_municipality_can_be_assigned(client: TestClient, world, who: str, slug: str):  # type: ignore[no-untyped-def]
    one = world["workers"][0]
    body = (
        {"worker_id": str(one.id), "second_worker_id": str(one.id)}
        if who == "same"
        else {"worker_id": str(world[who].id)}
    )
    response = client.post(f"/v1/cases/{world['cases'][0].id}/assignment", headers=world["headers"], json=body)
    assert response.status_code == 422 and response.json()["type"] == f"urn:doorstep:problem:{slug}"


def test_a_closed_case_cannot_be_assigned(client: TestClient, world):  # type: ignore[no-untyped-def]
    case = world["cases"][0]
    client.post(f"/v1/cases/{case.id}/close", headers=world["headers"], json={"result": "Inwoner is overleden"})
    response = client.post(
        f"/v1/cases/{case.id}/assignment", headers=world["headers"], json={"worker_id": str(world["workers"][0].id)}
    )
    assert response.status_code == 409 and response.json()["state"] == "closed"


def test_workers_cannot_assign(client: TestClient, world):  # type: ignore[no-untyped-def]
    response = client.post(
        f"/v1/cases/{world['cases'][0].id}/assignment",
        headers=login(client, "worker1"),
        json={"worker_id": str(world["workers"][0].id)},
    )
    assert response.status_code == 403


def test_bulk_assignment_is_all_or_nothing(client: TestClient, world):  # type: ignore[no-untyped-def]
    one, two, _ = world["workers"]
    good = [{"case_id": str(c.id), "worker_id": str(one.id)} for c in world["cases"][:2]]
    bad = {"case_id": str(world["cases"][2].id), "worker_id": str(world["stranger"].id)}
    refused = client.post("/v1/cases/assignments", headers=world["headers"], json={"assignments": [*good, bad]})
    assert refused.status_code == 422
    assert [e["index"] for e in refused.json()["errors"]] == [2]
    assert _ids(client, "worker1") == set()

    accepted = client.post("/v1/cases/assignments", headers=world["headers"], json={"assignments": good})
    assert accepted.status_code == 200 and len(accepted.json()["items"]) == 2
    assert _ids(client, "worker1") == {str(c.id) for c in world["cases"][:2]}
