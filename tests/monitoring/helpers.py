"""Helpers of the monitoring tests: reference bundles built from real data without training,
a transparent PD formula, decision logs written through the real table and migrations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from creditscore.bundle import ModelBundle
from creditscore.config import CostConfig, PolicyConfig
from creditscore.data.profile import build_profile, build_reference
from creditscore.data.schema import InputSchema
from creditscore.evaluation.metrics import auc_standard_error
from creditscore.monitoring.sources import PD_COLUMN
from creditscore.policy import DecisionPolicy

TAIWAN_TARGET = "default.payment.next.month"
TAIWAN_CATEGORICAL = ["SEX", "EDUCATION", "MARRIAGE"]
POLICY = DecisionPolicy.from_config(0.25, PolicyConfig(refer_margin=0.03), CostConfig())


def taiwan_inputs(frame: pd.DataFrame) -> pd.DataFrame:
    X = frame.drop(columns=["ID", TAIWAN_TARGET]).copy()
    for col in TAIWAN_CATEGORICAL:
        X[col] = X[col].astype(str)
    return X


def taiwan_pd(X: pd.DataFrame) -> np.ndarray:
    """A transparent PD: later payment (PAY_0) and a lower limit raise it."""
    pay = pd.to_numeric(X["PAY_0"], errors="coerce").fillna(0).clip(-2, 4).to_numpy()
    limit = pd.to_numeric(X["LIMIT_BAL"], errors="coerce").fillna(150_000).to_numpy()
    z = -1.6 + 0.75 * pay - 2.5e-6 * limit
    return 1.0 / (1.0 + np.exp(-z))


def german_pd(X: pd.DataFrame) -> np.ndarray:
    """A transparent PD for German: longer loans and younger applicants raise it."""
    z = -1.2 + 0.03 * X["duration_in_month"].to_numpy() - 0.01 * (X["age_in_years"] - 35)
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=float)


def reference_bundle(
    X: pd.DataFrame,
    categorical: Sequence[str],
    proba: np.ndarray,
    y: np.ndarray | None = None,
    name: str = "test-model",
) -> ModelBundle:
    """A bundle whose Profile is built from ``X`` (no model: rows carry their PD)."""
    categorical = list(categorical)
    numeric = [c for c in X.columns if c not in categorical]
    reference = None
    if y is not None:
        dev = auc_standard_error(y, proba)
        reference = build_reference(
            y,
            proba,
            POLICY.band_many(proba),
            POLICY.decide_many(proba),
            [n for n, _ in POLICY.bands],
            dev.auc,
            dev.se,
            len(y),
            "test rows",
        )
    return ModelBundle(
        model=None,
        schema=InputSchema.from_frame(X, numeric, categorical),
        policy=POLICY,
        profile=build_profile(X, numeric, categorical, proba, reference),
        metadata={"name": name, "target": "bad", "positive": 1},
    )


def with_pd(X: pd.DataFrame, proba: np.ndarray) -> pd.DataFrame:
    out = X.copy()
    out[PD_COLUMN] = proba
    return out


def decision_records(
    X: pd.DataFrame,
    proba: np.ndarray,
    start: datetime,
    days: int,
    ids: Sequence[str] | None = None,
    seed: int = 0,
    policy: DecisionPolicy = POLICY,
) -> list[dict[str, Any]]:
    """Decision records as the service logs them, spread over ``days`` from ``start``."""
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.uniform(0, days * 86400, len(X)))
    bands, decisions = policy.band_many(proba), policy.decide_many(proba)
    points = policy.points_many(proba)
    inputs = X.to_dict(orient="records")
    out = []
    for i, row in enumerate(inputs):
        clean = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        out.append(
            {
                "request_id": uuid.uuid4().hex,
                "created_at": start + timedelta(seconds=float(offsets[i])),
                "application_id": ids[i] if ids is not None else None,
                "endpoint": "single",
                "model_name": "test-model",
                "model_version": "1",
                "policy_version": policy.version,
                "probability_of_default": float(proba[i]),
                "score": int(points[i]),
                "risk_band": str(bands[i]),
                "decision": str(decisions[i]),
                "reasons": [],
                "inputs": clean,
                "latency_ms": float(rng.gamma(2.0, 0.4)),
            }
        )
    return out


def write_decisions(url: str, records: list[dict[str, Any]]) -> None:
    """Through the real engine builder, migrations and table (as the service writes)."""
    from creditscore.store.engine import make_engine, upgrade_schema
    from creditscore.store.tables import decisions_table

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            upgrade_schema(conn)
            for s in range(0, len(records), 5000):
                conn.execute(decisions_table.insert(), records[s : s + 5000])
    finally:
        engine.dispose()


JAN_2024 = datetime(2024, 1, 1, tzinfo=UTC)
