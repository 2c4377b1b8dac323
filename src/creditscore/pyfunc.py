"""The ModelBundle as an MLflow ``python_function`` model.

A logged model holds our bundle folder (``bundle.json`` + ``model.joblib`` +
``compiled.pkl``) as its one artifact; ``predict`` runs the same
:class:`~creditscore.scorer.Scorer` as our service, so ``mlflow models serve``,
``mlflow.pyfunc.spark_udf`` and ``mlflow.pyfunc.load_model`` give exactly our
probabilities, scores, bands and decisions.

Our own service does not go through pyfunc: ``registry.load_bundle`` downloads a registered
version's bundle folder into a private local cache and loads it natively. Importing this
module does not load the Scorer (``load_context`` does), so the registry can read
:data:`BUNDLE_ARTIFACT` without the runtime scoring code.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow.pyfunc
import pandas as pd
from mlflow.pyfunc import PythonModel

from creditscore.bundle import PINNED_LIBRARIES, ModelBundle, library_versions
from creditscore.exceptions import ModelError

if TYPE_CHECKING:
    from creditscore.scorer import Scorer

__all__ = [
    "BUNDLE_ARTIFACT",
    "OUTPUT_COLUMNS",
    "CreditScoreModel",
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
        from creditscore.scorer import Scorer

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
