"""Audit trail: an index of the retention runs only, for the dashboard's "last ran"

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREDICATE = "action = 'retention.run'"


def upgrade() -> None:
    op.create_index(
        "ix_audit_entry_retention_runs",
        "audit_entry",
        ["municipality_code", "at"],
        unique=False,
        postgresql_where=sa.text(PREDICATE),
        sqlite_where=sa.text(PREDICATE),
    )


def downgrade() -> None:
    op.drop_index("ix_audit_entry_retention_runs", table_name="audit_entry")
