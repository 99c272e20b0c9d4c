"""Staff and partner grants, refresh rotation, logout, and the per-request account check."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import PASSWORD, SECRET, login, make_municipality, make_partner, make_user, partner_login


def test_staff_password_grant_gives_a_short_lived_token_and_a_refresh_token(client: TestClient, session: Session):
    make_municipality(session)
    user = make_user(session, role="worker", username="worker-a")

    response = client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": "worker-a", "password": PASSWORD}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 900
    assert body["refresh_token"]
    me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}).json()
    assert me == {
        "kind": "staff",
        "id": str(user.id),
        "municipality_code": "0363",
        "role": "worker",
        "scopes": [],
        "device_id": None,
    }


def test_wrong_password_unknown_user_and_inactive_account_are_refused_alike(client: TestClient, session: Session):
    make_municipality(session)
    make_user(session, username="someone")
    make_user(session, username="gone", active=False)

    attempts = [("someone", "wrong password!"), ("nobody", PASSWORD), ("gone", PASSWORD)]
    for username, password in attempts:
        response = client.post(
            "/v1/auth/token", data={"grant_type": "password", "username": username, "password": password}
        )
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:doorstep:problem:invalid-grant"
        assert response.json()["error"] == "invalid_grant"


def test_missing_grant_fields_are_an_invalid_request(client: TestClient, session: Session):
    response = client.post("/v1/auth/token", data={"grant_type": "password", "username": "x"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert client.post("/v1/auth/token", data={"grant_type": "implicit"}).status_code == 422


def test_partner_client_credentials_grant_carries_the_requested_scopes(client: TestClient, session: Session):
    make_municipality(session)
    partner = make_partner(session, scopes=("signals:write", "cases:read"))

    response = client.post(
        "/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": partner.client_id,
            "client_secret": SECRET,
            "scope": "cases:read",
        },
    )

    assert response.status_code == 200
    assert response.json()["scope"] == "cases:read"
    assert response.json()["refresh_token"] is None
    me = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"}).json()
    assert me["kind"] == "partner" and me["scopes"] == ["cases:read"]


def test_partner_cannot_request_a_scope_it_was_not_granted(client: TestClient, session: Session):
    make_municipality(session)
    partner = make_partner(session, scopes=("cases:read",))
    response = client.post(
        "/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": partner.client_id,
            "client_secret": SECRET,
            "scope": "signals:write",
        },
    )
    assert response.status_code == 400
    assert response.json()["type"] == "urn:doorstep:problem:invalid-scope"


def test_wrong_client_secret_is_401(client: TestClient, session: Session):
    make_municipality(session)
    partner = make_partner(session)
    response = client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": partner.client_id, "client_secret": "nope"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_partner_without_the_scope_gets_403_and_staff_role_checks_apply(client: TestClient, session: Session):
    make_municipality(session)
    partner = make_partner(session, scopes=("reports:read",))
    make_user(session, role="worker", username="w")
    assert client.get("/v1/cases", headers=partner_login(client, partner.client_id)).status_code == 403
    response = client.get("/v1/users", headers=login(client, "w"))
    assert response.status_code == 403
    assert response.json()["type"] == "urn:doorstep:problem:forbidden"


def test_refresh_rotates_and_a_reused_refresh_token_ends_the_session(client: TestClient, session: Session):
    make_municipality(session)
    make_user(session, username="office1")
    first = client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": "office1", "password": PASSWORD}
    ).json()

    rotated = client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]

    replay = client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert replay.status_code == 400
    # The replay revoked the whole family, including the token handed out by the rotation.
    after = client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    )
    assert after.status_code == 400


def test_logout_revokes_the_refresh_token(client: TestClient, session: Session):
    make_municipality(session)
    make_user(session, username="office1")
    tokens = client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": "office1", "password": PASSWORD}
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    response = client.post("/v1/auth/logout", headers=headers, json={"refresh_token": tokens["refresh_token"]})

    assert response.status_code == 200 and response.json() == {"revoked": 1}
    refused = client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    assert refused.status_code == 400


def test_logout_without_a_token_ends_every_session_of_the_account(client: TestClient, session: Session):
    make_municipality(session)
    make_user(session, username="office1")
    grants = [
        client.post(
            "/v1/auth/token", data={"grant_type": "password", "username": "office1", "password": PASSWORD}
        ).json()
        for _ in range(2)
    ]
    response = client.post("/v1/auth/logout", headers={"Authorization": f"Bearer {grants[0]['access_token']}"})
    assert response.json() == {"revoked": 2}
    for grant in grants:
        again = client.post(
            "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": grant["refresh_token"]}
        )
        assert again.status_code == 400


def test_deactivated_users_token_stops_working_at_once(client: TestClient, session: Session):
    make_municipality(session)
    make_user(session, role="admin", username="boss")
    worker = make_user(session, role="worker", username="leaver")
    worker_headers = login(client, "leaver")
    assert client.get("/v1/auth/me", headers=worker_headers).status_code == 200

    response = client.patch(f"/v1/users/{worker.id}", headers=login(client, "boss"), json={"active": False})
    assert response.status_code == 200 and response.json()["active"] is False

    refused = client.get("/v1/auth/me", headers=worker_headers)
    assert refused.status_code == 401
    assert refused.json()["type"] == "urn:doorstep:problem:account-inactive"


def test_a_password_change_ends_the_access_tokens_issued_before_it(client: TestClient, session: Session, clock):  # type: ignore[no-untyped-def]
    make_municipality(session)
    make_user(session, role="admin", username="boss")
    worker = make_user(session, role="worker", username="w1")
    stolen = login(client, "w1")
    clock.advance(seconds=5)
    response = client.patch(
        f"/v1/users/{worker.id}", headers=login(client, "boss"), json={"password": "a brand new passphrase"}
    )
    assert response.status_code == 200
    assert client.get("/v1/auth/me", headers=stolen).status_code == 401
    clock.advance(seconds=1)
    assert client.get("/v1/auth/me", headers=login(client, "w1", "a brand new passphrase")).status_code == 200


def test_a_staff_session_ends_at_sign_in_plus_its_lifetime_however_often_it_rotates(  # type: ignore[no-untyped-def]
    client: TestClient, session: Session, settings, clock
):
    make_municipality(session)
    make_user(session, username="office1")
    refresh = client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": "office1", "password": PASSWORD}
    ).json()["refresh_token"]
    step = settings.refresh_token_ttl_seconds // 3
    for _ in range(2):  # each rotation long before the token it replaces would have expired
        clock.advance(seconds=step)
        rotated = client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh})
        assert rotated.status_code == 200
        refresh = rotated.json()["refresh_token"]
    clock.advance(seconds=step + 1)  # past sign-in + lifetime, though only a third of it after the last rotation
    ended = client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh})
    assert ended.status_code == 400 and ended.json()["error"] == "invalid_grant"
