"""Every error is application/problem+json with a stable type; bad input never yields a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from api.models import StaffUser
from tests.factories import login, make_municipality, make_user

PROBLEM = "application/problem+json"


@pytest.fixture
def admin(client: TestClient, session: Session) -> dict[str, str]:
    make_municipality(session)
    make_user(session, role="admin", username="admin1")
    return login(client, "admin1")


def _is_problem(response, status: int, slug: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"urn:doorstep:problem:{slug}"
    assert body["status"] == status and body["title"]
    return body


def test_unknown_route_is_a_404_problem(client: TestClient):
    _is_problem(client.get("/v1/no-such-thing"), 404, "not-found")


def test_wrong_method_is_a_405_problem(client: TestClient):
    _is_problem(client.delete("/v1/auth/jwks"), 405, "method-not-allowed")


def test_validation_error_names_the_field_paths_without_echoing_input(client: TestClient, admin: dict[str, str]):
    response = client.post(
        "/v1/users",
        headers=admin,
        json={"username": "Bad Name!", "display_name": "", "role": "king", "password": "123456789"},
    )
    body = _is_problem(response, 422, "validation-error")
    pointers = {error["pointer"] for error in body["errors"]}
    assert {"/body/username", "/body/display_name", "/body/role", "/body/password"} <= pointers
    assert "123456789" not in response.text and "Bad Name!" not in response.text


def test_malformed_json_is_a_422_problem_not_a_500(client: TestClient, admin: dict[str, str]):
    response = client.post("/v1/users", headers={**admin, "Content-Type": "application/json"}, content=b"{not json")
    _is_problem(response, 422, "validation-error")


def test_invalid_path_id_is_a_422_problem(client: TestClient, admin: dict[str, str]):
    _is_problem(client.get("/v1/users/not-a-uuid", headers=admin), 422, "validation-error")


def test_body_over_the_limit_is_refused_with_413(client: TestClient, admin: dict[str, str], settings):  # type: ignore[no-untyped-def]
    oversized = b'{"username": "' + b"a" * (settings.max_body_bytes + 10) + b'"}'
    response = client.post("/v1/users", headers={**admin, "Content-Type": "application/json"}, content=oversized)
    _is_problem(response, 413, "payload-too-large")


def test_streamed_body_over_the_limit_is_refused_with_413(client: TestClient, admin: dict[str, str], settings):  # type: ignore[no-untyped-def]
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b" " * 65536

    # A generator body goes out chunked, without Content-Length.
    response = client.post("/v1/users", headers={**admin, "Content-Type": "application/json"}, content=chunks())
    _is_problem(response, 413, "payload-too-large")


def test_a_failed_commit_is_an_error_and_nothing_is_stored(
    client: TestClient, admin: dict[str, str], session: Session, monkeypatch: pytest.MonkeyPatch
):
    def failing_commit(self) -> None:  # type: ignore[no-untyped-def]
        raise OperationalError("COMMIT", {}, Exception("disk full"))

    monkeypatch.setattr("sqlmodel.Session.commit", failing_commit)
    response = client.post(
        "/v1/users",
        headers=admin,
        json={
            "username": "newcomer",
            "display_name": "New Comer",
            "role": "worker",
            "password": "long enough password",
        },
    )
    monkeypatch.undo()

    _is_problem(response, 503, "database-unavailable")
    assert session.exec(select(StaffUser).where(StaffUser.username == "newcomer")).first() is None


def test_an_unexpected_exception_is_a_500_problem_without_internals(
    client: TestClient, admin: dict[str, str], monkeypatch
):  # type: ignore[no-untyped-def]
    def explode(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("api.auth.routes.service.create_user", explode)
    response = client.post(
        "/v1/users",
        headers=admin,
        json={
            "username": "newcomer",
            "display_name": "New Comer",
            "role": "worker",
            "password": "long enough password",
        },
    )
    _is_problem(response, 500, "internal-error")
    assert "secret internal detail" not in response.text


def test_a_username_taken_meanwhile_is_a_409(client: TestClient, admin: dict[str, str], session: Session):
    make_user(session, username="taken")
    response = client.post(
        "/v1/users",
        headers=admin,
        json={"username": "taken", "display_name": "Dup", "role": "worker", "password": "long enough password"},
    )
    _is_problem(response, 409, "username-taken")


def test_responses_carry_a_request_id(client: TestClient):
    response = client.get("/healthz", headers={"X-Request-ID": "abcdef12-trace"})
    assert response.headers["x-request-id"] == "abcdef12-trace"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert generated != "bad id with spaces" and len(generated) == 32


def test_a_nul_character_is_a_422_not_a_500_on_every_database(client: TestClient, admin: dict[str, str]):
    token = client.post("/v1/auth/token", data={"grant_type": "password", "username": "ad\x00min", "password": "x"})
    assert token.status_code in (400, 422) and token.headers["content-type"] == PROBLEM
    created = client.post(
        "/v1/users",
        headers=admin,
        json={
            "username": "nul.user",
            "display_name": "Nul\u0000Byte",
            "role": "worker",
            "password": "long enough password",
        },
    )
    assert created.status_code in (201, 422) and created.status_code != 500
