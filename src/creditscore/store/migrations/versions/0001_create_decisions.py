"""Create the decisions table (one row per decision, keyed by request id).

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("application_id", sa.String(128), nullable=True),
        sa.Column("endpoint", sa.String(16), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("probability_of_default", sa.Float, nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("risk_band", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("reasons", JSONType, nullable=False),
        sa.Column("inputs", JSONType, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
    )
    op.create_index("ix_decisions_created_at", "decisions", ["created_at"])
    op.create_index("ix_decisions_application_id", "decisions", ["application_id"])


def downgrade() -> None:
    op.drop_index("ix_decisions_application_id", table_name="decisions")
    op.drop_index("ix_decisions_created_at", table_name="decisions")
    op.drop_table("decisions")
