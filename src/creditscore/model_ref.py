"""Which model a command means: a bundle folder or a registered version, and loading it.

The one reader of ``--model`` for every command that takes it (``score``, ``monitor``,
``outcomes``, ``explain``, ...): a bundle folder, ``models:/NAME/VERSION`` (``v3`` is read
as ``3``) or ``models:/NAME@ALIAS``; without one, the champion of the configured model name.
:func:`resolve` loads it and pins an alias to the version it pointed at, so a caller that
hands the reference on (a Spark executor) loads that same version even if the alias moves
meanwhile. The registry (MLflow) is imported only when a registered model is resolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from creditscore.bundle import ModelBundle
from creditscore.exceptions import BundleError, ConfigError

__all__ = ["ModelRef", "ResolvedModel", "parse_model_ref", "resolve"]

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
    def registered(self) -> bool:
        return self.path is None

    @property
    def label(self) -> str:
        if self.path is not None:
            return f"path:{self.path}"
        at = f"/{self.version}" if self.version else f"@{self.alias}"
        return f"models:/{self.name}{at}"


@dataclass(frozen=True)
class ResolvedModel:
    """A loaded bundle, its version, and the reference pinned to that version."""

    bundle: ModelBundle
    version: str
    ref: ModelRef


def parse_model_ref(model: str | Path | None, *, model_name: str | None = None) -> ModelRef:
    """``--model`` as a :class:`ModelRef` (not loaded yet). A bad value is a
    :class:`ConfigError` (malformed ``models:`` URI) or :class:`BundleError` (no such
    folder) naming the option, the value and what is accepted."""
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
        if version is not None and not version.isdigit():
            raise ConfigError(
                f"--model {text!r}: the version of models:/NAME/VERSION is a number "
                f"(got {found['version']!r}); for an alias write models:/NAME@ALIAS"
            )
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


def resolve(ref: ModelRef, *, tracking_uri: str | None = None) -> ResolvedModel:
    """Load the bundle ``ref`` names; a registered one is downloaded once into the
    registry's cache, and an alias is pinned to the version it points at now."""
    if ref.path is not None:
        bundle = ModelBundle.load(ref.path)
        version = str(bundle.metadata.get("version") or Path(ref.path).name)
        return ResolvedModel(bundle, version, ref)
    from creditscore import registry, tracking

    uri = ref.tracking_uri or tracking.tracking_uri(tracking_uri)
    assert ref.name is not None
    got = registry.load_bundle(
        ref.name, alias=ref.alias or registry.CHAMPION, version=ref.version, tracking_uri=uri
    )
    version = str(got.version)
    pinned = ModelRef(name=ref.name, version=version, alias=ref.alias, tracking_uri=uri)
    return ResolvedModel(got.bundle, version, pinned)
