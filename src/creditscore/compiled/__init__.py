"""Compiled scoring: the bundle's fitted model turned into lookups, arrays and native kernels.

Why: the scikit-learn pipeline spends milliseconds per applicant building a one-row frame,
re-validating it in every step and dispatching through meta-estimators; a decision API
has a budget of a fraction of a millisecond. So :func:`compile_model` turns the fitted
model, once, into plain data:

* ``InputCleaner`` + the family preprocessing become per-column plans: a category maps
  straight to its ordinal code, one-hot column or scorecard contribution (a dict lookup
  for one application, ``factorize`` + ``take`` for a frame); a number to its imputation
  and scaling constants.
* The estimator becomes arrays: logistic regression a weight vector, the WoE scorecard bin
  edges and contributions, the MLP its (BatchNorm-folded) layers, and random forest,
  LightGBM, XGBoost and CatBoost flattened trees, run by the numba kernels of
  :mod:`creditscore.compiled.kernels` (``trees``, ``linear``, ``inputs`` build them).
* Calibration becomes the isotonic interpolation as scikit-learn/scipy compute it
  (clipping, dtype and all) or Platt's sigmoid; a soft-voting blend the (weighted) mean
  of its members (``graph`` holds these nodes and the entry points).

The same compiled form gives contributions (:meth:`CompiledModel.contributions`, see
:mod:`creditscore.compiled.contributions`): per-feature shares of the uncalibrated model's
log-odds of bad, exact for the linear models, baseline Shapley values against the typical
applicant on the compiled trees and MLP layers, for one application or a frame. This
package is the only code that reads a fitted pipeline's internals.

Exact, not approximate: every step repeats the library's own arithmetic (same dtypes,
same order of operations), and :func:`compile_model` checks the result against the
pipeline on probe applications built from the bundle's schema (missing values, every
category, unseen categories, case/space variants, special codes) before returning it.
Whatever it does not recognise, or any disagreement, raises :class:`NotCompilableError`,
and the Scorer keeps scoring with the pipeline: a slower answer, never a different one.

A compiled model holds only read-only arrays and dicts, so it is safe to share between
threads; batch scoring splits large frames across a small thread pool (the tree kernels
release the GIL).
"""

from creditscore.compiled.base import TOLERANCE, UNSEEN, NotCompilableError
from creditscore.compiled.contributions import (
    PD_EPS,
    Contributions,
    PipelineContributions,
    logit,
    to_log_odds,
    uncalibrated,
)
from creditscore.compiled.graph import CompiledModel, compile_model, verify
from creditscore.compiled.probes import probe_application, probe_frame

__all__ = [
    "PD_EPS",
    "TOLERANCE",
    "UNSEEN",
    "CompiledModel",
    "Contributions",
    "NotCompilableError",
    "PipelineContributions",
    "compile_model",
    "logit",
    "probe_application",
    "probe_frame",
    "to_log_odds",
    "uncalibrated",
    "verify",
]
