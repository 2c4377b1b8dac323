"""Create the scoring_runs table (one row per batch run of ``creditscore score``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "scoring_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seconds", sa.Float, nullable=True),
        sa.Column("input_path", sa.String(1024), nullable=False),
        sa.Column("input_bytes", sa.BigInteger, nullable=False),
        sa.Column("input_checksum", sa.String(80), nullable=True),
        sa.Column("output_path", sa.String(1024), nullable=False),
        sa.Column("rejects_path", sa.String(1024), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.String(200), nullable=False),
        sa.Column("model_source", sa.String(1024), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("rows_read", sa.BigInteger, nullable=False),
        sa.Column("rows_scored", sa.BigInteger, nullable=False),
        sa.Column("rows_rejected", sa.BigInteger, nullable=False),
        sa.Column("approved", sa.BigInteger, nullable=False),
        sa.Column("referred", sa.BigInteger, nullable=False),
        sa.Column("declined", sa.BigInteger, nullable=False),
        sa.Column("mean_pd", sa.Float, nullable=True),
        sa.Column("options", JSONType, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_scoring_runs_started_at", "scoring_runs", ["started_at"])
    op.create_index("ix_scoring_runs_output_path", "scoring_runs", ["output_path"])


def downgrade() -> None:
    op.drop_index("ix_scoring_runs_output_path", table_name="scoring_runs")
    op.drop_index("ix_scoring_runs_started_at", table_name="scoring_runs")
    op.drop_table("scoring_runs")
