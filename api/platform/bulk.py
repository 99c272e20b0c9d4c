"""Bulk reads and writes for imports and sync: COPY and arrays on PostgreSQL, executemany and IN elsewhere.
Same rows, same result."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.types.json import Json
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


def in_array(column: sa.ColumnElement[Any], name: str, *, postgres: bool) -> sa.ColumnElement[bool]:
    """`column` among the values of parameter `name`, for a statement built once: `= ANY(:name)`,
    one array parameter, on PostgreSQL; an expanding `IN :name` elsewhere."""
    if postgres:
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(sa.bindparam(name, expanding=True))


def written_in(column: sa.ColumnElement[Any], values: Iterable[str]) -> sa.ColumnElement[bool]:
    """`column IN ('a', 'b')` for constants of the code (event kinds), written into the statement: a
    list parameter is rendered again at every execution, and a prepared statement's generic plan
    sees constants, so a partial index on them can serve."""
    return column.in_([sa.literal_column("'" + value.replace("'", "''") + "'") for value in sorted(values)])


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
    documents = [position for position, column in enumerate(columns) if isinstance(table.c[column].type, sa.JSON)]
    with _as_sqlalchemy_errors(statement), raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            values = [row[column] for column in columns]
            for position in documents:  # COPY knows no dict: a JSON column's value goes as JSON text
                values[position] = None if values[position] is None else Json(values[position])
            copy.write_row(values)


def update_rows(session: Session, table: sa.Table, rows: Sequence[dict[str, Any]], *, key: str = "id") -> None:
    """Set columns per row, matched on `key` (every row with the same keys).

    On PostgreSQL one statement, `UPDATE … FROM unnest(an array per column)`: a parameter per
    column whatever the number of rows, one round trip, and the same statement text each time."""
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
    names = [key, *columns]
    session.execute(
        _update_from_arrays(table, tuple(names)), {f"_{name}": [row[name] for row in rows] for name in names}
    )


@functools.cache
def _update_from_arrays(table: sa.Table, names: tuple[str, ...]) -> sa.Update:
    """`UPDATE table SET … FROM unnest(:_key, :_column, …) WHERE key matches`, built once per table and columns."""
    key, *columns = names
    arrays = [sa.bindparam(f"_{name}", type_=postgresql.ARRAY(table.c[name].type)) for name in names]
    staged = sa.func.unnest(*arrays).table_valued(*names).render_derived()
    return table.update().where(table.c[key] == staged.c[key]).values({column: staged.c[column] for column in columns})
