"""The import direction of the layout (docs/architecture.md), checked on the source itself.

Every ``import creditscore...`` in every module (module level or inside a function; those
under ``if TYPE_CHECKING:`` are annotations only and do not count) must follow the table
below: a part may import only the parts listed for it. So training never imports serving,
serving never imports training, the runtime core imports nothing offline, and only the CLI
imports across stages. A new module belongs to the part named by its package (or, for the
runtime core's top-level modules, by :data:`PART_OF`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import creditscore

ROOT = Path(creditscore.__file__).resolve().parent

#: Top-level modules and packages -> the part of the layout they belong to.
PART_OF = {
    "__init__": "base",
    "exceptions": "base",
    "formatting": "base",
    "outcome": "base",
    "settings": "base",
    "datasets": "base",
    "config": "config",
    "features": "features",
    "data": "data",
    "policy": "core",
    "bundle": "core",
    "compiled": "core",
    "reasons": "core",
    "reason_texts": "core",
    "scorer": "core",
    "models": "models",
    "evaluation": "evaluation",
    "explain": "explain",
    "init": "init",
    "training": "training",
    "reporting": "reporting",
    "tracking": "governance",
    "registry": "governance",
    "pyfunc": "governance",
    "model_ref": "governance",
    "store": "store",
    "monitoring": "monitoring",
    "serving": "serving",
    "batch": "batch",
    "dashboard": "dashboard",
    "cli": "cli",
}

_RUNTIME = {"base", "config", "features", "data", "core"}
#: part -> the parts it may import (itself always).
ALLOWED: dict[str, set[str]] = {
    "base": set(),
    "features": {"base"},
    "config": {"base", "features"},  # the config checks derived features' expressions
    "data": {"base", "config", "features"},
    "core": {"base", "data", "features"},
    "models": {"base", "config", "features"},
    "evaluation": _RUNTIME,
    "explain": _RUNTIME | {"evaluation"},
    "init": _RUNTIME | {"evaluation", "explain"},
    "training": _RUNTIME | {"models", "evaluation", "explain"},
    "reporting": _RUNTIME | {"evaluation", "explain", "monitoring"},
    "governance": _RUNTIME | {"evaluation", "reporting"},
    "store": {"base"},
    "monitoring": _RUNTIME | {"evaluation", "store", "governance"},
    "serving": _RUNTIME | {"store", "governance", "monitoring", "explain"},
    "batch": _RUNTIME | {"store", "governance"},
    "dashboard": _RUNTIME | {"store", "governance", "monitoring", "reporting", "explain"},
    "cli": set(PART_OF.values()),
}


def _is_part(name: str) -> bool:
    return (ROOT / name).is_dir() or (ROOT / f"{name}.py").is_file()


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "migrations" not in p.parts)


def _part(path: Path) -> str:
    rel = path.relative_to(ROOT)
    head = rel.parts[0].removesuffix(".py")
    return PART_OF.get(head, f"unknown:{head}")


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                skip |= {id(n) for child in node.body for n in ast.walk(child)}
    return skip


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "creditscore":  # a submodule, or a name of the package itself
                out += [
                    (
                        node.lineno,
                        f"creditscore.{a.name}" if _is_part(a.name) else "creditscore.__init__",
                    )
                    for a in node.names
                ]
            else:
                out.append((node.lineno, node.module))
    return [(line, m) for line, m in out if m.startswith("creditscore.")]


def test_every_module_belongs_to_a_part() -> None:
    unknown = sorted({_part(p) for p in _modules() if _part(p).startswith("unknown:")})
    assert not unknown, f"add these to PART_OF (and docs/architecture.md): {unknown}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layout(path: Path) -> None:
    part = _part(path)
    allowed = ALLOWED.get(part, set()) | {part}
    wrong = []
    for line, module in _imports(path):
        target = PART_OF.get(module.split(".")[1], f"unknown:{module}")
        if target not in allowed:
            wrong.append(f"line {line}: {module} ({part} -> {target})")
    assert not wrong, f"{path.relative_to(ROOT)} imports against the layout: {wrong}"


def test_the_check_catches_a_wrong_import(tmp_path: Path) -> None:
    """The AST reading finds imports inside functions and ignores TYPE_CHECKING blocks."""
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from creditscore.training.train import TrainingResult\n"
        "def f():\n    from creditscore.serving import app\n"
    )
    assert _imports(module) == [(5, "creditscore.serving")]
