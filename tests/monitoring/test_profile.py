"""The monitoring reference in the bundle's Profile, and the monitoring config."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from creditscore.bundle import ModelBundle
from creditscore.config import MonitoringConfig, ProjectConfig, german_config
from creditscore.exceptions import ConfigError
from creditscore.monitoring import monitoring_config


def test_training_saves_what_monitoring_needs(german_model) -> None:  # type: ignore[no-untyped-def]
    profile = german_model.bundle.profile
    ref = profile.reference
    assert ref is not None
    assert ref.auc == pytest.approx(german_model.test_metrics["roc_auc"])
    assert ref.auc_se is not None
    assert 0 < ref.auc_se < 0.1
    assert ref.auc_rows == german_model.splits.sizes()["test"]
    # PDs of rows the shipped model did not learn from: the development rows (cross-fitted
    # train + valid under final_fit train_valid, else valid) and the test split
    sizes = german_model.splits.sizes()
    dev = sizes["valid"] + (sizes["train"] if german_model.config.final_fit == "train_valid" else 0)
    held_out = dev + sizes["test"]
    assert ref.n == held_out
    assert profile.score.n == held_out
    assert sum(ref.band_shares) == pytest.approx(1.0)
    assert sum(ref.decision_shares.values()) == pytest.approx(1.0)
    assert ref.bands == [name for name, _ in german_model.policy.bands]
    amount = profile.features["credit_amount"]
    assert amount.minimum is not None
    assert amount.maximum is not None
    assert len(amount.hist_edges) > len(amount.edges)
    assert sum(amount.hist_shares) == pytest.approx(1.0)
    assert amount.minimum <= min(amount.hist_means) <= max(amount.hist_means) <= amount.maximum
    meta = german_model.bundle.metadata
    assert meta["monitoring"] == MonitoringConfig().model_dump(mode="json")
    assert "date_column" in meta


def test_the_reference_survives_save_and_load(german_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    loaded = ModelBundle.load(german_model.bundle.save(tmp_path / "b"))
    assert loaded.profile == german_model.bundle.profile


def test_an_old_bundle_without_the_new_fields_loads(german_model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = shutil.copytree(german_model.bundle_path, tmp_path / "old")
    manifest = json.loads((folder / "bundle.json").read_text())
    profile = manifest["profile"]
    profile.pop("reference")
    for fp in [*profile["features"].values(), profile["score"]]:
        for key in ("n", "minimum", "maximum", "hist_edges", "hist_shares", "hist_means"):
            fp.pop(key)
    manifest["metadata"].pop("monitoring")
    (folder / "bundle.json").write_text(json.dumps(manifest))
    old = ModelBundle.load(folder)
    assert old.profile.reference is None
    assert old.profile.features["credit_amount"].hist_edges == []
    assert monitoring_config(old) == MonitoringConfig()


def test_monitoring_thresholds_are_checked_like_the_rest_of_the_config() -> None:
    raw = german_config().to_yaml_dict()
    raw["monitoring"] = {"psi_watch": 0.2, "psi_act": 0.3}
    assert ProjectConfig.from_dict(raw).monitoring.psi_act == 0.3
    raw["monitoring"] = {"psi_wach": 0.2}
    with pytest.raises(ConfigError, match=r"unknown key 'monitoring\.psi_wach'"):
        ProjectConfig.from_dict(raw)
    raw["monitoring"] = {"psi_watch": 0.3, "psi_act": 0.2}
    with pytest.raises(ConfigError, match="psi_act"):
        ProjectConfig.from_dict(raw)
    raw["monitoring"] = {"red_confidence": 0.9}
    with pytest.raises(ConfigError, match="red_confidence"):
        ProjectConfig.from_dict(raw)
