"""Create the outcomes table (observed good/bad outcomes by application id).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outcomes",
        sa.Column("application_id", sa.String(128), primary_key=True),
        sa.Column("bad", sa.SmallInteger, nullable=False),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("previous_bad", sa.SmallInteger, nullable=True),
        sa.Column("corrections", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("outcomes")
