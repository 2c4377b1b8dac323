"""Real models and synthetic portfolios for the batch tests (no mocks: a fitted LightGBM
pipeline, calibrated and wrapped in a bundle as ``creditscore train`` does)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from creditscore.bundle import ModelBundle
from creditscore.config import german_config
from creditscore.data.ingest import validate
from creditscore.data.profile import build_profile
from creditscore.data.schema import InputSchema
from creditscore.data.split import split_indices
from creditscore.datasets import load_german
from creditscore.evaluation.threshold import fit_policy
from creditscore.models.catalog import CATALOG, Context
from creditscore.training.calibration import calibrate

ID = "application_id"


#: A small LightGBM (the catalog's has 300 trees): exact TreeSHAP reason codes for 100k
#: rows take seconds instead of a minute, and the model is still a real one.
SMALL_LIGHTGBM = {"n_estimators": 60, "num_leaves": 7}


def german_bundle(
    candidate: str = "lightgbm", params: dict[str, object] | None = None
) -> ModelBundle:
    """``candidate`` fitted on German's training split, calibrated on the validation split,
    with a cost-based policy: a real bundle in a few seconds."""
    cfg = german_config()
    ds = validate(load_german(), cfg)
    splits = split_indices(ds.y, cfg.split, ds.dates)
    ctx = Context(ds.numeric, ds.categorical, {}, dict(cfg.data.monotone), 0)
    Xt, yt = ds.X.iloc[splits.train], ds.y[splits.train]
    Xv, yv = ds.X.iloc[splits.valid], ds.y[splits.valid]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = CATALOG[candidate].pipeline(params, ctx).fit(Xt, yt)
        cal = calibrate(model, Xv, yv, "sigmoid", 0)
    # equal costs (German's ratio is 10): three in four approved, a quarter referred or
    # declined (with reason codes) instead of nine in ten, so tests of 100k rows stay quick
    costs = cfg.costs.model_copy(update={"false_negative": 1.0})
    policy = fit_policy(yv, cal.model.predict_proba(Xv)[:, 1], cfg.policy, costs)
    return ModelBundle(
        cal.model,
        InputSchema.from_frame(ds.X, ds.numeric, ds.categorical),
        policy,
        build_profile(Xt, ds.numeric, ds.categorical, cal.model.predict_proba(Xt)[:, 1]),
        metadata={
            "name": "german-batch",
            "version": "7",
            "sensitive": list(cfg.sensitive),
            "numeric": list(ds.numeric),
            "categorical": list(ds.categorical),
        },
    )


def portfolio(n: int, seed: int = 0, *, source: pd.DataFrame | None = None) -> pd.DataFrame:
    """``n`` applications drawn from German's rows (numbers jittered, so most rows are
    new), with a unique ``application_id`` and the protected columns kept as in real files."""
    base = (source if source is not None else load_german()).drop(columns=["creditability"])
    rng = np.random.default_rng(seed)
    frame = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
    for col in ("duration_in_month", "credit_amount", "age_in_years"):
        if col in frame:
            jitter = rng.integers(-3, 4, n) * (50 if col == "credit_amount" else 1)
            frame[col] = (frame[col] + jitter).clip(lower=1)
    frame.insert(0, ID, [f"A{seed:02d}{i:09d}" for i in range(n)])
    return frame


def save_bundle(bundle: ModelBundle, folder: Path) -> Path:
    path = bundle.save(folder)
    for p in [path, *path.rglob("*")]:
        p.chmod(p.stat().st_mode & 0o755)
    return path


def register_bundle(
    bundle: ModelBundle,
    bundle_path: Path,
    tmp_path: Path,
    name: str,
    input_example: pd.DataFrame | None = None,
) -> str:
    """Register ``bundle`` (saved at ``bundle_path``) as version 1 of ``name``, alias
    champion, in a real MLflow registry on a SQLite file under ``tmp_path``; its URI."""
    from types import SimpleNamespace

    from mlflow import MlflowClient

    from creditscore.pyfunc import save_pyfunc
    from creditscore.tracking import signature_for

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment(name, artifact_location=str(tmp_path / "artifacts"))
    run = client.create_run(experiment)
    model_dir = save_pyfunc(
        bundle_path,
        tmp_path / "pyfunc",
        signature=signature_for(SimpleNamespace(bundle=bundle)),  # type: ignore[arg-type]
        input_example=input_example,
    )
    client.log_artifacts(run.info.run_id, str(model_dir), "model")
    client.create_registered_model(name)
    version = client.create_model_version(
        name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id
    )
    client.set_registered_model_alias(name, "champion", version.version)
    return uri
