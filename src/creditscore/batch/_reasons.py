"""TEMPORARY ADAPTER, to be replaced at merge by the Scorer's own batch call.

Helper "fastpath" gives the Scorer ``score_frame(frame, *, reasons=0, explain=None)``,
returning ``probability_of_default``, ``score``, ``risk_band``, ``decision`` and, when
``reasons > 0``, ``reason_{i}_code``, ``reason_{i}_feature``, ``reason_{i}_text`` and
``reason_{i}_contribution`` for i = 1..reasons (declines and referrals by default, every
row with ``explain=True``, none with ``explain=False``). Until it lands, :func:`score_frame`
builds exactly those columns from today's API: ``Scorer.score_frame(frame)`` and
``Scorer.explainer.reasons_many`` on the rows that need reason codes.

To swap: make the body of :func:`score_frame` ``return scorer.score_frame(frame,
reasons=reasons, explain=explain)`` (or call that at its one call site in
``creditscore.batch.chunks`` and delete this module). ``tests/batch`` checks the column
contract, not this function, so the tests hold after the swap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditscore.scorer import Scorer

REASON_PARTS = ("code", "feature", "text", "contribution")


def reason_columns(reasons: int) -> list[str]:
    """``reason_1_code``, ``reason_1_feature``, ..., ``reason_{reasons}_contribution``."""
    return [f"reason_{i}_{part}" for i in range(1, reasons + 1) for part in REASON_PARTS]


def score_frame(
    scorer: Scorer, frame: pd.DataFrame, *, reasons: int = 0, explain: bool | None = None
) -> pd.DataFrame:
    """The Scorer's batch result with ``reasons`` reason codes as columns (see module)."""
    out = scorer.score_frame(frame)
    if reasons <= 0:
        return out
    n = len(out)
    columns: dict[str, np.ndarray] = {}
    for name in reason_columns(reasons):
        columns[name] = (
            np.full(n, np.nan) if name.endswith("_contribution") else np.full(n, None, object)
        )
    explainer = scorer.explainer
    if explainer is not None and explain is not False and n:
        wanted = (
            np.ones(n, dtype=bool)
            if explain
            else (out["decision"].to_numpy(dtype=object) != "approve")
        )
        rows = np.flatnonzero(wanted)
        if len(rows):
            codes = explainer.reasons_many(frame.iloc[rows], reasons)
            for row, found in zip(rows, codes, strict=True):
                for i, rc in enumerate(found, start=1):
                    columns[f"reason_{i}_code"][row] = rc.code
                    columns[f"reason_{i}_feature"][row] = rc.feature
                    columns[f"reason_{i}_text"][row] = rc.text
                    columns[f"reason_{i}_contribution"][row] = rc.contribution
    return pd.concat([out, pd.DataFrame(columns, index=out.index)], axis=1)
