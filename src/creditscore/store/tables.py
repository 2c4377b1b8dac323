"""The shared tables, as SQLAlchemy Core definitions (the migrations create them)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

TABLE_NAME = "decisions"
VERSION_TABLE = "creditscore_decisions_version"

metadata = sa.MetaData()
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

decisions_table = sa.Table(
    TABLE_NAME,
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("application_id", sa.String(128), nullable=True, index=True),
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
COLUMNS = tuple(c.name for c in decisions_table.columns)

#: One row per batch run (``creditscore score``): what was scored with which model, the
#: counts, and when; written by ``creditscore.batch.runs`` (migration 0003).
SCORING_RUNS_TABLE = "scoring_runs"
scoring_runs_table = sa.Table(
    SCORING_RUNS_TABLE,
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # running | completed | failed
    sa.Column("engine", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("seconds", sa.Float, nullable=True),
    sa.Column("input_path", sa.String(1024), nullable=False),
    sa.Column("input_bytes", sa.BigInteger, nullable=False),
    sa.Column("input_checksum", sa.String(80), nullable=True),
    sa.Column("output_path", sa.String(1024), nullable=False, index=True),
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

#: Observed outcomes of decided applications, by application id (``creditscore outcomes``;
#: migration 0002). A corrected label replaces the old one, which is kept in
#: ``previous_bad`` with the time of the correction.
outcomes_table = sa.Table(
    "outcomes",
    metadata,
    sa.Column("application_id", sa.String(128), primary_key=True),
    sa.Column("bad", sa.SmallInteger, nullable=False),
    sa.Column("label", sa.String(128), nullable=False),
    sa.Column("source", sa.String(500), nullable=False),
    sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("previous_bad", sa.SmallInteger, nullable=True),
    sa.Column("corrections", sa.Integer, nullable=False, server_default="0"),
)

#: Scoring requests that failed (migration 0004): a client's refused request (4xx: a body
#: that is not JSON, a missing or invalid field, one row of a batch) or a server-side error
#: (5xx), one row each, written by the decision log's writer beside the decisions. What
#: went wrong is kept as the error code, the problem's type and the field's name; never the
#: body, and never the message (it quotes the value sent).
REQUEST_ERRORS_TABLE = "request_errors"
request_errors_table = sa.Table(
    REQUEST_ERRORS_TABLE,
    metadata,
    sa.Column("error_id", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("route", sa.String(64), nullable=False),
    sa.Column("endpoint", sa.String(16), nullable=False),  # single | batch (as decisions)
    sa.Column("status_code", sa.SmallInteger, nullable=False),
    sa.Column("error", sa.String(64), nullable=False),  # invalid_request, internal_error, ...
    sa.Column("kind", sa.String(64), nullable=False),  # missing, float_parsing, ValueError, ...
    sa.Column("field", sa.String(200), nullable=True),
    sa.Column("problems", sa.Integer, nullable=False),
    sa.Column("item_index", sa.Integer, nullable=True),  # the row of a batch
    sa.Column("model_name", sa.String(200), nullable=True),
    sa.Column("model_version", sa.String(200), nullable=True),
    sa.Column("policy_version", sa.String(64), nullable=True),
    sa.Column("latency_ms", sa.Float, nullable=False),
)
REQUEST_ERROR_COLUMNS = tuple(c.name for c in request_errors_table.columns)
