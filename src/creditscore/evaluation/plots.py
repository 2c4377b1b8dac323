"""Static evaluation plots (PNG) for the model card and the run's artifacts.

Figures are built as standalone :class:`matplotlib.figure.Figure` objects on an Agg canvas:
nothing touches pyplot's global state or the process-wide backend, nothing is registered in
pyplot's figure manager, so figures are freed when they go out of scope (no leaks in long
training runs or the server) and importing this module has no side effects.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import ArrayLike, NDArray
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from creditscore.config import CostConfig
from creditscore.evaluation.metrics import (
    calibration_table,
    check_labels_and_pd,
    cost_curve,
    ks_curve,
)
from creditscore.policy import DecisionPolicy

__all__ = ["PLOT_NAMES", "save_evaluation_plots"]

DPI = 110
FIGSIZE = (6.0, 4.5)
GOOD_COLOR = "#1f77b4"
BAD_COLOR = "#d62728"
POLICY_COLOR = "#2ca02c"
BAYES_COLOR = "#9467bd"

#: Names (and file stems) of the plots ``save_evaluation_plots`` writes, in order.
PLOT_NAMES = ("roc", "pr", "calibration", "ks", "score_distribution", "cost_threshold")

_Y = NDArray[np.int8]
_P = NDArray[np.float64]


def new_figure(width: float = FIGSIZE[0], height: float = FIGSIZE[1]) -> Figure:
    """A figure on its own Agg canvas (no pyplot state: safe in threads and servers)."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def render_pngs(
    figures: dict[str, Figure], out_dir: str | Path | None = None
) -> tuple[dict[str, bytes], dict[str, Path]]:
    """Each figure as PNG bytes, also written to ``out_dir/<name>.png`` when given:
    (name -> bytes, name -> path)."""
    images = {name: png_bytes(fig) for name, fig in figures.items()}
    paths: dict[str, Path] = {}
    if out_dir is not None:
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for name, png in images.items():
            paths[name] = folder / f"{name}.png"
            paths[name].write_bytes(png)
    return images, paths


def _title(kind: str, title: str) -> str:
    return f"{title}: {kind}" if title else kind


def _one_class_note(ax: Axes, y: _Y) -> bool:
    """Write a note instead of a curve when ``y`` has only one class; True if it did."""
    if 0 < int(y.sum()) < len(y):
        return False
    ax.text(0.5, 0.5, "undefined: only one class in y", ha="center", va="center")
    return True


def _roc(fig: Figure, y: _Y, p: _P, policy: DecisionPolicy, title: str) -> None:
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="random")
    if not _one_class_note(ax, y):
        fpr, tpr, _ = roc_curve(y, p)
        auc = roc_auc_score(y, p)
        ax.plot(fpr, tpr, color=GOOD_COLOR, lw=2, label=f"model (AUC = {auc:.3f})")
        declined = p >= policy.threshold
        op_fpr, op_tpr = declined[y == 0].mean(), declined[y == 1].mean()
        ax.plot(
            op_fpr, op_tpr, "o", color=POLICY_COLOR, label=f"policy (PD ≥ {policy.threshold:.3f})"
        )
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.01),
        xlabel="False positive rate (goods declined)",
        ylabel="True positive rate (bads declined)",
        title=_title("ROC curve", title),
    )
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)


def _pr(fig: Figure, y: _Y, p: _P, policy: DecisionPolicy, title: str) -> None:
    ax = fig.add_subplot()
    base = float(y.mean())
    ax.axhline(base, ls="--", color="grey", lw=1, label=f"base rate ({base:.3f})")
    if not _one_class_note(ax, y):
        precision, recall, _ = precision_recall_curve(y, p)
        ap = average_precision_score(y, p)
        ax.plot(recall, precision, color=BAD_COLOR, lw=2, label=f"model (AP = {ap:.3f})")
        declined = p >= policy.threshold
        if declined.any():
            ax.plot(
                declined[y == 1].mean(),
                y[declined].mean(),
                "o",
                color=POLICY_COLOR,
                label=f"policy (PD ≥ {policy.threshold:.3f})",
            )
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.01),
        xlabel="Recall (share of bads declined)",
        ylabel="Precision (bad rate among declined)",
        title=_title("Precision-recall curve", title),
    )
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)


def _calibration(fig: Figure, y: _Y, p: _P, policy: DecisionPolicy, title: str) -> None:
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    table = calibration_table(y, p, bins=10)
    hi = float(min(1.0, max(p.max(), table["observed_bad_rate"].max(), 0.05) * 1.05))
    top.plot([0, hi], [0, hi], ls="--", color="grey", lw=1, label="perfect calibration")
    top.plot(
        table["mean_pd"],
        table["observed_bad_rate"],
        "o-",
        color=BAD_COLOR,
        label="PD deciles",
    )
    top.set(
        ylim=(0, hi),
        ylabel="Observed bad rate",
        title=_title("Calibration (reliability)", title),
    )
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    bottom.hist(p, bins=40, range=(0, hi), color="grey")
    bottom.axvline(policy.threshold, color=POLICY_COLOR, lw=1.5, label="threshold")
    bottom.set(xlim=(0, hi), xlabel="Predicted PD (top: mean of each decile)", ylabel="Count")
    bottom.legend(loc="upper right", fontsize="small")


def _ks(fig: Figure, y: _Y, p: _P, policy: DecisionPolicy, title: str) -> None:
    ax = fig.add_subplot()
    if not _one_class_note(ax, y):
        curve = ks_curve(y, p)
        x = np.r_[0.0, curve["pd"].to_numpy()]
        good = np.r_[0.0, curve["cum_good"].to_numpy()]
        bad = np.r_[0.0, curve["cum_bad"].to_numpy()]
        ax.step(x, good, where="post", color=GOOD_COLOR, lw=2, label="goods")
        ax.step(x, bad, where="post", color=BAD_COLOR, lw=2, label="bads")
        i = int(np.argmax(good - bad))
        ks = max(0.0, float(good[i] - bad[i]))
        ax.vlines(
            x[i], bad[i], good[i], color="black", lw=2, label=f"KS = {ks:.3f} at PD {x[i]:.3f}"
        )
        ax.axvline(policy.threshold, color=POLICY_COLOR, ls=":", lw=1.5, label="threshold")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.01),
        xlabel="Predicted PD",
        ylabel="Cumulative share with PD ≤ x",
        title=_title("KS: cumulative goods vs bads", title),
    )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right")
    ax.grid(alpha=0.3)


def _score_distribution(fig: Figure, y: _Y, p: _P, policy: DecisionPolicy, title: str) -> None:
    ax = fig.add_subplot()
    points = policy.points_many(p)
    edges = np.histogram_bin_edges(points, bins=40).tolist()
    for cls, name, color in ((0, "goods", GOOD_COLOR), (1, "bads", BAD_COLOR)):
        sel = points[y == cls]
        if len(sel):
            ax.hist(
                sel,
                bins=edges,
                density=True,
                alpha=0.5,
                color=color,
                label=f"{name} (n={len(sel)})",
            )
    cut = policy.points(policy.threshold)
    ax.axvline(cut, color=POLICY_COLOR, lw=2, label=f"threshold score {cut}")
    if policy.refer_margin:
        s = policy.summary()
        ax.axvspan(
            policy.points(s["decline_from_pd"]),
            policy.points(s["approve_below_pd"]),
            color=POLICY_COLOR,
            alpha=0.1,
            label="refer band",
        )
    ax.set(
        xlabel=(
            f"Score points ({policy.base_points:g} at odds {policy.base_odds:g}:1, "
            f"PDO {policy.pdo:g})"
        ),
        ylabel="Density",
        title=_title("Score distribution by outcome", title),
    )
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)


def _cost_threshold(fig: Figure, y: _Y, p: _P, policy: DecisionPolicy, title: str) -> None:
    ax = fig.add_subplot()
    costs = CostConfig(false_negative=policy.cost_fn, false_positive=policy.cost_fp)
    curve = cost_curve(y, p, costs)
    ax.plot(curve["threshold"], curve["expected_cost"], color="black", lw=2, label="expected cost")
    bayes = DecisionPolicy.bayes_threshold(costs)
    ax.axvline(policy.threshold, color=POLICY_COLOR, lw=2, label=f"chosen {policy.threshold:.3f}")
    ax.axvline(bayes, color=BAYES_COLOR, ls="--", lw=1.5, label=f"Bayes {bayes:.3f}")
    ax.set(
        xlim=(0, 1),
        xlabel="PD threshold (decline when PD ≥ threshold)",
        ylabel=f"Expected cost per applicant (FN {policy.cost_fn:g} : FP {policy.cost_fp:g})",
        title=_title("Expected cost by threshold", title),
    )
    twin = ax.twinx()
    twin.plot(curve["threshold"], curve["approval_rate"], color="grey", ls=":", lw=1.5)
    twin.set(ylim=(0, 1.01), ylabel="Approval rate (dotted)")
    ax.legend(loc="upper center", fontsize="small")
    ax.grid(alpha=0.3)


_PLOTTERS: dict[str, Callable[[Figure, _Y, _P, DecisionPolicy, str], None]] = {
    "roc": _roc,
    "pr": _pr,
    "calibration": _calibration,
    "ks": _ks,
    "score_distribution": _score_distribution,
    "cost_threshold": _cost_threshold,
}


def save_evaluation_plots(
    y: ArrayLike,
    p: ArrayLike,
    policy: DecisionPolicy,
    out_dir: Path,
    *,
    title: str = "",
) -> dict[str, Path]:
    """Write the evaluation PNGs of ``(y, p)`` under ``policy`` to ``out_dir``.

    Returns ``{name: path}`` for ``roc``, ``pr``, ``calibration``, ``ks``,
    ``score_distribution`` and ``cost_threshold``; ``title`` (e.g. the model name) prefixes
    every plot title. Ranking plots show a note instead of a curve when ``y`` has one class.
    """
    y_arr, p_arr = check_labels_and_pd(y, p)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in PLOT_NAMES:
        fig = new_figure()
        _PLOTTERS[name](fig, y_arr, p_arr, policy, title)
        path = out / f"{name}.png"
        fig.savefig(path, dpi=DPI)
        paths[name] = path
    return paths


def importance_png(rows: Sequence[Any], top: int = 15) -> bytes:
    """Horizontal bars of permutation importance (``rows``: ``FeatureImportance``, largest
    first), the ``top`` largest, with their standard deviation."""
    shown = list(rows[:top])[::-1]
    fig = new_figure(7.0, 0.32 * len(shown) + 1.2)
    ax = fig.add_subplot()
    ax.barh(
        [r.feature for r in shown],
        [r.mean for r in shown],
        xerr=[r.std for r in shown],
        color="#1f77b4",
        alpha=0.85,
    )
    ax.axvline(0, color="grey", lw=1)
    ax.set(
        xlabel="Mean drop in validation ROC-AUC when shuffled",
        title="Permutation importance (validation set)",
    )
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    return png_bytes(fig)
