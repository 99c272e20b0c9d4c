"""Visit events: a clock-skew flag and the hash of the body a replay must match

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 17:17:23.701139
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_skew", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(
            sa.Column("body_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default="")
        )
    with op.batch_alter_table("visit_event", schema=None) as batch_op:
        batch_op.alter_column("clock_skew", server_default=None, existing_type=sa.Boolean())
        batch_op.alter_column(
            "body_hash", server_default=None, existing_type=sqlmodel.sql.sqltypes.AutoString(length=64)
        )


def downgrade() -> None:
    with op.batch_alter_table("visit_event", schema=None) as batch_op:
        batch_op.drop_column("body_hash")
        batch_op.drop_column("clock_skew")
