"""TorchMLPClassifier: sklearn contract, German credit smoke test, determinism, pickling."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from creditscore.datasets import GERMAN_POSITIVE, GERMAN_TARGET, load_german
from creditscore.exceptions import ConfigError, DataError
from creditscore.models.mlp import TorchMLPClassifier, torch_available

needs_torch = pytest.mark.skipif(
    not torch_available(), reason="torch/skorch not installed (the [nn] extra)"
)

PROTECTED = ["personal_status_and_sex", "age_in_years", "foreign_worker"]


# max_epochs=50 keeps the ~57 checks at ~15 s in all; every check passes.
@needs_torch
@parametrize_with_checks([TorchMLPClassifier(max_epochs=50)])
def test_sklearn_contract(estimator, check) -> None:
    check(estimator)


@pytest.fixture(scope="module")
def german_matrix() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """German credit one-hot encoded and standardised, as the linear family would."""
    data = load_german()
    y = (data.pop(GERMAN_TARGET) == GERMAN_POSITIVE).astype(int).to_numpy()
    X = data.drop(columns=PROTECTED)
    categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numeric = [c for c in X.columns if c not in categorical]
    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
            ("num", StandardScaler(), numeric),
        ]
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    return prep.fit_transform(X_train), prep.transform(X_test), y_train, y_test


@pytest.fixture(scope="module")
def fitted(german_matrix) -> TorchMLPClassifier:
    X_train, _, y_train, _ = german_matrix
    return TorchMLPClassifier().fit(X_train, y_train)


@needs_torch
def test_ranks_german_applicants(fitted: TorchMLPClassifier, german_matrix) -> None:
    _, X_test, _, y_test = german_matrix
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert roc_auc_score(y_test, proba[:, 1]) > 0.70
    assert fitted.n_features_in_ == X_test.shape[1]
    assert 1 <= fitted.n_epochs_ < fitted.max_epochs  # early stopping stopped it


@needs_torch
def test_same_random_state_same_model(fitted: TorchMLPClassifier, german_matrix) -> None:
    X_train, X_test, y_train, _ = german_matrix
    again = TorchMLPClassifier().fit(X_train, y_train)
    np.testing.assert_array_equal(again.predict_proba(X_test), fitted.predict_proba(X_test))
    other = TorchMLPClassifier(random_state=1).fit(X_train, y_train)
    assert not np.allclose(other.predict_proba(X_test), fitted.predict_proba(X_test))


@needs_torch
def test_fit_leaves_global_torch_state_alone(german_matrix) -> None:
    import torch

    X_train, _, y_train, _ = german_matrix
    rng_state = torch.get_rng_state()
    threads = torch.get_num_threads()
    TorchMLPClassifier(max_epochs=2).fit(X_train, y_train)
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert torch.get_num_threads() == threads


@needs_torch
def test_row_alone_equals_row_in_batch(fitted: TorchMLPClassifier, german_matrix) -> None:
    # A batch of one in eval mode: BatchNorm uses its running statistics.
    _, X_test, _, _ = german_matrix
    rows = X_test[:60]
    alone = np.vstack([fitted.predict_proba(rows[i : i + 1]) for i in range(len(rows))])
    np.testing.assert_allclose(alone, fitted.predict_proba(rows), rtol=0, atol=1e-12)


@needs_torch
def test_pickle_round_trip(fitted: TorchMLPClassifier, german_matrix, tmp_path: Path) -> None:
    _, X_test, _, _ = german_matrix
    path = tmp_path / "mlp.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X_test), fitted.predict_proba(X_test))
    np.testing.assert_array_equal(loaded.predict(X_test), fitted.predict(X_test))


@needs_torch
@pytest.mark.parametrize(
    ("n_rows", "params"),
    [
        # 65 % 32 == 1: without care the last training batch holds one row.
        (65, {"batch_size": 32, "valid_fraction": 0.0}),
        # 0.15 of 120 rows held out leaves 102 = 101 + 1 rows for batches of 101.
        (120, {"batch_size": 101}),
        # 6 rows cannot be split with both classes on each side: no early stopping.
        (6, {}),
    ],
)
def test_awkward_sizes_train(n_rows: int, params: dict, rng: np.random.Generator) -> None:
    X = rng.normal(size=(n_rows, 4))
    y = np.arange(n_rows) % 2
    model = TorchMLPClassifier(max_epochs=5, **params).fit(X, y)
    assert model.predict_proba(X[:1]).shape == (1, 2)


@needs_torch
def test_class_weight_raises_predicted_bad_rate(german_matrix) -> None:
    X_train, X_test, y_train, _ = german_matrix
    plain = TorchMLPClassifier(max_epochs=30).fit(X_train, y_train)
    weighted = TorchMLPClassifier(max_epochs=30, class_weight=True).fit(X_train, y_train)
    assert weighted.predict_proba(X_test)[:, 1].mean() > plain.predict_proba(X_test)[:, 1].mean()


@needs_torch
def test_string_labels(german_matrix) -> None:
    X_train, X_test, y_train, _ = german_matrix
    labels = np.where(y_train == 1, "bad", "good")
    model = TorchMLPClassifier(max_epochs=5).fit(X_train, labels)
    assert list(model.classes_) == ["bad", "good"]
    assert set(model.predict(X_test)) <= {"bad", "good"}


@needs_torch
def test_clear_errors(german_matrix) -> None:
    X_train, _, y_train, _ = german_matrix
    with pytest.raises(DataError, match="both classes"):
        TorchMLPClassifier().fit(X_train, np.zeros(len(X_train)))
    with pytest.raises(DataError, match="Only binary"):
        TorchMLPClassifier().fit(X_train, np.arange(len(X_train)) % 3)
    with pytest.raises(ConfigError, match="hidden_units"):
        TorchMLPClassifier(hidden_units=64).fit(X_train, y_train)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="dropout"):
        TorchMLPClassifier(dropout=1.0).fit(X_train, y_train)
    with_nan = X_train.copy()
    with_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TorchMLPClassifier().fit(with_nan, y_train)


_WITHOUT_TORCH = """
import importlib.abc, sys

class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("torch", "skorch"):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NoTorch())
import numpy as np
import creditscore.models.mlp as m
from creditscore.exceptions import ModelError
print(m.torch_available(), "torch" in sys.modules)
try:
    m.TorchMLPClassifier().fit(np.eye(4), [0, 1, 0, 1])
except ModelError as exc:
    print(exc)
"""


def test_without_torch_the_module_imports_and_fit_names_the_extra() -> None:
    # A fresh interpreter where importing torch or skorch fails as if not installed.
    out = subprocess.run(
        [sys.executable, "-c", _WITHOUT_TORCH],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    first, message = out.stdout.strip().splitlines()
    assert first == "False False"
    assert "pip install 'creditscore[nn]'" in message
