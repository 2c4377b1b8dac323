"""ModelBundle: everything needed to score, and nothing from training.

On disk a bundle is a folder::

    bundle.json     schema, policy, profile, reason texts, metrics, metadata, checksums
    model.joblib    the fitted, calibrated scikit-learn estimator (raw frame -> PD)
    plots/          evaluation plots (PNG), for people

``model.joblib`` is a pickle, and unpickling runs code: ``load`` refuses a folder or file
that another user could have written (owner is not us, or group/world-writable), and one
whose SHA-256 does not match the manifest, so a tampered or half-copied bundle never loads.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from creditscore.data.profile import Profile
from creditscore.data.schema import InputSchema
from creditscore.exceptions import BundleError
from creditscore.policy import DecisionPolicy

FORMAT_VERSION = 1
MODEL_FILE = "model.joblib"
MANIFEST = "bundle.json"
# Libraries whose pickles must match across save and load (major.minor).
PINNED_LIBRARIES = (
    "scikit-learn",
    "lightgbm",
    "xgboost",
    "catboost",
    "optbinning",
    "torch",
    "skorch",
)


def library_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for lib in (*PINNED_LIBRARIES, "numpy", "pandas", "creditscore"):
        try:
            versions[lib] = importlib_metadata.version(lib)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_trusted(path: Path) -> None:
    """Refuse files another local user could have planted (what ssh does with keys)."""
    if os.name != "posix":
        return
    st = path.stat()
    if st.st_uid != os.getuid():
        raise BundleError(f"refusing to load {path}: it belongs to another user (uid {st.st_uid})")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise BundleError(
            f"refusing to load {path}: it is writable by group or others; "
            f"run `chmod go-w {path}` if you trust it"
        )


def _minor(version: str) -> str:
    return ".".join(version.split("+")[0].split(".")[:2])


@dataclass
class ModelBundle:
    model: Any
    schema: InputSchema
    policy: DecisionPolicy
    profile: Profile
    reasons: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", "creditscore"))

    @property
    def features(self) -> list[str]:
        return self.schema.names

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probability of default for each row of a raw application frame."""
        return np.asarray(self.model.predict_proba(X[self.features])[:, 1], dtype=float)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        model_path = folder / MODEL_FILE
        joblib.dump(self.model, model_path, compress=3)
        manifest = {
            "format_version": FORMAT_VERSION,
            "schema": self.schema.to_dict(),
            "policy": self.policy.to_dict(),
            "profile": self.profile.to_dict(),
            "reasons": self.reasons,
            "metrics": self.metrics,
            "metadata": {**self.metadata, "library_versions": library_versions()},
            "checksums": {MODEL_FILE: _sha256(model_path)},
        }
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=_json_default))
        return folder

    @classmethod
    def load(cls, path: str | Path) -> ModelBundle:
        folder = Path(path)
        manifest_path, model_path = folder / MANIFEST, folder / MODEL_FILE
        if not manifest_path.is_file() or not model_path.is_file():
            raise BundleError(
                f"{folder} is not a model bundle (expected {MANIFEST} and {MODEL_FILE}); "
                "train one with `creditscore train`"
            )
        try:
            manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as exc:
            raise BundleError(f"{manifest_path} is not valid JSON: {exc}") from None
        if manifest.get("format_version") != FORMAT_VERSION:
            raise BundleError(
                f"{folder}: bundle format {manifest.get('format_version')!r} is not supported "
                f"by this creditscore (expects {FORMAT_VERSION}); retrain the model"
            )
        for p in (folder, model_path):
            _check_trusted(p)
        expected = manifest.get("checksums", {}).get(MODEL_FILE)
        if expected != _sha256(model_path):
            raise BundleError(f"{model_path} does not match its checksum: the bundle was altered")
        _check_versions(folder, manifest.get("metadata", {}).get("library_versions", {}))
        try:
            model = joblib.load(model_path)
        except Exception as exc:  # a broken pickle can raise anything
            raise BundleError(f"{model_path} could not be loaded: {exc}") from exc
        return cls(
            model=model,
            schema=InputSchema.from_dict(manifest["schema"]),
            policy=DecisionPolicy.from_dict(manifest["policy"]),
            profile=Profile.from_dict(manifest["profile"]),
            reasons=manifest.get("reasons", {}),
            metrics=manifest.get("metrics", {}),
            metadata=manifest.get("metadata", {}),
        )


def _check_versions(folder: Path, saved: dict[str, str]) -> None:
    now = library_versions()
    clashes = [
        f"{lib} {saved[lib]} (installed {now.get(lib, 'none')})"
        for lib in PINNED_LIBRARIES
        if lib in saved and _minor(saved[lib]) != _minor(now.get(lib, ""))
    ]
    if clashes:
        raise BundleError(
            f"{folder} was saved with {', '.join(clashes)}; install the same versions or retrain"
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
