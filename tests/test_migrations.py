"""`alembic upgrade head` on an empty database gives exactly the models' schema."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
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


def test_usernames_become_unique_per_municipality_without_losing_rows_that_refer_to_staff(tmp_path: Path):
    """SQLite rebuilds staff_user for this: accounts, devices and tokens pointing at them must survive."""
    url = f"sqlite:///{tmp_path / 'existing.db'}"
    migrate(url, "0011")
    engine = make_engine(url)
    user_id, device_id = uuid.uuid4(), uuid.uuid4()
    at = "2026-11-27 09:00:00+00:00"
    with engine.begin() as connection:
        connection.exec_driver_sql(f"INSERT INTO municipality (code, name, settings, created_at) VALUES ('0363', 'A', '{{}}', '{at}')")
        connection.exec_driver_sql(
            "INSERT INTO staff_user (id, municipality_code, username, display_name, role, password_hash, active, "
            f"created_at, updated_at) VALUES ('{user_id.hex}', '0363', 'w1', 'W', 'worker', 'x', 1, '{at}', '{at}')")
        connection.exec_driver_sql(
            "INSERT INTO device (id, municipality_code, worker_id, label, public_jwk, key_thumbprint, enrolled_at) "
            f"VALUES ('{device_id.hex}', '0363', '{user_id.hex}', 'phone', '{{}}', 't', '{at}')")
    migrate(url)
    assert _diff(engine) == []
    with engine.begin() as connection:
        assert connection.exec_driver_sql("SELECT username FROM staff_user").scalars().all() == ["w1"]
        assert connection.exec_driver_sql("SELECT count(*) FROM device").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with pytest.raises(sa.exc.IntegrityError):  # still enforced
            with connection.begin_nested():
                connection.exec_driver_sql(f"DELETE FROM staff_user WHERE id = '{user_id.hex}'")
    engine.dispose()


def test_cases_left_in_a_trajectory_are_closed_with_the_handover_result(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'handover.db'}"
    migrate(url, "0014")
    engine = make_engine(url)
    at = "2026-11-27 09:00:00.000000"
    user, household, case, trajectory = (uuid.uuid4().hex for _ in range(4))
    with engine.begin() as c:
        c.exec_driver_sql(f"INSERT INTO municipality (code, name, settings, created_at) VALUES ('0363', 'A', '{{}}', '{at}')")
        c.exec_driver_sql("INSERT INTO tenant_sequence (municipality_code, last_seq) VALUES ('0363', 7)")
        c.exec_driver_sql("INSERT INTO staff_user (id, municipality_code, username, display_name, role, password_hash, "
                          f"active, created_at, updated_at) VALUES ('{user}', '0363', 'o', 'O', 'backoffice', 'x', 1, '{at}', '{at}')")
        c.exec_driver_sql(f"INSERT INTO household (id, municipality_code, address_key, created_at) VALUES ('{household}', '0363', 'k', '{at}')")
        c.exec_driver_sql(
            "INSERT INTO outreach_case (id, municipality_code, household_id, state, classification, crisis, opened_at, "
            f"first_contact_due_date, version, change_seq) VALUES ('{case}', '0363', '{household}', 'trajectory', "
            f"'single', 0, '{at}', '2026-12-24', 4, 3)")
        c.exec_driver_sql("INSERT INTO trajectory (id, municipality_code, case_id, decision_date, started_by, created_at) "
                          f"VALUES ('{trajectory}', '0363', '{case}', '2026-11-20', '{user}', '2026-11-20 10:00:00.000000')")
    migrate(url)
    with engine.begin() as c:
        row = c.exec_driver_sql("SELECT state, result, closed_at, version, change_seq FROM outreach_case").one()
    engine.dispose()
    assert (row.state, row.result, row.version, row.change_seq) == (
        "closed", "Vervolghulp en/of verwijzing financieel", 5, 8)
    assert str(row.closed_at).startswith("2026-11-20 10:00:00")
