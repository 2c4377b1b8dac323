"""WoE scorecard: optbinning's optimal binning + logistic regression, as an sklearn classifier.

The binning, the weights of evidence and the PDO points all come from optbinning
(``BinningProcess`` inside ``Scorecard``); this module only adapts them to the estimator
contract the rest of creditscore relies on (raw DataFrame in, ``predict_proba`` out, points,
per-feature contributions for reason codes, a points table for the model card).

Conventions
-----------
* The positive class ``classes_[1]`` (``1`` when ``y`` is 0/1) is the event "bad".
* ``decision_function`` is the log-odds of ``classes_[1]``.
* ``points`` grow as risk falls: at good:bad odds of ``base_odds`` an applicant scores
  ``base_points``, and every doubling of the good:bad odds adds ``pdo`` points.
* Missing values and special codes get a WoE of 0 (neutral, optbinning's default), and so
  do categories not seen in training; ``points_table_`` reads them on the Missing row.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from optbinning import BinningProcess, Scorecard
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from creditscore.exceptions import ConfigError, DataError

__all__ = ["WoEScorecard"]

#: Upper bound, in seconds, on optbinning's solver per variable (CP-SAT usually needs ms).
SOLVER_TIME_LIMIT_S = 5.0

_POINTS_COLUMNS = [
    "variable",
    "bin_id",
    "bin",
    "count",
    "event_rate",
    "woe",
    "coefficient",
    "points",
]


class WoEScorecard(ClassifierMixin, BaseEstimator):
    """Credit scorecard: optimal WoE binning per variable, logistic regression, PDO points.

    Parameters
    ----------
    categorical_features : list of str or None
        Columns binned as nominal categories. None infers them from the dtypes (object,
        string and category columns). Ignored for numpy input, which must be numeric.
    monotonic : bool
        Force the bad rate of numeric variables to rise or fall monotonically across bins
        (optbinning ``monotonic_trend="auto_asc_desc"``), which keeps points explainable.
        False lets optbinning choose any trend (``"auto"``, which may pick a peak or valley).
    max_n_prebins, max_n_bins, min_bin_size
        optbinning limits: pre-bins before optimisation, bins per variable (None: no
        limit), smallest bin as a fraction of the rows.
    min_iv : float
        Variables whose information value is below this are dropped; the variable with
        the highest IV is always kept so that the model has at least one input.
    C : float
        Inverse L2 regularisation strength of the logistic regression.
    base_points, base_odds, pdo : float
        Points scaling: ``base_points`` at good:bad odds of ``base_odds``, plus ``pdo``
        points each time the odds double.
    special_codes : list or dict or None
        Values of numeric variables that mean something special (e.g. -999 "no bureau
        record"); optbinning puts them in their own bin (scored with a neutral WoE of 0).
    monotone : dict or None
        Known direction of risk for numeric columns: ``{"days_past_due": "increasing"}``
        makes the bad rate (and so the probability of default) rise, never fall, as the
        value rises; "decreasing" the opposite. Overrides ``monotonic`` for those columns.
    """

    def __init__(
        self,
        categorical_features: list[str] | None = None,
        monotonic: bool = True,
        max_n_prebins: int = 20,
        max_n_bins: int | None = 6,
        min_bin_size: float = 0.05,
        min_iv: float = 0.02,
        C: float = 1.0,
        base_points: float = 600,
        base_odds: float = 50,
        pdo: float = 20,
        special_codes: list[Any] | dict[str, Any] | None = None,
        monotone: dict[str, str] | None = None,
    ) -> None:
        self.categorical_features = categorical_features
        self.monotonic = monotonic
        self.max_n_prebins = max_n_prebins
        self.max_n_bins = max_n_bins
        self.min_bin_size = min_bin_size
        self.min_iv = min_iv
        self.C = C
        self.base_points = base_points
        self.base_odds = base_odds
        self.pdo = pdo
        self.special_codes = special_codes
        self.monotone = monotone

    # ------------------------------------------------------------------ fit

    def fit(self, X: pd.DataFrame | np.ndarray, y: Any) -> WoEScorecard:
        """Bin every column, drop weak ones, fit the logistic regression, scale to points.

        ``X`` holds raw features: numeric columns (NaN allowed) and categorical columns
        (strings). ``y`` must have exactly two classes; ``classes_[1]`` is "bad".
        """
        self._check_params()
        frame, y_arr = self._validate_fit_input(X, y)
        check_classification_targets(y_arr)
        y_type = type_of_target(y_arr, input_name="y")
        if y_type != "binary":
            raise DataError(
                "Only binary classification is supported. The type of the target is "
                f"{y_type}; map it to good/bad (0/1) first."
            )
        classes, y_enc = np.unique(y_arr, return_inverse=True)
        if len(classes) != 2:
            raise DataError(
                f"WoEScorecard needs a binary target with both classes present; got "
                f"{len(classes)} class(es): {list(classes)[:5]}. Check the target column "
                "and that the training rows contain both good and bad outcomes."
            )
        self.classes_ = classes

        columns = list(frame.columns)
        categorical = self._categorical_columns(frame)
        frame = _prepare_frame(frame, categorical)
        for name, direction in (self.monotone or {}).items():
            if name not in columns or name in categorical:
                raise DataError(
                    f"monotone constraint on '{name}', which is not a numeric column of the "
                    "training data; constrain numeric features only."
                )
            if direction not in ("increasing", "decreasing"):
                raise ConfigError(
                    f"monotone direction for '{name}' must be 'increasing' or 'decreasing'; "
                    f"got {direction!r}."
                )
        for name in columns:
            if frame[name].isna().all():
                raise DataError(
                    f"column '{name}' has no non-missing values in the training data; "
                    "exclude it from the features."
                )

        scorecard, binning = self._fit_scorecard(frame, y_enc, columns, categorical, fixed=None)
        if scorecard is None:
            # No variable reached min_iv: keep the strongest one (optbinning's
            # fixed_variables) so that there is still a model. Rare, so the second
            # binning pass costs nothing in the usual case.
            summary = binning.summary()
            best = str(summary.sort_values("iv", ascending=False, kind="stable")["name"].iloc[0])
            scorecard, _ = self._fit_scorecard(frame, y_enc, columns, categorical, fixed=[best])
            if scorecard is None:  # pragma: no cover - fixed_variables guarantees one
                raise DataError("optbinning selected no variable even with a fixed one")

        self.scorecard_ = scorecard
        self.binning_process_ = scorecard.binning_process_
        self.estimator_ = scorecard.estimator_
        self.categorical_features_ = [c for c in columns if c in categorical]
        self.selected_features_ = [str(v) for v in self.binning_process_.get_support(names=True)]
        self.coef_ = np.asarray(self.estimator_.coef_, dtype=float).ravel()
        self.intercept_ = float(np.asarray(self.estimator_.intercept_).ravel()[0])
        self.factor_ = self.pdo / math.log(2.0)
        self.offset_ = self.base_points - self.factor_ * math.log(self.base_odds)
        self.points_table_, self.points_constant_ = self._build_points_table()
        self._woe_by_variable_ = {
            name: part["woe"].to_numpy()
            for name, part in self.points_table_.groupby("variable", sort=False)
        }
        return self

    def _check_params(self) -> None:
        def bad(name: str, rule: str) -> ConfigError:
            value = getattr(self, name)
            return ConfigError(f"WoEScorecard {name} must be {rule}; got {value!r}.")

        if not isinstance(self.max_n_prebins, numbers.Integral) or self.max_n_prebins < 2:
            raise bad("max_n_prebins", "an integer >= 2")
        if self.max_n_bins is not None and (
            not isinstance(self.max_n_bins, numbers.Integral) or self.max_n_bins < 1
        ):
            raise bad("max_n_bins", "None or an integer >= 1")
        if not isinstance(self.min_bin_size, numbers.Real) or not 0 < self.min_bin_size <= 0.5:
            raise bad("min_bin_size", "a fraction in (0, 0.5]")
        if not isinstance(self.min_iv, numbers.Real) or self.min_iv < 0:
            raise bad("min_iv", "a number >= 0")
        for name in ("C", "base_odds", "pdo"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not value > 0:
                raise bad(name, "a positive number")
        if not isinstance(self.base_points, numbers.Real):
            raise bad("base_points", "a number")

    def _validate_fit_input(self, X: Any, y: Any) -> tuple[pd.DataFrame, np.ndarray]:
        if isinstance(X, pd.DataFrame):
            # Only names and counts here: check_array would turn mixed dtypes into objects.
            validate_data(self, X, y, skip_check_array=True)
            if X.shape[1] == 0:
                raise DataError("WoEScorecard got a table with 0 feature columns.")
            if X.shape[0] < 2:
                raise DataError(f"WoEScorecard needs at least 2 rows; got {X.shape[0]}.")
            y_arr = column_or_1d(y, warn=True)
            check_consistent_length(X, y_arr)
            frame = X.copy()
            frame.columns = [str(c) for c in X.columns]
        else:
            X_arr, y_arr = validate_data(
                self, X, y, dtype=np.float64, ensure_all_finite="allow-nan", ensure_min_samples=2
            )
            frame = pd.DataFrame(X_arr, columns=[f"x{i}" for i in range(X_arr.shape[1])])
        self.input_columns_ = list(frame.columns)
        return frame, np.asarray(y_arr)

    def _categorical_columns(self, frame: pd.DataFrame) -> set[str]:
        if self.categorical_features is None:
            return {
                c
                for c in frame.columns
                if isinstance(frame[c].dtype, pd.CategoricalDtype)
                or pd.api.types.is_string_dtype(frame[c].dtype)
                or frame[c].dtype == object
            }
        missing = [c for c in self.categorical_features if c not in frame.columns]
        if missing:
            raise DataError(
                f"categorical_features {missing} are not columns of the training data; "
                f"columns are {list(frame.columns)[:10]}{'...' if frame.shape[1] > 10 else ''}."
            )
        return set(self.categorical_features)

    def _fit_scorecard(
        self,
        frame: pd.DataFrame,
        y: np.ndarray,
        columns: list[str],
        categorical: set[str],
        fixed: list[str] | None,
    ) -> tuple[Scorecard | None, BinningProcess]:
        """Fit optbinning's Scorecard; (None, binning) when ``min_iv`` left no variable."""
        trends = {"increasing": "ascending", "decreasing": "descending"}
        monotone = self.monotone or {}
        fit_params: dict[str, dict[str, Any]] = {}
        for name in columns:
            params: dict[str, Any] = {"time_limit": SOLVER_TIME_LIMIT_S}
            if name in monotone:
                params["monotonic_trend"] = trends[monotone[name]]
            elif name not in categorical:
                params["monotonic_trend"] = "auto_asc_desc" if self.monotonic else "auto"
            fit_params[name] = params
        binning_process = BinningProcess(
            variable_names=columns,
            max_n_prebins=int(self.max_n_prebins),
            # Pre-bins larger than the smallest allowed bin would hide valid splits.
            min_prebin_size=min(float(self.min_bin_size), 0.05),
            max_n_bins=None if self.max_n_bins is None else int(self.max_n_bins),
            min_bin_size=float(self.min_bin_size),
            selection_criteria={"iv": {"min": float(self.min_iv)}},
            fixed_variables=fixed,
            categorical_variables=[c for c in columns if c in categorical] or None,
            special_codes=self.special_codes,
            binning_fit_params=fit_params,
        )
        scorecard = Scorecard(
            binning_process=binning_process,
            estimator=LogisticRegression(C=float(self.C), max_iter=1000),
            scaling_method="pdo_odds",
            scaling_method_params={
                "pdo": float(self.pdo),
                "odds": float(self.base_odds),
                "scorecard_points": float(self.base_points),
            },
            # Each characteristic's worst attribute scores 0; the rest is the constant.
            intercept_based=True,
        )
        with _quiet_optbinning():
            warnings.filterwarnings("ignore", message="No variables were selected")
            try:
                scorecard.fit(frame, y)
            except ValueError:
                # optbinning has already binned and selected; an empty selection makes
                # the regression refuse a 0-column matrix. Anything else is a real error.
                bp = scorecard.binning_process_
                if fixed is None and bp is not None and not bp.get_support().any():
                    return None, bp
                raise
        return scorecard, scorecard.binning_process_

    def _build_points_table(self) -> tuple[pd.DataFrame, float]:
        detailed = self.scorecard_.table(style="detailed")
        rows = []
        for variable in self.selected_features_:
            part = detailed[detailed["Variable"] == variable].reset_index(drop=True)
            # WoE actually used to score: optbinning transforms special and missing
            # values to 0 (metric_special = metric_missing = 0), not to their bin's WoE.
            woe = part["WoE"].astype(float).to_numpy().copy()
            n_special = len(self.special_codes) if isinstance(self.special_codes, dict) else 1
            woe[len(woe) - 1 - n_special :] = 0.0
            rows.append(
                pd.DataFrame(
                    {
                        "variable": variable,
                        "bin_id": part["Bin id"].astype(int).to_numpy(),
                        "bin": [_bin_label(b) for b in part["Bin"]],
                        "count": part["Count"].astype(int).to_numpy(),
                        "event_rate": part["Event rate"].astype(float).to_numpy(),
                        "woe": woe,
                        "coefficient": part["Coefficient"].astype(float).to_numpy(),
                        "points": part["Points"].astype(float).to_numpy(),
                    }
                )
            )
        table = pd.concat(rows, ignore_index=True)[_POINTS_COLUMNS]
        return table, float(self.scorecard_.intercept_)

    # -------------------------------------------------------------- predict

    def _frame(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self)
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=False, skip_check_array=True)
            frame = X.copy()
            frame.columns = [str(c) for c in X.columns]
            if hasattr(self, "feature_names_in_"):
                frame = frame[self.input_columns_]
            else:
                frame.columns = self.input_columns_
        else:
            dtype = None if self.categorical_features_ else np.float64
            X_arr = check_array(X, dtype=dtype, ensure_all_finite="allow-nan")
            validate_data(self, X_arr, reset=False, skip_check_array=True)
            frame = pd.DataFrame(X_arr, columns=self.input_columns_)
        return _prepare_frame(frame, set(self.categorical_features_))

    def bin_ids(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """Row of ``points_table_`` (``bin_id`` within the variable) each value falls in.

        optbinning assigns the bins; a category not seen in training gets -1 and is
        scored like a missing value (WoE 0).
        """
        frame = self._frame(X)
        with _quiet_optbinning():
            ids = self.binning_process_.transform(
                frame[self.binning_process_.variable_names],
                metric="indices",
                metric_special="empirical",
                metric_missing="empirical",
            )
        return pd.DataFrame(
            np.asarray(ids, dtype=np.int64), columns=self.selected_features_, index=frame.index
        )

    def woe(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """WoE of each selected feature for each row (what the regression sees).

        Looked up in ``points_table_`` by bin, so that the table is the whole truth of the
        score: special codes, missing values and unseen categories all get WoE 0.
        """
        ids = self.bin_ids(X)
        out = np.zeros(ids.shape, dtype=float)
        for j, name in enumerate(self.selected_features_):
            table = self._woe_by_variable_[name]
            col = ids[name].to_numpy()
            seen = col >= 0
            out[seen, j] = table[col[seen]]
        return pd.DataFrame(out, columns=self.selected_features_, index=ids.index)

    def contributions(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """Per-row, per-selected-feature contribution (coef * WoE) to the log-odds of bad.

        Each row plus ``intercept_`` sums to ``decision_function``; positive values push
        towards "bad". Reason codes rank these.
        """
        return self.woe(X) * self.coef_

    def decision_function(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Log-odds of ``classes_[1]`` (bad)."""
        contrib = self.contributions(X).to_numpy()
        # Column by column rather than a row sum, whose rounding depends on the batch:
        # a row scored alone must equal the same row scored in a batch, to the bit.
        decision = np.full(contrib.shape[0], self.intercept_)
        for j in range(contrib.shape[1]):
            decision += contrib[:, j]
        return decision

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Probabilities of ``classes_[0]`` and ``classes_[1]`` (bad), shape (n, 2)."""
        p_bad = _sigmoid(self.decision_function(X))
        return np.column_stack([1.0 - p_bad, p_bad])

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Class with the higher probability (threshold 0.5; the policy sets the real one)."""
        decision = self.decision_function(X)
        return self.classes_[(decision > 0).astype(int)]

    def points(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Scorecard points: higher is safer (see the class docstring for the scaling)."""
        return self.offset_ - self.factor_ * self.decision_function(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.classifier_tags.multi_class = False
        return tags


@contextlib.contextmanager
def _quiet_optbinning() -> Iterator[None]:
    """Silence optbinning's internal pandas deprecations and empty-split divisions.

    They are about optbinning's own code, not the user's data, and would otherwise
    flood every fit and prediction."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="optbinning")
        warnings.filterwarnings("ignore", category=FutureWarning, module="optbinning")
        warnings.filterwarnings("ignore", category=RuntimeWarning, module="optbinning")
        yield


def _prepare_frame(frame: pd.DataFrame, categorical: set[str]) -> pd.DataFrame:
    """Normalise dtypes for optbinning: categories as object with NaN, the rest float."""
    out = {}
    for name in frame.columns:
        s = frame[name]
        if name in categorical:
            values = s.astype(object)
            out[name] = values.where(s.notna(), np.nan)
        else:
            if pd.api.types.is_bool_dtype(s.dtype):
                s = s.astype(float)
            try:
                out[name] = pd.Series(
                    s.to_numpy(dtype=np.float64, na_value=np.nan), index=frame.index
                )
            except (TypeError, ValueError) as exc:
                raise DataError(
                    f"column '{name}' is treated as numeric but has values that are not "
                    f"numbers (dtype {s.dtype}); list it in categorical_features or clean it."
                ) from exc
    return pd.DataFrame(out, index=frame.index)


def _bin_label(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return "[" + ", ".join(str(v) for v in value) + "]"
    except TypeError:
        return str(value)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out
