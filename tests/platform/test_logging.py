"""Request logs are JSON lines with a request id, and never carry a BSN, a name or an address."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.platform.logs import JsonFormatter
from tests.factories import login, make_case, make_municipality, make_user

BSN = "111222333"
PERSONAL = [BSN, "Baldewsingh", "Kinkerstraat", "1053KL", "06-12345678"]


@pytest.fixture
def log_lines() -> list[str]:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            # httpx here is the test's own client logging the URL it calls, not the service.
            if not record.name.startswith(("httpx", "httpcore")):
                lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(previous)


def test_request_with_personal_data_leaves_no_trace_of_it_in_the_logs(
    client: TestClient, session: Session, log_lines: list[str]
):
    make_municipality(session)
    make_user(session, role="admin", username="admin1")
    case = make_case(session, surname="Baldewsingh", postcode="1053KL")
    headers = login(client, "admin1")

    client.get(
        f"/v1/cases/{case.id}", headers=headers, params={"bsn": BSN, "surname": "Baldewsingh", "postcode": "1053KL"}
    )
    client.post(
        "/v1/users",
        headers=headers,
        json={
            "username": BSN,
            "display_name": "Baldewsingh, Kinkerstraat 12",
            "role": "worker",
            "password": "06-12345678",
        },
    )
    client.post(
        "/v1/users", headers={**headers, "Content-Type": "application/json"}, content=f'{{"bsn": "{BSN}"'.encode()
    )
    client.get(f"/v1/nothing/{BSN}/Kinkerstraat")

    assert len(log_lines) >= 4
    for line in log_lines:
        for value in PERSONAL:
            assert value not in line, line


def test_each_request_is_one_json_line_with_request_id_route_and_status(client: TestClient, log_lines: list[str]):
    client.get("/healthz", headers={"X-Request-ID": "trace-123456"})
    access = [json.loads(line) for line in log_lines if '"doorstep.access"' in line]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == "trace-123456"
    assert line["route"] == "/healthz" and line["status"] == 200 and line["method"] == "GET"
    assert isinstance(line["duration_ms"], float)


def test_the_formatter_drops_extra_fields_that_are_not_on_the_allow_list():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "message", None, None)
    record.surname = "Baldewsingh"
    record.status = 200
    line = json.loads(JsonFormatter().format(record))
    assert "surname" not in line and line["status"] == 200


def test_a_500_is_logged_with_the_request_id_the_client_was_given(
    client: TestClient, session: Session, log_lines: list[str], monkeypatch: pytest.MonkeyPatch
):
    make_municipality(session)
    make_user(session, role="admin", username="admin1")
    headers = login(client, "admin1")

    def explode(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("Baldewsingh")

    monkeypatch.setattr("api.auth.routes.service.create_user", explode)
    response = client.post(
        "/v1/users",
        headers={**headers, "X-Request-ID": "trace-500-abcdef"},
        json={
            "username": "newcomer",
            "display_name": "New Comer",
            "role": "worker",
            "password": "long enough password",
        },
    )

    assert response.status_code == 500 and response.headers["x-request-id"] == "trace-500-abcdef"
    assert response.json()["request_id"] == "trace-500-abcdef"
    errors = [json.loads(line) for line in log_lines if json.loads(line)["msg"] == "unhandled error"]
    assert errors and all(e["request_id"] == "trace-500-abcdef" and e["error_class"] == "RuntimeError" for e in errors)
    assert not any("Baldewsingh" in line for line in log_lines)
