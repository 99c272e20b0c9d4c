"""The committed OpenAPI document is exactly what the app generates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.openapi_export import document_app, openapi_json

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app():
    assert COMMITTED.read_text() == openapi_json(), "openapi/openapi.json is stale: run `make openapi`"


def test_operation_ids_are_readable_and_unique():
    document = json.loads(openapi_json())
    ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+-[a-z]+(-[a-z]+)*", op) for op in ids), ids
    assert "auth-token" in ids and "users-list" in ids


def test_every_error_response_is_a_problem_and_every_operation_is_described():
    document = json.loads(openapi_json())
    for path, method, operation in _operations(document):
        assert operation.get("summary"), f"{method} {path} has no summary"
        assert operation.get("tags"), f"{method} {path} has no tag"
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert list(response["content"]) == ["application/problem+json"], f"{method} {path} {status}"
    assert "HTTPValidationError" not in document["components"]["schemas"]


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method != "servers"
    ]


def test_the_major_version_is_in_the_server_and_every_path_still_resolves_to_the_app():
    document = json.loads(openapi_json())
    assert document["servers"] == [{"url": "/v1", "description": "This service, major version 1"}]
    with TestClient(document_app()) as client:
        for path, method, _ in _operations(document):
            server = (document["paths"][path].get("servers") or document["servers"])[0]["url"]
            url = server.rstrip("/") + re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
            # Unauthenticated: 401 (or the open endpoints' own answers), never "no such route".
            response = client.request(method, url)
            assert response.status_code not in (404, 405), (method, url, response.status_code)
            assert response.headers["API-Version"] == document["info"]["version"]


def test_every_response_documents_the_api_version_and_every_input_can_be_a_400():
    document = json.loads(openapi_json())
    assert re.fullmatch(r"\d+\.\d+\.\d+", document["info"]["version"])
    assert set(document["info"]["contact"]) == {"name", "email", "url"}
    for path, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            assert response["headers"]["API-Version"] == {"$ref": "#/components/headers/API-Version"}, (path, status)
        if operation.get("parameters") or method in ("post", "put", "patch", "delete"):
            assert "400" in operation["responses"], f"{method} {path}"


def test_query_keys_are_lower_camel_case():
    document = json.loads(openapi_json())
    keys = {
        parameter["name"]
        for _, _, operation in _operations(document)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    }
    assert {"caseId", "actorId", "dueWithinDays", "proposedClosing"} <= keys
    assert all(re.fullmatch(r"[a-z][a-zA-Z0-9]*", key) for key in keys), keys


def test_the_adr_ruleset_in_the_repository_equals_the_shared_one() -> None:
    """CI lints with the copy in openapi/adr (a clean clone has no shared folder beside it)."""
    root = Path(__file__).resolve().parents[1]
    shared = root.parent / "shared" / "adr" / "spectral.yml"
    if not shared.exists():
        pytest.skip("no shared/ folder beside the repository")
    assert (root / "openapi" / "adr" / "spectral.yml").read_bytes() == shared.read_bytes()
