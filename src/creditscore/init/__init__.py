"""``creditscore init``: column inference and the commented project configuration.

One module per noun: :mod:`.names` (column names as words), :mod:`.protected` (protected
attributes by name and by values), :mod:`.target` (the bad label), :mod:`.roles` (ids,
dates, leakage, dates of birth), :mod:`.types` (numeric or categorical, special codes,
sentinels, high cardinality), :mod:`.proxies` (inputs that predict a protected attribute),
:mod:`.stats` (the single-column statistics), :mod:`.project` (the orchestration and the
``Inference`` it returns) and :mod:`.yaml_writer` (the YAML).

The names below load their module on first use, so the light modules (names, protected)
can be imported by the service without pandas-heavy inference coming along.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from creditscore.init.names import tokens
    from creditscore.init.project import ColumnDecision, Inference, infer_config, init_project
    from creditscore.init.protected import Protected, protected_by_name, sensitive_by_name
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
    "tokens": "names",
    "ColumnDecision": "project",
    "Inference": "project",
    "infer_config": "project",
    "init_project": "project",
    "Protected": "protected",
    "protected_by_name": "protected",
    "sensitive_by_name": "protected",
    "render_yaml": "yaml_writer",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'creditscore.init' has no attribute {name!r}")
    return getattr(importlib.import_module(f"creditscore.init.{module}"), name)
