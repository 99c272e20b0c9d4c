"""Signal intake: imports and their reports, quarantine, creditor agreements, case lifecycle states, signal status

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 16:13:24.434905
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signal_import",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("file_format", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("file_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("duplicate_count", sa.Integer(), nullable=False),
        sa.Column("repeat_count", sa.Integer(), nullable=False),
        sa.Column("rejected_count", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.CheckConstraint("status IN ('completed', 'rejected')", name="ck_signal_import_status"),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("signal_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signal_import_file_sha256"), ["file_sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_signal_import_municipality_code"), ["municipality_code"], unique=False)

    op.create_table(
        "creditor_agreement",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("partner_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("agreement_date", sa.Date(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("partner_client_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.ForeignKeyConstraint(["partner_client_id"], ["partner_client.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("municipality_code", "name", "partner_type", name="uq_creditor_agreement"),
    )
    with op.batch_alter_table("creditor_agreement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_creditor_agreement_municipality_code"), ["municipality_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_creditor_agreement_partner_client_id"), ["partner_client_id"], unique=False
        )

    op.create_table(
        "quarantined_row",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["signal_import.id"]),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quarantined_row", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantined_row_import_id"), ["import_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quarantined_row_municipality_code"), ["municipality_code"], unique=False)

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.alter_column(
            "address_key",
            existing_type=sa.VARCHAR(length=40),
            type_=sqlmodel.sql.sqltypes.AutoString(length=80),
            existing_nullable=False,
        )
        batch_op.alter_column("postcode", existing_type=sa.VARCHAR(length=6), nullable=True)
        batch_op.alter_column("house_number", existing_type=sa.INTEGER(), nullable=True)

    # The lifecycle replaces open/closed: an open case is "new" until it is planned.
    with op.batch_alter_table("outreach_case", schema=None) as batch_op:
        batch_op.drop_constraint("ck_outreach_case_state", type_="check")
        batch_op.drop_index(batch_op.f("ix_outreach_case_deadline_date"))
        batch_op.alter_column(
            "deadline_date", new_column_name="first_contact_due_date", existing_type=sa.Date(), existing_nullable=False
        )
    op.execute("UPDATE outreach_case SET state = 'new' WHERE state = 'open'")
    with op.batch_alter_table("outreach_case", schema=None) as batch_op:
        batch_op.create_check_constraint(
            "ck_outreach_case_state",
            "state IN ('new', 'planned', 'contacted', 'help_accepted', 'trajectory', 'closed')",
        )
        batch_op.create_index(
            batch_op.f("ix_outreach_case_first_contact_due_date"), ["first_contact_due_date"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outreach_case_state"), ["state"], unique=False)

    with op.batch_alter_table("signal", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False, server_default="Opgepakt")
        )
        batch_op.add_column(sa.Column("classification", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    with op.batch_alter_table("signal", schema=None) as batch_op:
        batch_op.alter_column("status", server_default=None, existing_type=sqlmodel.sql.sqltypes.AutoString(length=60))


def downgrade() -> None:
    with op.batch_alter_table("signal", schema=None) as batch_op:
        batch_op.drop_column("classification")
        batch_op.drop_column("status")

    with op.batch_alter_table("outreach_case", schema=None) as batch_op:
        batch_op.drop_constraint("ck_outreach_case_state", type_="check")
        batch_op.drop_index(batch_op.f("ix_outreach_case_state"))
        batch_op.drop_index(batch_op.f("ix_outreach_case_first_contact_due_date"))
        batch_op.alter_column(
            "first_contact_due_date", new_column_name="deadline_date", existing_type=sa.Date(), existing_nullable=False
        )
    op.execute("UPDATE outreach_case SET state = 'open' WHERE state <> 'closed'")
    with op.batch_alter_table("outreach_case", schema=None) as batch_op:
        batch_op.create_check_constraint("ck_outreach_case_state", "state IN ('open', 'closed')")
        batch_op.create_index(batch_op.f("ix_outreach_case_deadline_date"), ["deadline_date"], unique=False)

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.alter_column("house_number", existing_type=sa.INTEGER(), nullable=False)
        batch_op.alter_column("postcode", existing_type=sa.VARCHAR(length=6), nullable=False)
        batch_op.alter_column(
            "address_key",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=80),
            type_=sa.VARCHAR(length=40),
            existing_nullable=False,
        )

    with op.batch_alter_table("quarantined_row", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantined_row_municipality_code"))
        batch_op.drop_index(batch_op.f("ix_quarantined_row_import_id"))

    op.drop_table("quarantined_row")
    with op.batch_alter_table("creditor_agreement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_creditor_agreement_partner_client_id"))
        batch_op.drop_index(batch_op.f("ix_creditor_agreement_municipality_code"))

    op.drop_table("creditor_agreement")
    with op.batch_alter_table("signal_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signal_import_municipality_code"))
        batch_op.drop_index(batch_op.f("ix_signal_import_file_sha256"))

    op.drop_table("signal_import")
