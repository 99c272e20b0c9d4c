"""Cases, signals and events by tenant and time; open cases by deadline

A municipality's years of history made its period reports, its dashboard and its lists of open
cases slower with every month: each read every row of the tenant through the index on
`municipality_code` alone (`bench/scale.py`). The tenant indexes of cases, signals and visit events
become (tenant, time) indexes, which serve a lookup by tenant as well, so an import or a push keeps
as many indexes to update; cases get one by closing time and a partial one of the open cases by
deadline.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 19:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "state <> 'closed'"
# (old index on the tenant alone, table, new index, its time column)
RETIMED = (
    ("ix_outreach_case_municipality_code", "outreach_case", "ix_outreach_case_tenant_opened", "opened_at"),
    ("ix_signal_municipality_code", "signal", "ix_signal_tenant_received", "received_at"),
    ("ix_visit_event_municipality_code", "visit_event", "ix_visit_event_tenant_occurred", "occurred_at"),
)


def upgrade() -> None:
    for old, table, new, column in RETIMED:
        op.create_index(new, table, ["municipality_code", column], unique=False)
        op.drop_index(old, table_name=table)
    op.create_index("ix_outreach_case_tenant_closed", "outreach_case", ["municipality_code", "closed_at"], unique=False)
    op.create_index(
        "ix_outreach_case_open_by_due",
        "outreach_case",
        ["municipality_code", "first_contact_due_date"],
        unique=False,
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_outreach_case_open_by_due", table_name="outreach_case")
    op.drop_index("ix_outreach_case_tenant_closed", table_name="outreach_case")
    for old, table, new, _ in RETIMED:
        op.create_index(old, table, ["municipality_code"], unique=False)
        op.drop_index(new, table_name=table)
