"""Visit events: an index of each case's state events (push reads those, not the cards and notes)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As written here, not imported: a migration must keep meaning what it meant when it ran.
STATE_KINDS_SQL = (
    "kind IN ('help_accepted', 'help_declined', 'help_offered', 'phone_attempt', 'result_proposed', 'visit_attempt')"
)


def upgrade() -> None:
    op.create_index(
        "ix_visit_event_state_by_case",
        "visit_event",
        ["case_id"],
        unique=False,
        postgresql_where=sa.text(STATE_KINDS_SQL),
        sqlite_where=sa.text(STATE_KINDS_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_visit_event_state_by_case", table_name="visit_event")
