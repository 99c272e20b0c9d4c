"""BKR outbox: a fourth message, the correction of a registration's resident (AVG art. 16)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONCE = "action <> 'correct'"


def upgrade() -> None:
    with op.batch_alter_table("bkr_registration", schema=None) as batch_op:
        batch_op.drop_constraint("ck_bkr_registration_action", type_="check")
        batch_op.create_check_constraint(
            "ck_bkr_registration_action", "action IN ('register', 'end', 'remove', 'correct')"
        )
        batch_op.drop_constraint("uq_bkr_registration_trajectory_action", type_="unique")
    op.create_index(
        "uq_bkr_registration_trajectory_action",
        "bkr_registration",
        ["trajectory_id", "action"],
        unique=True,
        postgresql_where=sa.text(ONCE),
        sqlite_where=sa.text(ONCE),
    )


def downgrade() -> None:
    op.execute(
        "DELETE FROM bkr_attempt WHERE registration_id IN (SELECT id FROM bkr_registration WHERE action = 'correct')"
    )
    op.execute("DELETE FROM bkr_registration WHERE action = 'correct'")
    op.drop_index("uq_bkr_registration_trajectory_action", table_name="bkr_registration")
    with op.batch_alter_table("bkr_registration", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_bkr_registration_trajectory_action", ["trajectory_id", "action"])
        batch_op.drop_constraint("ck_bkr_registration_action", type_="check")
        batch_op.create_check_constraint("ck_bkr_registration_action", "action IN ('register', 'end', 'remove')")
