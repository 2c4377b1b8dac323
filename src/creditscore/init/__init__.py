"""``creditscore init``: column inference and the commented project configuration.

One module per noun: :mod:`.target` (the bad label), :mod:`.roles` (ids, dates, leakage,
dates of birth by their values), :mod:`.types` (numeric or categorical, special codes,
sentinels, high cardinality), :mod:`.project` (the orchestration and the ``Inference`` it
returns) and :mod:`.yaml_writer` (the YAML). What ``init`` shares with training and the
service has its one home there: protected attributes by name and by values
(:mod:`creditscore.explain.fairness.protected`), possible proxies
(:mod:`creditscore.explain.fairness.proxies`), fairness groups
(:mod:`creditscore.explain.fairness.groups`), column names as words
(:mod:`creditscore.data.names`) and single-column statistics
(:mod:`creditscore.evaluation.association`).

The names below load their module on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from creditscore.data.names import tokens
    from creditscore.explain.fairness.protected import (
        Protected,
        protected_by_name,
        sensitive_by_name,
    )
    from creditscore.init.project import ColumnDecision, Inference, infer_config, init_project
    from creditscore.init.yaml_writer import render_yaml

__all__ = [
    "ColumnDecision",
    "Inference",
    "Protected",
    "infer_config",
    "init_project",
    "protected_by_name",
    "render_yaml",
    "sensitive_by_name",
    "tokens",
]

_HOME = {
    "tokens": "creditscore.data.names",
    "ColumnDecision": "creditscore.init.project",
    "Inference": "creditscore.init.project",
    "infer_config": "creditscore.init.project",
    "init_project": "creditscore.init.project",
    "Protected": "creditscore.explain.fairness.protected",
    "protected_by_name": "creditscore.explain.fairness.protected",
    "sensitive_by_name": "creditscore.explain.fairness.protected",
    "render_yaml": "creditscore.init.yaml_writer",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'creditscore.init' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
