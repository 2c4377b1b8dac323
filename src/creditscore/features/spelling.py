"""The spelling rule for categories: case and runs of spaces do not matter.

One rule for every reader of a category (InputCleaner, the input schema, the API's request
model, the Scorer's validation, the compiled path, batch validation, monitoring and the
explainers). It imports nothing but pandas, so scoring code can use it without loading
scikit-learn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import pandas as pd


def canonical_key(value: str) -> str:
    """The spelling rule for categories: case and runs of spaces do not matter (shared by
    InputCleaner, the input schema, the API's request model, the Scorer's validation, the
    compiled path and the explainers)."""
    return " ".join(value.split()).casefold()


def canonical_spellings(values: Iterable[Any]) -> dict[str, str]:
    """Canonical key -> the one spelling shown and modelled for it: the spelling seen most
    often (the first of equals), with its spaces trimmed and collapsed ("rent " -> "rent").

    InputCleaner maps every value to it and the input schema lists exactly these, so a
    client's "RENT", "rent" and " rent " all become the category the model was trained on
    and reason texts show the same spelling."""
    counts = Counter(str(v) for v in values if not _is_missing(v))
    best: dict[str, tuple[int, str]] = {}
    for value, n in counts.items():
        key = canonical_key(value)
        if key not in best or n > best[key][0]:
            best[key] = (n, value)
    return {k: " ".join(v.split()) for k, (_, v) in best.items()}


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA
