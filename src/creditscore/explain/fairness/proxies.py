"""Possible proxies: how well each model input, on its own, predicts each protected attribute.

A protected attribute kept out of the model can come back through an input that stands in
for it (a postcode for race, a first name for sex, years at the employer for age). For every
input and every attribute (its groups as fairness reads them, :mod:`creditscore.explain.
fairness.groups`) this measures:

* the single-feature ROC-AUC of telling one group from the others (for two groups, one from
  the other; for more, each from the rest, keeping the group it singles out best), symmetric
  (0.5: no information, 1.0: the input gives the group away). Numbers are ranked as they
  are; categories by their out-of-fold share of the group, so a high-cardinality column
  does not score by memorising;
* Cramér's V (bias-corrected) for a categorical input against the groups.

An input whose AUC reaches ``min_auc`` (``fairness.proxy_min_auc``, default 0.8) is a
*strong* possible proxy: ``init`` lists it in its table and the YAML, the model card in its
"Possible proxies" section. Proxies are flagged, never dropped: whether an input is a
legitimate predictor is a judgement the credit-risk team makes and records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from creditscore.evaluation.association import column_score, cramers_v, oof_rate, rank_auc
from creditscore.formatting import jsonable

__all__ = ["DEFAULT_MIN_AUC", "ProxyReport", "ProxyScore", "proxy_scores"]

DEFAULT_MIN_AUC = 0.8
#: Rows used at most (a random sample beyond): AUCs of this size are exact to ~0.005.
MAX_ROWS = 20_000
#: Groups smaller than this are not scored (an AUC over a handful of rows is noise).
MIN_GROUP = 20
_MISSING = "missing"


@dataclass(frozen=True)
class ProxyScore:
    """How well ``feature`` alone tells ``group`` of ``attribute`` from the other groups."""

    feature: str
    attribute: str
    group: str
    auc: float
    cramers_v: float | None
    strong: bool

    def text(self) -> str:
        v = "" if self.cramers_v is None else f", Cramér's V {self.cramers_v:.2f}"
        which = self.group if " vs " in self.group else f"{self.group!r} vs the rest"
        return f"{self.attribute} (AUC {self.auc:.2f}, {which}{v})"


@dataclass
class ProxyReport:
    """Every (input, attribute) score, the strongest first, and the limit used."""

    min_auc: float
    n_rows: int
    scores: list[ProxyScore] = field(default_factory=list)
    attributes: list[str] = field(default_factory=list)
    not_scored: list[str] = field(default_factory=list)

    @property
    def strong(self) -> list[ProxyScore]:
        return [s for s in self.scores if s.strong]

    def of(self, feature: str) -> list[ProxyScore]:
        """The strong proxies of one input."""
        return [s for s in self.strong if s.feature == feature]

    def strongest(self) -> dict[str, ProxyScore]:
        """Per attribute, the input that predicts it best (strong or not)."""
        out: dict[str, ProxyScore] = {}
        for s in self.scores:
            if s.attribute not in out or s.auc > out[s.attribute].auc:
                out[s.attribute] = s
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = jsonable(
            {
                "min_auc": self.min_auc,
                "n_rows": self.n_rows,
                "attributes": list(self.attributes),
                "not_scored": list(self.not_scored),
                "scores": [vars(s) for s in self.scores],
            }
        )
        return out

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ProxyReport:
        return cls(
            float(raw["min_auc"]),
            int(raw["n_rows"]),
            [ProxyScore(**s) for s in raw.get("scores") or []],
            list(raw.get("attributes") or []),
            list(raw.get("not_scored") or []),
        )


def _targets(labels: pd.Series, min_group: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(group, rows used, 0/1 target on those rows) to score: one pair for two groups, one
    group-vs-rest per group otherwise; missing labels and small groups left out."""
    lab = labels.to_numpy(dtype=object)
    known = lab != _MISSING
    counts = pd.Series(lab[known]).value_counts()
    groups = [str(g) for g, n in counts.items() if n >= min_group]
    if len(groups) < 2:
        return []
    if len(groups) == 2:
        rows = np.flatnonzero(np.isin(lab, groups))
        first, second = sorted(groups, key=lambda g: (g.startswith("not "), g))
        return [(f"{first} vs {second}", rows, (lab[rows] == first).astype(np.int8))]
    rows = np.flatnonzero(known)
    return [(g, rows, (lab[rows] == g).astype(np.int8)) for g in groups]


def proxy_scores(
    inputs: pd.DataFrame,
    numeric: Sequence[str],
    attributes: pd.DataFrame,
    *,
    min_auc: float = DEFAULT_MIN_AUC,
    max_rows: int = MAX_ROWS,
    min_group: int = MIN_GROUP,
    seed: int = 0,
) -> ProxyReport:
    """Score every column of ``inputs`` (numbers: ``numeric``; the rest categories) against
    every column of ``attributes`` (group labels per row, ``"missing"`` for unknown)."""
    if len(inputs) != len(attributes):
        raise ValueError(f"inputs ({len(inputs)}) and attributes ({len(attributes)}) differ")
    n = len(inputs)
    rows = np.arange(n)
    if n > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))
    X = inputs.iloc[rows].reset_index(drop=True)
    A = attributes.iloc[rows].reset_index(drop=True)
    numbers = set(numeric)
    report = ProxyReport(float(min_auc), len(rows), attributes=[str(c) for c in A.columns])
    for name in A.columns:
        targets = _targets(A[name].astype(object), min_group)
        if not targets:
            report.not_scored.append(str(name))
            continue
        for feature in X.columns:
            score, codes = column_score(X[feature], feature in numbers)
            best: tuple[float, str] | None = None
            for group, idx, y in targets:
                if score is not None:
                    auc = rank_auc(y, score[idx])
                elif codes is not None:
                    local = pd.factorize(codes[idx])[0].astype(np.int64)
                    auc = rank_auc(y, oof_rate(local, y, seed))
                else:
                    continue
                if best is None or auc > best[0]:
                    best = (auc, group)
            if best is None or not math.isfinite(best[0]):
                continue
            v = None
            if codes is not None:
                lab = A[name].to_numpy(dtype=object)
                known = lab != _MISSING
                v = cramers_v(codes[known], lab[known])
            report.scores.append(
                ProxyScore(str(feature), str(name), best[1], float(best[0]), v, best[0] >= min_auc)
            )
    report.scores.sort(key=lambda s: (-s.auc, s.feature, s.attribute))
    return report
