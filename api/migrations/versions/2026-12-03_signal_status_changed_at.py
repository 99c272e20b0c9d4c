"""Signals: when their status last changed, for the creditor's feedback

A creditor with `feedback:read` asks what changed since its last question, so a signal keeps the
moment its DDAS status last changed (null: not since it was received). Signals already stored
get it from their cases' histories: a picked-up signal from its case's first attempt (or its own
arrival, when it joined later), a signal of a closed case from the closing.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 05:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As written here, not imported: a migration must keep meaning what it meant when it ran.
FIRST_ATTEMPT = """(SELECT MIN(e.occurred_at) FROM visit_event e WHERE e.case_id = signal.case_id
    AND e.outcome = 'applied' AND e.kind IN ('administrative', 'appointment_kept', 'letter_sent', 'mail_sent',
    'phone_attempt', 'sms_sent', 'visit_attempt'))"""
BACKFILL = f"""
UPDATE signal SET status_changed_at = CASE
    WHEN status = 'Opgepakt' THEN
        CASE WHEN {FIRST_ATTEMPT} > received_at THEN {FIRST_ATTEMPT} ELSE NULL END
    WHEN status NOT IN ('Nog niet opgepakt', 'Niet opgepakt: herhaalde melding') THEN
        (SELECT c.closed_at FROM outreach_case c WHERE c.id = signal.case_id)
    ELSE NULL
END
"""


def upgrade() -> None:
    with op.batch_alter_table("signal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text(BACKFILL))


def downgrade() -> None:
    with op.batch_alter_table("signal", schema=None) as batch_op:
        batch_op.drop_column("status_changed_at")
