"""Prometheus metrics: what operations watch, never whom. Every label is from a small fixed set
(a route template, a method, a status, a result, a verdict): no ids, names, addresses or
gemeentecodes, so no personal data and no unbounded series.

Each app has its own registry (tests build many apps in one process). Request handling finds
its app's metrics through a context variable the middleware sets, so services count without
being handed anything; outside a request (the CLI) counting is a no-op. Figures that every
replica and the BKR worker share (the outbox, conflicts) are read from the database at scrape
time instead of counted in one process.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.platform import tables

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.requests = Histogram(
            "doorstep_http_request_duration_seconds",
            "HTTP requests by route template",
            ["method", "route", "status"],
            registry=r,
            buckets=_BUCKETS,
        )
        self.pushes = Counter("doorstep_sync_pushes_total", "Push batches received", registry=r)
        self.events = Counter("doorstep_sync_events_total", "Pushed events by result", ["result"], registry=r)
        self.pulls = Counter("doorstep_sync_pulls_total", "Visit lists pulled", ["kind"], registry=r)
        self.pull_bytes = Counter("doorstep_sync_pull_bytes_total", "Bytes of sealed visit lists sent", registry=r)
        self.resolved = Counter(
            "doorstep_conflicts_resolved_total", "Conflicts decided by the back office", ["decision"], registry=r
        )
        self.import_rows = Counter(
            "doorstep_import_rows_total", "Signal rows by verdict (files and partner API)", ["verdict"], registry=r
        )
        self.conflicts = Gauge("doorstep_conflicts", "Conflicts by state (all municipalities)", ["state"], registry=r)
        self.outbox = Gauge("doorstep_bkr_outbox", "BKR outbox rows by status", ["status"], registry=r)
        self.bkr_attempts = Gauge(
            "doorstep_bkr_delivery_attempts", "BKR delivery attempts by outcome", ["outcome"], registry=r
        )
        self.pool = Gauge("doorstep_db_pool_connections", "Database connections of this replica", ["state"], registry=r)

    def scrape(self, engine: Engine) -> bytes:
        """The text exposition, with the shared figures read fresh from the database."""
        is_open = tables.conflict.c.resolved_at.is_(None)  # grouped by a bare predicate: no parameters to differ
        with engine.connect() as connection:
            counts = (
                (
                    self.outbox,
                    "status",
                    connection.execute(
                        sa.select(tables.bkr_registration.c.status, sa.func.count()).group_by(
                            tables.bkr_registration.c.status
                        )
                    ).all(),
                ),
                (
                    self.bkr_attempts,
                    "outcome",
                    connection.execute(
                        sa.select(tables.bkr_attempt.c.outcome, sa.func.count()).group_by(tables.bkr_attempt.c.outcome)
                    ).all(),
                ),
                (
                    self.conflicts,
                    "state",
                    [
                        ("open" if value else "resolved", count)
                        for value, count in connection.execute(sa.select(is_open, sa.func.count()).group_by(is_open))
                    ],
                ),
            )
        for gauge, column, rows in counts:
            gauge.clear()
            for label, count in rows:
                gauge.labels(**{column: label}).set(count)
        pool: Any = engine.pool
        if hasattr(pool, "checkedout"):
            self.pool.labels(state="in_use").set(pool.checkedout())
            self.pool.labels(state="idle").set(pool.checkedin())
        return generate_latest(self.registry)


CONTENT_TYPE = CONTENT_TYPE_LATEST
_current: ContextVar[Metrics | None] = ContextVar("doorstep_metrics", default=None)


def current() -> Metrics | None:
    return _current.get()


def count_push(results: Iterable[str]) -> None:
    metrics = _current.get()
    if metrics is not None:
        metrics.pushes.inc()
        for result in results:
            metrics.events.labels(result=result).inc()


def count_pull(*, full: bool, size: int) -> None:
    metrics = _current.get()
    if metrics is not None:
        metrics.pulls.labels(kind="full" if full else "incremental").inc()
        metrics.pull_bytes.inc(size)


def count_import(*, created: int, duplicates: int, repeats: int, rejected: int) -> None:
    metrics = _current.get()
    if metrics is not None:
        for verdict, number in (
            ("created", created),
            ("duplicate", duplicates),
            ("repeat", repeats),
            ("rejected", rejected),
        ):
            if number:
                metrics.import_rows.labels(verdict=verdict).inc(number)


def count_resolved(decision: str) -> None:
    metrics = _current.get()
    if metrics is not None:
        metrics.resolved.labels(decision=decision).inc()


def token_matches(header: str | None, token: str) -> bool:
    scheme, _, value = (header or "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(value.encode(), token.encode())


class RequestMetrics:
    """Times every HTTP request by its route template (`/v1/cases/{case_id}`, never the id)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _current.set(self.metrics)
        started, status = time.perf_counter(), 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"] if scope["method"] in _METHODS else "other"  # any token is a method to h11
            self.metrics.requests.labels(method=method, route=template, status=str(status)).observe(
                time.perf_counter() - started
            )
            _current.reset(token)
