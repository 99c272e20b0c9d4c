"""Visit events: index by case and kind (push reads a case's state events, not its cards and notes)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_visit_event_case_id_kind', 'visit_event', ['case_id', 'kind'], unique=False)
    op.drop_index('ix_visit_event_case_id', table_name='visit_event')


def downgrade() -> None:
    op.create_index('ix_visit_event_case_id', 'visit_event', ['case_id'], unique=False)
    op.drop_index('ix_visit_event_case_id_kind', table_name='visit_event')
