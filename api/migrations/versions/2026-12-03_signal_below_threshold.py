"""Signals: below the municipality's threshold for their partner type, and why

A municipality acts on arrears from a minimum per partner type (`thresholds` in its settings);
intake now marks a signal below it, or with its arrear starting after the signal date, or with an
amount of zero. The signals already stored are marked here by the defaults every municipality
starts with (30 days for Huur, Energie, Water and Zorg, 180 for CAK Zorgverzekeringen, no minimum
amount), written out rather than imported: a migration must keep meaning what it meant when it ran.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 06:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_MIN_DAYS = {"Huur": 30, "Energie": 30, "Water": 30, "Zorg": 30, "CAK Zorgverzekeringen": 180}


def _reason(days_in_arrears: str) -> str:
    """`signals.rules.below_threshold` with the default thresholds, as SQL."""
    by_type = " ".join(f"WHEN '{partner_type}' THEN {days}" for partner_type, days in DEFAULT_MIN_DAYS.items())
    return f"""CASE
        WHEN arrears_since_date > signal_date THEN 'arrears-start-after-signal-date'
        WHEN amount_cents = 0 THEN 'zero-amount'
        WHEN arrears_since_date IS NOT NULL AND {days_in_arrears} < (CASE partner_type {by_type} ELSE 0 END)
            THEN 'days-in-arrears'
    END"""


def upgrade() -> None:
    with op.batch_alter_table("signal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("below_threshold", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(
            sa.Column("below_threshold_reason", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
    with op.batch_alter_table("signal", schema=None) as batch_op:
        batch_op.alter_column("below_threshold", server_default=None, existing_type=sa.Boolean())
    mark(op.get_bind())


def mark(connection: sa.Connection) -> None:
    """Mark every stored signal by the default thresholds (a test holds this to the rule)."""
    postgres = connection.dialect.name == "postgresql"
    days = (
        "(signal_date - arrears_since_date)"
        if postgres
        else "CAST(julianday(signal_date) - julianday(arrears_since_date) AS INTEGER)"
    )
    connection.execute(sa.text(f"UPDATE signal SET below_threshold_reason = {_reason(days)}"))
    connection.execute(sa.text("UPDATE signal SET below_threshold = (below_threshold_reason IS NOT NULL)"))


def downgrade() -> None:
    with op.batch_alter_table("signal", schema=None) as batch_op:
        batch_op.drop_column("below_threshold_reason")
        batch_op.drop_column("below_threshold")
