"""The device's local store: one SQLite file with the visit list and the outbox.

The outbox is the only place an offline visit exists until the server acknowledged it, so
events are never deleted by a push: they are marked with the server's result.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS visit_case (id TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS removal (case_id TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    base_version INTEGER NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',  -- pending | applied | duplicate | conflict | rejected
    reason TEXT
);
"""


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # --- meta -----------------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, **values: str | None) -> None:
        with self.db:
            self.db.execute("BEGIN")
            for key, value in values.items():
                if value is None:
                    self.db.execute("DELETE FROM meta WHERE key = ?", (key,))
                else:
                    self.db.execute(
                        "INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (key, value),
                    )

    # --- the visit list -------------------------------------------------------------------

    def apply(
        self, *, full: bool, upserts: list[dict[str, Any]], removed: list[dict[str, Any]], at: str, meta: dict[str, str]
    ) -> None:
        """One transaction: a list is applied whole or not at all."""
        with self.db:
            self.db.execute("BEGIN")
            if full:
                kept = {case["id"] for case in upserts}
                for (case_id,) in self.db.execute("SELECT id FROM visit_case").fetchall():
                    if case_id not in kept:
                        self.db.execute("INSERT INTO removal VALUES (?, 'not in the full list', ?)", (case_id, at))
                self.db.execute("DELETE FROM visit_case")
            for case in upserts:
                self.db.execute(
                    "INSERT INTO visit_case (id, version, body) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE "
                    "SET version = excluded.version, body = excluded.body",
                    (case["id"], case["version"], json.dumps(case)),
                )
            for removal in removed:
                self.db.execute("DELETE FROM visit_case WHERE id = ?", (removal["case_id"],))
                self.db.execute("INSERT INTO removal VALUES (?, ?, ?)", (removal["case_id"], removal["reason"], at))
            for key, value in meta.items():
                self.db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    def cases(self) -> list[dict[str, Any]]:
        return [json.loads(body) for (body,) in self.db.execute("SELECT body FROM visit_case ORDER BY id")]

    def case(self, case_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT body FROM visit_case WHERE id = ?", (case_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def held(self) -> list[tuple[str, int]]:
        return [(case_id, version) for case_id, version in self.db.execute("SELECT id, version FROM visit_case")]

    def removals(self) -> list[dict[str, str]]:
        return [{"case_id": c, "reason": r, "at": a} for c, r, a in self.db.execute("SELECT * FROM removal")]

    # --- the outbox -----------------------------------------------------------------------

    def record(self, event: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO outbox (event_id, case_id, kind, occurred_at, base_version, payload) VALUES (?, ?, ?, ?, ?, ?)",
            (
                event["event_id"],
                event["case_id"],
                event["kind"],
                event["occurred_at"],
                event["base_version"],
                json.dumps(event["payload"]),
            ),
        )

    def pending(self, limit: int | None = None) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT event_id, case_id, kind, occurred_at, base_version, payload FROM outbox WHERE status = 'pending' "
            "ORDER BY seq" + (f" LIMIT {int(limit)}" if limit else "")
        ).fetchall()
        return [
            {"event_id": e, "case_id": c, "kind": k, "occurred_at": o, "base_version": b, "payload": json.loads(p)}
            for e, c, k, o, b, p in rows
        ]

    def mark(self, results: list[dict[str, Any]]) -> None:
        with self.db:
            self.db.execute("BEGIN")
            for result in results:
                self.db.execute(
                    "UPDATE outbox SET status = ?, reason = ? WHERE event_id = ?",
                    (result["result"], result.get("reason"), str(result["event_id"])),
                )

    def events(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT event_id, case_id, kind, status, reason FROM outbox ORDER BY seq").fetchall()
        return [{"event_id": e, "case_id": c, "kind": k, "status": s, "reason": r} for e, c, k, s, r in rows]
