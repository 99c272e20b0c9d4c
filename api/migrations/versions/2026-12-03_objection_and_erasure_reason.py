"""Cases opened under an objection are marked; a resident request keeps its erasure's ground and reason

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outreach_case", schema=None) as batch_op:
        # The default stays: raw inserts (a bulk load, a script) need not know the mark.
        batch_op.add_column(sa.Column("objection", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("resident_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erasure_ground", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column("erasure_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resident_request", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
        batch_op.drop_column("erasure_reason")
        batch_op.drop_column("erasure_ground")
    with op.batch_alter_table("outreach_case", schema=None) as batch_op:
        batch_op.drop_column("objection")
