"""The facts of a model card, gathered from a training result into one JSON document.

:func:`card_context` collects every fact the card shows (plots as base64 PNG) into a
versioned, JSON-safe document; :mod:`creditscore.reporting.model_card` lays it out. The
document is saved beside the card (``model_card.json``) and logged with the run, so the
card of any registered version can be rendered again later, with its current promotion
record and without the training data (``creditscore report VERSION``): that is why it is a
document with a format number rather than live Python objects.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from creditscore.evaluation.importance import REPEATS, feature_importance, importance_rows_of
from creditscore.evaluation.metrics import bootstrap_auc_interval
from creditscore.evaluation.plots import PLOT_NAMES, importance_png
from creditscore.exceptions import BundleError
from creditscore.formatting import jsonable
from creditscore.outcome import Outcome

if TYPE_CHECKING:
    from creditscore.training.assess import Assessment
    from creditscore.training.train import TrainingResult

__all__ = ["CONTEXT_FILE", "FORMAT", "card_context", "load_card_context"]

CONTEXT_FILE = "model_card.json"
#: Version of the document's layout; a card context of another format is refused.
FORMAT = 1
#: Features in the importance plot and table.
TOP_FEATURES = 15
#: Bootstrap resamples of the test rows for the AUC interval.
BOOTSTRAP = 300


def _b64(path: Path | str) -> str | None:
    p = Path(path)
    return base64.b64encode(p.read_bytes()).decode("ascii") if p.is_file() else None


def _interactions(result: TrainingResult) -> dict[str, Any] | None:
    found = result.interactions
    if found is None:
        return None
    plot = result.plots.get("interactions")
    return {**asdict(found), "plot": _b64(plot) if plot else None}


def _stability(result: TrainingResult) -> dict[str, Any]:
    profile, policy = result.bundle.profile, result.policy
    score = profile.score
    cuts = [0.0, *score.edges, 1.0]
    deciles = []
    for i, share in enumerate(score.shares):
        lo, hi = cuts[i], cuts[i + 1]
        deciles.append(
            {
                "bin": i + 1,
                "pd_from": lo,
                "pd_to": hi,
                "points_from": policy.points(hi),
                "points_to": policy.points(lo),
                "share": share,
            }
        )
    features = []
    for name, fp in profile.features.items():
        features.append(
            {
                "feature": name,
                "kind": fp.kind,
                "bins": len(fp.shares) - (fp.kind == "categorical"),
                "mean": fp.mean,
                "std": fp.std,
                "missing_share": fp.missing_share,
            }
        )
    return {
        "n_rows": profile.n_rows,
        "score_deciles": deciles,
        "features": features,
        "score_mean": score.mean,
        "score_std": score.std,
    }


def _members(result: TrainingResult) -> dict[str, dict[str, Any]]:
    """A blend's members and their tuned parameters (a blend's own params only name them)."""
    members = result.champion_result.tuning.best_params.get("members")
    if not isinstance(members, Mapping | list | tuple):
        return {}
    by_name = {c.name: c for c in result.candidates}
    return {
        str(m): {str(k): v for k, v in by_name[m].tuning.best_params.items()}
        for m in members
        if m in by_name
    }


def _explanation_facts(assessment: Assessment) -> dict[str, Any] | None:
    """The global explanation with its plots embedded, or why there is none."""
    ex = assessment.explanations
    if ex is None:
        return {"error": assessment.explanations_error} if assessment.explanations_error else None
    plots = {name: base64.b64encode(png).decode("ascii") for name, png in ex.images.items()}
    return {
        "intro": ex.intro,
        "importance": ex.importance,
        "method": ex.method,
        "plots": plots,
    }


def card_context(result: TrainingResult) -> dict[str, Any]:
    """Every fact the card shows, JSON-safe, plots included as base64 PNG."""
    cfg, ds, splits, champ, policy = (
        result.config,
        result.dataset,
        result.splits,
        result.champion_result,
        result.policy,
    )
    assessment = result.assessment
    fairness = assessment.fairness
    meta = result.bundle.metadata
    idx_test = splits.test
    X_test = ds.X.iloc[idx_test][result.bundle.features]
    y_test = ds.y[idx_test]
    p_test = result.bundle.predict_proba(X_test)
    decisions = policy.decide_many(p_test)
    bands = policy.band_many(p_test)

    period = None
    if ds.dates is not None:
        dates = ds.dates.dropna()
        if len(dates):
            period = [str(min(dates))[:10], str(max(dates))[:10]]
    split_rows = {}
    for name in ("train", "valid", "test"):
        idx = getattr(splits, name)
        split_rows[name] = {
            "rows": len(idx),
            "share": len(idx) / ds.n_rows,
            "bads": int(ds.y[idx].sum()),
            "bad_rate": float(ds.y[idx].mean()),
        }

    importance = feature_importance(result)
    importance_rows = [asdict(r) for r in importance]
    importance_idx, importance_label = importance_rows_of(result)
    summary = policy.summary()
    band_rows = []
    for band in summary["bands"]:
        sel = bands == band["name"]
        band_rows.append(
            {
                **band,
                "test_share": float(sel.mean()),
                "test_bad_rate": float(y_test[sel].mean()) if sel.any() else None,
            }
        )
    excluded = sorted(set(cfg.data.exclude))
    outcome = Outcome.of(ds.positive, ds.negative)
    ctx: dict[str, Any] = {
        "format": FORMAT,
        "name": cfg.name,
        "candidate": champ.name,
        "label": champ.label,
        "trained_at": meta.get("trained_at"),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": {
            "source": str(cfg.data_path) if cfg.data_path is not None else None,
            "demo": cfg.data_path is None,
            "hash": ds.data_hash,
            "rows": ds.n_rows,
            "bads": ds.n_bads,
            "bad_rate": ds.bad_rate,
            "period": period,
            "target": ds.target,
            "positive": outcome.bad_text,
            "negative": outcome.good_text,
            "indeterminate": dict(ds.indeterminate),
            "id_column": cfg.data.id_column,
            "date_column": cfg.data.date_column,
            "numeric": list(ds.numeric),
            "categorical": list(ds.categorical),
            "sensitive": list(cfg.sensitive),
            "allowed_sensitive": list(cfg.allow_sensitive_as_features),
            "excluded": excluded,
        },
        "splits": {
            "rows": split_rows,
            "out_of_time": splits.out_of_time,
            "test_period": list(splits.test_period) if splits.test_period else None,
            "seed": cfg.split.seed,
        },
        "candidates": [
            {
                "name": c.name,
                "label": c.label,
                "champion": c.name == result.champion,
                "selection_auc": c.selection_auc,
                "cv_auc_mean": c.cv_auc_mean,
                "cv_auc_std": c.cv_auc_std,
                "cv_auc_folds": list(c.tuning.cv_auc_folds),
                "kept_defaults": c.tuning.kept_defaults,
                "valid_auc": c.valid_auc,
                "valid_ks": c.valid_ks,
                "valid_brier": c.valid_brier,
                "trials": c.tuning.n_trials,
                "pruned": c.tuning.n_pruned,
                "tuning_seconds": c.tuning.seconds,
                "fit_seconds": c.fit_seconds,
            }
            for c in sorted(result.candidates, key=lambda c: c.selection_auc, reverse=True)
        ],
        "budget": cfg.budget.model_dump(mode="json"),
        "champion": {
            "params": {str(k): v for k, v in champ.tuning.best_params.items()},
            "members": _members(result),
            "selection_auc": champ.selection_auc,
            "cv_auc_mean": champ.cv_auc_mean,
            "cv_auc_std": champ.cv_auc_std,
            "calibration": result.calibration.method,
            "features": len(result.bundle.features),
        },
        "test_metrics": dict(result.test_metrics),
        "valid_metrics": dict(result.development_metrics),  # the rows: provenance.development
        "provenance": result.provenance.to_dict() if result.provenance else None,
        "derived": dict(ds.derived),
        "error_analysis": asdict(result.error_analysis) if result.error_analysis else None,
        "interactions": _interactions(result),
        "test_auc_interval": bootstrap_auc_interval(y_test, p_test, BOOTSTRAP, cfg.split.seed),
        "test_auc_bootstrap": BOOTSTRAP,
        "plots": {n: d for n in PLOT_NAMES if n in result.plots and (d := _b64(result.plots[n]))},
        "calibration": {
            "method": result.calibration.method,
            "cv_log_loss": dict(result.calibration.cv_log_loss),
            "table": result.calibration_table.to_dict(orient="records"),
        },
        "policy": summary,
        "bands": band_rows,
        "test_decisions": {
            d: float((decisions == d).mean()) for d in ("approve", "refer", "decline")
        },
        "importance": {
            "rows": importance_rows,
            "plot": base64.b64encode(importance_png(importance, TOP_FEATURES)).decode("ascii"),
            "repeats": REPEATS,
            "valid_rows": len(importance_idx),
            "rows_label": importance_label,
        },
        "stability": _stability(result),
        # typed results of training/assess.py (reporting/ renders them)
        "explanations": _explanation_facts(assessment),
        "fairness": fairness
        and {"report": fairness.report.to_dict(), "gate": fairness.gate.to_dict()},
        "proxies": assessment.proxies and assessment.proxies.to_dict(),
        "protected": assessment.protected and assessment.protected.to_dict(),
        "reproducibility": {
            "library_versions": meta.get("library_versions") or {},
            "config_yaml": yaml.safe_dump(cfg.to_yaml_dict(), sort_keys=False),
            "bundle_path": str(result.bundle_path),
            "policy_version": policy.version,
            "data_hash": ds.data_hash,
            "training_seconds": result.seconds,
        },
    }
    if not ctx["reproducibility"]["library_versions"]:
        from creditscore.bundle import library_versions

        ctx["reproducibility"]["library_versions"] = library_versions()
    return jsonable(ctx)


def load_card_context(path: Path) -> dict[str, Any]:
    ctx = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(ctx, dict) or ctx.get("format") != FORMAT:
        raise BundleError(f"{path} is not a model card context this creditscore can read")
    return ctx
