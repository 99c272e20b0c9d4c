"""`alembic upgrade head` on an empty database gives exactly the models' schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from api.db import alembic_config, current_revision, head_revision, make_engine, migrate


def _diff(engine: Engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, SQLModel.metadata)


def test_migrated_test_database_matches_the_models(engine: Engine):
    # The suite's database (SQLite, or PostgreSQL in CI) was built by the migrations.
    assert current_revision(engine) == head_revision()
    assert _diff(engine) == []


def test_upgrade_downgrade_upgrade_on_an_empty_sqlite_database(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate(url)
    engine = make_engine(url)
    assert _diff(engine) == []
    command.downgrade(alembic_config(url), "base")
    assert current_revision(engine) is None
    migrate(url)
    assert _diff(engine) == []
    engine.dispose()


def test_migration_files_are_named_by_date_and_slug():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    for revision in script.walk_revisions():
        name = Path(revision.path).name
        assert name[:10].count("-") == 2 and name[10] == "_", name
