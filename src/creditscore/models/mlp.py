"""Feed-forward network for credit scoring: PyTorch through skorch, as an sklearn classifier.

torch and skorch are an optional extra (``pip install 'creditscore[nn]'``). This module
imports them only inside ``fit`` so that ``import creditscore.models.mlp`` (and the model
catalog that lists the candidate) stays cheap and works without them; a fitted estimator
pickles the skorch net, so loading one needs the extra too.

The caller encodes and scales the inputs (``features.preprocess``); this estimator takes a
numeric matrix without missing values.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from creditscore.exceptions import ConfigError, DataError, ModelError

__all__ = ["TorchMLPClassifier", "torch_available"]

#: Intra-op threads torch may use while training. Layers this small gain nothing from a
#: second thread, and on a busy 2-core machine (parallel CV folds, other jobs) two
#: threads made the same 20-epoch fit vary from 1 s to 15 s; one thread stayed at ~1 s.
MAX_TRAIN_THREADS = 1

_MISSING_EXTRA = (
    "the MLP candidate needs the [nn] extra: pip install 'creditscore[nn]' "
    "(or drop 'mlp' from the candidates in the configuration)"
)


def torch_available() -> bool:
    """True when torch and skorch import (the ``[nn]`` extra is installed and usable)."""
    try:
        import skorch  # noqa: F401
        import torch  # noqa: F401
    except (ImportError, OSError):  # OSError: a torch build whose shared libraries fail
        return False
    return True


class TorchMLPClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron with batch norm and dropout, early-stopped on a held-out split.

    Parameters
    ----------
    hidden_units : tuple of int
        Width of each hidden layer (Linear -> BatchNorm1d -> ReLU -> Dropout); an empty
        tuple gives a logistic regression.
    dropout : float
        Dropout probability after each hidden layer, in [0, 1).
    lr, weight_decay : float
        AdamW learning rate and decoupled weight decay.
    batch_size : int
        Mini-batch size (capped at the number of training rows).
    max_epochs, patience : int
        Epoch budget, and epochs without a better validation loss before stopping; the
        weights of the best epoch are restored.
    valid_fraction : float
        Stratified share of the rows held out for early stopping. 0 (or data too small to
        split) trains on every row for ``max_epochs``.
    class_weight : bool, "balanced", dict or None
        True (or "balanced") weights the bad class by n_good / n_bad in the loss
        (BCE ``pos_weight``); a ``{class: weight}`` dict as in scikit-learn sets that
        ratio explicitly (only the ratio matters). False or None: unweighted.
    random_state : int or None
        Seeds weight initialisation, shuffling, dropout and the validation split; the same
        value gives the same model on the same machine and thread count.
    verbose : int
        skorch's per-epoch log when > 0.
    """

    def __init__(
        self,
        hidden_units: Sequence[int] = (64, 32),
        dropout: float = 0.2,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 128,
        max_epochs: int = 200,
        patience: int = 15,
        valid_fraction: float = 0.15,
        class_weight: bool | str | Mapping[Any, float] | None = False,
        random_state: int | None = 0,
        verbose: int = 0,
    ) -> None:
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.valid_fraction = valid_fraction
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X: Any, y: Any) -> TorchMLPClassifier:
        """Train on a numeric matrix ``X`` (no NaN) and a binary ``y``; ``classes_[1]`` is bad."""
        if not torch_available():
            raise ModelError(_MISSING_EXTRA)
        self._check_params()
        X_arr, y_arr = validate_data(self, X, y, dtype=np.float32, ensure_min_samples=2)
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
                f"TorchMLPClassifier needs both classes in the training rows; got "
                f"{len(classes)} class(es): {list(classes)}."
            )
        self.classes_ = classes

        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(min(threads, MAX_TRAIN_THREADS))
        try:
            if self.random_state is None:
                self.net_ = self._fit_net(X_arr, y_enc)
            else:
                # Seed a private copy of torch's global RNG: reproducible, and the
                # caller's random stream is left as it was.
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(int(self.random_state))
                    self.net_ = self._fit_net(X_arr, y_enc)
        finally:
            torch.set_num_threads(threads)
        # Train in float32 for speed, predict in float64: float32 results depend on the
        # batch a row is scored in (~1e-7), and a row scored alone must equal the same row
        # scored in a batch.
        self.net_.module_.double()
        self.n_epochs_ = len(self.net_.history)
        return self

    def _fit_net(self, X: np.ndarray, y_enc: np.ndarray) -> Any:
        import torch
        from skorch import NeuralNetBinaryClassifier
        from skorch.callbacks import EarlyStopping
        from skorch.dataset import ValidSplit

        n_samples = X.shape[0]
        y_float = y_enc.astype(np.float32)

        split = None
        n_train = n_samples
        if self.valid_fraction > 0:
            candidate = ValidSplit(
                float(self.valid_fraction), stratified=True, random_state=self.random_state
            )
            try:
                # Resolve the split skorch will make, to size batches on the exact number
                # of training rows; too few rows per class to stratify -> no validation.
                cv = candidate.check_cv(y_enc)
                train_idx, _ = next(iter(cv.split(np.zeros((n_samples, 1)), y_enc)))
            except ValueError:
                pass
            else:
                split, n_train = candidate, len(train_idx)

        batch_size = max(1, min(int(self.batch_size), n_train))
        # BatchNorm cannot train on a batch of one row: drop such a last batch (one row
        # per epoch, a different one each time since batches are shuffled).
        drop_last = n_train % batch_size == 1

        callbacks: list[Any] = []
        if split is not None:
            callbacks.append(
                EarlyStopping(monitor="valid_loss", patience=int(self.patience), load_best=True)
            )

        criterion_kwargs: dict[str, Any] = {}
        pos_weight = self._pos_weight(y_enc)
        if pos_weight is not None:
            criterion_kwargs["criterion__pos_weight"] = torch.tensor(pos_weight)

        net = NeuralNetBinaryClassifier(
            module=_build_module(X.shape[1], tuple(self.hidden_units), float(self.dropout)),
            criterion=torch.nn.BCEWithLogitsLoss,
            optimizer=torch.optim.AdamW,
            lr=float(self.lr),
            optimizer__weight_decay=float(self.weight_decay),
            batch_size=batch_size,
            max_epochs=int(self.max_epochs),
            train_split=split,
            callbacks=callbacks,
            iterator_train__shuffle=True,
            iterator_train__drop_last=drop_last,
            device="cpu",
            verbose=int(self.verbose),
            **criterion_kwargs,
        )
        net.fit(X, y_float)
        return net

    def _pos_weight(self, y_enc: np.ndarray) -> float | None:
        """Weight of the bad class relative to the good one in the loss, or None."""
        weights = self.class_weight
        if weights is None or weights is False:
            return None
        if weights is True or weights == "balanced":
            n_bad = float(y_enc.sum())
            return (len(y_enc) - n_bad) / n_bad
        if isinstance(weights, Mapping):
            try:
                return float(weights[self.classes_[1]]) / float(weights[self.classes_[0]])
            except (KeyError, ZeroDivisionError, TypeError, ValueError) as exc:
                raise ConfigError(
                    f"TorchMLPClassifier class_weight {weights!r} must give a positive "
                    f"weight to both classes {list(self.classes_)}."
                ) from exc
        raise ConfigError(
            "TorchMLPClassifier class_weight must be True/False, 'balanced' or a "
            f"{{class: weight}} dict; got {weights!r}."
        )

    def _check_params(self) -> None:
        def bad(name: str, rule: str) -> ConfigError:
            value = getattr(self, name)
            return ConfigError(f"TorchMLPClassifier {name} must be {rule}; got {value!r}.")

        units = self.hidden_units
        if isinstance(units, numbers.Integral):
            raise bad("hidden_units", "a sequence of layer widths, e.g. (64, 32)")
        if not all(isinstance(u, numbers.Integral) and u > 0 for u in units):
            raise bad("hidden_units", "a sequence of positive integers")
        if not isinstance(self.dropout, numbers.Real) or not 0 <= self.dropout < 1:
            raise bad("dropout", "in [0, 1)")
        for name in ("lr", "weight_decay"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or value < 0 or not math.isfinite(value):
                raise bad(name, "a finite number >= 0")
        if not self.lr > 0:
            raise bad("lr", "positive")
        for name in ("batch_size", "max_epochs", "patience"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or value < 1:
                raise bad(name, "an integer >= 1")
        if not isinstance(self.valid_fraction, numbers.Real) or not 0 <= self.valid_fraction < 1:
            raise bad("valid_fraction", "a fraction in [0, 1)")

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of ``classes_[0]`` and ``classes_[1]`` (bad), shape (n, 2)."""
        check_is_fitted(self)
        X_arr = validate_data(self, X, reset=False, dtype=np.float64)
        proba: np.ndarray = self.net_.predict_proba(X_arr)
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """Class with the higher probability (threshold 0.5; the policy sets the real one)."""
        proba = self.predict_proba(X)
        return self.classes_[(proba[:, 1] > 0.5).astype(int)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.non_deterministic = self.random_state is None
        return tags


def _build_module(n_features: int, hidden_units: tuple[int, ...], dropout: float) -> Any:
    """Plain ``nn.Sequential`` of torch layers: pickles without a custom class to import."""
    from torch import nn

    layers: list[nn.Module] = []
    width = n_features
    for units in hidden_units:
        layers += [
            nn.Linear(width, units),
            nn.BatchNorm1d(units),
            nn.ReLU(),
            nn.Dropout(dropout),
        ]
        width = units
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)
