"""Train / valid / test splits: stratified and seeded, or out-of-time when a date column is set.

Out-of-time: the test set is the most recent ``test`` share of applications (by date), and
train/valid are a stratified split of what came before, which is how a model meets the
future in production.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from creditscore.config import SplitConfig
from creditscore.exceptions import DataError


@dataclass(frozen=True)
class Splits:
    train: np.ndarray  # positional row indices
    valid: np.ndarray
    test: np.ndarray
    out_of_time: bool
    test_period: tuple[str, str] | None = None  # first and last date of the test set

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def _check_classes(y: np.ndarray, idx: np.ndarray, name: str) -> None:
    classes = np.unique(y[idx])
    if len(classes) < 2:
        raise DataError(
            f"the {name} split has only class {classes.tolist()} ({len(idx)} rows); "
            "use more data or a larger split share"
        )


def split_indices(y: np.ndarray, cfg: SplitConfig, dates: pd.Series | None = None) -> Splits:
    """Positional indices of each split."""
    y = np.asarray(y)
    n = len(y)
    all_idx = np.arange(n)
    if dates is not None and cfg.out_of_time:
        order = np.argsort(pd.to_datetime(dates).to_numpy(), kind="stable")
        n_test = max(1, round(n * cfg.test))
        test = np.sort(order[n - n_test :])
        rest = np.sort(order[: n - n_test])
        test_dates = pd.to_datetime(dates).iloc[test]
        period = (str(test_dates.min().date()), str(test_dates.max().date()))
        valid_share = cfg.valid / (1 - cfg.test)
        train, valid = train_test_split(
            rest, test_size=valid_share, stratify=y[rest], random_state=cfg.seed
        )
        splits = Splits(np.sort(train), np.sort(valid), test, True, period)
    else:
        train_valid, test = train_test_split(
            all_idx, test_size=cfg.test, stratify=y, random_state=cfg.seed
        )
        valid_share = cfg.valid / (1 - cfg.test)
        train, valid = train_test_split(
            train_valid, test_size=valid_share, stratify=y[train_valid], random_state=cfg.seed
        )
        splits = Splits(np.sort(train), np.sort(valid), np.sort(test), False)
    for name in ("train", "valid", "test"):
        _check_classes(y, getattr(splits, name), name)
    return splits
