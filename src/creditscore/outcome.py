"""The outcome: which values of the target mark a bad, which a good, and which neither.

A target may have two values (good and bad), or more, as a loan status does ('Fully Paid',
'Charged Off', 'Current', 'Late (31-120 days)'). ``data.positive`` names the value, or
lists the values, that mark a bad; ``data.negative`` lists those that mark a good. With
two values ``data.negative`` may be left out: the other value is the good. A row whose
value is in neither list is *indeterminate*: its outcome is not known yet, or is
deliberately not called (accounts too young, or only briefly late, as credit-risk practice
leaves them out). A row with an empty target has no outcome recorded. Training leaves both
out and says how many; monitoring counts them as outcomes not known yet.

Values are compared by :func:`label_key`, so ``1``, ``1.0`` and ``'1'`` agree, surrounding
spaces do not matter, and YAML's ``yes`` (read as ``True``) matches a text ``'yes'``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from creditscore.formatting import value_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BAD",
    "GOOD",
    "INDETERMINATE",
    "MISSING",
    "NO_OUTCOME",
    "Outcome",
    "factorized_keys",
    "label_key",
    "label_keys",
    "matching_key",
]

#: Codes of :meth:`Outcome.codes`.
BAD, GOOD, MISSING, INDETERMINATE = 1, 0, -1, -2
#: How rows with an empty target are named where rows left out of training are listed.
NO_OUTCOME = "(no outcome)"

_TRUE_WORDS = {"true", "yes", "y", "1", "t", "on"}
_FALSE_WORDS = {"false", "no", "n", "0", "f", "off"}


def label_key(value: Any) -> str:
    """A label's comparable form: ``1``, ``1.0`` and ``'1'`` agree; ``True`` is ``'true'``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if np.isfinite(number) and number.is_integer():
        return str(int(number))
    return repr(number)


def factorized_keys(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """(per row the index of its distinct value, -1 where missing; each distinct value's
    :func:`label_key`): a column's labels, each one keyed once."""
    import pandas as pd

    idx, uniques = pd.factorize(values, use_na_sentinel=True)
    return idx, [label_key(u) for u in uniques]


def label_keys(values: pd.Series) -> pd.Series:
    """:func:`label_key` of every value (missing stays missing), each distinct value once."""
    import pandas as pd

    idx, keys = factorized_keys(values)
    table = np.asarray([*keys, None], dtype=object)
    return pd.Series(table[idx], index=values.index, dtype=object)


def matching_key(value: Any, keys: Iterable[str]) -> str | None:
    """Which of ``keys`` (label keys of a column's values) the configured ``value`` names.

    YAML turns an unquoted ``yes`` into ``True``: a boolean also matches the usual spellings
    of yes/no. A text that matches no key exactly matches one that differs only in case.
    """
    keys = list(keys)
    wanted = label_key(value)
    if wanted in keys:
        return wanted
    if isinstance(value, bool):
        words = _TRUE_WORDS if value else _FALSE_WORDS
        hits = [k for k in keys if k.casefold() in words]
        if len(hits) == 1:
            return hits[0]
    folded = [k for k in keys if k.casefold() == wanted.casefold()]
    return folded[0] if len(folded) == 1 else None


def _as_tuple(values: Any) -> tuple[Any, ...]:
    if values is None:
        return ()
    if isinstance(values, list | tuple):
        return tuple(values)
    return (values,)


@dataclass(frozen=True)
class Outcome:
    """The values that mark a bad and, when listed, those that mark a good."""

    bad: tuple[Any, ...]
    good: tuple[Any, ...] = ()

    @classmethod
    def of(cls, positive: Any, negative: Any = None) -> Outcome:
        """From ``data.positive`` (a value or a list) and ``data.negative`` (a list or None)."""
        bad = _as_tuple(positive)
        if not bad:
            raise ValueError("the outcome needs at least one value that marks a bad")
        return cls(bad, _as_tuple(negative))

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], positive: Any = None) -> Outcome:
        """A model's outcome (its metadata's ``positive`` and ``negative``); a ``positive``
        given here replaces both: that value is bad and every other value good."""
        if positive is not None:
            return cls.of(positive)
        return cls.of(meta.get("positive", 1), meta.get("negative"))

    @property
    def bad_text(self) -> str:
        """The bad values as a reader would write them: ``'bad'`` or ``'a' or 'b'``."""
        return " or ".join(value_text(v) for v in self.bad)

    @property
    def good_text(self) -> str:
        return " or ".join(value_text(v) for v in self.good) if self.good else "any other value"

    def codes(self, values: pd.Series) -> np.ndarray:
        """Per value: :data:`BAD`, :data:`GOOD`, :data:`MISSING` or :data:`INDETERMINATE`
        (int8). Without a list of goods, every present value that is not a bad is good.
        A listed value names the target's values that differ from it only in case. Each
        distinct value is looked at once."""
        idx, keys = factorized_keys(values)
        distinct = list(dict.fromkeys(keys))
        bad = set(self._keys(self.bad, distinct))
        good = set(self._keys(self.good, distinct))
        other = INDETERMINATE if self.good else GOOD
        table = [BAD if k in bad else GOOD if k in good else other for k in keys]
        return np.asarray([*table, MISSING], dtype=np.int8)[idx]

    def as_float(self, values: pd.Series) -> np.ndarray:
        """1.0 bad, 0.0 good, NaN where the outcome is missing or indeterminate."""
        codes = self.codes(values)
        out = codes.astype(float)
        out[codes < 0] = np.nan
        return out

    def absent(self, values: pd.Series) -> tuple[list[Any], list[Any]]:
        """(bad values, good values) of this outcome that never occur in ``values``."""
        uniques = list(dict.fromkeys(factorized_keys(values)[1]))
        return (
            [v for v in self.bad if matching_key(v, uniques) is None],
            [v for v in self.good if matching_key(v, uniques) is None],
        )

    def overlap(self) -> list[Any]:
        """Values listed both as bad and as good (a configuration error)."""
        bad = {label_key(v) for v in self.bad}
        return [v for v in self.good if label_key(v) in bad]

    @staticmethod
    def _keys(wanted: Sequence[Any], uniques: list[str]) -> list[str]:
        """Every key a wanted value names: itself, its spellings in other cases
        ('charged off' for 'Charged Off'), and yes/no words for a boolean."""
        out: list[str] = []
        for value in wanted:
            folded = label_key(value).casefold()
            hits = [k for k in uniques if k.casefold() == folded]
            if not hits:
                one = matching_key(value, uniques)
                hits = [one] if one is not None else []
            out += hits
        return out
