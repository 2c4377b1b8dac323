"""The compiled form saved with a bundle: loading a model for scoring without scikit-learn.

Compiling reads the fitted pipeline, so it needs the pipeline unpickled, which imports
scikit-learn and the model libraries (about a second), and then checks itself against the
pipeline on probe applications. A bundle therefore saves, beside ``model.joblib``,
``compiled.pkl``: the :class:`~creditscore.compiled.graph.CompiledModel` (plain arrays,
lookups and the names of numba kernels) and the pipeline's PDs on the probe applications,
computed when the bundle was saved. Loading it checks the compiled model against those
answers, the same check as :func:`~creditscore.compiled.graph.compile_model` with the
pipeline's side recorded instead of recomputed, so a Scorer (``serve``, ``score``, a
Spark executor) starts without importing scikit-learn or compiling again.

The file is written by the code that reads it: it carries a fingerprint of this package's
source (and of the modules it mirrors), and any other fingerprint, a file that does not
unpickle, or a failed check means "compile from the pipeline": slower to start, never a
different score. Like ``model.joblib`` it is a pickle, covered by the bundle's checksums
and trust checks (:mod:`creditscore.bundle`).
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from creditscore.compiled.base import NotCompilableError
from creditscore.compiled.graph import CompiledModel, ProbeAnswers, check, compile_model
from creditscore.data.schema import InputSchema

__all__ = ["fingerprint", "load_compiled", "save_compiled"]

#: The modules whose code a saved compiled model depends on: this package, and what it
#: mirrors or evaluates (the cleaner's rules, derived features, the schema).
_SOURCES = ("compiled", "features", "data/schema.py")


@dataclass(frozen=True)
class SavedCompiled:
    fingerprint: str
    model: CompiledModel
    answers: ProbeAnswers


@cache
def fingerprint() -> str:
    """A digest of the source the compiled classes come from (any change: recompile)."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for name in _SOURCES:
        path = root / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            digest.update(str(f.relative_to(root)).encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()[:32]


def save_compiled(model: Any, schema: InputSchema, path: Path) -> str | None:
    """Compile ``model``, check it, and pickle it with its probe answers to ``path``.

    Returns why not, when the model has no exact compiled form (nothing is written)."""
    from creditscore.compiled.graph import expected_outputs

    try:
        compiled = compile_model(model, schema, check=False)
        answers = expected_outputs(compiled, model, schema)
        check(compiled, answers)
        data = pickle.dumps(SavedCompiled(fingerprint(), compiled, answers), protocol=5)
    except NotCompilableError as exc:
        return str(exc)
    except Exception as exc:  # e.g. a part that does not pickle: the bundle still saves
        return f"compiled model could not be saved: {type(exc).__name__}: {exc}"
    path.write_bytes(data)
    return None


def load_compiled(data: bytes, schema: InputSchema) -> CompiledModel:
    """The compiled model saved as ``data`` (the file's bytes, checksum already checked),
    checked against its probe answers.

    Raises :class:`NotCompilableError` (with the reason) when it cannot be used: written
    by other code, unreadable, for another schema, or failing its check."""
    try:
        saved = pickle.loads(data)
    except Exception as exc:  # a pickle of other code can raise anything
        raise NotCompilableError(f"saved compiled model does not load: {exc}") from None
    try:
        ours = fingerprint()
    except OSError as exc:  # the package's source is not readable here
        raise NotCompilableError(f"cannot fingerprint this creditscore: {exc}") from None
    if not isinstance(saved, SavedCompiled) or saved.fingerprint != ours:
        raise NotCompilableError("saved compiled model is from another creditscore")
    compiled = saved.model
    if compiled.schema.to_dict() != schema.to_dict():
        raise NotCompilableError("saved compiled model is for another input schema")
    try:
        check(compiled, saved.answers)
    except NotCompilableError:
        raise
    except Exception as exc:
        raise NotCompilableError(f"saved compiled model fails: {exc}") from None
    return compiled
