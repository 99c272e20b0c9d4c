"""Initial schema: tenants, staff, partners, devices, signals, cases, events, conflicts, trajectories, BKR outbox, audit, change sequence.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-26 15:58:23.046973
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "municipality",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("resource_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("resource_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_municipality_code"), ["municipality_code"], unique=False)

    op.create_table(
        "household",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("address_key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("postcode", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("house_number", sa.Integer(), nullable=False),
        sa.Column("house_number_addition", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("street", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("town", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("municipality_code", "address_key", name="uq_household_address"),
    )
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_household_municipality_code"), ["municipality_code"], unique=False)

    op.create_table(
        "partner_client",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    with op.batch_alter_table("partner_client", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_client_municipality_code"), ["municipality_code"], unique=False)

    op.create_table(
        "staff_user",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('worker', 'backoffice', 'admin')", name="ck_staff_user_role"),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_user_municipality_code"), ["municipality_code"], unique=False)

    op.create_table(
        "tenant_sequence",
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("municipality_code"),
    )
    op.create_table(
        "device",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("worker_id", sa.Uuid(), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("key_thumbprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        sa.Column("last_pull_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_push_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsent_events_reported", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.ForeignKeyConstraint(["revoked_by"], ["staff_user.id"]),
        sa.ForeignKeyConstraint(["worker_id"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_municipality_code"), ["municipality_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_device_worker_id"), ["worker_id"], unique=False)

    op.create_table(
        "outreach_case",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("classification", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("crisis", sa.Boolean(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_date", sa.Date(), nullable=False),
        sa.Column("assigned_worker_id", sa.Uuid(), nullable=True),
        sa.Column("second_worker_id", sa.Uuid(), nullable=True),
        sa.Column("result", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("state IN ('open', 'closed')", name="ck_outreach_case_state"),
        sa.ForeignKeyConstraint(["assigned_worker_id"], ["staff_user.id"]),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.ForeignKeyConstraint(["second_worker_id"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outreach_case", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outreach_case_assigned_worker_id"), ["assigned_worker_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outreach_case_change_seq"), ["change_seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_outreach_case_deadline_date"), ["deadline_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_outreach_case_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outreach_case_municipality_code"), ["municipality_code"], unique=False)

    op.create_table(
        "conflict",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("sides", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.Column("resolution", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["outreach_case.id"]),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.ForeignKeyConstraint(["resolved_by"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conflict", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conflict_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_conflict_municipality_code"), ["municipality_code"], unique=False)

    op.create_table(
        "refresh_token",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.ForeignKeyConstraint(["user_id"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refresh_token_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refresh_token_family_id"), ["family_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refresh_token_municipality_code"), ["municipality_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_refresh_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "signal",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("import_id", sa.Uuid(), nullable=True),
        sa.Column("partner_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("creditor_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("arrears_since_date", sa.Date(), nullable=True),
        sa.Column("signal_date", sa.Date(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("crisis", sa.Boolean(), nullable=False),
        sa.Column("warm_handover", sa.Boolean(), nullable=False),
        sa.Column("is_repeat", sa.Boolean(), nullable=False),
        sa.Column("bsn_ciphertext", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("bsn_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("initials", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("surname", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("gender", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["outreach_case.id"]),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"]),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("municipality_code", "external_id", name="uq_signal_external_id"),
    )
    with op.batch_alter_table("signal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signal_bsn_digest"), ["bsn_digest"], unique=False)
        batch_op.create_index(batch_op.f("ix_signal_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_signal_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_signal_import_id"), ["import_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_signal_municipality_code"), ["municipality_code"], unique=False)

    op.create_table(
        "trajectory",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("started_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["outreach_case.id"]),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.ForeignKeyConstraint(["started_by"], ["staff_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id"),
    )
    with op.batch_alter_table("trajectory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trajectory_municipality_code"), ["municipality_code"], unique=False)

    op.create_table(
        "visit_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["staff_user.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["outreach_case.id"]),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("visit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_event_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visit_event_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visit_event_municipality_code"), ["municipality_code"], unique=False)

    op.create_table(
        "bkr_registration",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("trajectory_id", sa.Uuid(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("contract_type", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("removal_date", sa.Date(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.Uuid(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="ck_bkr_registration_status"),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.ForeignKeyConstraint(["trajectory_id"], ["trajectory.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("bkr_registration", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bkr_registration_municipality_code"), ["municipality_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_bkr_registration_next_attempt_at"), ["next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_bkr_registration_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_bkr_registration_trajectory_id"), ["trajectory_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bkr_registration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bkr_registration_trajectory_id"))
        batch_op.drop_index(batch_op.f("ix_bkr_registration_status"))
        batch_op.drop_index(batch_op.f("ix_bkr_registration_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_bkr_registration_municipality_code"))

    op.drop_table("bkr_registration")
    with op.batch_alter_table("visit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_event_municipality_code"))
        batch_op.drop_index(batch_op.f("ix_visit_event_device_id"))
        batch_op.drop_index(batch_op.f("ix_visit_event_case_id"))

    op.drop_table("visit_event")
    with op.batch_alter_table("trajectory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trajectory_municipality_code"))

    op.drop_table("trajectory")
    with op.batch_alter_table("signal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signal_municipality_code"))
        batch_op.drop_index(batch_op.f("ix_signal_import_id"))
        batch_op.drop_index(batch_op.f("ix_signal_household_id"))
        batch_op.drop_index(batch_op.f("ix_signal_case_id"))
        batch_op.drop_index(batch_op.f("ix_signal_bsn_digest"))

    op.drop_table("signal")
    with op.batch_alter_table("refresh_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_token_user_id"))
        batch_op.drop_index(batch_op.f("ix_refresh_token_municipality_code"))
        batch_op.drop_index(batch_op.f("ix_refresh_token_family_id"))
        batch_op.drop_index(batch_op.f("ix_refresh_token_device_id"))

    op.drop_table("refresh_token")
    with op.batch_alter_table("conflict", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conflict_municipality_code"))
        batch_op.drop_index(batch_op.f("ix_conflict_case_id"))

    op.drop_table("conflict")
    with op.batch_alter_table("outreach_case", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outreach_case_municipality_code"))
        batch_op.drop_index(batch_op.f("ix_outreach_case_household_id"))
        batch_op.drop_index(batch_op.f("ix_outreach_case_deadline_date"))
        batch_op.drop_index(batch_op.f("ix_outreach_case_change_seq"))
        batch_op.drop_index(batch_op.f("ix_outreach_case_assigned_worker_id"))

    op.drop_table("outreach_case")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_worker_id"))
        batch_op.drop_index(batch_op.f("ix_device_municipality_code"))

    op.drop_table("device")
    op.drop_table("tenant_sequence")
    with op.batch_alter_table("staff_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_user_municipality_code"))

    op.drop_table("staff_user")
    with op.batch_alter_table("partner_client", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_client_municipality_code"))

    op.drop_table("partner_client")
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_municipality_code"))

    op.drop_table("household")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_municipality_code"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_case_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_actor_id"))

    op.drop_table("audit_entry")
    op.drop_table("municipality")
