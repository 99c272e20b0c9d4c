"""Alembic environment: runs the migrations in api/migrations/versions against the configured URL."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import api.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from api.platform.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite changes a constraint by rebuilding the table (batch mode): create a copy, move the
        # rows, drop the original, rename the copy. With foreign keys enforced, dropping a table
        # that other rows refer to fails (or empties it). As SQLite's own procedure for schema
        # changes prescribes: enforcement off outside the transaction, every reference checked
        # before the commit, enforcement on again.
        raw = connection.connection.driver_connection
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=sqlite, compare_type=True
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                raise RuntimeError("the migration left rows referring to rows that no longer exist")
    finally:
        if sqlite:
            raw.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
