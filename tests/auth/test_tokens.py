"""Every way an access token can be wrong is a 401; key rotation keeps tokens in flight valid."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from jose import jwt
from sqlmodel import Session

from api.app import create_app
from api.auth.keys import KeyRing, generate_signing_key
from api.auth.tokens import issue_access_token
from api.settings import Settings
from tests.factories import FakeClock, login, make_municipality, make_user


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _claims(token: str) -> dict:
    return jwt.get_unverified_claims(token)


def _forge(header: dict, claims: dict, sign) -> str:  # type: ignore[no-untyped-def]
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{sign(signing_input.encode())}"


@pytest.fixture
def staff(client: TestClient, session: Session) -> dict[str, str]:
    make_municipality(session)
    make_user(session, username="office1")
    return login(client, "office1")


def _me(client: TestClient, token: str):  # type: ignore[no-untyped-def]
    return client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def _assert_invalid(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:doorstep:problem:invalid-token"
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_valid_token_is_accepted(client: TestClient, staff: dict[str, str]):
    assert client.get("/v1/auth/me", headers=staff).status_code == 200


def test_alg_none_is_rejected(client: TestClient, staff: dict[str, str]):
    token = staff["Authorization"].split()[1]
    forged = _forge(
        {"alg": "none", "typ": "JWT", "kid": jwt.get_unverified_header(token)["kid"]}, _claims(token), lambda _: ""
    )
    _assert_invalid(_me(client, forged))


def test_hs256_signed_with_the_public_key_is_rejected(client: TestClient, staff: dict[str, str], app):  # type: ignore[no-untyped-def]
    token = staff["Authorization"].split()[1]
    kid = jwt.get_unverified_header(token)["kid"]
    public_pem = app.state.keys.public_pem(kid).encode()
    forged = _forge(
        {"alg": "HS256", "typ": "JWT", "kid": kid},
        _claims(token),
        lambda data: _b64(hmac.new(public_pem, data, hashlib.sha256).digest()),
    )
    _assert_invalid(_me(client, forged))


def test_expired_token_is_rejected(client: TestClient, staff: dict[str, str], clock: FakeClock):
    clock.advance(minutes=16)
    response = client.get("/v1/auth/me", headers=staff)
    _assert_invalid(response)
    assert "expired" in response.json()["detail"]


def test_not_yet_valid_token_is_rejected(client: TestClient, staff: dict[str, str], clock: FakeClock):
    clock.advance(minutes=-5)
    _assert_invalid(client.get("/v1/auth/me", headers=staff))


def test_wrong_audience_is_rejected(client: TestClient, staff: dict[str, str], app, clock: FakeClock):  # type: ignore[no-untyped-def]
    claims = _claims(staff["Authorization"].split()[1])
    token = issue_access_token(
        app.state.keys,
        issuer="doorstep",
        audience="some-other-api",
        subject=claims["sub"],
        tenant="0363",
        token_type="staff",
        now=clock(),
        ttl=timedelta(minutes=5),
    )
    _assert_invalid(_me(client, token))


def test_wrong_issuer_is_rejected(client: TestClient, staff: dict[str, str], app, clock: FakeClock):  # type: ignore[no-untyped-def]
    claims = _claims(staff["Authorization"].split()[1])
    token = issue_access_token(
        app.state.keys,
        issuer="evil",
        audience="doorstep-api",
        subject=claims["sub"],
        tenant="0363",
        token_type="staff",
        now=clock(),
        ttl=timedelta(minutes=5),
    )
    _assert_invalid(_me(client, token))


def test_unknown_kid_is_rejected(client: TestClient, staff: dict[str, str], clock: FakeClock):
    stranger = KeyRing([generate_signing_key()])
    claims = _claims(staff["Authorization"].split()[1])
    token = issue_access_token(
        stranger,
        issuer="doorstep",
        audience="doorstep-api",
        subject=claims["sub"],
        tenant="0363",
        token_type="staff",
        now=clock(),
        ttl=timedelta(minutes=5),
    )
    _assert_invalid(_me(client, token))


def test_key_of_ours_under_a_wrong_kid_name_is_rejected(client: TestClient, staff: dict[str, str]):
    token = staff["Authorization"].split()[1]
    header, payload, signature = token.split(".")
    relabelled = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "no-such-key"}).encode())
    _assert_invalid(_me(client, f"{relabelled}.{payload}.{signature}"))


def test_tampered_payload_is_rejected(client: TestClient, staff: dict[str, str]):
    token = staff["Authorization"].split()[1]
    header, _, signature = token.split(".")
    claims = _claims(token) | {"tid": "0599"}
    _assert_invalid(_me(client, f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"))


@pytest.mark.parametrize("authorization", ["", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer ...."])
def test_missing_or_garbled_authorization_is_401(client: TestClient, authorization: str):
    response = client.get("/v1/auth/me", headers={"Authorization": authorization} if authorization else {})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_jwks_publishes_the_signing_key_with_its_kid(client: TestClient, staff: dict[str, str]):
    keys = client.get("/v1/auth/jwks").json()["keys"]
    kid = jwt.get_unverified_header(staff["Authorization"].split()[1])["kid"]
    assert [key["kid"] for key in keys] == [kid]
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and "d" not in keys[0]
    # A partner verifies our token with nothing but the published key.
    claims = jwt.decode(
        staff["Authorization"].split()[1],
        keys[0],
        algorithms=["RS256"],
        audience="doorstep-api",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    assert claims["tid"] == "0363"


def test_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(
    settings: Settings,
    db,
    clock: FakeClock,
    session: Session,
    staff: dict[str, str],  # type: ignore[no-untyped-def]
):
    old_kid = jwt.get_unverified_header(staff["Authorization"].split()[1])["kid"]
    new_key = generate_signing_key(kid_prefix="next-")
    rotated = settings.model_copy(update={"jwt_signing_keys": [new_key, *settings.jwt_signing_keys]})

    with TestClient(create_app(rotated, engine=db, clock=clock)) as client:
        assert client.get("/v1/auth/me", headers=staff).status_code == 200
        fresh = login(client, "office1")
        assert jwt.get_unverified_header(fresh["Authorization"].split()[1])["kid"] == new_key.kid
        assert {key["kid"] for key in client.get("/v1/auth/jwks").json()["keys"]} == {new_key.kid, old_kid}

    retired = settings.model_copy(update={"jwt_signing_keys": [new_key]})
    with TestClient(create_app(retired, engine=db, clock=clock)) as client:
        assert client.get("/v1/auth/me", headers=staff).status_code == 401
        assert client.get("/v1/auth/me", headers=fresh).status_code == 200
