"""BKR outbox: a third message, the removal, sent once on the registration's removal date

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _actions(allowed: str) -> None:
    with op.batch_alter_table("bkr_registration", schema=None) as batch_op:
        batch_op.drop_constraint("ck_bkr_registration_action", type_="check")
        batch_op.create_check_constraint("ck_bkr_registration_action", f"action IN ({allowed})")


def upgrade() -> None:
    _actions("'register', 'end', 'remove'")


def downgrade() -> None:
    op.execute(
        "DELETE FROM bkr_attempt WHERE registration_id IN (SELECT id FROM bkr_registration WHERE action = 'remove')"
    )
    op.execute("DELETE FROM bkr_registration WHERE action = 'remove'")
    _actions("'register', 'end'")
