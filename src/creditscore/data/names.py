"""Column names as words: the one tokeniser every name rule reads (``init``'s ids, the
protected-attribute vocabulary, fairness grouping).

Names are folded to plain ASCII first (German umlauts as ``ae``/``oe``/``ue``, other accents
dropped: ``Staatsangehörigkeit`` -> ``staatsangehoerigkeit``, ``âge`` -> ``age``,
``género`` -> ``genero``), then split at anything that is not a letter or digit and at
camel-case humps. Standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from typing import Any

__all__ = [
    "AFFIXES", "PERSONS", "fold", "person", "read_as", "same_words", "tokens", "without_affixes",
]  # fmt: skip

_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_GERMAN = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)

#: Words around a name that say nothing about what it holds: ``is_female``, ``male_flag``,
#: ``race_cd``, ``sex_code``, ``age_band``.
AFFIXES = frozenset(
    {
        "is", "has", "flag", "flg", "ind", "indicator", "code", "cd", "yn", "grp", "group",
        "groups", "band", "bands", "cat", "category", "bucket", "class", "status", "type",
        "desc", "description", "value", "val", "id", "no", "nr", "num", "of", "the", "x",
    }
)  # fmt: skip
#: Words naming whose attribute it is (``applicant_sex``, ``co_applicant_race``).
PERSONS = frozenset(
    {
        "applicant", "applicants", "app", "borrower", "borrowers", "coapplicant", "coborrower",
        "co", "customer", "cust", "client", "primary", "main", "secondary", "joint",
        "antragsteller", "kunde", "demandeur", "emprunteur", "solicitante", "cliente",
    }
)  # fmt: skip


def fold(text: str) -> str:
    """``text`` in plain ASCII (umlauts spelled out, other accents dropped)."""
    text = str(text).translate(_GERMAN)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def tokens(name: str) -> list[str]:
    """Split a column name into lower-case ASCII words: ``personal_status_and_sex`` ->
    personal/status/and/sex, ``dateOfBirth`` -> date/of/birth, ``PAY_AMT1`` -> pay/amt/1."""
    out: list[str] = []
    for part in re.split(r"[^0-9A-Za-z]+", fold(name)):
        out.extend(m.lower() for m in _CAMEL.findall(part))
    return out


def same_words(
    wanted: Sequence[Any], names: Sequence[Any], only: Collection[Any]
) -> dict[Any, Any]:
    """Wanted column -> the one column of ``names`` with the same words, for the columns
    of ``only`` missing from ``names`` under their own name: ``CREDIT AMOUNT``,
    ``Credit-Amount`` or ``creditAmount`` for ``credit_amount``. None where two columns
    share the words or the match is itself wanted."""
    present, taken = set(names), set(wanted)
    same: dict[str, list[Any]] = {}
    for n in names:
        same.setdefault("_".join(tokens(str(n))), []).append(n)
    out: dict[Any, Any] = {}
    for c in wanted:
        words = "_".join(tokens(str(c)))
        if c in present or c not in only or not words:
            continue
        found = [n for n in same.get(words, []) if n not in taken]
        if len(found) == 1 and found[0] not in out.values():
            out[c] = found[0]
    return out


def read_as(renamed: dict[Any, Any], limit: int = 5) -> str:
    """:func:`same_words`' matches for people: ``'CREDIT AMOUNT' as credit_amount, ...``
    (the first ``limit``, then how many more)."""
    shown = [f"{source!r} as {name}" for name, source in renamed.items()]
    more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


def person(words: list[str]) -> str:
    """``"co-applicant"`` when the name is about a co-applicant (``co_applicant_sex``,
    ``coborrower_race``), else ``""``."""
    joined = "".join(words)
    if "coapplicant" in joined or "coborrower" in joined or "coapp" in joined:
        return "co-applicant"
    if "co" in words and ({"applicant", "borrower", "app"} & set(words)):
        return "co-applicant"
    return ""


def without_affixes(words: list[str]) -> list[str]:
    """The words that carry meaning: no affixes, no person words."""
    return [w for w in words if w not in AFFIXES and w not in PERSONS]
