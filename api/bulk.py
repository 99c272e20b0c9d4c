"""Bulk reads and writes for imports and sync: COPY and arrays on PostgreSQL, executemany and IN elsewhere.
Same rows, same result."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Session


@contextmanager
def _as_sqlalchemy_errors(statement: str) -> Iterator[None]:
    """COPY runs on the raw psycopg connection; its errors are re-raised as SQLAlchemy's, so the
    usual handlers apply (a unique violation from a concurrent delivery is a 409, not a 500)."""
    try:
        yield
    except psycopg.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def on_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def among(session: Session, column: sa.ColumnElement[Any], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """`column IN values`; on PostgreSQL as `= ANY(array)`, one parameter whatever the number of
    values, so the statement is the same each time and is not re-rendered with a placeholder per value."""
    if on_postgres(session):
        return column == sa.any_(sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def insert_rows(session: Session, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert dicts keyed by column name (every row with the same keys)."""
    if not rows:
        return
    if not on_postgres(session):
        session.execute(table.insert(), list(rows))
        return
    columns = list(rows[0])
    quote = session.get_bind().dialect.identifier_preparer.quote
    raw = session.connection().connection.driver_connection
    statement = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with _as_sqlalchemy_errors(statement), raw.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[column] for column in columns])


def update_rows(session: Session, table: sa.Table, rows: Sequence[dict[str, Any]], *, key: str = "id") -> None:
    """Set columns per row, matched on `key` (every row with the same keys)."""
    if not rows:
        return
    columns = [column for column in rows[0] if column != key]
    if not on_postgres(session):
        session.execute(
            table.update()
            .where(table.c[key] == sa.bindparam("_key"))
            .values({column: sa.bindparam(column) for column in columns}),
            [{"_key": row[key], **{column: row[column] for column in columns}} for row in rows],
        )
        return
    # One set-based UPDATE … FROM a temporary table filled by COPY, instead of a statement per row.
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    # One staging table per table and set of columns: an import updates cases twice, with different columns.
    staging = f"_bulk_update_{table.name}_{zlib.crc32(','.join(columns).encode()):08x}"
    definitions = ", ".join(f"{quote(c)} {table.c[c].type.compile(dialect=dialect)}" for c in [key, *columns])
    session.execute(sa.text(f"CREATE TEMP TABLE IF NOT EXISTS {staging} ({definitions}) ON COMMIT DROP"))
    session.execute(sa.text(f"TRUNCATE {staging}"))
    raw = session.connection().connection.driver_connection
    statement = f"COPY {staging} ({', '.join(quote(c) for c in [key, *columns])}) FROM STDIN"
    with _as_sqlalchemy_errors(statement), raw.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[key], *(row[column] for column in columns)])
    assignments = ", ".join(f"{quote(c)} = staged.{quote(c)}" for c in columns)
    session.execute(
        sa.text(f"UPDATE {quote(table.name)} SET {assignments} FROM {staging} AS staged "
                f"WHERE {quote(table.name)}.{quote(key)} = staged.{quote(key)}")
    )
