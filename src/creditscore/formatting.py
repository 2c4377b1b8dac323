"""One number formatter and one JSON sanitiser, used by every table, page and document.

Runtime-safe (standard library and numpy only): the service, the CLI, the reporting layer
and the JSON documents saved with a model all format and sanitise values the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

#: What a missing or non-finite value is shown as.
MISSING = "–"


def fmt(value: Any, digits: int = 4, *, missing: str = MISSING) -> str:
    """A value for a table cell: ``digits`` decimals for floats (general format when very
    large or very small), thousands separators for integers, yes/no for booleans."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return missing
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 10**-digits):
            return f"{value:.{digits}g}"
        return f"{value:.{digits}f}"
    if isinstance(value, list | dict):
        return json.dumps(jsonable(value))
    return str(value)


def value_text(value: Any) -> str:
    """A value as a user would recognise it in the file: texts quoted, 2.0 as 2."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


def pct(value: Any, digits: int = 1, *, missing: str = MISSING) -> str:
    """A share as a percentage: ``0.1234`` -> ``12.3 %``."""
    if value is None:
        return missing
    x = float(value)
    return missing if not math.isfinite(x) else f"{100 * x:.{digits}f} %"


def interval(ci: tuple[float, float] | list[float] | None, digits: int = 3) -> str:
    """``[lo, hi]``, or an empty string when either end is missing."""
    if not ci or any(v is None or not math.isfinite(float(v)) for v in ci):
        return ""
    return f"[{float(ci[0]):.{digits}f}, {float(ci[1]):.{digits}f}]"


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON: numpy scalars and arrays to Python, NaN and infinity to
    None, paths and dates to strings, mappings keyed by strings; anything else by its text."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)
