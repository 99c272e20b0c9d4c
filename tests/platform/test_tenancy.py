"""Cross-tenant matrix: a user of municipality B can neither read nor write anything of A (404, never 403)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.models import Case, StaffUser
from tests.factories import login, make_case, make_municipality, make_partner, make_user, partner_login


@dataclass
class World:
    a_worker: StaffUser
    a_case: Case
    b_headers: dict[str, dict[str, str]]
    a_admin_headers: dict[str, str]


@pytest.fixture
def world(client: TestClient, session: Session) -> World:
    make_municipality(session, "0363", "Amsterdam")
    make_municipality(session, "0599", "Rotterdam")
    a_worker = make_user(session, code="0363", role="worker", username="a-worker")
    make_user(session, code="0363", role="admin", username="a-admin")
    a_case = make_case(session, code="0363", worker=a_worker)
    for role in ("worker", "backoffice", "admin"):
        make_user(session, code="0599", role=role, username=f"b-{role}")
    b_partner = make_partner(session, code="0599", scopes=("cases:read", "signals:write", "reports:read"))
    b_headers = {role: login(client, f"b-{role}") for role in ("worker", "backoffice", "admin")}
    b_headers["partner"] = partner_login(client, b_partner.client_id)
    a_admin = login(client, "a-admin")
    # Activity in A, so A has audit entries that B must not see.
    assert client.get(f"/v1/cases/{a_case.id}", headers=a_admin).status_code == 200
    return World(a_worker=a_worker, a_case=a_case, b_headers=b_headers, a_admin_headers=a_admin)


B_CALLERS = ["worker", "backoffice", "admin"]  # partners read no cases at all (test_partner_view.py)


@pytest.mark.parametrize("caller", B_CALLERS)
def test_other_tenants_case_is_not_found(client: TestClient, world: World, caller: str):
    response = client.get(f"/v1/cases/{world.a_case.id}", headers=world.b_headers[caller])
    assert response.status_code == 404
    assert response.json()["type"] == "urn:doorstep:problem:not-found"


@pytest.mark.parametrize("caller", B_CALLERS)
def test_other_tenants_cases_are_not_listed(client: TestClient, world: World, caller: str):
    response = client.get("/v1/cases", headers=world.b_headers[caller])
    assert response.status_code == 200
    assert response.json()["items"] == []


def test_a_partner_of_another_tenant_sees_none_of_its_signals(client: TestClient, world: World):
    response = client.get("/v1/signals", headers=world.b_headers["partner"])
    assert response.status_code == 200 and response.json()["items"] == []
    assert client.get(f"/v1/cases/{world.a_case.id}", headers=world.b_headers["partner"]).status_code == 403


@pytest.mark.parametrize("caller", ["backoffice", "admin"])
def test_other_tenants_user_is_not_found_nor_listed(client: TestClient, world: World, caller: str):
    headers = world.b_headers[caller]
    assert client.get(f"/v1/users/{world.a_worker.id}", headers=headers).status_code == 404
    listed = {user["username"] for user in client.get("/v1/users", headers=headers).json()["items"]}
    assert listed == {"b-worker", "b-backoffice", "b-admin"}


def test_other_tenants_user_cannot_be_changed(client: TestClient, world: World, session: Session):
    response = client.patch(f"/v1/users/{world.a_worker.id}", headers=world.b_headers["admin"], json={"active": False})
    assert response.status_code == 404
    session.refresh(world.a_worker)
    assert world.a_worker.active is True
    session.rollback()  # end the read transaction (SQLite: it holds the write lock)
    assert client.get("/v1/auth/me", headers=login(client, "a-worker")).status_code == 200


def test_other_tenants_audit_trail_is_invisible(client: TestClient, world: World):
    own = client.get("/v1/audit", headers=world.a_admin_headers).json()["items"]
    assert any(entry["case_id"] == str(world.a_case.id) for entry in own)
    foreign = client.get("/v1/audit", params={"case_id": str(world.a_case.id)}, headers=world.b_headers["admin"])
    assert foreign.status_code == 200 and foreign.json()["items"] == []


def test_other_tenants_session_cannot_be_logged_out(client: TestClient, world: World):
    tokens = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "a-worker", "password": "correct horse battery staple"},
    ).json()
    response = client.post(
        "/v1/auth/logout", headers=world.b_headers["admin"], json={"refresh_token": tokens["refresh_token"]}
    )
    assert response.status_code == 404
    refreshed = client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200


def test_workers_see_only_their_own_cases(client: TestClient, world: World, session: Session):
    colleague = make_user(session, code="0363", role="worker", username="a-colleague")
    headers = login(client, "a-colleague")
    assert client.get(f"/v1/cases/{world.a_case.id}", headers=headers).status_code == 404
    assert client.get("/v1/cases", headers=headers).json()["items"] == []
    own = login(client, "a-worker")
    assert [c["id"] for c in client.get("/v1/cases", headers=own).json()["items"]] == [str(world.a_case.id)]
    assert colleague.role == "worker"
