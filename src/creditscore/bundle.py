"""ModelBundle: everything needed to score, and nothing from training.

On disk a bundle is a folder::

    bundle.json     schema, policy, profile, reason texts, metrics, metadata, checksums
    model.joblib    the fitted, calibrated scikit-learn estimator (raw frame -> PD)
    compiled.pkl    its compiled form and the pipeline's answers on probe applications
                    (absent for a model with no exact compiled form)
    plots/          evaluation plots (PNG), for people

``model.joblib`` and ``compiled.pkl`` are pickles, and unpickling runs code: ``load``
refuses a folder or file that another user could have written (owner is not us, or
group/world-writable), and one whose SHA-256 does not match the manifest, so a tampered or
half-copied bundle never loads.

``load`` reads the manifest and checks the files but unpickles the pipeline only when
``bundle.model`` is first used: scoring uses :meth:`ModelBundle.compiled`, the saved
compiled form (:mod:`creditscore.compiled.saved`), so a scoring process never imports
scikit-learn unless the compiled form cannot be used.
"""

from __future__ import annotations

import enum
import hashlib
import io
import json
import os
import stat
import sys
import threading
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from creditscore.data.profile import Profile
from creditscore.data.schema import InputSchema
from creditscore.exceptions import BundleError
from creditscore.policy import DecisionPolicy

if TYPE_CHECKING:
    from creditscore.compiled import CompiledModel

FORMAT_VERSION = 1
MODEL_FILE = "model.joblib"
COMPILED_FILE = "compiled.pkl"
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
    #: Where :meth:`compiled` got the compiled model from (set when it first runs).
    compiled_note: str = field(default="", init=False, compare=False, repr=False)

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", "creditscore"))

    @property
    def features(self) -> list[str]:
        return self.schema.names

    def compiled(self) -> CompiledModel:
        """The compiled model (built once per bundle, shared by its Scorers): the one saved
        with the bundle if it loads and passes its check, else compiled from the pipeline
        now. Raises :class:`~creditscore.exceptions.NotCompilableError` when the model has
        no exact compiled form."""
        with _LOCK:
            done = self.__dict__.get("_compiled")
            if done is None:
                done = self.__dict__["_compiled"] = self._compile()
        return done

    def _compile(self) -> CompiledModel:
        from creditscore.compiled import NotCompilableError, compile_model

        path = self.__dict__.get("_compiled_path")
        note = "compiled from the pipeline"
        if path is not None:
            from creditscore.compiled.saved import load_compiled

            data = _verified(path, self.__dict__["_compiled_sha256"])  # replaced since load?
            try:
                compiled = load_compiled(data, self.schema)
            except NotCompilableError as exc:
                note = f"saved compiled form not used ({exc}); compiled from the pipeline"
            else:
                self.compiled_note = "the bundle's saved compiled form, checked on load"
                return compiled
        compiled = compile_model(self.model, self.schema)
        self.compiled_note = note
        return compiled

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probability of default for each row of a raw application frame."""
        return np.asarray(self.model.predict_proba(X[self.features])[:, 1], dtype=float)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        model_path = folder / MODEL_FILE
        import joblib

        from creditscore.compiled.saved import save_compiled

        joblib.dump(self.model, model_path, compress=3)
        compiled_path = folder / COMPILED_FILE
        compiled_path.unlink(missing_ok=True)
        not_compiled = save_compiled(self.model, self.schema, compiled_path)
        checksums = {MODEL_FILE: _sha256(model_path)}
        if not_compiled is None:
            checksums[COMPILED_FILE] = _sha256(compiled_path)
        manifest = {
            "format_version": FORMAT_VERSION,
            "schema": self.schema.to_dict(),
            "policy": self.policy.to_dict(),
            "profile": self.profile.to_dict(),
            "reasons": self.reasons,
            "metrics": self.metrics,
            "metadata": {**self.metadata, "library_versions": library_versions()},
            "checksums": checksums,
            "compiled": {"saved": not_compiled is None, "reason": not_compiled},
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
        checksums = manifest.get("checksums", {})
        compiled_path = folder / COMPILED_FILE if COMPILED_FILE in checksums else None
        if compiled_path is not None and not compiled_path.is_file():
            raise BundleError(
                f"{compiled_path} is listed in {MANIFEST} but missing: the bundle was not "
                "copied whole"
            )
        for p in (folder, model_path, compiled_path):
            if p is not None:
                _check_trusted(p)
        for file in (model_path, compiled_path):
            if file is not None:
                _verified(file, checksums.get(file.name))
        _check_versions(folder, manifest.get("metadata", {}).get("library_versions", {}))
        bundle = cls(
            model=_NOT_LOADED,
            schema=InputSchema.from_dict(manifest["schema"]),
            policy=DecisionPolicy.from_dict(manifest["policy"]),
            profile=Profile.from_dict(manifest["profile"]),
            reasons=manifest.get("reasons", {}),
            metrics=manifest.get("metrics", {}),
            metadata=manifest.get("metadata", {}),
        )
        bundle.__dict__["_model_path"] = model_path
        bundle.__dict__["_model_sha256"] = checksums[MODEL_FILE]
        bundle.__dict__["_compiled_path"] = compiled_path
        bundle.__dict__["_compiled_sha256"] = checksums.get(COMPILED_FILE)
        return bundle


_LOCK = threading.RLock()


class _Unread(enum.Enum):
    """``model`` of a loaded bundle until first use (an enum member: copies are itself)."""

    PIPELINE = "not unpickled yet"


_NOT_LOADED = _Unread.PIPELINE


def _get_model(bundle: ModelBundle) -> Any:
    model = bundle.__dict__["model"]
    if model is _NOT_LOADED:
        with _LOCK:
            model = bundle.__dict__["model"]
            if model is _NOT_LOADED:
                model = bundle.__dict__["model"] = _load_model(
                    bundle.__dict__["_model_path"], bundle.__dict__["_model_sha256"]
                )
    return model


def _set_model(bundle: ModelBundle, model: Any) -> None:
    bundle.__dict__["model"] = model
    bundle.__dict__.pop("_compiled", None)  # another model: compile it anew
    bundle.__dict__.pop("_compiled_path", None)


# ``model`` is a dataclass field read through this property: a loaded bundle unpickles its
# pipeline on first use (checked against its checksum when the bundle was loaded).
setattr(ModelBundle, "model", property(_get_model, _set_model))  # noqa: B010


def _verified(path: Path, sha256: str | None) -> bytes:
    """The file's bytes, read once and checked against the manifest's SHA-256 (what is
    unpickled is exactly what was checked)."""
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise BundleError(f"{path} does not match its checksum: the bundle was altered")
    return data


def _load_model(path: Path, sha256: str) -> Any:
    import joblib

    data = _verified(path, sha256)  # replaced since the bundle was loaded?
    try:
        return joblib.load(io.BytesIO(data))
    except Exception as exc:  # a broken pickle can raise anything
        raise BundleError(f"{path} could not be loaded: {exc}") from exc


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
