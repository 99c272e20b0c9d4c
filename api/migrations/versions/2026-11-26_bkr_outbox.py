"""BKR outbox: resident snapshot, worker leases, delivery attempts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 18:21:17.502335
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bkr_attempt",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("registration_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.ForeignKeyConstraint(["registration_id"], ["bkr_registration.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bkr_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bkr_attempt_municipality_code"), ["municipality_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_bkr_attempt_registration_id"), ["registration_id"], unique=False)

    with op.batch_alter_table("bkr_registration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claim_token", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("bkr_reference", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_bkr_registration_trajectory_action", ["trajectory_id", "action"])
        batch_op.create_check_constraint("ck_bkr_registration_action", "action IN ('register', 'end')")

    with op.batch_alter_table("bkr_registration", schema=None) as batch_op:
        batch_op.alter_column("subject", server_default=None)  # the default only filled existing rows

    with op.batch_alter_table("trajectory", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ended_by", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key("fk_trajectory_ended_by", "staff_user", ["ended_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("trajectory", schema=None) as batch_op:
        batch_op.drop_constraint("fk_trajectory_ended_by", type_="foreignkey")
        batch_op.drop_column("ended_by")

    with op.batch_alter_table("bkr_registration", schema=None) as batch_op:
        batch_op.drop_constraint("ck_bkr_registration_action", type_="check")
        batch_op.drop_constraint("uq_bkr_registration_trajectory_action", type_="unique")
        batch_op.drop_column("bkr_reference")
        batch_op.drop_column("claim_token")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("subject")

    with op.batch_alter_table("bkr_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bkr_attempt_registration_id"))
        batch_op.drop_index(batch_op.f("ix_bkr_attempt_municipality_code"))

    op.drop_table("bkr_attempt")
