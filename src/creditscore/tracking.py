"""Experiment tracking: the only module that writes MLflow runs.

One ``creditscore train`` is one parent run (config, data, git commit, library versions,
the champion's metrics, plots, calibration table and model card) with one nested run per
candidate (parameters, CV AUC per fold, validation metrics, fit time, the Optuna study),
and the bundle logged on the parent as an MLflow pyfunc model.

Every call goes through an explicit :class:`~mlflow.MlflowClient` bound to one tracking URI:
nothing here changes MLflow's process-wide state (tracking URI, active run), so the CLI,
the tests and a server can point at different stores in one process. MLflow's own log
lines, warnings and progress bars are kept out of the user's terminal (:func:`quiet`).
"""

from __future__ import annotations

import contextlib
import getpass
import io
import json
import logging
import math
import os
import re
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pandas as pd
import yaml
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, ColSpec, Schema

from creditscore.bundle import library_versions
from creditscore.exceptions import CreditScoreError, TrackingError

if TYPE_CHECKING:
    from creditscore.training.assess import FairnessOutcome
    from creditscore.training.train import CandidateResult, TrainingResult

__all__ = [
    "MODEL_ARTIFACT",
    "TrackedRun",
    "TrackingError",
    "current_user",
    "http_limits",
    "log_model_card",
    "log_training",
    "quiet",
    "tracking_uri",
    "ui_hint",
]

#: Artifact folder of the pyfunc model on the parent run.
MODEL_ARTIFACT = "model"
#: Artifact folder of the model card on the parent run.
CARD_ARTIFACT = "model_card"
#: Rows of the test split kept as the logged model's input example.
EXAMPLE_ROWS = 5

_MAX_PARAM = 6000
_BATCH = 100
_QUIET_LOGGERS = ("mlflow", "alembic", "urllib3", "git", "httpx")
_env_lock = threading.RLock()


# --------------------------------------------------------------------------- settings
def tracking_uri(explicit: str | None = None) -> str:
    """Where runs and the registry live.

    ``explicit`` > ``CREDITSCORE_TRACKING_URI`` > ``MLFLOW_TRACKING_URI`` > a SQLite file
    ``mlflow.db`` in the working folder (MLflow's own embedded store, what ``mlflow ui``
    opens with ``--backend-store-uri sqlite:///mlflow.db``).
    """
    for value in (
        explicit,
        os.environ.get("CREDITSCORE_TRACKING_URI"),
        os.environ.get("MLFLOW_TRACKING_URI"),
    ):
        if value and value.strip():
            return value.strip()
    return f"sqlite:///{(Path.cwd() / 'mlflow.db').as_posix()}"


_resolve_uri = tracking_uri  # for functions whose ``tracking_uri`` argument shadows it


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (``None`` for any other store)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return None
    rest = unquote(uri[len(prefix) :].split("?", 1)[0])
    if not rest or rest == ":memory:":
        return None
    return Path(rest)


def current_user() -> str:
    """Who is acting: ``CREDITSCORE_USER``, else the login name."""
    explicit = os.environ.get("CREDITSCORE_USER", "").strip()
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return "unknown"


def ui_hint(uri: str) -> str:
    """One line telling the user how to look at the runs."""
    if uri.startswith(("http://", "https://")):
        return f"open {uri} in a browser"
    return f"mlflow ui --backend-store-uri {uri}"


# --------------------------------------------------------------------------- quiet
@contextlib.contextmanager
def _env(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables the user has not set, for the duration of the block."""
    with _env_lock:
        added = [k for k in values if k not in os.environ]
        for k in added:
            os.environ[k] = values[k]
        try:
            yield
        finally:
            for k in added:
                os.environ.pop(k, None)


@contextlib.contextmanager
def http_limits(retries: int, timeout: float) -> Iterator[None]:
    """Bound MLflow's HTTP retries (default: 7, minutes of backoff) unless the user set them."""
    with _env(
        {
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(retries),
            "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
            "MLFLOW_HTTP_REQUEST_TIMEOUT": str(int(timeout)),
        }
    ):
        yield


def no_progress_bars() -> contextlib.AbstractContextManager[None]:
    """Only MLflow's download progress bars off: safe in a server's background thread."""
    return _env({"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"})


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep MLflow's (and alembic's) log lines, warnings, progress bars and prints away.

    What MLflow prints on stdout or stderr while we work is captured and dropped unless the
    block fails, in which case it is attached to the error (it is the useful part then).
    """
    loggers = [logging.getLogger(n) for n in _QUIET_LOGGERS]
    levels = [lg.level for lg in loggers]
    out, err = io.StringIO(), io.StringIO()
    env = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false", "GIT_PYTHON_REFRESH": "quiet"}
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with (
            _env(env),
            warnings.catch_warnings(),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            warnings.simplefilter("ignore")
            yield
    except CreditScoreError:
        raise
    except Exception as exc:
        noise = (out.getvalue() + err.getvalue()).strip()
        if noise:
            exc.add_note("MLflow said: " + noise[-2000:])
        raise
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def client(uri: str) -> MlflowClient:
    """A client bound to ``uri`` for both tracking and the registry."""
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


# --------------------------------------------------------------------------- result
@dataclass
class TrackedRun:
    """Where one training went in MLflow."""

    tracking_uri: str
    experiment_id: str
    experiment_name: str
    run_id: str
    candidate_runs: dict[str, str]  # candidate name -> nested run id
    model_uri: str  # runs:/<run_id>/model
    artifact_uri: str  # where the run's artifacts are
    seconds: float
    card_paths: dict[str, Path] = field(default_factory=dict)

    @property
    def model_source(self) -> str:
        """The model's artifact location, as the registry stores it."""
        return f"{self.artifact_uri.rstrip('/')}/{MODEL_ARTIFACT}"

    @property
    def run_url(self) -> str | None:
        if self.tracking_uri.startswith(("http://", "https://")):
            base = self.tracking_uri.rstrip("/")
            return f"{base}/#/experiments/{self.experiment_id}/runs/{self.run_id}"
        return None


# --------------------------------------------------------------------------- helpers
def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Nested config -> ``{"budget.trials": "20", ...}``; lists become JSON text."""
    out: dict[str, str] = {}
    if isinstance(value, Mapping) and value:
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif prefix:
        out[prefix] = value if isinstance(value, str) else json.dumps(value, default=str)
    return out


def _key(name: str) -> str:
    """MLflow keys allow letters, digits, ``_ - . / :`` and spaces; replace anything else."""
    cleaned = "".join(c if (c.isalnum() and c.isascii()) or c in "_-./: " else "_" for c in name)
    return cleaned.strip("/")[:250] or "_"


def _params(values: Mapping[str, Any]) -> list[Param]:
    seen: dict[str, Param] = {}
    for k, v in values.items():
        text = v if isinstance(v, str) else json.dumps(v, default=str)
        key = _key(k)
        seen.setdefault(key, Param(key, text[:_MAX_PARAM]))
    return list(seen.values())


def _metrics(values: Mapping[str, Any], step: int = 0, ts: int | None = None) -> list[Metric]:
    now = ts or int(time.time() * 1000)
    out = []
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int | float):
            continue
        value = float(v)
        if math.isfinite(value):
            out.append(Metric(_key(k), value, now, step))
    return out


def _tags(values: Mapping[str, Any]) -> list[RunTag]:
    return [RunTag(k, str(v)[:_MAX_PARAM]) for k, v in values.items() if v is not None]


def _log_batch(
    c: MlflowClient,
    run_id: str,
    *,
    metrics: list[Metric] | None = None,
    params: list[Param] | None = None,
    tags: list[RunTag] | None = None,
) -> None:
    """``log_batch`` in chunks within MLflow's per-request limits (100 params or tags)."""
    metrics, params, tags = metrics or [], params or [], tags or []
    for i in range(0, max(len(params), len(tags), 1), _BATCH):
        c.log_batch(run_id, params=params[i : i + _BATCH], tags=tags[i : i + _BATCH])
    for i in range(0, len(metrics), 900):
        c.log_batch(run_id, metrics=metrics[i : i + 900])


def _git(folder: Path) -> dict[str, str]:
    """Commit (and whether the tree had uncommitted changes) of the repo holding ``folder``."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit, "dirty": str(bool(status)).lower()} if commit else {}


def _versions() -> dict[str, str]:
    versions = library_versions()
    for lib in ("mlflow", "optuna", "shap", "fairlearn"):
        with contextlib.suppress(importlib_metadata.PackageNotFoundError):
            versions[lib] = importlib_metadata.version(lib)
    return versions


def _experiment(c: MlflowClient, name: str, uri: str) -> str:
    found = c.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            c.restore_experiment(found.experiment_id)
        return str(found.experiment_id)
    # A file store keeps artifacts next to the database, not in whatever folder we run in.
    db = sqlite_path(uri)
    location = (db.resolve().parent / "mlartifacts").as_uri() if db is not None else None
    try:
        return str(c.create_experiment(name, artifact_location=location))
    except Exception:  # created concurrently by another process
        found = c.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


def _trials_frame(cand: CandidateResult) -> pd.DataFrame:
    rows = []
    for t in cand.tuning.trials:
        row = {"number": t.get("number"), "state": t.get("state"), "cv_auc": t.get("value")}
        row.update({f"param_{k}": v for k, v in (t.get("params") or {}).items()})
        rows.append(row)
    return pd.DataFrame(rows)


def signature_for(result: TrainingResult) -> ModelSignature:
    """Input: every model input, as ``any``: MLflow refuses int64 -> float64 (an integer
    column with a gap arrives as floats), and a categorical column of booleans or integer
    codes (``True``/``False``, 1-4) is not a string column, yet the model reads it
    (categories are matched by their spelling). The Scorer behind ``predict`` checks each
    value against the input schema and names the field it refuses. Output: the four
    columns ``predict`` returns."""
    inputs = Schema(
        [ColSpec(AnyType(), f.name, required=True) for f in result.bundle.schema.fields]
    )
    outputs = Schema(
        [
            ColSpec("double", "probability_of_default"),
            ColSpec("long", "score"),
            ColSpec("string", "risk_band"),
            ColSpec("string", "decision"),
        ]
    )
    return ModelSignature(inputs=inputs, outputs=outputs)


def _test_rows(result: TrainingResult) -> tuple[pd.DataFrame, Any]:
    """The test split's model inputs and outcomes."""
    ds, idx = result.dataset, result.splits.test
    return ds.X.iloc[idx][result.bundle.features], ds.y[idx]


# --------------------------------------------------------------------------- logging
def _log_candidate(
    c: MlflowClient, experiment_id: str, parent_id: str, cand: CandidateResult, champion: str
) -> str:
    tuning = cand.tuning
    run = c.create_run(
        experiment_id,
        run_name=cand.name,
        tags={
            "mlflow.parentRunId": parent_id,
            "mlflow.user": current_user(),
            "creditscore.candidate": cand.name,
            "creditscore.label": cand.label,
            "creditscore.champion": str(cand.name == champion).lower(),
        },
    )
    run_id = run.info.run_id
    states = [str(t.get("state")) for t in tuning.trials]
    now = int(time.time() * 1000)
    metrics = _metrics(
        {
            "selection_auc": cand.selection_auc,
            "cv_auc_mean": tuning.cv_auc_mean,
            "cv_auc_std": tuning.cv_auc_std,
            "valid_roc_auc": cand.valid_auc,
            "valid_ks": cand.valid_ks,
            "valid_brier": cand.valid_brier,
            "fit_seconds": cand.fit_seconds,
            "tuning_seconds": tuning.seconds,
            "optuna_trials": tuning.n_trials,
            "optuna_pruned": tuning.n_pruned,
            "optuna_complete": states.count("COMPLETE"),
            "optuna_failed": states.count("FAIL"),
        },
        ts=now,
    )
    metrics += [Metric("cv_auc_fold", float(a), now, i) for i, a in enumerate(tuning.cv_auc_folds)]
    metrics += [
        Metric("trial_cv_auc", float(t["value"]), now, int(t.get("number", i)))
        for i, t in enumerate(tuning.trials)
        if isinstance(t.get("value"), int | float) and math.isfinite(t["value"])
    ]
    params = {"candidate": cand.name, **{str(k): v for k, v in tuning.best_params.items()}}
    _log_batch(c, run_id, metrics=metrics, params=_params(params))
    if tuning.trials:
        c.log_text(run_id, _trials_frame(cand).to_csv(index=False), "optuna_trials.csv")
    c.set_terminated(run_id, "FINISHED")
    return run_id


def _parent_facts(result: TrainingResult) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(params, metrics, tags) of the parent run."""
    cfg, ds, splits, champ = result.config, result.dataset, result.splits, result.champion_result
    params: dict[str, Any] = dict(_flatten(cfg.to_yaml_dict()))
    source = str(cfg.data_path) if cfg.data_path is not None else "bundled German credit data"
    params.update(
        {
            "dataset.source": source,
            "dataset.hash": ds.data_hash,
            "dataset.features": len(ds.features),
            "dataset.numeric": len(ds.numeric),
            "dataset.categorical": len(ds.categorical),
            "champion": champ.name,
            "champion.choice": result.provenance.choice if result.provenance else "",
            "champion.calibration": result.calibration.method,
            "champion.policy_version": result.policy.version,
        }
    )
    params.update({f"champion.param.{k}": v for k, v in champ.tuning.best_params.items()})
    sizes = splits.sizes()
    metrics: dict[str, Any] = {
        "dataset_rows": ds.n_rows,
        "dataset_bads": ds.n_bads,
        "dataset_bad_rate": ds.bad_rate,
        **{f"split_{k}_rows": v for k, v in sizes.items()},
        "champion_selection_auc": champ.selection_auc,
        "champion_cv_auc_mean": champ.cv_auc_mean,
        "champion_cv_auc_std": champ.cv_auc_std,
        "champion_fitted_rows": len(result.fit_rows),
        "threshold": result.policy.threshold,
        "training_seconds": result.seconds,
    }
    # named by the rows they come from: valid_* (final_fit: train) or oof_train_valid_*
    dev_key = result.provenance.development_key if result.provenance else "valid"
    metrics.update({f"{dev_key}_{k}": v for k, v in result.development_metrics.items()})
    metrics.update({f"test_{k}": v for k, v in result.test_metrics.items()})
    metrics.update(
        {f"calibration_cv_log_loss_{k}": v for k, v in result.calibration.cv_log_loss.items()}
    )
    metrics.update(_fairness_metrics(result.assessment.fairness))
    tags: dict[str, str] = {
        "creditscore.name": cfg.name,
        "creditscore.champion": champ.name,
        "creditscore.label": champ.label,
        "creditscore.data_hash": ds.data_hash,
        "creditscore.out_of_time": str(splits.out_of_time).lower(),
        "mlflow.user": current_user(),
        "mlflow.source.type": "LOCAL",
        "mlflow.source.name": "creditscore train",
    }
    if splits.test_period:
        tags["creditscore.test_period"] = " to ".join(splits.test_period)
    tags.update({f"lib.{k}": v for k, v in _versions().items()})
    project = _git(cfg.base_dir)
    if project:
        tags["mlflow.source.git.commit"] = project["commit"]
        tags["creditscore.git_dirty"] = project["dirty"]
    code = _git(Path(__file__).resolve().parent)
    if code:
        tags["creditscore.code_commit"] = code["commit"]
        tags["creditscore.code_dirty"] = code["dirty"]
    return params, metrics, tags


def _fairness_metrics(fairness: FairnessOutcome | None) -> dict[str, float]:
    """``fairness_<group>_<metric>`` for every disparity of the training's fairness report."""
    if fairness is None:
        return {}
    out: dict[str, float] = {}
    for attr in fairness.report.to_dict().get("attributes", []):
        key = re.sub(r"[^0-9A-Za-z_]+", "_", str(attr["name"])).strip("_")
        for metric, d in (attr.get("metrics") or {}).items():
            value = d.get("value")
            if isinstance(value, int | float) and math.isfinite(value):
                out[f"fairness_{key}_{metric}"] = float(value)
    return out


def log_training(
    result: TrainingResult,
    *,
    card_paths: dict[str, Path] | None = None,
    tracking_uri: str | None = None,
    experiment: str | None = None,
) -> TrackedRun:
    """Log one training as a parent run with nested candidate runs and the pyfunc model.

    ``experiment`` defaults to the config's ``name``. ``card_paths`` (from
    :func:`creditscore.reporting.model_card.build_model_card`) are logged under
    ``model_card/``. Raises :class:`TrackingError` when the store cannot be written.
    """
    from creditscore.pyfunc import save_pyfunc

    uri = _resolve_uri(tracking_uri)
    start = time.perf_counter()
    name = experiment or result.config.name
    with http_limits(3, 120), quiet(), _store_errors(uri):
        c = client(uri)
        experiment_id = _experiment(c, name, uri)
        params, metrics, tags = _parent_facts(result)
        trained_at = result.bundle.metadata.get("trained_at", "")
        parent = c.create_run(
            experiment_id, run_name=f"{result.config.name} {str(trained_at)[:19]}", tags=tags
        )
        run_id = parent.info.run_id
        try:
            _log_batch(c, run_id, params=_params(params), metrics=_metrics(metrics))
            candidate_runs = {
                cand.name: _log_candidate(c, experiment_id, run_id, cand, result.champion)
                for cand in result.candidates
            }
            c.log_text(
                run_id, yaml.safe_dump(result.config.to_yaml_dict(), sort_keys=False), "config.yaml"
            )
            c.log_text(run_id, _candidates_csv(result), "candidates.csv")
            c.log_text(
                run_id, result.calibration_table.to_csv(index=False), "calibration_table.csv"
            )
            c.log_dict(run_id, result.policy.summary(), "policy.json")
            for path in result.plots.values():
                c.log_artifact(run_id, str(path), "plots")
            fairness = result.assessment.fairness
            if fairness is not None:
                c.log_dict(
                    run_id,
                    {"gate": fairness.gate.to_dict(), **fairness.report.to_dict()},
                    "fairness.json",
                )
            explanations = result.assessment.explanations
            if explanations is not None:
                c.log_dict(
                    run_id,
                    {
                        "method": explanations.method,
                        "rows": explanations.rows,
                        "importance": explanations.importance,
                    },
                    "explanations/importance.json",
                )
                for path in explanations.plots.values():
                    c.log_artifact(run_id, str(path), "plots")
            if card_paths:
                _log_card_files(c, run_id, card_paths)
            X_test, _ = _test_rows(result)
            with tempfile.TemporaryDirectory(prefix="creditscore-model-") as tmp:
                try:
                    model_dir = save_pyfunc(
                        result.bundle_path,
                        Path(tmp) / MODEL_ARTIFACT,
                        signature=signature_for(result),
                        input_example=X_test.head(EXAMPLE_ROWS),
                    )
                except MlflowException as exc:  # MLflow refused the model or its example
                    raise TrackingError(
                        f"MLflow could not save the model of {result.bundle_path}: "
                        f"{_first_line(exc)}; the bundle itself is complete: score or serve "
                        "it with --model PATH"
                    ) from exc
                c.log_artifacts(run_id, str(model_dir), MODEL_ARTIFACT)
            artifact_uri = c.get_run(run_id).info.artifact_uri
        except BaseException:
            with contextlib.suppress(Exception):
                c.set_terminated(run_id, "FAILED")
            raise
        c.set_terminated(run_id, "FINISHED")
    return TrackedRun(
        tracking_uri=uri,
        experiment_id=experiment_id,
        experiment_name=name,
        run_id=run_id,
        candidate_runs=candidate_runs,
        model_uri=f"runs:/{run_id}/{MODEL_ARTIFACT}",
        artifact_uri=str(artifact_uri),
        seconds=time.perf_counter() - start,
        card_paths=dict(card_paths or {}),
    )


def _candidates_csv(result: TrainingResult) -> str:
    rows = [
        {
            "candidate": c.name,
            "label": c.label,
            "champion": c.name == result.champion,
            "selection_auc": c.selection_auc,
            "kept_defaults": c.tuning.kept_defaults,
            "cv_auc_mean": c.cv_auc_mean,
            "cv_auc_std": c.cv_auc_std,
            "valid_roc_auc": c.valid_auc,
            "valid_ks": c.valid_ks,
            "valid_brier": c.valid_brier,
            "trials": c.tuning.n_trials,
            "pruned": c.tuning.n_pruned,
            "fit_seconds": c.fit_seconds,
        }
        for c in result.candidates
    ]
    return pd.DataFrame(rows).to_csv(index=False)


def _log_card_files(c: MlflowClient, run_id: str, card_paths: Mapping[str, Path]) -> None:
    folders = {Path(p).parent for p in card_paths.values()}
    if len(folders) == 1:  # the card's own folder: take it whole (markdown images too)
        c.log_artifacts(run_id, str(folders.pop()), CARD_ARTIFACT)
    else:
        for p in card_paths.values():
            c.log_artifact(run_id, str(p), CARD_ARTIFACT)


def log_model_card(tracked: TrackedRun, card_paths: Mapping[str, Path]) -> None:
    """(Re)log the model card on the run, e.g. once the registry gave it a version."""
    with quiet(), _store_errors(tracked.tracking_uri):
        _log_card_files(client(tracked.tracking_uri), tracked.run_id, card_paths)
    tracked.card_paths = dict(card_paths)


@contextlib.contextmanager
def _store_errors(uri: str) -> Iterator[None]:
    """Turn a failure to reach the store into one readable error."""
    try:
        yield
    except CreditScoreError:
        raise
    except Exception as exc:
        if _unreachable(exc):
            raise TrackingError(
                f"cannot reach the MLflow tracking store {uri}: {_first_line(exc)}; start the "
                "server or set CREDITSCORE_TRACKING_URI / MLFLOW_TRACKING_URI"
            ) from exc
        raise


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _unreachable(exc: BaseException) -> bool:
    """Connection refused, timeouts, a database that is down: not the caller's mistake."""
    names = {type(e).__name__ for e in _chain(exc)}
    if names & {
        "ConnectionError",
        "ConnectTimeout",
        "ReadTimeout",
        "MaxRetryError",
        "NewConnectionError",
        "OperationalError",
        "ConnectionRefusedError",
        "Timeout",
    }:
        return True
    text = str(exc)
    return "API request to" in text and ("failed with exception" in text or "Max retries" in text)


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    return seen
