"""The target of ``init``: which values of the outcome column mark a bad, which a good.

A two-valued target needs no help when one value reads as a bad ('bad', 'default',
'yes', 'Charged Off', ...) or it is 0/1 (1 is the bad, unless the column's name says that 1
is a good: ``approved``, ``repaid``, ``good``). A target with more values (a loan status)
needs ``--positive`` for each value that marks a bad; ``--negative`` names the goods, and a
row whose value is in neither list is indeterminate (left out of training). Without
``--negative`` every other value is a good, and the YAML lists them all for review.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from creditscore.config import Scalar
from creditscore.data.ingest import delimiter_hint
from creditscore.data.names import tokens
from creditscore.exceptions import ConfigError
from creditscore.formatting import value_text
from creditscore.outcome import BAD, INDETERMINATE, MISSING, Outcome, label_key, matching_key

__all__ = ["BAD_LABELS", "TargetChoice", "guess_target", "resolve_target"]

BAD_LABELS = frozenset(
    {
        "1",
        "bad",
        "default",
        "defaulted",
        "defaulter",
        "yes",
        "y",
        "ja",
        "oui",
        "si",
        "sí",
        "true",
        "charged off",
        "charged-off",
        "chargedoff",
        "charge off",
        "charge-off",
        "written off",
        "written-off",
        "write-off",
        "write off",
        "delinquent",
        "bad loan",
        "bad debt",
        "fraud",
        "late",
        "event",
        "positive",
    }
)


#: Words in a bad value of a many-valued target (a loan status), to suggest --positive.
_BAD_WORDS = frozenset(
    {"bad", "default", "defaulted", "charged", "chargeoff", "written", "writeoff", "late",
     "delinquent", "delinquency", "fraud", "loss", "collection", "collections", "bankrupt",
     "bankruptcy", "foreclosure", "dpd"}
)  # fmt: skip
_YES = frozenset({"1", "yes", "y", "true", "t", "ja", "j", "oui", "si", "sí"})
_NO = frozenset({"0", "no", "n", "false", "f", "nein", "non"})
#: Words in a 0/1 target's name saying that 1 is a good: ``approved``, ``repaid``, ``good``.
_GOOD_NAME_WORDS = frozenset(
    {"good", "approve", "approved", "approval", "accept", "accepted", "acceptance", "repaid",
     "repay", "paid", "performing", "creditworthy", "creditworthiness", "creditability",
     "solvent", "granted", "funded", "success", "successful"}
)  # fmt: skip
#: Words in a target's name saying that 1 is a bad (they win over the good words).
_BAD_NAME_WORDS = frozenset(
    {"bad", "default", "defaulted", "reject", "rejected", "deny", "denied", "decline",
     "declined", "delinquent", "delinquency", "delinq", "charge", "charged", "chargeoff",
     "fraud", "loss", "writeoff", "dpd", "arrears", "npl", "not", "non", "un", "no"}
)  # fmt: skip


@dataclass
class TargetChoice:
    """What init made of the target: the bad value(s), the good values when there are
    more than one, the codes per row, and notes for the user."""

    positive: Scalar | list[Scalar]
    negative: list[Scalar]
    y: np.ndarray  # int8: 1 bad, 0 good, -1 missing, -2 indeterminate
    counts: dict[str, int]  # value (as written) -> rows
    notes: list[str] = field(default_factory=list)

    @property
    def n_bads(self) -> int:
        return int((self.y == BAD).sum())

    @property
    def n_known(self) -> int:
        return int((self.y >= 0).sum())

    @property
    def n_indeterminate(self) -> int:
        return int((self.y == INDETERMINATE).sum())


def _python(value: Any) -> Scalar:
    """A numpy scalar as a plain Python value; whole floats as ints (1.0 -> 1)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _as_list(values: Scalar | Sequence[Scalar] | None) -> list[Scalar]:
    if values is None:
        return []
    if isinstance(values, str | bool | int | float):
        return [values]
    return list(values)


def _missing_column(df: pd.DataFrame, target: str) -> ConfigError:
    columns = [str(c) for c in df.columns]
    close = difflib.get_close_matches(target, columns, n=3, cutoff=0.5)
    lowered = [c for c in columns if c.casefold() == target.casefold()]
    hint = close or lowered
    shown = f"did you mean {', '.join(repr(c) for c in hint)}? " if hint else ""
    listing = ", ".join(repr(c) for c in columns[:30])
    more = f", ... ({len(columns)} in all)" if len(columns) > 30 else ""
    return ConfigError(
        f"target column {target!r} is not in the data; {shown}the columns are: {listing}{more}"
        + delimiter_hint(columns)
    )


def _suggestion(target: str, keys: list[str]) -> str:
    """``--positive 'Charged Off' --positive 'Late'`` from the values that read as bads."""
    bad = [k for k in keys if set(tokens(k)) & _BAD_WORDS or k.casefold() in BAD_LABELS]
    good = [k for k in keys if k not in bad]
    if not bad or not good:
        return f"pass --positive once for each value that marks a bad, e.g. --positive {keys[0]!r}"
    flags = " ".join(f"--positive {k!r}" for k in bad)
    return (
        f"pass --positive once for each value that marks a bad (here perhaps {flags}), and "
        f"--negative for each that marks a good; a row with a value in neither list is left "
        f"out of training as indeterminate (without --negative every other value is a good)"
    )


def _yes_no(keys: list[str]) -> tuple[str, str] | None:
    """(the yes key, the no key) of a 0/1, yes/no, Y/N or true/false target, else None."""
    yes = [k for k in keys if k.casefold() in _YES]
    no = [k for k in keys if k.casefold() in _NO]
    return (yes[0], no[0]) if len(yes) == 1 and len(no) == 1 else None


def _inferred_bad(target: str, keys: list[str], shown: str) -> tuple[str, list[str]]:
    """The bad key of a two-valued target, and a note when the name decided it: a yes/no
    target is bad when yes, unless its name says yes is a good (``approved``)."""
    pair = _yes_no(keys)
    if pair is not None:
        words = set(tokens(target))
        if words & _GOOD_NAME_WORDS and not words & _BAD_NAME_WORDS:
            said = sorted(words & _GOOD_NAME_WORDS)[0]
            yes, no = (value_text(k) if not k.isdigit() else k for k in pair)
            return pair[1], [
                f"bad = {no}: the target's name ({said!r}) says that {yes} is a good; if "
                f"{yes} marks a bad, run init again with --positive {yes}"
            ]
        return pair[0], []
    hits = [k for k in keys if k.casefold() in BAD_LABELS]
    if len(hits) != 1:
        raise ConfigError(
            f"cannot tell which value of target {target!r} marks a bad (default): "
            f"{shown}; pass --positive with one of them"
        )
    return hits[0], []


def resolve_target(
    df: pd.DataFrame,
    target: str,
    positive: Scalar | Sequence[Scalar] | None,
    negative: Sequence[Scalar] | None = None,
) -> TargetChoice:
    """Which values of ``target`` mark a bad and which a good; see the module docstring."""
    if target not in [str(c) for c in df.columns]:
        raise _missing_column(df, target)
    s = df[target]
    by_key: dict[str, tuple[Any, int]] = {}
    for value, n in s.value_counts(dropna=True).items():
        key = label_key(value)
        old = by_key.get(key)
        by_key[key] = (old[0] if old else value, (old[1] if old else 0) + int(n))
    keys = list(by_key)
    shown = ", ".join(f"{value_text(v)} ({n})" for v, n in list(by_key.values())[:10])
    if len(keys) > 10:
        shown += f", ... ({len(keys)} in all)"
    if len(keys) < 2:
        what = "no values" if not keys else f"a single value: {shown}"
        raise ConfigError(
            f"target {target!r} has {what}; it needs two outcomes (good and bad). "
            "Check the --target column"
        )
    wanted_bad, wanted_good = _as_list(positive), _as_list(negative)
    notes: list[str] = []
    if not wanted_bad:
        if len(keys) > 2:
            raise ConfigError(
                f"target {target!r} has {len(keys)} distinct values ({shown}); "
                + _suggestion(target, keys)
            )
        pkey, notes = _inferred_bad(target, keys, shown)
        bad_keys = [pkey]
    else:
        bad_keys = [_key_of(v, keys, target, "--positive", shown) for v in wanted_bad]
    good_keys = [_key_of(v, keys, target, "--negative", shown) for v in wanted_good]
    twice = sorted(set(bad_keys) & set(good_keys))
    if twice:
        raise ConfigError(f"--positive and --negative both name {twice}: a value is bad or good")
    if not good_keys:
        good_keys = [k for k in keys if k not in bad_keys]
        if not good_keys:
            raise ConfigError(
                f"every value of target {target!r} ({shown}) is a bad: a model needs goods too"
            )
    bad_values = [_python(by_key[k][0]) for k in bad_keys]
    good_values = [_python(by_key[k][0]) for k in good_keys]
    y = Outcome.of(bad_values, good_values).codes(s)  # as train will read the YAML
    choice = TargetChoice(
        positive=bad_values[0] if len(bad_values) == 1 else bad_values,
        negative=good_values,
        y=y,
        counts={value_text(by_key[k][0]): by_key[k][1] for k in keys},
        notes=notes,
    )
    left_out = [k for k in keys if k not in bad_keys and k not in good_keys]
    if left_out:
        choice.notes.append(
            f"{choice.n_indeterminate:,} rows are indeterminate, neither bad nor good ("
            + ", ".join(value_text(by_key[k][0]) for k in left_out)
            + "): train leaves them out"
        )
    n_empty = int((y == MISSING).sum())
    if n_empty:
        choice.notes.append(
            f"{n_empty:,} rows have no outcome (an empty {target!r}): train leaves them out"
        )
    rate = choice.n_bads / max(1, choice.n_known)
    if rate > 0.5:
        flip = (
            f"run init again with --positive {value_text(by_key[good_keys[0]][0])}"
            if len(keys) == 2
            else "check --positive and --negative"
        )
        choice.notes.append(
            f"bads are {100 * rate:.1f} % of the rows with an outcome, more than a lender "
            f"usually sees; if {value_text(bad_values[0])} marks a good, {flip}"
        )
    return choice


def _key_of(value: Scalar, keys: list[str], target: str, option: str, shown: str) -> str:
    found = matching_key(value, keys)
    if found is None:
        raise ConfigError(
            f"{option} {value_text(value)} is not a value of target {target!r}; its values are "
            f"{shown}"
        )
    return found


#: Words that name an outcome column (``default``, ``bad_flag``, ``Class``), and names run
#: together; weaker words (``status``, ``approved``) count only when nothing stronger does.
_TARGET_WORDS = frozenset(
    {"target", "default", "defaulted", "defaults", "bad", "label", "class", "outcome",
     "creditability", "delinquent", "delinquency", "chargeoff", "writeoff", "npl", "dpd90",
     # German, French, Spanish, as the protected-attribute names are read
     "ausfall", "ausgefallen", "zahlungsausfall", "kreditausfall", "defaut", "defaillance",
     "impaye", "impayes", "impago", "moroso", "morosidad", "incumplimiento"}
)  # fmt: skip
_TARGET_JOINED = frozenset({"y", "loanstatus", "goodbad", "badgood", "isbad", "isdefault"})
_WEAK_TARGET_WORDS = frozenset(
    {"status", "approve", "approved", "approval", "deny", "denied", "reject", "rejected",
     "good", "performance", "response", "result", "flag", "charged"}
)  # fmt: skip


def guess_target(df: pd.DataFrame) -> tuple[str, str]:
    """(the outcome column, a note saying how it was found) when ``--target`` is not given:
    the one column named like an outcome (``default``, ``loan_status``, ``bad_flag``), or,
    when none is, the one two-valued column with a weaker name (``status``,
    ``approved``). Anything less clear is an error listing the candidates."""
    columns = [str(c) for c in df.columns]
    strong = [
        c for c in columns
        if set(tokens(c)) & _TARGET_WORDS or "".join(tokens(c)) in _TARGET_JOINED
    ]  # fmt: skip
    weak = [c for c in columns if c not in strong and set(tokens(c)) & _WEAK_TARGET_WORDS]
    weak_two = [c for c in weak if df[c].nunique(dropna=True) == 2]
    if len(strong) == 1:
        chosen, how = strong[0], "the only column named like an outcome"
    elif not strong and len(weak_two) == 1:
        chosen, how = weak_two[0], "the only two-valued column named like an outcome"
    else:
        listed = strong or weak_two or weak
        hint = f" (likely: {', '.join(map(repr, listed[:8]))})" if listed else ""
        if not listed:  # no name helps: the two-valued columns are where an outcome hides
            two = [c for c in columns if df[c].nunique(dropna=True) == 2]
            if two:
                hint = f" (the two-valued columns: {', '.join(map(repr, two[:8]))})"
        raise ConfigError(
            f"which column holds the outcome? name it with --target{hint}; the columns are: "
            + ", ".join(map(repr, columns[:30]))
            + (f", ... ({len(columns)} in all)" if len(columns) > 30 else "")
        )
    return chosen, f"target: {chosen!r}, {how}; pass --target to choose another"
