"""Devices: enrolment with a public key, device-bound tokens, the limit per worker, revocation."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import PASSWORD, b64url, login, make_municipality, make_user, public_jwk


@pytest.fixture
def people(client: TestClient, session: Session) -> dict[str, dict[str, str]]:
    make_municipality(session)
    make_user(session, role="worker", username="worker1")
    make_user(session, role="worker", username="worker2")
    make_user(session, role="backoffice", username="office1")
    return {name: login(client, name) for name in ("worker1", "worker2", "office1")}


def enroll(client: TestClient, headers: dict[str, str], **overrides):  # type: ignore[no-untyped-def]
    return client.post(
        "/v1/devices", headers=headers, json={"public_jwk": public_jwk(), "label": "Werktelefoon"} | overrides
    )


def test_a_worker_enrolls_a_phone_and_gets_a_device_bound_token_pair(client: TestClient, people):  # type: ignore[no-untyped-def]
    response = enroll(client, people["worker1"])
    assert response.status_code == 201, response.text
    body = response.json()
    me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me["device_id"] == body["device_id"] and me["role"] == "worker"
    refreshed = client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
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
        (lambda: public_jwk() | {"e": b64url(3)}, "exponent"),
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
    refresh = client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": device["refresh_token"]}
    )
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
    audit = [
        e
        for e in client.get("/v1/audit", headers=login(client, make_user(session, role="admin").username)).json()[
            "items"
        ]
        if e["action"] == "devices.revoke"
    ]
    assert [e["resource_id"] for e in audit] == [mine["device_id"]]


def test_a_staff_logout_leaves_the_workers_devices_signed_in(client: TestClient, people):  # type: ignore[no-untyped-def]
    device = enroll(client, people["worker1"]).json()
    client.post("/v1/auth/logout", headers=people["worker1"])
    refresh = client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": device["refresh_token"]}
    )
    assert refresh.status_code == 200
    staff = client.post("/v1/auth/token", data={"grant_type": "password", "username": "worker1", "password": PASSWORD})
    assert staff.status_code == 200


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_devices_token_cannot_enroll_another_device_nor_revoke_one(client: TestClient, people):  # type: ignore[no-untyped-def]
    phone = enroll(client, people["worker1"]).json()
    other = enroll(client, people["worker1"], public_jwk=public_jwk(seed=1)).json()
    stolen = _bearer(phone["access_token"])
    smuggled = enroll(client, stolen, public_jwk=public_jwk(seed=2))
    assert smuggled.status_code == 403 and smuggled.json()["type"] == "urn:doorstep:problem:staff-login-required"
    assert client.post(f"/v1/devices/{other['device_id']}/revoke", headers=stolen).status_code == 403
    assert client.post(f"/v1/devices/{phone['device_id']}/revoke", headers=stolen).status_code == 403
    listed = client.get("/v1/devices", headers=people["office1"]).json()["items"]
    assert sorted((d["id"], d["revoked_at"]) for d in listed) == sorted(
        [(phone["device_id"], None), (other["device_id"], None)]
    )


def test_a_devices_token_only_syncs(client: TestClient, people):  # type: ignore[no-untyped-def]
    phone = _bearer(enroll(client, people["worker1"]).json()["access_token"])
    for path in ("/v1/cases", "/v1/devices", "/v1/users", "/v1/dashboard", "/v1/conflicts"):
        refused = client.get(path, headers=phone)
        assert refused.status_code == 403, path
        assert refused.json()["type"] == "urn:doorstep:problem:staff-login-required"
    assert client.get("/v1/sync/pull", headers=phone).status_code == 200
    assert client.get("/v1/auth/me", headers=phone).status_code == 200
    # The worker's own sign-in still reads their cases.
    assert client.get("/v1/cases", headers=people["worker1"]).status_code == 200


@pytest.mark.parametrize("ending", ["revoke", "deactivate", "password"])
def test_revocation_deactivation_and_a_new_password_end_every_device_token(  # type: ignore[no-untyped-def]
    client: TestClient, people, session, clock, ending
):
    phone = enroll(client, people["worker1"]).json()
    refreshed = client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": phone["refresh_token"]}
    ).json()
    clock.advance(seconds=1)  # tokens carry whole seconds: the change comes after they were issued
    admin = login(client, make_user(session, role="admin").username)
    worker_id = client.get("/v1/auth/me", headers=people["worker1"]).json()["id"]
    if ending == "revoke":
        assert client.post(f"/v1/devices/{phone['device_id']}/revoke", headers=people["office1"]).status_code == 200
    elif ending == "deactivate":
        assert client.patch(f"/v1/users/{worker_id}", headers=admin, json={"active": False}).status_code == 200
    else:
        assert (
            client.patch(
                f"/v1/users/{worker_id}", headers=admin, json={"password": "a brand new passphrase"}
            ).status_code
            == 200
        )
    for access in (phone["access_token"], refreshed["access_token"]):
        assert client.get("/v1/sync/pull", headers=_bearer(access)).status_code == 401
    for refresh in (phone["refresh_token"], refreshed["refresh_token"]):
        again = client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh})
        assert again.status_code in (400, 401) and "access_token" not in again.json()


def test_a_devices_session_ends_at_its_absolute_end_however_often_it_rotates(  # type: ignore[no-untyped-def]
    client: TestClient, people, settings, clock
):
    phone = enroll(client, people["worker1"]).json()
    refresh = phone["refresh_token"]
    step = settings.device_session_ttl_seconds // 4
    for _ in range(3):  # each rotation well within the lifetime of the token before it
        clock.advance(seconds=step)
        rotated = client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh})
        assert rotated.status_code == 200
        refresh = rotated.json()["refresh_token"]
    clock.advance(seconds=step + 1)
    ended = client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh})
    assert ended.status_code == 400 and ended.json()["error"] == "invalid_grant"
    # The worker signs in on the phone again: the same device, a new pair; the old family stays ended.
    staff = login(client, "worker1")
    again = client.post(f"/v1/devices/{phone['device_id']}/tokens", headers=staff)
    assert again.status_code == 201, again.text
    assert again.json()["device_id"] == phone["device_id"]
    assert client.get("/v1/sync/pull", headers=_bearer(again.json()["access_token"])).status_code == 200
    assert (
        client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh}).status_code == 400
    )


def test_only_the_devices_own_worker_signs_it_in_again_and_never_a_revoked_one(client: TestClient, people):  # type: ignore[no-untyped-def]
    phone = enroll(client, people["worker1"]).json()
    path = f"/v1/devices/{phone['device_id']}/tokens"
    assert client.post(path, headers=people["worker2"]).status_code == 404
    assert client.post(path, headers=people["office1"]).status_code == 403
    assert client.post(path, headers=_bearer(phone["access_token"])).status_code == 403  # not with a device's token
    client.post(f"/v1/devices/{phone['device_id']}/revoke", headers=people["worker1"])
    refused = client.post(path, headers=people["worker1"])
    assert refused.status_code == 409 and refused.json()["wipe"] is True
