"""Signals: their DDAS status follows their case (and can be filtered on)

Until now every signal that was not a repeat was stored as `Opgepakt` on arrival. DDAS
(EnumSignaalstatus) has it *Nog niet opgepakt* until its case's first contact attempt, and for a
case closed before any attempt the reason it was not picked up. This sets the status of the
signals already stored from their cases' histories, by the rule `signals.rules.signal_status`
(written out here: a migration must keep meaning what it meant when it ran).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 02:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_PICKED_UP_RESULTS = (
    "'Inwoner al bekend bij schuldhulpverlening', 'Inwoner is overleden', "
    "'Niet opgepakt: andere reden', 'Niet opgepakt: herhaalde melding', "
    "'Niet opgepakt: onterecht signaal', 'Persoon is geen inwoner (meer) in de gemeente'"
)
STATUS_FROM_CASE = f"""
UPDATE signal SET status = CASE
    WHEN is_repeat THEN 'Niet opgepakt: herhaalde melding'
    WHEN EXISTS (SELECT 1 FROM visit_event e WHERE e.case_id = signal.case_id AND e.outcome = 'applied'
                 AND e.kind IN ('letter_sent', 'phone_attempt', 'visit_attempt')) THEN 'Opgepakt'
    WHEN (SELECT c.state FROM outreach_case c WHERE c.id = signal.case_id) = 'closed' THEN
        CASE WHEN (SELECT c.result FROM outreach_case c WHERE c.id = signal.case_id) IN ({NOT_PICKED_UP_RESULTS})
             THEN (SELECT c.result FROM outreach_case c WHERE c.id = signal.case_id)
             ELSE 'Niet opgepakt: andere reden' END
    ELSE 'Nog niet opgepakt'
END
"""


def upgrade() -> None:
    op.execute(sa.text(STATUS_FROM_CASE))
    op.create_index("ix_signal_status", "signal", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_signal_status", table_name="signal")
    op.execute(sa.text("UPDATE signal SET status = 'Opgepakt' WHERE NOT is_repeat"))
