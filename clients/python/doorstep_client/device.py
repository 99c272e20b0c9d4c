"""The reference field device: what the phone app must do, as a Python class.

- keeps its RSA private key only on the device (file mode 0600) and its tokens in the store;
- decrypts and checks every visit list, applies it in one transaction, refuses an expired one;
- records visits offline into an outbox with client UUIDs and the case version it saw;
- pushes in batches with retries (exponential backoff with jitter) and never drops an event
  before the server acknowledged it; conflicts stay visible;
- on `device-revoked` deletes its store and keys.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwe
from jose.exceptions import JOSEError
from pydantic import ValidationError

from clients.python.doorstep_client.sdk import ApiError, DoorstepClient
from clients.python.doorstep_client.store import Store
from sync.events import PAYLOADS
from sync.protocol import VisitList, case_set_checksum

KEY_FILE = "device_key.pem"
STORE_FILE = "store.db"
EXPECTED_HEADER = {"alg": "RSA-OAEP-256", "enc": "A256GCM"}


class DeviceError(Exception):
    pass


class NotEnrolled(DeviceError):
    pass


class ListExpired(DeviceError):
    """The visit list is past its `expires_at`: pull again before visiting anyone."""


class TamperedList(DeviceError):
    """The pulled list does not decrypt or does not have the protocol's shape."""


class DeviceWiped(DeviceError):
    """The server revoked this device; its store and keys are gone."""


class SyncFailed(DeviceError):
    """The network or the server kept failing; the outbox is intact, try again later."""


class SignInNeeded(DeviceError):
    """The device's session has ended (its lifetime, a new password): the worker signs in again
    (`sign_in_again`); the key, the list and the outbox stay."""


@dataclass(frozen=True)
class PullSummary:
    full: bool
    upserts: int
    removed: list[dict[str, str]]


@dataclass(frozen=True)
class PushSummary:
    sent: int
    applied: int
    duplicate: int
    conflict: int
    rejected: int


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class FieldDevice:
    def __init__(
        self,
        home: Path,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.home = home
        self.clock, self.sleep, self.rng = clock, sleep, rng or random.Random()
        if not home.exists():
            home.mkdir(parents=True, mode=0o700)
        self.store = Store(home / STORE_FILE)
        self.api = DoorstepClient(
            base_url, access_token=self.store.get("access_token"), transport=transport, timeout=timeout
        )

    def close(self) -> None:
        self.api.close()
        self.store.close()

    # --- enrolment ------------------------------------------------------------------------

    def enroll(self, username: str, password: str, label: str) -> str:
        if self.store.get("device_id") is not None:
            raise DeviceError("this device is already enrolled (wipe it first)")
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = key.public_key().public_numbers()
        self.api.login(username, password)  # the worker's own login, only to enroll
        enrolled = self.api.enroll_device({"kty": "RSA", "n": _b64(numbers.n), "e": _b64(numbers.e)}, label)
        # The key lands only once the server knows it: written with mode 0600 from the start, then renamed.
        staging = self.home / (KEY_FILE + ".new")
        staging.unlink(missing_ok=True)
        descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
        os.replace(staging, self.home / KEY_FILE)
        self.api.access_token = enrolled["access_token"]
        self.store.put(
            device_id=enrolled["device_id"],
            access_token=enrolled["access_token"],
            refresh_token=enrolled["refresh_token"],
            cursor=None,
        )
        return str(enrolled["device_id"])

    def sign_in_again(self, username: str, password: str) -> None:
        """A new token pair for this device after its session ended, with the worker's own sign-in."""
        self.api.login(username, password)
        tokens = self.api.call("devices-sign-in", path={"device_id": self.device_id}).json()
        self.api.access_token = tokens["access_token"]
        self.store.put(access_token=tokens["access_token"], refresh_token=tokens["refresh_token"])

    @property
    def device_id(self) -> str:
        device_id = self.store.get("device_id")
        if device_id is None:
            raise NotEnrolled("enroll this device first")
        return device_id

    # --- talking to the server ------------------------------------------------------------

    @staticmethod
    def _revoked(exc: ApiError) -> bool:
        return exc.slug == "device-revoked" or bool(exc.problem.get("wipe"))

    def _authorised(self, call: Callable[[], Any]) -> Any:
        """One call, refreshing an expired access token once; a revoked device wipes itself."""
        try:
            try:
                return call()
            except ApiError as exc:
                if exc.status != 401 or self._revoked(exc) or not self.store.get("refresh_token"):
                    raise
            try:
                tokens = self.api.refresh(self.store.get("refresh_token") or "")
            except ApiError as exc:
                if exc.status == 400:  # invalid_grant: the session is over, not the device
                    raise SignInNeeded(str(exc)) from exc
                raise
            self.store.put(access_token=tokens["access_token"], refresh_token=tokens.get("refresh_token"))
            return call()
        except ApiError as exc:
            if self._revoked(exc):
                self.wipe()
                raise DeviceWiped(str(exc)) from exc
            raise

    # --- pull -----------------------------------------------------------------------------

    def pull(self) -> PullSummary:
        self.device_id  # noqa: B018 - refuses before any network use when not enrolled
        checksum = case_set_checksum((uuid.UUID(case_id), version) for case_id, version in self.store.held())
        token = self._authorised(
            lambda: self.api.pull(cursor=self.store.get("cursor"), checksum=checksum, unsent=len(self.store.pending()))
        )
        visit_list = self._open(token)
        removed = [removal.model_dump(mode="json") for removal in visit_list.removed]
        self.store.apply(
            full=visit_list.full,
            upserts=[case.model_dump(mode="json") for case in visit_list.upserts],
            removed=removed,
            at=self.clock().isoformat(),
            meta={
                "cursor": visit_list.cursor,
                "expires_at": visit_list.expires_at.isoformat(),
                "server_time": visit_list.server_time.isoformat(),
            },
        )
        return PullSummary(full=visit_list.full, upserts=len(visit_list.upserts), removed=removed)

    def _open(self, token: str) -> VisitList:
        key_pem = (self.home / KEY_FILE).read_bytes()
        try:
            header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=" * (-len(token.split(".")[0]) % 4)))
            if {name: header.get(name) for name in EXPECTED_HEADER} != EXPECTED_HEADER:
                raise TamperedList(f"unexpected JWE algorithms {header.get('alg')}/{header.get('enc')}")
            plaintext = jwe.decrypt(token, key_pem)
            return VisitList.model_validate_json(plaintext)
        except TamperedList:
            raise
        except (JOSEError, ValidationError, ValueError, IndexError) as exc:
            raise TamperedList(f"the visit list could not be opened: {type(exc).__name__}") from exc

    def cases(self) -> list[dict[str, Any]]:
        """The list to work from; refused once expired (pull again first)."""
        expires = self.store.get("expires_at")
        if expires is None:
            raise ListExpired("no visit list yet: pull first")
        if self.clock() > datetime.fromisoformat(expires):
            raise ListExpired(f"the visit list expired at {expires}: pull again")
        return self.store.cases()

    # --- recording offline ----------------------------------------------------------------

    def record(
        self, case_id: str, kind: str, payload: dict[str, Any] | None = None, occurred_at: datetime | None = None
    ) -> str:
        if kind not in PAYLOADS:
            raise DeviceError(f"unknown event kind {kind!r}; known: {', '.join(sorted(PAYLOADS))}")
        case = self.store.case(case_id)
        if case is None:
            raise DeviceError(f"case {case_id} is not on this device")
        event_id = str(uuid.uuid4())
        self.store.record(
            {
                "event_id": event_id,
                "case_id": case_id,
                "kind": kind,
                "occurred_at": (occurred_at or self.clock()).isoformat(),
                "base_version": case["version"],
                "payload": payload or {},
            }
        )
        return event_id

    def not_home(self, case_id: str, *, card: bool = True) -> list[str]:
        events = [self.record(case_id, "visit_attempt", {"reached": False})]
        if card:
            events.append(self.record(case_id, "card_left"))
        return events

    def reached(self, case_id: str, *, accepted: bool | None = None, declined_reason: str | None = None) -> list[str]:
        events = [self.record(case_id, "visit_attempt", {"reached": True})]
        if accepted:
            events.append(self.record(case_id, "help_accepted"))
        elif declined_reason:
            events.append(self.record(case_id, "help_declined", {"reason": declined_reason}))
        return events

    # --- push -----------------------------------------------------------------------------

    def push(self, *, batch_size: int = 100, max_tries: int = 6, base_delay: float = 0.5) -> PushSummary:
        counts = {"applied": 0, "duplicate": 0, "conflict": 0, "rejected": 0}
        sent = 0
        while batch := self.store.pending(limit=batch_size):
            left = len(self.store.pending()) - len(batch)
            answer = self._send_with_retries(batch, left, max_tries=max_tries, base_delay=base_delay)
            if {str(r["event_id"]) for r in answer["results"]} != {event["event_id"] for event in batch}:
                raise SyncFailed("the server did not answer for every event sent; the outbox is kept as it was")
            self.store.mark(answer["results"])
            sent += len(batch)
            for result in answer["results"]:
                counts[result["result"]] += 1
        return PushSummary(sent=sent, **counts)

    def _send_with_retries(
        self, batch: list[dict[str, Any]], left: int, *, max_tries: int, base_delay: float
    ) -> dict[str, Any]:
        for attempt in range(1, max_tries + 1):
            try:
                return self._authorised(lambda: self.api.push(self.device_id, batch, unsent=left))  # type: ignore[no-any-return]
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                failure: Exception = exc
            except ApiError as exc:
                if exc.status < 500 and exc.status != 429:
                    raise
                failure = exc
            if attempt == max_tries:
                raise SyncFailed(f"push failed {max_tries} times; the outbox is kept: {failure}") from failure
            delay = base_delay * 2 ** (attempt - 1)
            self.sleep(delay + self.rng.uniform(0, delay))  # full jitter on top: devices don't retry in step
        raise AssertionError("unreachable")

    # --- wipe -----------------------------------------------------------------------------

    def wipe(self) -> None:
        """Delete the local store and the private key (revocation, or a lost phone): this device's
        own files only, then its folder if nothing else is in it."""
        self.store.close()
        for name in (
            KEY_FILE,
            KEY_FILE + ".new",
            STORE_FILE,
            STORE_FILE + "-wal",
            STORE_FILE + "-shm",
            STORE_FILE + "-journal",
        ):
            (self.home / name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # somebody else's files live there too: leave them
            self.home.rmdir()
