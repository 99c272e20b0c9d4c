"""Visit events: SMS and an appointment kept are state events too (the index of them follows)

DDAS knows more contact kinds than letter, phone and visit (EnumContactsoort): mail, SMS/Whatsapp,
an appointment kept, administrative contact. From the field come SMS and an appointment kept;
both can reach the resident, so push reads them with the other state events, through the partial
index that holds exactly those (its predicate names the kinds).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 04:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As written here, not imported: a migration must keep meaning what it meant when it ran.
BEFORE = (
    "kind IN ('help_accepted', 'help_declined', 'help_offered', 'phone_attempt', 'result_proposed', 'visit_attempt')"
)
AFTER = (
    "kind IN ('appointment_kept', 'help_accepted', 'help_declined', 'help_offered', 'phone_attempt', "
    "'result_proposed', 'sms_sent', 'visit_attempt')"
)


def _index(predicate: str) -> None:
    op.drop_index("ix_visit_event_state_by_case", table_name="visit_event")
    op.create_index(
        "ix_visit_event_state_by_case",
        "visit_event",
        ["case_id"],
        unique=False,
        postgresql_where=sa.text(predicate),
        sqlite_where=sa.text(predicate),
    )


def upgrade() -> None:
    _index(AFTER)


def downgrade() -> None:
    _index(BEFORE)
