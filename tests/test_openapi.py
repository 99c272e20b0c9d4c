"""The committed OpenAPI document is exactly what the app generates."""

from __future__ import annotations

import json
import re
from pathlib import Path

from api.openapi_export import openapi_json

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app():
    assert COMMITTED.read_text() == openapi_json(), "openapi/openapi.json is stale: run `make openapi`"


def test_operation_ids_are_readable_and_unique():
    document = json.loads(openapi_json())
    ids = [operation["operationId"] for item in document["paths"].values() for operation in item.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+-[a-z]+(-[a-z]+)*", op) for op in ids), ids
    assert "auth-token" in ids and "users-list" in ids


def test_every_error_response_is_a_problem_and_every_operation_is_described():
    document = json.loads(openapi_json())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("summary"), f"{method} {path} has no summary"
            assert operation.get("tags"), f"{method} {path} has no tag"
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert list(response["content"]) == ["application/problem+json"], f"{method} {path} {status}"
    assert "HTTPValidationError" not in document["components"]["schemas"]
