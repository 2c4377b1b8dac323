"""Evaluation plots: every PNG is written, valid, readable-sized, and no figure leaks."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread

from creditscore.config import CostConfig, PolicyConfig
from creditscore.evaluation.plots import PLOT_NAMES, save_evaluation_plots
from creditscore.evaluation.threshold import fit_policy
from creditscore.policy import DecisionPolicy

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _data(n: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = 1.0 / (1.0 + np.exp(-(1.5 * x - 1.0)))
    y = (rng.random(n) < p).astype(int)
    return y, p


def _live_figures() -> int:
    gc.collect()
    return sum(isinstance(o, Figure) for o in gc.get_objects())


def test_writes_all_plots_as_valid_pngs(tmp_path: Path) -> None:
    y, p = _data()
    policy = fit_policy(y, p, PolicyConfig(refer_margin=0.03), CostConfig())
    before = _live_figures()
    paths = save_evaluation_plots(y, p, policy, tmp_path / "plots", title="logistic")
    assert _live_figures() == before  # nothing kept alive (no pyplot registry)
    assert tuple(paths) == PLOT_NAMES
    assert set(paths) == {
        "roc",
        "pr",
        "calibration",
        "ks",
        "score_distribution",
        "cost_threshold",
    }
    for name, path in paths.items():
        assert path == tmp_path / "plots" / f"{name}.png"
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC), name
        assert 10_000 < len(data) < 500_000, (name, len(data))
        image = imread(path)
        assert image.shape[:2] == (495, 660), name  # 6 x 4.5 in at 110 dpi
        assert image[..., :3].std() > 0.05, name  # not blank


@pytest.mark.parametrize(
    ("y", "p"),
    [
        ([0, 0, 0, 0], [0.1, 0.2, 0.3, 0.4]),  # one class: ranking plots show a note
        ([1, 1, 1], [0.5, 0.6, 0.7]),
        ([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]),  # all PDs equal
        ([0, 1], [0.0, 1.0]),  # extremes
    ],
)
@pytest.mark.filterwarnings("error")
def test_degenerate_data_still_plots(tmp_path: Path, y: list, p: list) -> None:
    policy = DecisionPolicy.from_config(0.25, PolicyConfig(), CostConfig())
    paths = save_evaluation_plots(y, p, policy, tmp_path)
    assert all(path.read_bytes().startswith(PNG_MAGIC) for path in paths.values())


def test_invalid_input_is_refused(tmp_path: Path) -> None:
    policy = DecisionPolicy.from_config(0.25, PolicyConfig(), CostConfig())
    with pytest.raises(ValueError, match="y has 3 values but p has 2"):
        save_evaluation_plots([0, 1, 0], [0.1, 0.2], policy, tmp_path)
    assert not list(tmp_path.iterdir())
