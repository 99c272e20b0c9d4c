"""Cases: a started trajectory closes early signalling (the handover)

Early signalling ends where debt help begins. Cases left in the state `trajectory` are closed
with the follow-up result a trajectory now closes a case with (*Vervolghulp en/of verwijzing
financieel*), closed at the moment the trajectory was recorded; the trajectory itself, its end
and its BKR registrations stay as they are. They get a new change number, so phones that hold
them drop them on their next pull.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    cases = connection.execute(
        sa.text(
            "SELECT c.id, c.municipality_code, t.created_at FROM outreach_case c JOIN trajectory t ON t.case_id = c.id "
            "WHERE c.state = 'trajectory' ORDER BY c.municipality_code, c.id"
        )
    ).all()
    for case_id, code, started_at in cases:
        # A change number from the tenant's counter, as the service takes one (tenant_sequence).
        connection.execute(
            sa.text("UPDATE tenant_sequence SET last_seq = last_seq + 1 WHERE municipality_code = :code"),
            {"code": code},
        )
        seq = connection.execute(
            sa.text("SELECT last_seq FROM tenant_sequence WHERE municipality_code = :code"), {"code": code}
        ).scalar_one()
        connection.execute(
            sa.text(
                "UPDATE outreach_case SET state = 'closed', result = 'Vervolghulp en/of verwijzing financieel', "
                "closed_at = :closed_at, version = version + 1, change_seq = :seq WHERE id = :id"
            ),
            {"closed_at": started_at, "seq": seq, "id": case_id},
        )


def downgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE outreach_case SET state = 'trajectory', result = NULL, closed_at = NULL "
            "WHERE state = 'closed' AND result = 'Vervolghulp en/of verwijzing financieel' "
            "AND id IN (SELECT case_id FROM trajectory)"
        )
    )
