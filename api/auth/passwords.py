"""Password and client-secret hashing (argon2id), in a small pool of its own.

argon2 is built to be expensive: each hash takes tens of milliseconds on every core it is given
and 64 MiB of memory. Run on the request thread pool, a handful of concurrent (wrong) sign-ins
took the CPU from every other request and pushed their latency to seconds. So hashing runs in
its own pool, `workers` at a time; a request waits for its turn, and when more than `queue` are
already waiting the sign-in is refused at once (503, retry shortly) instead of piling up.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from api.platform.problems import ServiceUnavailable

T = TypeVar("T")

_hasher = PasswordHasher()
# Verifying against this when the account does not exist keeps the timing of
# "unknown user" and "wrong password" alike.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class HashingBusy(ServiceUnavailable):
    slug, title = "busy", "Too many sign-ins at once"

    def __init__(self) -> None:
        super().__init__(
            "Too many sign-ins are being checked right now; retry in a moment.", headers={"Retry-After": "1"}
        )


class HashingPool:
    def __init__(self, *, workers: int = 1, queue: int = 16) -> None:
        self._size = (workers, queue)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._slots = threading.BoundedSemaphore(workers + queue)

    def run(self, work: Callable[[], T]) -> T:
        if not self._slots.acquire(blocking=False):
            raise HashingBusy()
        try:
            return self._executor.submit(work).result()
        finally:
            self._slots.release()

    def configure(self, *, workers: int, queue: int) -> None:
        """Resize (from the settings, when the app is built); work in flight finishes on the old pool."""
        if (workers, queue) == self._size:
            return
        self._size = (workers, queue)
        old = self._executor
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._slots = threading.BoundedSemaphore(workers + queue)
        old.shutdown(wait=False)


pool = HashingPool()


def hash_secret(secret: str) -> str:
    return pool.run(lambda: _hasher.hash(secret))


def verify_secret(secret_hash: str | None, secret: str) -> bool:
    return pool.run(lambda: _verify(secret_hash, secret))


def _verify(secret_hash: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(secret_hash or _DUMMY_HASH, secret) and secret_hash is not None
    except (VerificationError, InvalidHashError):
        return False
