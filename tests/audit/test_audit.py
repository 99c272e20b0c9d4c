"""Reads and writes of personal data leave an audit trail that admins can search and export."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import login, make_case, make_municipality, make_user


@pytest.fixture
def setup(client: TestClient, session: Session):  # type: ignore[no-untyped-def]
    make_municipality(session)
    office = make_user(session, role="backoffice", username="office1")
    make_user(session, role="admin", username="admin1")
    first, second = make_case(session), make_case(session, postcode="1053KL")
    return office, first, second, login(client, "office1"), login(client, "admin1")


def test_reading_a_case_is_audited_with_who_what_and_which_case(client: TestClient, setup):  # type: ignore[no-untyped-def]
    office, case, _, office_headers, admin_headers = setup
    assert client.get(f"/v1/cases/{case.id}", headers=office_headers).status_code == 200

    entries = client.get("/v1/audit", params={"case_id": str(case.id)}, headers=admin_headers).json()["items"]

    assert len(entries) == 1
    entry = entries[0]
    assert entry["actor_id"] == str(office.id) and entry["actor_type"] == "staff"
    assert entry["action"] == "cases.read" and entry["case_id"] == str(case.id)
    assert entry["request_id"] and entry["at"].startswith("2026-11-26T09:00")


def test_listing_cases_audits_every_case_shown(client: TestClient, setup):  # type: ignore[no-untyped-def]
    _, first, second, office_headers, admin_headers = setup
    client.get("/v1/cases", headers=office_headers)
    listed = client.get("/v1/audit", params={"action": "cases.list"}, headers=admin_headers).json()["items"]
    assert {entry["case_id"] for entry in listed} == {str(first.id), str(second.id)}


def test_a_failed_request_leaves_no_audit_entry(client: TestClient, setup):  # type: ignore[no-untyped-def]
    _, _, _, office_headers, admin_headers = setup
    # Not found: nothing was read, and the transaction rolled back.
    client.get("/v1/cases/00000000-0000-0000-0000-000000000000", headers=office_headers)
    assert client.get("/v1/audit", params={"action": "cases.read"}, headers=admin_headers).json()["items"] == []


def test_audit_filters_by_user_and_paginates(client: TestClient, setup):  # type: ignore[no-untyped-def]
    office, case, _, office_headers, admin_headers = setup
    for _ in range(3):
        client.get(f"/v1/cases/{case.id}", headers=office_headers)
    first_page = client.get("/v1/audit", params={"actor_id": str(office.id), "limit": 2}, headers=admin_headers).json()
    assert len(first_page["items"]) == 2 and first_page["next_cursor"]
    second_page = client.get(
        "/v1/audit",
        params={"actor_id": str(office.id), "limit": 2, "cursor": first_page["next_cursor"]},
        headers=admin_headers,
    ).json()
    assert len(second_page["items"]) == 1 and second_page["next_cursor"] is None
    ids = [e["id"] for e in first_page["items"] + second_page["items"]]
    assert ids == sorted(set(ids))


def test_a_forged_cursor_is_a_422(client: TestClient, setup):  # type: ignore[no-untyped-def]
    *_, admin_headers = setup
    response = client.get("/v1/audit", params={"cursor": "bm9wZQ"}, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["type"] == "urn:doorstep:problem:invalid-cursor"


def test_only_admins_read_the_audit_trail(client: TestClient, setup):  # type: ignore[no-untyped-def]
    _, _, _, office_headers, _ = setup
    assert client.get("/v1/audit", headers=office_headers).status_code == 403
    assert client.get("/v1/audit/export", headers=office_headers).status_code == 403


def test_the_export_is_a_csv_for_the_data_protection_officer(client: TestClient, setup):  # type: ignore[no-untyped-def]
    _, case, _, office_headers, admin_headers = setup
    client.get(f"/v1/cases/{case.id}", headers=office_headers)
    response = client.get("/v1/audit/export", params={"case_id": str(case.id)}, headers=admin_headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["action"] for row in rows] == ["cases.read"]
    assert rows[0]["case_id"] == str(case.id)


def test_user_administration_is_audited_without_the_password(client: TestClient, setup):  # type: ignore[no-untyped-def]
    *_, admin_headers = setup
    created = client.post(
        "/v1/users",
        headers=admin_headers,
        json={"username": "new.worker", "display_name": "New", "role": "worker", "password": "a long password here"},
    ).json()
    client.patch(
        f"/v1/users/{created['id']}",
        headers=admin_headers,
        json={"role": "backoffice", "password": "another long one!"},
    )
    entries = client.get("/v1/audit", params={"action": "users.update"}, headers=admin_headers).json()["items"]
    assert entries[0]["detail"] == {"changed": ["password", "role"]}
    assert "another long one" not in client.get("/v1/audit/export", headers=admin_headers).text


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+00:01", "2026-01-01T00:00:00", "9999-12-31T23:59:59-01:00"])
def test_out_of_range_or_naive_times_are_a_422(client: TestClient, setup, since: str):  # type: ignore[no-untyped-def]
    *_, admin_headers = setup
    for path in ("/v1/audit", "/v1/audit/export"):
        response = client.get(path, params={"since": since}, headers=admin_headers)
        assert response.status_code == 422, (path, response.text)


def test_a_crafted_cursor_beyond_any_id_is_a_422(client: TestClient, setup):  # type: ignore[no-untyped-def]
    from api.platform.pagination import encode_cursor

    *_, admin_headers = setup
    response = client.get("/v1/audit", params={"cursor": encode_cursor({"after_id": 2**63})}, headers=admin_headers)
    assert response.status_code == 422
