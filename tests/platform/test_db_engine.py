"""The engine's connections: one the database dropped while it sat idle is replaced, not handed to a request."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from api.platform import db as db_module
from api.platform.db import make_engine


@pytest.fixture
def pg_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("terminating a backend needs PostgreSQL")
    return database_url


def _backend_pid(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_dropped_while_idle_is_replaced(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(pg_url)
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        first = _backend_pid(engine)
        with admin.connect() as connection:  # as a database restart would
            assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # the connection counts as idle
        second = _backend_pid(engine)  # would raise if the dead connection were handed out
        assert second != first
    finally:
        engine.dispose()
        admin.dispose()
