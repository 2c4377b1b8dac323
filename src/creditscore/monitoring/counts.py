"""Mergeable counts: every statistic of a run is computed from these.

Each chunk of rows is reduced at once to counts per cohort (histogram bins, sums), with
``numpy.bincount`` over ``cohort * bins + bin``; chunks and cohorts then merge by adding.
Memory is the chunk plus a few thousand numbers per cohort, whatever the number of rows,
and the pooled result of all cohorts is the sum of their counts.

A :class:`Chunk` is what a source yields (model inputs, PD, cohort labels and, where known,
the logged decision, outcome and latency); :class:`Accumulator` adds chunks up and hands
out frozen snapshots (:class:`ScoreCounts`, :class:`NumericCounts`,
:class:`CategoricalCounts`) for the calculators.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from creditscore.data.profile import DECISIONS
from creditscore.features.numbers import parse_numbers
from creditscore.features.spelling import canonical_key
from creditscore.monitoring.reference import FeatureReference, Reference

#: Inner PD edges of the fine grid behind AUC, KS, Brier and the estimate: 2,000 bins
#: evenly spaced in log-odds from PD 0.00005 to 0.99995 (ties within a bin move the AUC
#: by well under 0.001).
GRID_EDGES = 1.0 / (1.0 + np.exp(-np.linspace(-10.0, 10.0, 1999)))
#: Latency bins (ms), evenly spaced in log: 0.01 ms to 100 s.
LATENCY_EDGES = np.logspace(-2, 5, 281)
#: Most distinct unseen categories remembered per feature and cohort (for examples).
MAX_UNSEEN_KEPT = 200


@dataclass
class Chunk:
    """Rows from a source. ``frame`` holds the raw model inputs (absent columns: missing)."""

    frame: pd.DataFrame
    pd: np.ndarray  # probability of default, float64
    cohort: np.ndarray  # cohort label of each row
    decisions: np.ndarray | None = None  # logged decision (None: from the policy)
    outcome: np.ndarray | None = None  # 1 bad, 0 good, NaN unknown
    latency_ms: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.pd)


# --------------------------------------------------------------------------- snapshots
@dataclass(frozen=True)
class NumericCounts:
    n: int
    psi: np.ndarray  # per PSI bin of present values, then missing
    hist_n: np.ndarray
    hist_sum: np.ndarray
    missing: int
    invalid: int
    below: int
    above: int


@dataclass(frozen=True)
class CategoricalCounts:
    n: int
    psi: np.ndarray  # kept levels, other seen, unseen, missing
    unseen_examples: list[tuple[str, int]]

    @property
    def missing(self) -> int:
        return int(self.psi[-1])

    @property
    def unseen(self) -> int:
        return int(self.psi[-2])


@dataclass(frozen=True)
class ScoreCounts:
    n: int
    psi: np.ndarray  # per score bin
    sum_pd: float
    grid_n: np.ndarray  # per fine PD bin: rows, sum of PD, labelled goods, labelled bads
    grid_pd: np.ndarray
    grid_good: np.ndarray
    grid_bad: np.ndarray
    band_n: np.ndarray
    band_pd: np.ndarray
    band_labelled: np.ndarray
    band_bad: np.ndarray
    band_labelled_pd: np.ndarray
    decisions: np.ndarray  # approve, refer, decline
    band_decisions: np.ndarray  # bands x decisions
    labelled: int
    bads: int
    sum_pd_labelled: float
    sum_pd2_labelled: float
    sum_pd_bad: float
    latency: np.ndarray  # per latency bin
    has_latency: bool


# --------------------------------------------------------------------------- counters
def _count(codes: np.ndarray, bins: np.ndarray, k: int, nb: int, weights: Any = None) -> Any:
    flat = np.bincount(codes * nb + bins, weights=weights, minlength=k * nb)
    return flat.reshape(k, nb)


def _grow(a: np.ndarray, k: int) -> np.ndarray:
    if a.shape[0] >= k:
        return a
    extra = np.zeros((k - a.shape[0], *a.shape[1:]), dtype=a.dtype)
    return np.concatenate([a, extra])


def as_float(values: pd.Series | None, n: int, decimal: str = ".") -> tuple[np.ndarray, np.ndarray]:
    """Numbers as float64 (missing: NaN) and the mask of values that are not numbers; texts
    read as training read them ('13.95%', '$1,200'; ``decimal`` ',' for '1.234,56')."""
    if values is None:
        return np.full(n, np.nan), np.zeros(n, dtype=bool)
    dtype = values.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(n, dtype=bool)
    return parse_numbers(values, decimal)


def level_text(value: Any) -> str:
    """A category as training wrote it: 2.0 read back from JSON is the level '2'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    return str(value)


def as_levels(values: pd.Series | None, n: int) -> np.ndarray:
    """Categories as training wrote them (object array, missing: None), mapping each
    distinct value once rather than every row."""
    if values is None:
        return np.full(n, None, dtype=object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.asarray([*(level_text(u) for u in uniques), None], dtype=object)
    return table[codes]  # the sentinel -1 reads the trailing None


class _NumericCounter:
    def __init__(self, ref: FeatureReference, decimal: str = ".") -> None:
        self.ref = ref
        self.decimal = decimal
        self.nb = len(ref.psi_edges) + 1
        self.nh = len(ref.hist_edges) + 1
        self.psi = np.zeros((0, self.nb + 1), dtype=np.int64)
        self.hist_n = np.zeros((0, self.nh), dtype=np.int64)
        self.hist_sum = np.zeros((0, self.nh))
        self.scalars = np.zeros((0, 4), dtype=np.int64)  # missing, invalid, below, above

    def grow(self, k: int) -> None:
        self.psi, self.hist_n = _grow(self.psi, k), _grow(self.hist_n, k)
        self.hist_sum, self.scalars = _grow(self.hist_sum, k), _grow(self.scalars, k)

    def add(self, codes: np.ndarray, k: int, values: pd.Series | None) -> None:
        v, invalid = as_float(values, len(codes), self.decimal)
        present = ~np.isnan(v)
        pv, pc = v[present], codes[present]
        hb = np.searchsorted(self.ref.hist_edges, pv, side="right")
        nested = self.ref.psi_of_hist
        pb = (
            nested[hb]
            if nested is not None
            else np.searchsorted(self.ref.psi_edges, pv, side="right")
        )
        missing = np.bincount(codes[~present], minlength=k)
        self.psi[:k, : self.nb] += _count(pc, pb, k, self.nb)
        self.psi[:k, self.nb] += missing
        self.hist_n[:k] += _count(pc, hb, k, self.nh)
        self.hist_sum[:k] += _count(pc, hb, k, self.nh, weights=pv)
        lo, hi = self.ref.minimum, self.ref.maximum
        self.scalars[:k, 0] += missing
        self.scalars[:k, 1] += np.bincount(codes[invalid], minlength=k)
        if lo is not None:
            self.scalars[:k, 2] += np.bincount(pc[pv < lo], minlength=k)
        if hi is not None:
            self.scalars[:k, 3] += np.bincount(pc[pv > hi], minlength=k)

    def snapshot(self, rows: slice | list[int] | int) -> NumericCounts:
        def total(a: np.ndarray) -> np.ndarray:
            return np.asarray(a[rows] if isinstance(rows, int) else a[rows].sum(axis=0))

        psi, scalars = total(self.psi), total(self.scalars)
        return NumericCounts(
            n=int(psi.sum()),
            psi=psi,
            hist_n=total(self.hist_n),
            hist_sum=total(self.hist_sum),
            missing=int(scalars[0]),
            invalid=int(scalars[1]),
            below=int(scalars[2]),
            above=int(scalars[3]),
        )


class _CategoricalCounter:
    def __init__(self, ref: FeatureReference) -> None:
        self.ref = ref
        self.nb = len(ref.psi_labels)
        self.other, self.unseen, self.missing = self.nb - 3, self.nb - 2, self.nb - 1
        self.psi = np.zeros((0, self.nb), dtype=np.int64)
        self.examples: list[Counter[str]] = []
        self._codes: dict[Any, int] = {}  # raw value -> bin (a cache across chunks)

    def grow(self, k: int) -> None:
        self.psi = _grow(self.psi, k)
        while len(self.examples) < k:
            self.examples.append(Counter())

    def _bin(self, value: Any) -> int:
        text = level_text(value)
        key = canonical_key(text)
        hit = self.ref.level_index.get(key)
        if hit is not None:
            return hit
        return self.other if key in self.ref.seen else self.unseen

    def add(self, codes: np.ndarray, k: int, values: pd.Series | None) -> None:
        if values is None:
            self.psi[:k, self.missing] += np.bincount(codes, minlength=k)
            return
        local, uniques = pd.factorize(values, use_na_sentinel=True)
        table = np.empty(len(uniques) + 1, dtype=np.int64)
        for i, u in enumerate(uniques):
            b = self._codes.get(u)
            if b is None:
                b = self._bin(u)
                if len(self._codes) < 100_000:
                    self._codes[u] = b
            table[i] = b
        table[-1] = self.missing  # factorize's -1 (missing) reads the last slot
        bins = table[local]
        self.psi[:k] += _count(codes, bins, k, self.nb)
        unseen = np.flatnonzero(table[:-1] == self.unseen)
        for i in unseen[:MAX_UNSEEN_KEPT]:
            rows = codes[local == i]
            for c, n in zip(*np.unique(rows, return_counts=True), strict=True):
                bucket = self.examples[int(c)]
                if len(bucket) < MAX_UNSEEN_KEPT or level_text(uniques[i]) in bucket:
                    bucket[level_text(uniques[i])] += int(n)

    def snapshot(self, rows: slice | list[int] | int) -> CategoricalCounts:
        if isinstance(rows, int):
            psi, examples = self.psi[rows].copy(), self.examples[rows]
        else:
            psi = np.asarray(self.psi[rows].sum(axis=0))
            picked = (
                self.examples[rows] if isinstance(rows, slice) else [self.examples[i] for i in rows]
            )
            examples = Counter()
            for bucket in picked:
                examples.update(bucket)
        return CategoricalCounts(n=int(psi.sum()), psi=psi, unseen_examples=examples.most_common(5))


class _ScoreCounter:
    def __init__(self, ref: Reference) -> None:
        self.ref = ref
        self.nb = len(ref.score_edges) + 1
        self.ng = len(GRID_EDGES) + 1
        self.nbands = len(ref.band_names)
        self.nl = len(LATENCY_EDGES) + 1
        self.psi = np.zeros((0, self.nb), dtype=np.int64)
        self.grid = np.zeros((0, 4, self.ng))  # rows, sum PD, goods, bads
        self.bands = np.zeros((0, 5, self.nbands))  # rows, sum PD, labelled, bads, sum PD lab.
        self.decisions = np.zeros((0, self.nbands, 3), dtype=np.int64)
        self.sums = np.zeros((0, 6))  # sum PD, labelled, bads, sum PD lab, sum PD^2 lab, PD bad
        self.latency = np.zeros((0, self.nl), dtype=np.int64)
        self.has_latency = False

    def grow(self, k: int) -> None:
        self.psi, self.grid, self.bands = (
            _grow(self.psi, k),
            _grow(self.grid, k),
            _grow(self.bands, k),
        )
        self.decisions, self.sums = _grow(self.decisions, k), _grow(self.sums, k)
        self.latency = _grow(self.latency, k)

    def add(self, codes: np.ndarray, k: int, chunk: Chunk, decision_codes: np.ndarray) -> None:
        p = chunk.pd
        self.psi[:k] += _count(
            codes, np.searchsorted(self.ref.score_edges, p, side="right"), k, self.nb
        )
        g = np.searchsorted(GRID_EDGES, p, side="right")
        band = np.minimum(np.searchsorted(self.ref.band_cuts, p, side="left"), self.nbands - 1)
        self.grid[:k, 0] += _count(codes, g, k, self.ng)
        self.grid[:k, 1] += _count(codes, g, k, self.ng, weights=p)
        self.bands[:k, 0] += _count(codes, band, k, self.nbands)
        self.bands[:k, 1] += _count(codes, band, k, self.nbands, weights=p)
        self.sums[:k, 0] += np.bincount(codes, weights=p, minlength=k)
        known = decision_codes >= 0
        flat = (codes[known] * self.nbands + band[known]) * 3 + decision_codes[known]
        self.decisions[:k] += np.bincount(flat, minlength=k * self.nbands * 3).reshape(
            k, self.nbands, 3
        )
        if chunk.outcome is not None:
            y = chunk.outcome
            lab = ~np.isnan(y)
            if lab.any():
                lc, lp, ly, lg, lb = codes[lab], p[lab], y[lab], g[lab], band[lab]
                self.grid[:k, 2] += _count(lc, lg, k, self.ng, weights=1.0 - ly)
                self.grid[:k, 3] += _count(lc, lg, k, self.ng, weights=ly)
                self.bands[:k, 2] += _count(lc, lb, k, self.nbands)
                self.bands[:k, 3] += _count(lc, lb, k, self.nbands, weights=ly)
                self.bands[:k, 4] += _count(lc, lb, k, self.nbands, weights=lp)
                self.sums[:k, 1] += np.bincount(lc, minlength=k)
                self.sums[:k, 2] += np.bincount(lc, weights=ly, minlength=k)
                self.sums[:k, 3] += np.bincount(lc, weights=lp, minlength=k)
                self.sums[:k, 4] += np.bincount(lc, weights=lp * lp, minlength=k)
                self.sums[:k, 5] += np.bincount(lc, weights=lp * ly, minlength=k)
        if chunk.latency_ms is not None:
            lat = np.asarray(chunk.latency_ms, dtype=float)
            ok = np.isfinite(lat)
            lb2 = np.searchsorted(LATENCY_EDGES, lat[ok], side="right")
            self.latency[:k] += _count(codes[ok], lb2, k, self.nl)
            self.has_latency = True

    def snapshot(self, rows: slice | list[int] | int) -> ScoreCounts:
        def total(a: np.ndarray) -> np.ndarray:
            return np.asarray(a[rows] if isinstance(rows, int) else a[rows].sum(axis=0))

        psi, grid, bands, sums = (
            total(self.psi),
            total(self.grid),
            total(self.bands),
            total(self.sums),
        )
        return ScoreCounts(
            n=int(psi.sum()),
            psi=psi,
            sum_pd=float(sums[0]),
            grid_n=grid[0],
            grid_pd=grid[1],
            grid_good=grid[2],
            grid_bad=grid[3],
            band_n=bands[0],
            band_pd=bands[1],
            band_labelled=bands[2],
            band_bad=bands[3],
            band_labelled_pd=bands[4],
            decisions=total(self.decisions).sum(axis=0),
            band_decisions=total(self.decisions),
            labelled=round(sums[1]),
            bads=round(sums[2]),
            sum_pd_labelled=float(sums[3]),
            sum_pd2_labelled=float(sums[4]),
            sum_pd_bad=float(sums[5]),
            latency=total(self.latency),
            has_latency=self.has_latency,
        )


class Accumulator:
    """Adds chunks up into counts per cohort, in the order cohorts first appear."""

    def __init__(
        self, reference: Reference, policy: Any, decimals: Mapping[str, str] | None = None
    ) -> None:
        self.reference = reference
        self.policy = policy
        self.labels: list[str] = []
        self._index: dict[str, int] = {}
        self.score = _ScoreCounter(reference)
        self.features: dict[str, _NumericCounter | _CategoricalCounter] = {
            f.name: (
                _NumericCounter(f, (decimals or {}).get(f.name, "."))
                if f.kind == "numeric"
                else _CategoricalCounter(f)
            )
            for f in reference.features
        }
        self.rows = 0
        self._decision_code = {d: i for i, d in enumerate(DECISIONS)}

    def _codes(self, cohort: np.ndarray) -> np.ndarray:
        local, uniques = pd.factorize(pd.Series(cohort, dtype=object).fillna("(none)"))
        mapping = np.empty(len(uniques), dtype=np.int64)
        for i, label in enumerate(uniques):
            text = str(label)
            if text not in self._index:
                self._index[text] = len(self.labels)
                self.labels.append(text)
            mapping[i] = self._index[text]
        k = len(self.labels)
        self.score.grow(k)
        for counter in self.features.values():
            counter.grow(k)
        return mapping[local]

    def add(self, chunk: Chunk) -> None:
        if not len(chunk):
            return
        codes = self._codes(chunk.cohort)
        k = len(self.labels)
        if chunk.decisions is None:
            decisions = self.policy.decide_many(chunk.pd)
        else:
            decisions = chunk.decisions
        decision_codes = (
            pd.Series(decisions, dtype=object)
            .map(self._decision_code)
            .fillna(-1)
            .to_numpy(np.int64)
        )
        self.score.add(codes, k, chunk, decision_codes)
        frame = chunk.frame
        for name, counter in self.features.items():
            counter.add(codes, k, frame[name] if name in frame.columns else None)
        self.rows += len(chunk)

    def ensure(self, labels: list[str]) -> None:
        """Make ``labels`` cohorts even if no row of theirs was added (a period whose every
        request failed has errors but no decisions)."""
        if labels:
            self._codes(np.asarray(labels, dtype=object))

    def count(self, label: str) -> int:
        """Rows added to the cohort ``label``."""
        return int(self.score.psi[self._index[label]].sum())

    # ------------------------------------------------------------------ snapshots
    def cohort(self, label: str) -> tuple[ScoreCounts, dict[str, Any]]:
        i = self._index[label]
        return self.score.snapshot(i), {n: c.snapshot(i) for n, c in self.features.items()}

    def pooled(self, labels: list[str] | None = None) -> tuple[ScoreCounts, dict[str, Any]]:
        """The sum of every cohort's counts (or of ``labels`` only)."""
        rows: slice | list[int] = slice(0, len(self.labels))
        if labels is not None:
            rows = [self._index[label] for label in labels]
        return self.score.snapshot(rows), {n: c.snapshot(rows) for n, c in self.features.items()}
