from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from creditscore.config import ProjectConfig, german_config
from creditscore.exceptions import ConfigError


def write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "creditscore.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


BASE = {"data": {"target": "status", "positive": "bad"}}


def test_minimal_config_gets_documented_defaults(tmp_path: Path) -> None:
    cfg = ProjectConfig.from_yaml(write(tmp_path, BASE))
    assert cfg.costs.false_negative == 10
    assert cfg.costs.false_positive == 1
    assert [b.name for b in cfg.policy.risk_bands] == ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
    assert cfg.policy.scaling.base_points == 600
    assert cfg.policy.scaling.pdo == 20
    assert cfg.split.valid == cfg.split.test == 0.15
    assert cfg.base_dir == tmp_path.resolve()


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({**BASE, "candiates": ["logistic"]}, "unknown key 'candiates'"),
        ({"data": {"target": "s", "positive": 1, "targt": "x"}}, "unknown key 'data.targt'"),
        ({"data": {"positive": 1}}, "missing required key 'data.target'"),
        ({**BASE, "costs": {"false_negative": -1}}, "costs.false_negative"),
        ({**BASE, "split": {"test": 0.9}}, "split.test"),
        ({**BASE, "budget": {"trials": None, "seconds": None}}, "budget.trials or budget.seconds"),
        ({**BASE, "candidates": []}, "at least one candidate"),
        (
            {
                **BASE,
                "policy": {
                    "risk_bands": [{"name": "A", "max_pd": 0.5}, {"name": "B", "max_pd": 0.2}]
                },
            },
            "strictly increase",
        ),
        ({**BASE, "policy": {"risk_bands": [{"name": "A", "max_pd": 0.5}]}}, "end at max_pd 1.0"),
        (
            {**BASE, "allow_sensitive_as_features": {"age": "why"}},
            "non-sensitive columns: ['age']",
        ),
        (
            {**BASE, "sensitive": ["age"], "allow_sensitive_as_features": ["age"]},
            "give the reason for each column",
        ),
        (
            {**BASE, "sensitive": ["age"], "allow_sensitive_as_features": {"age": " "}},
            "no reason given for",
        ),
        ({**BASE, "actionable": ["a"], "immutable": ["a"]}, "both actionable and immutable"),
        ({**BASE, "scoring": {"out_of_range": "clip"}}, "scoring.out_of_range"),
        (
            {"data": {**BASE["data"], "numeric": ["a"], "categorical": ["a"]}},
            "both categorical and numeric",
        ),
        (
            {"data": {**BASE["data"], "categorical": ["a"], "monotone": {"a": "increasing"}}},
            "need numeric columns",
        ),
        ({"data": {**BASE["data"], "monotone": {"a": "up"}}}, "data.monotone.a"),
        ({**BASE, "fairness": {"mode": "stop"}}, "fairness.mode"),
        ({**BASE, "fairness": {"treshold": 1}}, "unknown key 'fairness.treshold'"),
        (
            {**BASE, "fairness": {"groups": [{"name": "sex", "pattern": "(male"}]}},
            "not a valid regular expression",
        ),
        (
            {**BASE, "fairness": {"groups": [{"name": "age", "bands": [50, 25]}]}},
            "strictly increasing",
        ),
        (
            {
                **BASE,
                "fairness": {"groups": [{"name": "age"}], "intersections": [["age", "sex"]]},
            },
            "unknown groups ['sex']",
        ),
        (
            {**BASE, "sensitive": ["age"], "actionable": ["age", "income"]},
            "actionable names protected attributes ['age']",
        ),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, raw: dict, needle: str) -> None:
    with pytest.raises(ConfigError, match=None) as info:
        ProjectConfig.from_yaml(write(tmp_path, raw))
    assert needle in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="creditscore init"):
        ProjectConfig.from_yaml(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        ProjectConfig.from_yaml(bad)
    top = tmp_path / "list.yaml"
    top.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping at the top level"):
        ProjectConfig.from_yaml(top)


def test_sensitive_columns_are_blocked_unless_allowed(tmp_path: Path) -> None:
    raw = {
        "data": {"target": "y", "positive": 1, "id_column": "id", "exclude": ["x"]},
        "sensitive": ["sex", "age"],
        "allow_sensitive_as_features": {"age": "the product is a pension top-up loan"},
    }
    cfg = ProjectConfig.from_yaml(write(tmp_path, raw))
    assert cfg.blocked_inputs == {"y", "id", "x", "sex"}


def test_relative_data_path_resolves_against_yaml_folder(tmp_path: Path) -> None:
    sub = tmp_path / "project"
    sub.mkdir()
    cfg = ProjectConfig.from_yaml(write(sub, {"data": {**BASE["data"], "path": "data/a.csv"}}))
    assert cfg.data_path == sub.resolve() / "data" / "a.csv"


def test_bundled_german_config_is_valid() -> None:
    cfg = german_config()
    assert cfg.data.target == "creditability"
    assert cfg.data.path is None
    assert set(cfg.sensitive) == {"personal_status_and_sex", "age_in_years", "foreign_worker"}
    assert cfg.data_path is None
