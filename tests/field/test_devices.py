"""Devices: enrolment with a public key, device-bound tokens, the limit per worker, revocation."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import PASSWORD, login, make_municipality, make_user

_KEYS: dict[int, rsa.RSAPrivateKey] = {}


def _b64(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes((number.bit_length() + 7) // 8, "big")).decode().rstrip("=")


def public_jwk(bits: int = 2048, *, seed: int = 0) -> dict[str, str]:
    key = _KEYS.get(bits * 100 + seed) or _KEYS.setdefault(bits * 100 + seed, rsa.generate_private_key(65537, bits))
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "n": _b64(numbers.n), "e": _b64(numbers.e), "alg": "RSA-OAEP-256", "use": "enc"}


@pytest.fixture
def people(client: TestClient, session: Session) -> dict[str, dict[str, str]]:
    make_municipality(session)
    make_user(session, role="worker", username="worker1")
    make_user(session, role="worker", username="worker2")
    make_user(session, role="backoffice", username="office1")
    return {name: login(client, name) for name in ("worker1", "worker2", "office1")}


def enroll(client: TestClient, headers: dict[str, str], **overrides):  # type: ignore[no-untyped-def]
    return client.post("/v1/devices", headers=headers, json={"public_jwk": public_jwk(), "label": "Werktelefoon"} | overrides)


def test_a_worker_enrolls_a_phone_and_gets_a_device_bound_token_pair(client: TestClient, people):  # type: ignore[no-untyped-def]
    response = enroll(client, people["worker1"])
    assert response.status_code == 201, response.text
    body = response.json()
    me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me["device_id"] == body["device_id"] and me["role"] == "worker"
    refreshed = client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200
    again = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"}).json()
    assert again["device_id"] == body["device_id"]


@pytest.mark.parametrize(
    ("jwk", "why"),
    [
        (lambda: public_jwk(1024), "bits"),
        (lambda: public_jwk() | {"d": "AQAB"}, "private"),
        (lambda: public_jwk() | {"kty": "EC"}, "RSA"),
        (lambda: public_jwk() | {"n": "!!not base64!!"}, "base64"),
        (lambda: public_jwk() | {"e": _b64(3)}, "exponent"),
        (lambda: public_jwk() | {"alg": "RSA1_5"}, "RSA-OAEP-256"),
        (lambda: {"kty": "RSA"}, "n"),
    ],
)
def test_weak_or_malformed_keys_are_refused(client: TestClient, people, jwk, why: str):  # type: ignore[no-untyped-def]
    response = enroll(client, people["worker1"], public_jwk=jwk())
    assert response.status_code == 422
    assert response.json()["type"] == "urn:doorstep:problem:unacceptable-key" and why in response.json()["detail"]


def test_a_worker_holds_a_limited_number_of_active_devices(client: TestClient, people):  # type: ignore[no-untyped-def]
    first = enroll(client, people["worker1"]).json()
    assert enroll(client, people["worker1"], public_jwk=public_jwk(seed=1)).status_code == 201
    third = enroll(client, people["worker1"], public_jwk=public_jwk(seed=2))
    assert third.status_code == 409 and third.json()["type"] == "urn:doorstep:problem:device-limit"
    client.post(f"/v1/devices/{first['device_id']}/revoke", headers=people["worker1"])
    assert enroll(client, people["worker1"], public_jwk=public_jwk(seed=2)).status_code == 201


def test_only_workers_enroll_devices(client: TestClient, people):  # type: ignore[no-untyped-def]
    assert enroll(client, people["office1"]).status_code == 403


def test_a_revoked_device_is_refused_at_once_and_told_to_wipe(client: TestClient, people):  # type: ignore[no-untyped-def]
    device = enroll(client, people["worker1"]).json()
    device_headers = {"Authorization": f"Bearer {device['access_token']}"}

    revoked = client.post(f"/v1/devices/{device['device_id']}/revoke", headers=people["worker1"])
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]

    refused = client.get("/v1/auth/me", headers=device_headers)
    assert refused.status_code == 401
    assert refused.json()["type"] == "urn:doorstep:problem:device-revoked" and refused.json()["wipe"] is True
    refresh = client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": device["refresh_token"]})
    assert refresh.status_code == 401 and refresh.json()["type"] == "urn:doorstep:problem:device-revoked"
    # The worker's own staff login is unaffected.
    assert client.get("/v1/auth/me", headers=people["worker1"]).status_code == 200


def test_the_back_office_revokes_and_sees_every_device_but_a_colleague_cannot(client: TestClient, people, session):  # type: ignore[no-untyped-def]
    mine = enroll(client, people["worker1"]).json()
    enroll(client, people["worker2"], public_jwk=public_jwk(seed=3))
    assert client.post(f"/v1/devices/{mine['device_id']}/revoke", headers=people["worker2"]).status_code == 404
    listed = client.get("/v1/devices", headers=people["office1"]).json()["items"]
    assert {d["worker_username"] for d in listed} == {"worker1", "worker2"}
    assert all(d["pending_conflicts"] == 0 and d["last_pull_at"] is None for d in listed)
    own = client.get("/v1/devices", headers=people["worker2"]).json()["items"]
    assert [d["worker_username"] for d in own] == ["worker2"]
    assert client.post(f"/v1/devices/{mine['device_id']}/revoke", headers=people["office1"]).status_code == 200
    audit = [e for e in client.get("/v1/audit", headers=login(client, make_user(session, role="admin").username)).json()["items"]
             if e["action"] == "devices.revoke"]
    assert [e["resource_id"] for e in audit] == [mine["device_id"]]


def test_a_staff_logout_leaves_the_workers_devices_signed_in(client: TestClient, people):  # type: ignore[no-untyped-def]
    device = enroll(client, people["worker1"]).json()
    client.post("/v1/auth/logout", headers=people["worker1"])
    refresh = client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": device["refresh_token"]})
    assert refresh.status_code == 200
    staff = client.post("/v1/auth/token", data={"grant_type": "password", "username": "worker1", "password": PASSWORD})
    assert staff.status_code == 200
