"""Which model scores a batch, and how another process (a Spark executor) loads it again.

``--model`` takes a bundle folder (a path, on shared storage for Spark) or a registered
version: ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``; without it, the champion of
the configured model name. An alias is resolved to its version once, on the driver, so
every executor of a run scores with the same version even if the alias moves meanwhile.
Reading and resolving ``--model`` is :mod:`creditscore.model_ref`'s, shared with the other
commands; this module adds the Scorer and what a run record says about the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from creditscore.bundle import ModelBundle
from creditscore.model_ref import ModelRef, parse_model_ref, resolve
from creditscore.scorer import Scorer

__all__ = ["BatchModel", "ModelRef", "load_model"]


@dataclass(frozen=True)
class BatchModel:
    """A loaded model and the Scorer that runs it."""

    bundle: ModelBundle
    scorer: Scorer
    version: str
    ref: ModelRef | None  # None: a bundle handed over in memory (cannot be shipped)

    @property
    def name(self) -> str:
        return self.bundle.name

    @property
    def policy_version(self) -> str:
        return str(self.bundle.policy.version)

    @property
    def source(self) -> str:
        if self.ref is None:
            return "memory"
        if self.ref.alias and self.ref.path is None:
            return f"models:/{self.ref.name}/{self.version} (alias {self.ref.alias})"
        return self.ref.label


def load_model(
    model: str | Path | ModelBundle | ModelRef | BatchModel | None = None,
    *,
    reasons: bool = False,
    model_name: str | None = None,
    tracking_uri: str | None = None,
) -> BatchModel:
    """Load a model for batch scoring; ``reasons`` builds the reason-code explainer too."""
    if isinstance(model, BatchModel):
        if reasons and model.scorer.explainer is None:
            return BatchModel(
                model.bundle, Scorer(model.bundle, model.version), model.version, model.ref
            )
        return model
    if isinstance(model, ModelBundle):
        version = str(model.metadata.get("version") or "local")
        return BatchModel(model, _scorer(model, version, reasons), version, None)
    ref = model if isinstance(model, ModelRef) else parse_model_ref(model, model_name=model_name)
    got = resolve(ref, tracking_uri=tracking_uri)
    return BatchModel(got.bundle, _scorer(got.bundle, got.version, reasons), got.version, got.ref)


def _scorer(bundle: ModelBundle, version: str, reasons: bool) -> Scorer:
    return Scorer(bundle, model_version=version, reasons=reasons)


def describe(model: BatchModel) -> dict[str, Any]:
    """What a run record keeps about the model."""
    return {
        "model_name": model.name,
        "model_version": model.version,
        "model_source": model.source,
        "policy_version": model.policy_version,
    }
