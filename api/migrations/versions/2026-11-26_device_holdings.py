"""Device holdings: which case versions each device holds after its last pull

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 17:09:59.908866
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device_holding",
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["outreach_case.id"]),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("device_id", "case_id"),
    )
    with op.batch_alter_table("device_holding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_holding_municipality_code"), ["municipality_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("device_holding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_holding_municipality_code"))

    op.drop_table("device_holding")
