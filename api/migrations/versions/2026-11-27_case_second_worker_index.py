"""Cases: an index on the second worker, so a worker's cases are found by index on both columns

A pull asks for the open cases where the worker is the first or the second of the pair. With an
index on the first worker only, PostgreSQL could not use either for the `OR` and read the
whole case table on every pull of every phone.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outreach_case_second_worker_id", "outreach_case", ["second_worker_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outreach_case_second_worker_id", table_name="outreach_case")
