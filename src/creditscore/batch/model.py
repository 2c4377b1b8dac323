"""Which model scores a batch, and how another process (a Spark executor) loads it again.

``--model`` takes a bundle folder (a path, on shared storage for Spark) or a registered
version: ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS``; without it, the champion of
the configured model name. An alias is resolved to its version once, on the driver, so
every executor of a run scores with the same version even if the alias moves meanwhile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from creditscore.bundle import ModelBundle
from creditscore.exceptions import BundleError, ConfigError
from creditscore.scorer import Scorer

__all__ = ["BatchModel", "ModelRef", "load_model", "parse_model"]

_REGISTERED = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>[^/@]+)|@(?P<alias>[^/@]+))$")


@dataclass(frozen=True)
class ModelRef:
    """A model another process can load: a bundle folder, or a registered version."""

    path: str | None = None
    name: str | None = None
    version: str | None = None
    alias: str | None = None
    tracking_uri: str | None = None

    @property
    def label(self) -> str:
        if self.path is not None:
            return f"path:{self.path}"
        at = f"/{self.version}" if self.version else f"@{self.alias}"
        return f"models:/{self.name}{at}"


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


def parse_model(model: str | Path | None, *, model_name: str | None = None) -> ModelRef:
    """``--model`` as a :class:`ModelRef` (not loaded yet)."""
    if model is None:
        if model_name is None:
            from creditscore.config import german_config
            from creditscore.settings import get_settings

            model_name = get_settings().model_name or german_config().name
        return ModelRef(name=model_name, alias="champion")
    text = str(model)
    found = _REGISTERED.match(text)
    if found:
        version = found["version"]
        if version is not None and version.lower().startswith("v"):
            version = version[1:]
        return ModelRef(name=found["name"], version=version, alias=found["alias"])
    if text.startswith("models:"):
        raise ConfigError(
            f"--model {text!r}: a registered model is models:/NAME/VERSION or models:/NAME@ALIAS"
        )
    path = Path(text).expanduser()
    if not path.is_dir():
        raise BundleError(
            f"--model {text!r} is neither a bundle folder nor a registered model "
            "(models:/NAME/VERSION or models:/NAME@ALIAS)"
        )
    return ModelRef(path=str(path.resolve()))


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
    ref = model if isinstance(model, ModelRef) else parse_model(model, model_name=model_name)
    if ref.path is not None:
        bundle = ModelBundle.load(ref.path)
        version = str(bundle.metadata.get("version") or Path(ref.path).name)
        return BatchModel(bundle, _scorer(bundle, version, reasons), version, ref)
    from creditscore import registry, tracking

    uri = ref.tracking_uri or tracking.tracking_uri(tracking_uri)
    assert ref.name is not None
    got = registry.load_bundle(
        ref.name, alias=ref.alias or registry.CHAMPION, version=ref.version, tracking_uri=uri
    )
    version = str(got.version)
    pinned = ModelRef(name=ref.name, version=version, alias=ref.alias, tracking_uri=uri)
    return BatchModel(got.bundle, _scorer(got.bundle, version, reasons), version, pinned)


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
