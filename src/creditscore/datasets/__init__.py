"""Bundled data: the Statlog German credit data (see ``ATTRIBUTION.md``), so that the demo
and the tests run on a fresh machine with no data at hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

_HERE = Path(__file__).resolve().parent
GERMAN_CSV = _HERE / "german_credit.csv"
GERMAN_CONFIG = _HERE / "german.yaml"
GERMAN_TARGET = "creditability"
GERMAN_POSITIVE = "bad"


def load_german() -> pd.DataFrame:
    """The 1,000 German credit applications, 20 characteristics and ``creditability``
    (``good``/``bad``; 300 bads)."""
    return pd.read_csv(GERMAN_CSV)
