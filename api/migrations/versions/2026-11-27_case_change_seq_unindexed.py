"""Cases: no index on the change number

Nothing looks cases up by `change_seq`: a pull reads the worker's cases and compares each one's
number with the cursor. The index only cost every change of a case (each push touches dozens)
an entry in it, and kept PostgreSQL from updating the case in place (a HOT update) when its
indexed columns stay the same.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_outreach_case_change_seq", table_name="outreach_case")


def downgrade() -> None:
    op.create_index("ix_outreach_case_change_seq", "outreach_case", ["change_seq"], unique=False)
