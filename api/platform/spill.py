"""A set that keeps its memory bounded: past a number of members it moves to a temporary file.

An import remembers every signal id of its delivery (a repeat within it is a duplicate) and
every case it opened (a later chunk joins it without numbering it again). In memory that is
some 90 bytes a member, 90 MB for a million rows; beyond `limit` members the set lives in a
private temporary SQLite database instead (deleted when closed), asked a chunk at a time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import TypeVar

K = TypeVar("K", str, bytes)

LIMIT = 100_000
_BATCH = 500  # keys per query: far below SQLite's limit of bound parameters


class SpillSet:
    """Strings or bytes (one kind per set): `add_all`, `present`, `in`, `len`; `close` when done."""

    def __init__(self, limit: int | None = None) -> None:
        self._memory: set[str | bytes] = set()
        self._limit = LIMIT if limit is None else limit
        self._file: sqlite3.Connection | None = None
        self._spilled = 0

    def __len__(self) -> int:
        return len(self._memory) + self._spilled

    def __contains__(self, key: str | bytes) -> bool:
        if key in self._memory:
            return True
        return (
            self._file is not None and self._file.execute("SELECT 1 FROM k WHERE k = ?", (key,)).fetchone() is not None
        )

    def present(self, keys: Sequence[K]) -> set[K]:
        """Those of `keys` in the set."""
        memory = self._memory
        found = {key for key in keys if key in memory}
        if self._file is not None:
            for start in range(0, len(keys), _BATCH):
                batch = keys[start : start + _BATCH]
                query = f"SELECT k FROM k WHERE k IN ({', '.join('?' * len(batch))})"
                found.update(key for (key,) in self._file.execute(query, batch))
        return found

    def add_all(self, keys: Iterable[str | bytes]) -> None:
        """Add keys not in the set yet (check with `present` first: a key already spilled is not looked for)."""
        self._memory.update(keys)
        if len(self._memory) >= self._limit:
            self._spill()

    def _spill(self) -> None:
        if self._file is None:
            # "": a private temporary database on disk, removed when closed; its cache stays small.
            self._file = sqlite3.connect("", isolation_level=None, check_same_thread=False)
            self._file.execute("PRAGMA journal_mode=OFF")
            self._file.execute("PRAGMA synchronous=OFF")
            self._file.execute("PRAGMA cache_size=-8000")  # 8 MB
            self._file.execute("CREATE TABLE k (k PRIMARY KEY) WITHOUT ROWID")
        self._file.execute("BEGIN")
        self._spilled += self._file.executemany(
            "INSERT OR IGNORE INTO k VALUES (?)", ((key,) for key in self._memory)
        ).rowcount
        self._file.execute("COMMIT")
        self._memory.clear()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._memory.clear()
        self._spilled = 0
