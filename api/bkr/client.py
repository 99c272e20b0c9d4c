"""How Doorstep talks to BKR. BKR's real interface is not public: `BkrClient` is the seam,
`HttpBkrClient` speaks the contract of the test double in `bkr_double/` (configured by URL
and credentials, so a production adapter replaces only this file's class)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import httpx


@dataclass(frozen=True)
class BkrMessage:
    action: Literal["register", "end", "remove", "correct"]
    reference: str  # Doorstep's trajectory id: BKR's handle for the registration
    body: dict[str, Any]
    idempotency_key: str  # the same for every attempt of one outbox row


@dataclass(frozen=True)
class BkrAnswer:
    status_code: int | None  # None: no answer (timeout, connection refused or dropped)
    body: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class BkrClient(Protocol):
    def deliver(self, message: BkrMessage) -> BkrAnswer:
        """Send one message; never raises for network trouble, it answers with status None."""
        ...


class HttpBkrClient:
    def __init__(
        self,
        base_url: str,
        *,
        username: str,
        password: str,
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), auth=(username, password), timeout=timeout_seconds, transport=transport
        )

    def deliver(self, message: BkrMessage) -> BkrAnswer:
        path = {
            "register": "/v1/registrations",
            "end": f"/v1/registrations/{message.reference}/end",
            "remove": f"/v1/registrations/{message.reference}/removal",
            "correct": f"/v1/registrations/{message.reference}/correction",
        }[message.action]
        try:
            response = self._http.post(path, json=message.body, headers={"Idempotency-Key": message.idempotency_key})
        except httpx.TimeoutException as exc:
            return BkrAnswer(None, error=f"timeout: {type(exc).__name__}")
        except httpx.TransportError as exc:
            return BkrAnswer(None, error=f"network: {type(exc).__name__}: {exc}"[:500])
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        error = None
        if response.status_code >= 300:
            # Only the title: a detail may echo the resident's data back, and errors are shown and kept.
            error = f"HTTP {response.status_code}: {body.get('title') or response.reason_phrase}"[:200]
        return BkrAnswer(response.status_code, body=body, error=error)

    def close(self) -> None:
        self._http.close()
