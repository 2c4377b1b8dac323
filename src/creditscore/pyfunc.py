"""The ModelBundle as an MLflow ``python_function`` model, and registered bundles on disk.

A logged model holds our bundle folder (``bundle.json`` + ``model.joblib``) as its one
artifact; ``predict`` runs the same :class:`~creditscore.scorer.Scorer` as our service, so
``mlflow models serve``, ``mlflow.pyfunc.spark_udf`` and ``mlflow.pyfunc.load_model`` give
exactly our probabilities, scores, bands and decisions.

Our own service does not go through pyfunc: :func:`fetch_bundle` downloads a registered
version's bundle folder into a private local cache (a folder only we can write, so the
bundle's trust check passes on files we wrote ourselves) and loads it natively.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

import mlflow.artifacts
import mlflow.pyfunc
import pandas as pd
import yaml
from mlflow.pyfunc import PythonModel

from creditscore.bundle import PINNED_LIBRARIES, ModelBundle, library_versions
from creditscore.exceptions import BundleError, ModelError
from creditscore.scorer import Scorer

__all__ = [
    "BUNDLE_ARTIFACT",
    "OUTPUT_COLUMNS",
    "CreditScoreModel",
    "cache_root",
    "fetch_bundle",
    "pip_requirements",
    "save_pyfunc",
]

#: Key of the bundle folder among the pyfunc model's artifacts.
BUNDLE_ARTIFACT = "bundle"
#: Columns of the frame ``predict`` returns, in order.
OUTPUT_COLUMNS = ("probability_of_default", "score", "risk_band", "decision")


class CreditScoreModel(PythonModel):
    """Applications in, ``probability_of_default``, ``score``, ``risk_band``, ``decision`` out.

    Holds no state until ``load_context``; the pickled instance is only a pointer to this
    class, the model itself is the bundle artifact.
    """

    def __init__(self) -> None:
        self._scorer: Scorer | None = None

    def load_context(self, context: Any) -> None:
        path = Path(context.artifacts[BUNDLE_ARTIFACT])
        bundle = ModelBundle.load(path)
        version = str(bundle.metadata.get("version", "mlflow"))
        # predict returns PD, score, band and decision per row: no reason codes to explain
        self._scorer = Scorer(bundle, model_version=version, reasons=False)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        if self._scorer is None:
            raise ModelError("the creditscore pyfunc model was used before load_context")
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return self._scorer.score_frame(frame)


def pip_requirements() -> list[str]:
    """Pinned requirements of a logged model: creditscore plus the libraries whose pickles
    must match (given explicitly, so MLflow does not spend seconds inferring them)."""
    versions = library_versions()
    reqs = [f"creditscore=={versions['creditscore']}"] if "creditscore" in versions else []
    for lib in (*PINNED_LIBRARIES, "numpy", "pandas"):
        if lib in versions:
            reqs.append(f"{lib}=={versions[lib]}")
    return reqs


def save_pyfunc(bundle_path: Path, out_dir: Path, *, signature: Any, input_example: Any) -> Path:
    """Write the bundle at ``bundle_path`` as an MLflow pyfunc model folder ``out_dir``."""
    mlflow.pyfunc.save_model(
        path=str(out_dir),
        python_model=CreditScoreModel(),
        artifacts={BUNDLE_ARTIFACT: str(bundle_path)},
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements(),
    )
    return out_dir


# --------------------------------------------------------------------------- local cache
def cache_root() -> Path:
    """Where downloaded bundles live: ``$CREDITSCORE_CACHE`` or the user's cache folder."""
    explicit = os.environ.get("CREDITSCORE_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "creditscore" / "models"


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _bundle_dir_in(model_dir: Path) -> Path:
    """The bundle folder inside a downloaded pyfunc model, found through its MLmodel file."""
    mlmodel = model_dir / "MLmodel"
    try:
        spec = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
        rel = spec["flavors"]["python_function"]["artifacts"][BUNDLE_ARTIFACT]["path"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise BundleError(
            f"{model_dir} is not a creditscore model (no {BUNDLE_ARTIFACT!r} artifact in "
            f"MLmodel: {exc}); was it logged by `creditscore train`?"
        ) from None
    return model_dir / rel


def _drop_group_write(folder: Path) -> None:
    """Files we just downloaded into our private folder are ours; a umask of 002 would
    still leave them group-writable, which the bundle's trust check refuses."""
    for p in [folder, *folder.rglob("*")]:
        mode = p.stat().st_mode
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            os.chmod(p, mode & ~(stat.S_IWGRP | stat.S_IWOTH))


def fetch_bundle(
    download_uri: str,
    key: str,
    *,
    tracking_uri: str | None = None,
    cache_dir: Path | None = None,
) -> tuple[ModelBundle, Path]:
    """Download a logged model (``download_uri``) once into the cache and load its bundle.

    ``key`` must identify the model immutably (registry URI, name, version and run id):
    a registered version never changes, so a cached copy is reused; a half-finished
    download never is (downloads land in a temporary folder and are renamed into place).
    Returns the bundle and the local model folder.
    """
    root = _private_dir(Path(cache_dir) if cache_dir is not None else cache_root())
    target = root / hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    if not (target / "MLmodel").is_file():
        staging = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
        try:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=download_uri, dst_path=str(staging), tracking_uri=tracking_uri
            )
            _drop_group_write(staging)
            shutil.rmtree(target, ignore_errors=True)
            try:
                Path(local).rename(target)
            except OSError:  # another process finished the same download first
                if not (target / "MLmodel").is_file():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return ModelBundle.load(_bundle_dir_in(target)), target
