"""Numbers written as text: ``'13.95%'``, ``'$3,174.37'``, ``'1.234,56 EUR'``, ``'(250.00)'``.

Exports of loan systems and spreadsheets write numbers for people: a percent sign, a
currency symbol or code, thousands separators, accounting negatives in parentheses, and in
much of Europe a decimal comma. Every reader of a model input (training, the pipeline, the
compiled scorer, batch files, monitoring files) turns such text into the same number with
:func:`parse_numbers`: the sign, digits and decimals are kept as written (``'13.95%'`` is
13.95, as the column reads), the rest is dropped. A column's decimal separator is ``.``
unless ``data.decimal_comma`` lists it (``init`` proposes it when the texts say so:
``'1.234,56'``, ``'15,5'``). A text that is not such a number (``'n/a'``, ``'12k'``) is
not a number: a special code, or an error naming the value.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "decimal_separator",
    "formatted_examples",
    "is_formatted",
    "parse_number",
    "parse_numbers",
]

# a currency before or after the number: a symbol, 'US$', or an ISO code such as EUR
_CODES = (
    "USD EUR GBP CHF JPY CNY INR CAD AUD NZD SEK NOK DKK PLN CZK HUF BRL MXN ZAR TRY RUB KRW "
    "SGD HKD TWD NTD ILS RON BGN AED SAR"
)
_CURRENCY = rf"(?:US\$|[$€£¥₹₩₽₺₪฿₫₴₦]|{'|'.join(_CODES.split())})"
_SPACES = "\u00a0\u202f\u2009 "
_NUMBER = {
    ".": re.compile(r"^[+-]?(?:\d{1,3}(?:[,'\u00a0\u202f\u2009 ]\d{3})+|\d+)?(?:\.\d+)?$"),
    ",": re.compile(r"^[+-]?(?:\d{1,3}(?:[.'\u00a0\u202f\u2009 ]\d{3})+|\d+)?(?:,\d+)?$"),
}
_AROUND = re.compile(
    rf"^(?P<neg>-)?\s*{_CURRENCY}?\s*(?P<body>[+-]?[\d.,'{_SPACES}]*\d[\d.,'{_SPACES}]*)"
    rf"\s*(?:%|{_CURRENCY})?$"
)
_GROUPED_COMMA = re.compile(r"^\d{1,3}(?:,\d{3})+$")  # 1,234 or 1,234,567
_GROUPED_DOT = re.compile(r"^\d{1,3}(?:\.\d{3})+$")  # 1.234 or 1.234.567


def parse_number(text: str, decimal: str = ".") -> float | None:
    """The number ``text`` writes (see the module docstring), or None; ``'nan'`` is NaN
    (missing), an infinity is not a number."""
    t = text.strip()
    if not t:
        return None
    if decimal == "." or not ("," in t or "." in t):  # '1.234' is 1234 with a decimal comma
        try:
            value = float(t)
            return value if math.isfinite(value) or math.isnan(value) else None
        except ValueError:
            pass
    negative = t.startswith("(") and t.endswith(")")
    if negative:
        t = t[1:-1].strip()
    m = _AROUND.match(t)
    if m is None:
        return None
    body = m.group("body").strip()
    if not _NUMBER[decimal].match(body):
        return None
    thousands = "," if decimal == "." else "."
    cleaned = body.replace(thousands, "").replace("'", "")
    for space in _SPACES:
        cleaned = cleaned.replace(space, "")
    cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    if m.group("neg"):
        value = -value
    return -value if negative else value


def parse_numbers(values: pd.Series, decimal: str = ".") -> tuple[np.ndarray, np.ndarray]:
    """(float64 values, mask of present values that are not numbers). Numbers stay as they
    are; each distinct text is parsed once; blank texts are missing."""
    import pandas as pd

    kind = values.dtype
    if pd.api.types.is_bool_dtype(kind) or (
        pd.api.types.is_numeric_dtype(kind) and not isinstance(kind, pd.CategoricalDtype)
    ):
        return values.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(values), bool)
    out = np.full(len(values), np.nan)
    todo = values.notna().to_numpy().copy()
    if decimal == ".":  # plain numbers the fast way; only what that misses is read below
        try:
            plain = pd.to_numeric(values, errors="coerce")
            numbers = np.asarray(plain.to_numpy(dtype=np.float64, na_value=np.nan))
        except (TypeError, ValueError):  # cells pandas cannot look at (lists): all slow
            numbers = np.full(len(values), np.nan)
        finite = np.isfinite(numbers)
        out[finite] = numbers[finite]
        todo &= ~finite
    if not todo.any():
        return out, np.zeros(len(values), dtype=bool)
    rest, not_number = _parse_distinct(values[todo], decimal)
    out[todo] = rest
    bad = np.zeros(len(values), dtype=bool)
    bad[todo] = not_number
    return out, bad


def _parse_distinct(values: pd.Series, decimal: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`parse_numbers` the slow way: each distinct value through :func:`parse_number`."""
    import pandas as pd

    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    parsed = np.full(len(uniques) + 1, np.nan)
    not_number = np.zeros(len(uniques) + 1, dtype=bool)
    for j, u in enumerate(uniques):
        if isinstance(u, (bool | np.bool_, int | float | np.integer | np.floating)):
            number = float(u)
            if math.isinf(number):  # an infinity is not a number an application may carry
                not_number[j] = True
            else:
                parsed[j] = number
        else:
            text = str(u)
            value = parse_number(text, decimal)
            if value is None:
                not_number[j] = bool(text.strip())
            else:
                parsed[j] = value
    return parsed[codes], not_number[codes]


def formatted_examples(values: pd.Series, limit: int = 2) -> list[str]:
    """Up to ``limit`` of a text column's distinct values (among its first 200) that write
    numbers for people."""
    sample = values.dropna().astype(str).unique()[:200]
    return [v for v in sample if is_formatted(v)][:limit]


def is_formatted(text: str) -> bool:
    """Is ``text`` a number only once its formatting is read (``'13.95%'``, not ``'13.95'``)?"""
    t = text.strip()
    try:
        float(t)
        return False
    except ValueError:
        return parse_number(t, decimal_separator_of(t) or ".") is not None


def decimal_separator_of(text: str) -> str | None:
    """``','`` or ``'.'`` when ``text`` shows which one separates decimals, else None."""
    digits = re.sub(r"[^\d.,]", "", text)
    if "." in digits and "," in digits:
        return "," if digits.rfind(",") > digits.rfind(".") else "."
    if "," in digits:
        if _GROUPED_COMMA.match(digits):
            return None  # 1,234: thousands or a decimal comma
        return "," if digits.count(",") == 1 else "."
    if "." in digits:
        if _GROUPED_DOT.match(digits) and digits.count(".") > 1:
            return ","  # 1.234.567
        return None if _GROUPED_DOT.match(digits) else "."
    return None


def decimal_separator(values: pd.Series) -> str:
    """The decimal separator a text column's numbers use: ``','`` when more of its distinct
    values say so than say ``'.'`` ('1.234,56', '15,5'), else ``'.'``."""
    votes = {".": 0, ",": 0}
    for u in values.dropna().astype(str).unique()[:5000]:
        found = decimal_separator_of(u)
        if found:
            votes[found] += 1
    return "," if votes[","] > votes["."] else "."
