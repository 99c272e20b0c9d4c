"""Engine, migrations and the per-request session (committed before the response is sent)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlmodel import Session

from api.cases.rules import dutch_date
from api.platform.problems import ProblemError

if TYPE_CHECKING:
    import psycopg  # the PostgreSQL driver: only its engines ping

MIGRATIONS_DIR = Path(__file__).parent.parent / "migrations"


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        _ensure_sqlite_dir(database_url)
        engine = sa.create_engine(database_url, connect_args={"check_same_thread": False, "timeout": 30})
        _make_sqlite_transactional(engine)
        return engine
    engine = sa.create_engine(database_url, pool_size=10, max_overflow=10)
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Pessimistic disconnect handling without a round trip on every request: a connection
    that sat in the pool for a while (the database may have restarted meanwhile) is tested
    with `SELECT 1` before use and replaced when dead; one back from a request moments ago
    is not. Under load every checkout is of the second kind."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["checked_in_at"] = monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(
        dbapi_connection: psycopg.Connection[Any], record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        checked_in = record.info.get("checked_in_at")
        if checked_in is None or monotonic() - checked_in < PING_AFTER_IDLE_SECONDS:
            return  # new, or back from a request moments ago
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:
            raise sa.exc.DisconnectionError("stale pooled connection") from exc  # the pool connects afresh


def _ensure_sqlite_dir(database_url: str) -> None:
    """The folder, and a new database file readable by its owner only: it holds the residents'
    names and arrears (SQLite gives its -wal and -shm files the database file's permissions)."""
    path = sa.engine.make_url(database_url).database
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _make_sqlite_transactional(engine: Engine) -> None:
    # pysqlite defers BEGIN until the first write, so a read-then-write use case could see
    # stale rows; it also breaks SAVEPOINT. Taking over BEGIN makes each session one real
    # transaction, and IMMEDIATE serialises writers the way row locks do on PostgreSQL.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        # The Dutch day of a stored timestamp (SQLite has no time zones): `api.reports.facts.dutch_day`.
        dbapi_connection.create_function("dutch_day", 1, _dutch_day, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _dutch_day(stored: str | None) -> str | None:
    """A UTC timestamp as SQLite holds it (`2026-11-26 23:30:00.000000`) → its Dutch day (`2026-11-27`)."""
    if stored is None:
        return None
    moment = datetime.fromisoformat(stored)
    return dutch_date(moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s")
    return config


def migrate(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: commit when the handler succeeded, else roll back.

    Used with scope="function" so the commit happens before the response is sent: a
    device must never see 200 for a push whose commit failed.

    Async, so that opening the session (no connection yet, nothing to wait for) takes no trip
    to the thread pool; ending it, which talks to the database, takes one.
    """
    session = Session(request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    except ProblemError as exc:
        # Some refusals are also facts to keep (a replayed refresh token revokes its
        # whole session); such errors ask for their changes to be committed.
        await run_in_threadpool(_end, session, commit=exc.commit_changes)
        raise
    except BaseException:
        await run_in_threadpool(_end, session, commit=False)
        raise
    await run_in_threadpool(_end, session, commit=True)


def _end(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
