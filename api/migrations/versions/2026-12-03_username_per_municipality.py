"""Staff: usernames unique per municipality, no longer across the service

A global unique username told one municipality's admin, through `username-taken`, which
usernames another municipality has. Two municipalities may now each have a `j.jansen`; a
sign-in names the municipality (`0363/j.jansen`) when the username alone is ambiguous.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 00:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _staff_user(*, unique_per_municipality: bool) -> sa.Table:
    """The table as SQLite rebuilds it (its inline unique constraint has no name to drop it by)."""
    columns = [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=4), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("credentials_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]
    constraints = [
        sa.CheckConstraint("role IN ('worker', 'backoffice', 'admin')", name="ck_staff_user_role"),
        sa.ForeignKeyConstraint(["municipality_code"], ["municipality.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("municipality_code", "username", name="uq_staff_user_username")
        if unique_per_municipality
        else sa.UniqueConstraint("username"),
    ]
    index = sa.Index("ix_staff_user_municipality_code", "municipality_code")
    return sa.Table("staff_user", sa.MetaData(), *columns, *constraints, index)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "staff_user", copy_from=_staff_user(unique_per_municipality=True), recreate="always"
        ) as batch:
            batch.create_index("ix_staff_user_username", ["username"], unique=False)
        return
    op.drop_constraint("staff_user_username_key", "staff_user", type_="unique")
    op.create_unique_constraint("uq_staff_user_username", "staff_user", ["municipality_code", "username"])
    op.create_index("ix_staff_user_username", "staff_user", ["username"], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_staff_user_username", table_name="staff_user")
        with op.batch_alter_table(
            "staff_user", copy_from=_staff_user(unique_per_municipality=False), recreate="always"
        ):
            pass
        return
    op.drop_index("ix_staff_user_username", table_name="staff_user")
    op.drop_constraint("uq_staff_user_username", "staff_user", type_="unique")
    op.create_unique_constraint("staff_user_username_key", "staff_user", ["username"])
