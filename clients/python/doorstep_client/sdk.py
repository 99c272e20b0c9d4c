"""A thin httpx SDK for the whole Doorstep API.

Every operation of `openapi/openapi.json` is callable by its operation id
(`client.call("cases-list", params={"overdue": True})`); the table in `operations.py` is
generated from the document and a test keeps it in step. The field flow and the back
office's daily calls also have named methods. Errors arrive as `ApiError` carrying the
RFC 9457 problem.
"""

from __future__ import annotations

from typing import Any

import httpx

from clients.python.doorstep_client.operations import OPERATIONS


class ApiError(Exception):
    """A problem+json answer (or a non-JSON error) from the API."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.type = str(problem.get("type", ""))
        super().__init__(f"{status} {self.type or problem.get('title', '')}: {problem.get('detail', '')}")

    @property
    def slug(self) -> str:
        return self.type.rsplit(":", 1)[-1]


class DoorstepClient:
    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None = None,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.access_token = access_token
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> DoorstepClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- every operation ------------------------------------------------------------------

    def call(
        self,
        operation_id: str,
        *,
        path: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: dict[str, Any] | None = None,
        files: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one operation; raises ApiError for any 4xx/5xx."""
        try:
            method, template = OPERATIONS[operation_id]
        except KeyError:
            raise ValueError(f"unknown operation {operation_id!r}") from None
        url = template.format(**{key: str(value) for key, value in (path or {}).items()})
        all_headers = dict(headers or {})
        if self.access_token and "Authorization" not in all_headers:
            all_headers["Authorization"] = f"Bearer {self.access_token}"
        response = self.http.request(method, url, params=params, json=json, data=data, files=files, headers=all_headers)
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"title": response.reason_phrase, "detail": response.text[:200]}
            raise ApiError(response.status_code, problem if isinstance(problem, dict) else {"detail": str(problem)})
        return response

    # --- named calls ----------------------------------------------------------------------

    def login(self, username: str, password: str) -> dict[str, Any]:
        tokens = self.call(
            "auth-token", data={"grant_type": "password", "username": username, "password": password}
        ).json()
        self.access_token = tokens["access_token"]
        return tokens

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        tokens = self.call("auth-token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}).json()
        self.access_token = tokens["access_token"]
        return tokens

    def enroll_device(self, public_jwk: dict[str, Any], label: str) -> dict[str, Any]:
        return self.call("devices-enroll", json={"public_jwk": public_jwk, "label": label}).json()

    def pull(self, *, cursor: str | None, checksum: str | None, unsent: int | None) -> str:
        params = {
            key: value
            for key, value in (("cursor", cursor), ("checksum", checksum), ("unsent", unsent))
            if value is not None
        }
        return self.call("sync-pull", params=params).text

    def push(self, device_id: str, events: list[dict[str, Any]], *, unsent: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"device_id": device_id, "events": events}
        if unsent is not None:
            body["unsent"] = unsent
        return self.call("sync-push", json=body).json()

    def cases(self, **filters: Any) -> list[dict[str, Any]]:
        """Every case matching the filters, following the cursor."""
        found, cursor = [], None
        while True:
            page = self.call("cases-list", params={**filters, **({"cursor": cursor} if cursor else {})}).json()
            found.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return found

    def case(self, case_id: str) -> dict[str, Any]:
        return self.call("cases-get", path={"case_id": case_id}).json()

    def import_file(self, name: str, content: bytes, *, mode: str = "all-or-nothing") -> dict[str, Any]:
        return self.call("signals-import", files={"file": (name, content)}, data={"mode": mode}).json()

    def assign(self, case_id: str, worker_id: str, second_worker_id: str | None = None) -> dict[str, Any]:
        body = {"worker_id": worker_id, **({"second_worker_id": second_worker_id} if second_worker_id else {})}
        return self.call("cases-assign", path={"case_id": case_id}, json=body).json()

    def conflicts(self) -> list[dict[str, Any]]:
        return self.call("conflicts-list").json()["items"]

    def resolve(self, conflict_id: str, decision: str, note: str | None = None) -> dict[str, Any]:
        body = {"decision": decision, **({"note": note} if note else {})}
        return self.call("conflicts-resolve", path={"conflict_id": conflict_id}, json=body).json()

    def start_trajectory(self, case_id: str, decision_date: str, **extra: Any) -> dict[str, Any]:
        return self.call(
            "trajectories-start", path={"case_id": case_id}, json={"decision_date": decision_date, **extra}
        ).json()
