"""Residents' rights: their requests, and what stays of an erased person (keyed hashes only)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 06:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "resident_request",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("criterion", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("signal_ids", sa.JSON(), nullable=False),
        sa.Column("case_ids", sa.JSON(), nullable=False),
        sa.Column("household_ids", sa.JSON(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_resident_request_municipality_code", "resident_request", ["municipality_code"], unique=False)
    op.create_table(
        "erased_subject",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("signal_id", sa.Uuid(), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("ground", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_erased_subject_municipality_code", "erased_subject", ["municipality_code"], unique=False)
    op.create_index("ix_erased_subject_digest", "erased_subject", ["digest"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_erased_subject_digest", table_name="erased_subject")
    op.drop_index("ix_erased_subject_municipality_code", table_name="erased_subject")
    op.drop_table("erased_subject")
    op.drop_index("ix_resident_request_municipality_code", table_name="resident_request")
    op.drop_table("resident_request")
