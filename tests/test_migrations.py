"""`alembic upgrade head` on an empty database gives exactly the models' schema."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from api.models import Household, Signal
from api.municipality.policy import MunicipalitySettings
from api.platform.db import alembic_config, current_revision, head_revision, make_engine, migrate
from api.signals.rules import PARTNER_TYPES, below_threshold
from tests.factories import NOW, make_municipality, read


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
        connection.exec_driver_sql(
            f"INSERT INTO municipality (code, name, settings, created_at) VALUES ('0363', 'A', '{{}}', '{at}')"
        )
        connection.exec_driver_sql(
            "INSERT INTO staff_user (id, municipality_code, username, display_name, role, password_hash, active, "
            f"created_at, updated_at) VALUES ('{user_id.hex}', '0363', 'w1', 'W', 'worker', 'x', 1, '{at}', '{at}')"
        )
        connection.exec_driver_sql(
            "INSERT INTO device (id, municipality_code, worker_id, label, public_jwk, key_thumbprint, enrolled_at) "
            f"VALUES ('{device_id.hex}', '0363', '{user_id.hex}', 'phone', '{{}}', 't', '{at}')"
        )
    migrate(url)
    assert _diff(engine) == []
    with engine.begin() as connection:
        assert connection.exec_driver_sql("SELECT username FROM staff_user").scalars().all() == ["w1"]
        assert connection.exec_driver_sql("SELECT count(*) FROM device").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        with pytest.raises(sa.exc.IntegrityError), connection.begin_nested():  # still enforced
            connection.exec_driver_sql(f"DELETE FROM staff_user WHERE id = '{user_id.hex}'")
    engine.dispose()


def test_cases_left_in_a_trajectory_are_closed_with_the_handover_result(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'handover.db'}"
    migrate(url, "0014")
    engine = make_engine(url)
    at = "2026-11-27 09:00:00.000000"
    user, household, case, trajectory = (uuid.uuid4().hex for _ in range(4))
    with engine.begin() as c:
        c.exec_driver_sql(
            f"INSERT INTO municipality (code, name, settings, created_at) VALUES ('0363', 'A', '{{}}', '{at}')"
        )
        c.exec_driver_sql("INSERT INTO tenant_sequence (municipality_code, last_seq) VALUES ('0363', 7)")
        c.exec_driver_sql(
            "INSERT INTO staff_user (id, municipality_code, username, display_name, role, password_hash, "
            f"active, created_at, updated_at) VALUES ('{user}', '0363', 'o', 'O', 'backoffice', 'x', 1, '{at}', '{at}')"
        )
        c.exec_driver_sql(
            f"INSERT INTO household (id, municipality_code, address_key, created_at) VALUES ('{household}', '0363', 'k', '{at}')"
        )
        c.exec_driver_sql(
            "INSERT INTO outreach_case (id, municipality_code, household_id, state, classification, crisis, opened_at, "
            f"first_contact_due_date, version, change_seq) VALUES ('{case}', '0363', '{household}', 'trajectory', "
            f"'single', 0, '{at}', '2026-12-24', 4, 3)"
        )
        c.exec_driver_sql(
            "INSERT INTO trajectory (id, municipality_code, case_id, decision_date, started_by, created_at) "
            f"VALUES ('{trajectory}', '0363', '{case}', '2026-11-20', '{user}', '2026-11-20 10:00:00.000000')"
        )
    migrate(url)
    with engine.begin() as c:
        row = c.exec_driver_sql("SELECT state, result, closed_at, version, change_seq FROM outreach_case").one()
    engine.dispose()
    assert (row.state, row.result, row.version, row.change_seq) == (
        "closed",
        "Vervolghulp en/of verwijzing financieel",
        5,
        8,
    )
    assert str(row.closed_at).startswith("2026-11-20 10:00:00")


def _below_threshold_migration():  # type: ignore[no-untyped-def]
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_revision("0020").module


def test_the_migration_marks_stored_signals_as_the_rule_does_with_the_default_thresholds(session: Session):
    """On both databases: the migration's SQL and `signals.rules.below_threshold` agree on every
    partner type, around every default minimum, with and without a date and an amount."""
    make_municipality(session)
    household = Household(municipality_code="0363", address_key="k", created_at=NOW)
    session.add(household)
    session.flush()
    signalled = date(2026, 11, 3)
    rows = [
        {
            "id": uuid.uuid4(),
            "municipality_code": "0363",
            "external_id": f"S{number}",
            "household_id": household.id,
            "partner_type": partner_type,
            "amount_cents": amount,
            "signal_date": signalled,
            "received_at": NOW,
            "arrears_since_date": None if days is None else signalled - timedelta(days=days),
            "created_at": NOW,
            "below_threshold": False,
        }
        for number, (partner_type, days, amount) in enumerate(
            (t, d, a)
            for t in sorted(PARTNER_TYPES)
            for d in (None, -1, 0, 29, 30, 179, 180, 400)
            for a in (None, 0, 100)
        )
    ]
    session.execute(Signal.__table__.insert(), rows)
    session.commit()
    with session.get_bind().begin() as connection:
        _below_threshold_migration().mark(connection)
    thresholds = MunicipalitySettings().rule_thresholds()
    expected = {
        row["external_id"]: below_threshold(
            signal_date=signalled,
            arrears_since_date=row["arrears_since_date"],
            amount_cents=row["amount_cents"],
            threshold=thresholds[row["partner_type"]],
        )
        for row in rows
    }
    stored = {
        signal.external_id: (signal.below_threshold, signal.below_threshold_reason)
        for signal in read(session, select(Signal))
    }
    assert stored == {key: (reason is not None, reason and reason.value) for key, reason in expected.items()}
    assert sum(reason is not None for reason in expected.values()) > len(rows) / 3  # the table is worth checking


def test_signals_stored_before_thresholds_are_marked_on_upgrade(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'thresholds.db'}"
    migrate(url, "0019")
    engine = make_engine(url)
    at = "2026-11-27 09:00:00.000000"
    with engine.begin() as c:
        c.exec_driver_sql(
            f"INSERT INTO municipality (code, name, settings, created_at) VALUES ('0363', 'A', '{{}}', '{at}')"
        )
        c.exec_driver_sql(
            f"INSERT INTO household (id, municipality_code, address_key, created_at) VALUES ('{uuid.uuid4().hex}', '0363', 'k', '{at}')"
        )
        household = c.exec_driver_sql("SELECT id FROM household").scalar_one()
        for external_id, partner_type, since in (
            ("W", "Water", "2026-10-20"),
            ("C", "CAK Zorgverzekeringen", "2026-08-01"),
            ("H", "Huur", "2026-08-01"),
            ("D", "DUO", "2026-11-02"),
        ):
            c.exec_driver_sql(
                "INSERT INTO signal (id, municipality_code, external_id, household_id, partner_type, amount_cents, "
                "arrears_since_date, signal_date, received_at, crisis, warm_handover, is_repeat, status, created_at) "
                f"VALUES ('{uuid.uuid4().hex}', '0363', '{external_id}', '{household}', '{partner_type}', 1000, '{since}', "
                f"'2026-11-03', '{at}', 0, 0, 0, 'Nog niet opgepakt', '{at}')"
            )
    migrate(url)
    assert _diff(engine) == []
    with engine.begin() as c:
        marked = dict(
            c.exec_driver_sql("SELECT external_id, below_threshold_reason FROM signal WHERE below_threshold").all()
        )
    engine.dispose()
    assert marked == {"W": "days-in-arrears", "C": "days-in-arrears"}
