"""Create the request_errors table (scoring requests the service refused or failed).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_errors",
        sa.Column("error_id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("route", sa.String(64), nullable=False),
        sa.Column("endpoint", sa.String(16), nullable=False),
        sa.Column("status_code", sa.SmallInteger, nullable=False),
        sa.Column("error", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("field", sa.String(200), nullable=True),
        sa.Column("problems", sa.Integer, nullable=False),
        sa.Column("item_index", sa.Integer, nullable=True),
        sa.Column("model_name", sa.String(200), nullable=True),
        sa.Column("model_version", sa.String(200), nullable=True),
        sa.Column("policy_version", sa.String(64), nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=False),
    )
    op.create_index("ix_request_errors_created_at", "request_errors", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_request_errors_created_at", table_name="request_errors")
    op.drop_table("request_errors")
