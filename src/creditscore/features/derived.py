"""Derived features: ``name -> expression`` over input columns, declared in the config.

    features:
      derived:
        credit_to_income: credit_amount / income
        age_years: years_between(application_date, birth_date)

An expression is parsed with Python's :mod:`ast` and walked against a whitelist; nothing is
ever passed to ``eval`` or ``exec``. The grammar:

==============  ============================================================================
numbers         ``12``, ``0.5``, ``1e3``
columns         ``income``; a name that is not an identifier: ``col("Monthly income")``;
                an earlier derived feature by its name
arithmetic      ``a + b``, ``a - b``, ``a * b``, ``-a``
ratio           ``a / b``: missing when ``b`` is 0 or missing (a safe divide)
functions       ``log1p(x)``, ``abs(x)``, ``min(a, b, ...)``, ``max(a, b, ...)``,
                ``clip(x, lo, hi)``
comparisons     ``a < b``, ``<=``, ``>``, ``>=``, ``==``, ``!=`` (1 or 0; ``a < b < c`` chains)
logic           ``a and b``, ``a or b``, ``not a`` (on 0/1 values)
dates           ``days_between(end, start)``, ``years_between(end, start)`` (calendar days;
                a year is 365.25 days) over date columns or ``date("2024-01-31")``
==============  ============================================================================

Missing in, missing out: any missing operand gives a missing result, and so does a value
that is not finite (an overflow, ``log1p`` of a number <= -1). Dates are ISO 8601 text
(``2024-01-31``, ``2024-01-31T10:00:00``, ``20240131``), date/datetime values, or 8-digit
``YYYYMMDD`` numbers; only the calendar date counts.

The same parsed expression has two evaluators that give bit-identical results: one over
NumPy arrays (training, batch, :class:`~creditscore.features.preprocess.InputCleaner`) and
one over a single application's floats (the compiled hot path). :func:`propose_derived`
gives ``init`` the standard credit ratios it recognises from column names.
"""

from __future__ import annotations

import ast
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from creditscore.exceptions import ConfigError

__all__ = [
    "FUNCTIONS",
    "MAX_LENGTH",
    "DerivedFeature",
    "RowEvaluator",
    "date_days",
    "evaluate_frame",
    "parse_derived",
    "parse_expression",
    "propose_derived",
]

#: Longest expression accepted (a credit ratio is a few dozen characters).
MAX_LENGTH = 1000
#: Most syntax-tree nodes and deepest nesting accepted in one expression.
MAX_NODES = 300
MAX_DEPTH = 40
#: A year, in days, for ``years_between``.
DAYS_PER_YEAR = 365.25
#: Callable names and what they take (number of arguments: exact, or at least).
FUNCTIONS: dict[str, str] = {
    "log1p": "log1p(x): log(1 + x); missing for x <= -1",
    "abs": "abs(x)",
    "min": "min(a, b, ...): the smallest (missing if any is missing)",
    "max": "max(a, b, ...): the largest (missing if any is missing)",
    "clip": "clip(x, lo, hi): x limited to [lo, hi]",
    "days_between": "days_between(end, start): calendar days from start to end",
    "years_between": "years_between(end, start): days_between / 365.25",
    "col": 'col("name"): a column whose name is not an identifier',
    "date": 'date("2024-01-31"): a fixed date',
}
_ARITY = {"log1p": 1, "abs": 1, "clip": 3, "days_between": 2, "years_between": 2}
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_NAN = math.nan


# --------------------------------------------------------------------------- the tree
@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class Col:
    name: str


@dataclass(frozen=True)
class Day:
    """A date operand: a date column (``name``) or a fixed date (``days`` since 1970)."""

    name: str | None
    days: float = _NAN


@dataclass(frozen=True)
class Op:
    """``kind`` is an operator (``+ - * / neg not and or < <= > >= == !=``) or a function."""

    kind: str
    args: tuple[Any, ...]


Node = Num | Col | Day | Op


@dataclass(frozen=True)
class DerivedFeature:
    """One parsed derived feature: what it reads (as numbers, as dates) and its tree."""

    name: str
    expression: str
    tree: Node
    numbers: tuple[str, ...]  # columns (or earlier derived features) read as numbers
    dates: tuple[str, ...]  # columns read as dates

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.numbers, *self.dates)))


class _Refusal(ValueError):  # noqa: N818 - a refusal, not a failure
    pass


_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_COMPARE = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}
_WHAT = {
    ast.Attribute: "attribute access ('.')",
    ast.Subscript: "indexing ('[...]')",
    ast.Lambda: "lambda",
    ast.IfExp: "'... if ... else ...'",
    ast.NamedExpr: "assignment (':=')",
    ast.Starred: "'*' unpacking",
    ast.JoinedStr: "f-strings",
    ast.ListComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Dict: "dicts",
    ast.Set: "sets",
    ast.Await: "await",
    ast.Yield: "yield",
}


def _describe(node: ast.AST) -> str:
    for kind, text in _WHAT.items():
        if isinstance(node, kind):
            return text
    if isinstance(node, ast.BinOp):
        return f"the operator {type(node.op).__name__} (only + - * / are allowed)"
    if isinstance(node, ast.UnaryOp):
        return f"the operator {type(node.op).__name__} (only - and not are allowed)"
    if isinstance(node, ast.Compare):
        return "the comparison 'in' / 'is' (only < <= > >= == != are allowed)"
    return f"{type(node).__name__} syntax"


class _Parser:
    def __init__(self, earlier: Iterable[str]) -> None:
        self.earlier = set(earlier)
        self.numbers: list[str] = []
        self.dates: list[str] = []
        self.nodes = 0

    def column(self, name: str, node: ast.AST) -> str:
        if not name or name.startswith("__"):
            raise _Refusal(f"the name {name!r} is not allowed (names starting with '__' never are)")
        if name in FUNCTIONS and isinstance(node, ast.Name):
            raise _Refusal(
                f"{name!r} is a function: call it as {FUNCTIONS[name].split(':')[0]}, or write "
                f'col("{name}") for a column of that name'
            )
        return name

    def string(self, node: ast.AST, fn: str) -> str:
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            raise _Refusal(f'{fn}() takes one text in quotes, e.g. {fn}("...")')
        return node.value

    def date_operand(self, node: ast.AST, fn: str) -> Day:
        if isinstance(node, ast.Name):
            name = self.column(node.id, node)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id
            in (
                "col",
                "date",
            )
        ):
            self.count(node.func)
            self.no_keywords(node, node.func.id)
            if len(node.args) != 1:
                raise _Refusal(f"{node.func.id}() takes one text in quotes")
            text = self.string(node.args[0], node.func.id)
            self.count(node.args[0])
            if node.func.id == "date":
                days = _parse_date_text(text)
                if math.isnan(days):
                    raise _Refusal(f"date({text!r}) is not an ISO date such as '2024-01-31'")
                return Day(None, days)
            name = self.column(text, node)
        else:
            raise _Refusal(
                f"{fn}() compares two dates: give it date columns or date('2024-01-31'), "
                "not a calculation"
            )
        if name in self.earlier:
            raise _Refusal(f"{fn}() needs dates, but {name!r} is a derived number")
        if name in self.numbers:
            raise _Refusal(f"column {name!r} is used both as a number and as a date")
        if name not in self.dates:
            self.dates.append(name)
        return Day(name)

    def number_column(self, name: str) -> Col:
        if name in self.dates:
            raise _Refusal(f"column {name!r} is used both as a number and as a date")
        if name not in self.numbers:
            self.numbers.append(name)
        return Col(name)

    def count(self, node: ast.AST) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Refusal(f"the expression has more than {MAX_NODES} parts; split it up")

    @staticmethod
    def no_keywords(node: ast.Call, fn: str) -> None:
        if node.keywords:
            raise _Refusal(f"{fn}() takes no keyword arguments")

    def walk(self, node: ast.AST, depth: int = 0) -> Node:
        self.count(node)
        if depth > MAX_DEPTH:
            raise _Refusal(f"the expression nests deeper than {MAX_DEPTH} levels")
        d = depth + 1
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _Refusal(
                    f"the constant {value!r} is not a number (text is only allowed inside "
                    'col("...") and date("...")'
                )
            number = float(value)
            if not math.isfinite(number):
                raise _Refusal(f"the constant {value!r} is not a finite number")
            return Num(number)
        if isinstance(node, ast.Name):
            return self.number_column(self.column(node.id, node))
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return Op(_BINARY[type(node.op)], (self.walk(node.left, d), self.walk(node.right, d)))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
            inner = self.walk(node.operand, d)
            if isinstance(node.op, ast.UAdd):
                return inner
            if isinstance(node.op, ast.USub) and isinstance(inner, Num):
                return Num(-inner.value)
            return Op("neg" if isinstance(node.op, ast.USub) else "not", (inner,))
        if isinstance(node, ast.BoolOp):
            kind = "and" if isinstance(node.op, ast.And) else "or"
            return Op(kind, tuple(self.walk(v, d) for v in node.values))
        if isinstance(node, ast.Compare) and all(type(o) in _COMPARE for o in node.ops):
            operands = [self.walk(node.left, d), *(self.walk(c, d) for c in node.comparators)]
            pairs = [
                Op(_COMPARE[type(o)], (operands[i], operands[i + 1]))
                for i, o in enumerate(node.ops)
            ]
            return pairs[0] if len(pairs) == 1 else Op("and", tuple(pairs))
        if isinstance(node, ast.Call):
            return self.call(node, d)
        raise _Refusal(f"{_describe(node)} is not allowed")

    def call(self, node: ast.Call, depth: int) -> Node:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise _Refusal("attribute access ('.') is not allowed")
            raise _Refusal("only the listed functions can be called")
        fn = node.func.id
        self.count(node.func)
        if fn not in FUNCTIONS:
            raise _Refusal(
                f"{fn!r} is not an allowed function; allowed: {', '.join(sorted(FUNCTIONS))}"
            )
        self.no_keywords(node, fn)
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise _Refusal("'*' unpacking is not allowed")
        args = node.args
        if fn in _ARITY and len(args) != _ARITY[fn]:
            raise _Refusal(f"{fn}() takes {_ARITY[fn]} argument(s), got {len(args)}")
        if fn == "col":
            if len(args) != 1:
                raise _Refusal('col() takes one column name in quotes, e.g. col("Monthly income")')
            self.count(args[0])
            return self.number_column(self.column(self.string(args[0], "col"), node))
        if fn == "date":
            raise _Refusal('date("...") is only allowed inside days_between() or years_between()')
        if fn in ("days_between", "years_between"):
            end, start = (self.date_operand(a, fn) for a in args)
            return Op(fn, (end, start))
        if fn in ("min", "max") and len(args) < 2:
            raise _Refusal(f"{fn}() takes at least two arguments")
        parsed = tuple(self.walk(a, depth) for a in args)
        if fn == "clip":
            lo, hi = parsed[1], parsed[2]
            if isinstance(lo, Num) and isinstance(hi, Num) and lo.value > hi.value:
                raise _Refusal(f"clip(x, lo, hi) needs lo <= hi, got {lo.value:g} > {hi.value:g}")
        return Op(fn, parsed)


def parse_expression(name: str, expression: Any, earlier: Iterable[str] = ()) -> DerivedFeature:
    """Parse one expression; raises :class:`ConfigError` naming the feature and the problem."""
    where = f"features.derived.{name}"
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"features.derived: a derived feature needs a name, got {name!r}")
    if name.startswith("__"):
        raise ConfigError(f"{where}: names starting with '__' are not allowed")
    if not isinstance(expression, str):
        raise ConfigError(
            f"{where}: expected an expression in text, got {type(expression).__name__}"
        )
    text = expression.strip()
    if not text:
        raise ConfigError(f"{where}: the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ConfigError(
            f"{where}: the expression has {len(text):,} characters; at most {MAX_LENGTH:,} "
            "are allowed"
        )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ConfigError(
            f"{where}: {text!r} is not a valid expression ({exc.msg}); see the grammar in the "
            "README (Derived features)"
        ) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ConfigError(f"{where}: the expression could not be read ({exc})") from None
    parser = _Parser(earlier)
    try:
        root = parser.walk(tree.body)
    except _Refusal as exc:
        raise ConfigError(f"{where}: {exc} (in {_short(text)})") from None
    except RecursionError:
        raise ConfigError(f"{where}: the expression nests too deeply") from None
    if name in parser.numbers or name in parser.dates:
        raise ConfigError(f"{where}: the expression refers to its own name {name!r}")
    return DerivedFeature(name, text, root, tuple(parser.numbers), tuple(parser.dates))


def _short(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")


def parse_derived(derived: Mapping[str, Any] | None) -> list[DerivedFeature]:
    """Every derived feature in order; each may use the ones before it."""
    out: list[DerivedFeature] = []
    for name, expression in (derived or {}).items():
        out.append(parse_expression(str(name), expression, [f.name for f in out]))
    return out


# --------------------------------------------------------------------------- dates
def _parse_date_text(text: str) -> float:
    """Days since 1970-01-01 of an ISO 8601 date (the calendar date as written)."""
    return _parse_date_cached(text.strip())


@functools.lru_cache(maxsize=65536)
def _parse_date_cached(text: str) -> float:
    if not text:
        return _NAN
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return _NAN
    return float(parsed.date().toordinal() - _EPOCH_ORDINAL)


def _yyyymmdd(number: float) -> float:
    if not (10_000_101 <= number <= 99_991_231) or number != math.floor(number):
        return _NAN
    n = int(number)
    try:
        return float(date(n // 10_000, n // 100 % 100, n % 100).toordinal() - _EPOCH_ORDINAL)
    except ValueError:
        return _NAN


def date_day(value: Any) -> float:
    """One value as days since 1970-01-01 (NaN: missing or not a date)."""
    if value is None:
        return _NAN
    if isinstance(value, str):
        return _parse_date_text(value)
    if isinstance(value, datetime | pd.Timestamp):
        if value != value:  # NaT
            return _NAN
        return float(value.date().toordinal() - _EPOCH_ORDINAL)
    if isinstance(value, date):
        return float(value.toordinal() - _EPOCH_ORDINAL)
    if isinstance(value, np.datetime64):
        return date_day(pd.Timestamp(value)) if not np.isnat(value) else _NAN
    if isinstance(value, bool):
        return _NAN
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return _NAN if number != number else _yyyymmdd(number)
    return _NAN


def date_days(values: Any) -> np.ndarray:
    """A column as days since 1970-01-01 (float64; NaN: missing or not a date)."""
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        days = s.dt.floor("D").to_numpy(dtype="datetime64[D]").astype("float64")
        days[s.isna().to_numpy()] = _NAN
        return days
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    lookup = np.array([*(date_day(u) for u in uniques), _NAN], dtype=np.float64)
    return lookup[codes]


def bad_dates(values: pd.Series) -> pd.Series:
    """Mask of present values that are not dates (for training-time checks)."""
    return values.notna() & np.isnan(date_days(values))


# --------------------------------------------------------------------------- evaluation
def _finite(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        x = x.reshape(1)
    bad = ~np.isfinite(x)
    if bad.any():
        x = x.copy()
        x[bad] = _NAN
    return x


def _vec(node: Node, env: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    if isinstance(node, Num):
        return np.full(n, node.value)
    if isinstance(node, Col):
        return env[node.name]
    if isinstance(node, Day):
        return env[node.name] if node.name is not None else np.full(n, node.days)
    kind = node.kind
    args = [_vec(a, env, n) for a in node.args]
    with np.errstate(all="ignore"):
        if kind == "+":
            out = args[0] + args[1]
        elif kind == "-":
            out = args[0] - args[1]
        elif kind == "*":
            out = args[0] * args[1]
        elif kind == "/":
            a, b = args
            ok = (b != 0) & ~np.isnan(b) & ~np.isnan(a)
            out = np.full(n, _NAN)
            np.divide(a, b, out=out, where=ok)
        elif kind == "neg":
            out = -args[0]
        elif kind == "not":
            a = args[0]
            out = np.where(np.isnan(a), _NAN, (a == 0).astype(np.float64))
        elif kind in ("and", "or"):
            stack = np.vstack(args)
            truth = stack != 0
            hit = truth.all(axis=0) if kind == "and" else truth.any(axis=0)
            out = np.where(np.isnan(stack).any(axis=0), _NAN, hit.astype(np.float64))
        elif kind in ("<", "<=", ">", ">=", "==", "!="):
            a, b = args
            result = {
                "<": np.less,
                "<=": np.less_equal,
                ">": np.greater,
                ">=": np.greater_equal,
                "==": np.equal,
                "!=": np.not_equal,
            }[kind](a, b)
            out = np.where(np.isnan(a) | np.isnan(b), _NAN, result.astype(np.float64))
        elif kind == "log1p":
            a = args[0]
            out = np.where(a > -1.0, np.log1p(np.where(a > -1.0, a, 0.0)), _NAN)
        elif kind == "abs":
            out = np.abs(args[0])
        elif kind == "min":
            out = functools.reduce(np.minimum, args)
        elif kind == "max":
            out = functools.reduce(np.maximum, args)
        elif kind == "clip":
            x, lo, hi = args
            out = np.where(x > lo, x, lo)
            out = np.where(out < hi, out, hi)
            out = np.where(np.isnan(x) | np.isnan(lo) | np.isnan(hi), _NAN, out)
        elif kind == "days_between":
            out = args[0] - args[1]
        elif kind == "years_between":
            out = (args[0] - args[1]) / DAYS_PER_YEAR
        else:  # pragma: no cover - the parser only builds the kinds above
            raise ValueError(kind)
    return _finite(out)


def evaluate_frame(
    features: Sequence[DerivedFeature],
    numbers: Mapping[str, np.ndarray],
    dates: Mapping[str, np.ndarray],
    n: int,
) -> dict[str, np.ndarray]:
    """Every derived feature over arrays: ``numbers`` (cleaned float64 columns) and ``dates``
    (days since 1970, see :func:`date_days`). Returns name -> float64 array of length ``n``."""
    env: dict[str, np.ndarray] = {k: _finite(v) for k, v in numbers.items()}
    env.update(dates)
    out: dict[str, np.ndarray] = {}
    for f in features:
        value = _vec(f.tree, env, n)
        if value.shape != (n,):
            value = np.broadcast_to(value, (n,)).copy()
        env[f.name] = out[f.name] = value
    return out


# One-row evaluation: each node becomes a closure over an env dict of floats. The operations
# are the same IEEE operations as the array path (NumPy's log1p, not math's), so one row and
# a frame give the same bits.
Scalar = Callable[[Mapping[str, float]], float]


def _fin(x: float) -> float:
    return x if x - x == 0.0 else _NAN


def _closure(node: Node) -> Scalar:
    """A closure computing ``node``; like the array path, every operation's result that is
    not finite becomes missing."""
    raw = _raw_closure(node)
    if isinstance(node, Num | Col | Day):
        return raw
    return lambda env: _fin(raw(env))


def _raw_closure(node: Node) -> Scalar:
    if isinstance(node, Num):
        value = node.value
        return lambda env: value
    if isinstance(node, Col):
        name = node.name
        return lambda env: env[name]
    if isinstance(node, Day):
        if node.name is None:
            days = node.days
            return lambda env: days
        dname = node.name
        return lambda env: env[dname]
    kind = node.kind
    fs = [_closure(a) for a in node.args]
    if kind in ("+", "-", "*", "/", "days_between", "years_between"):
        fa, fb = fs
        if kind == "+":
            return lambda env: _fin(fa(env) + fb(env))
        if kind == "-" or kind == "days_between":
            return lambda env: _fin(fa(env) - fb(env))
        if kind == "*":
            return lambda env: _fin(fa(env) * fb(env))
        if kind == "years_between":
            return lambda env: _fin((fa(env) - fb(env)) / DAYS_PER_YEAR)

        def divide(env: Mapping[str, float]) -> float:
            a, b = fa(env), fb(env)
            if b != b or a != a or b == 0.0:
                return _NAN
            return _fin(a / b)

        return divide
    if kind == "neg":
        (fa,) = fs
        return lambda env: -fa(env)
    if kind == "not":
        (fa,) = fs

        def negate(env: Mapping[str, float]) -> float:
            a = fa(env)
            return _NAN if a != a else float(a == 0.0)

        return negate
    if kind in ("and", "or"):
        every = kind == "and"

        def logic(env: Mapping[str, float]) -> float:
            values = [f(env) for f in fs]
            if any(v != v for v in values):
                return _NAN
            truth = [v != 0.0 for v in values]
            return float(all(truth) if every else any(truth))

        return logic
    if kind in _SCALAR_COMPARE:
        fa, fb = fs
        compare = _SCALAR_COMPARE[kind]

        def comparison(env: Mapping[str, float]) -> float:
            a, b = fa(env), fb(env)
            return _NAN if a != a or b != b else float(compare(a, b))

        return comparison
    if kind == "log1p":
        (fa,) = fs

        def log1p(env: Mapping[str, float]) -> float:
            a = fa(env)
            return _fin(float(np.log1p(a))) if a > -1.0 else _NAN

        return log1p
    if kind == "abs":
        (fa,) = fs
        return lambda env: abs(fa(env))
    if kind in ("min", "max"):
        pick = np.minimum if kind == "min" else np.maximum

        def extreme(env: Mapping[str, float]) -> float:
            values = [f(env) for f in fs]
            return float(functools.reduce(pick, values))

        return extreme
    if kind == "clip":
        fx, flo, fhi = fs

        def clip(env: Mapping[str, float]) -> float:
            x, lo, hi = fx(env), flo(env), fhi(env)
            if x != x or lo != lo or hi != hi:
                return _NAN
            y = x if x > lo else lo
            return y if y < hi else hi

        return clip
    raise ValueError(kind)  # pragma: no cover


_SCALAR_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


class RowEvaluator:
    """Derived features of one application: ``values(numbers, dates)`` -> floats in order.

    ``numbers`` maps each column read as a number to its cleaned float (NaN: missing),
    ``dates`` each date column to its raw value; the result lists the derived values in
    the order of ``features``.
    """

    def __init__(self, features: Sequence[DerivedFeature]) -> None:
        self._features = list(features)
        self.names = [f.name for f in features]
        self._steps = [(f.name, _closure(f.tree)) for f in features]
        self.date_columns = sorted({d for f in features for d in f.dates})

    # pickled as its parsed features (a saved compiled model holds one); the closures
    # are built again from them
    def __getstate__(self) -> dict[str, Any]:
        return {"features": self._features}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["features"])  # type: ignore[misc]

    def values(self, numbers: Mapping[str, float], dates: Mapping[str, Any]) -> list[float]:
        env: dict[str, float] = {k: _fin(float(v)) for k, v in numbers.items()}
        for col in self.date_columns:
            env[col] = date_day(dates.get(col))
        out = []
        for name, fn in self._steps:
            value = _fin(float(fn(env)))
            env[name] = value
            out.append(value)
        return out


# --------------------------------------------------------------------------- proposals
def _ref(column: str) -> str:
    """How an expression names ``column``."""
    if column.isidentifier() and column not in FUNCTIONS and not column.startswith("__"):
        return column
    return "col(" + repr(column).replace("'", '"') + ")"


def _find(columns: Sequence[str], *patterns: str, avoid: str | None = None) -> str | None:
    for pattern in patterns:
        rx = re.compile(pattern, re.IGNORECASE)
        for c in columns:
            key = re.sub(r"[^a-z0-9]+", "_", c.lower()).strip("_")
            if rx.search(key) and not (avoid and re.search(avoid, key, re.IGNORECASE)):
                return c
    return None


def propose_derived(
    columns: Sequence[str], date_column: str | None = None
) -> list[tuple[str, str, str]]:
    """The standard credit ratios recognised from column names: ``(name, expression, why)``.

    ``init`` writes them commented out under ``features.derived``: a proposal, never a
    decision (a ratio of the wrong columns is worse than none).
    """
    cols = [str(c) for c in columns]
    out: list[tuple[str, str, str]] = []
    taken = set(cols)

    def add(name: str, expression: str, why: str) -> None:
        if name not in taken:
            taken.add(name)
            out.append((name, expression, why))

    income = _find(
        cols,
        r"(^|_)amt_income",
        r"(^|_)(annual_|monthly_)?(income|inc|salary|earnings|revenue)($|_)",
        r"income",
        avoid=r"per|ratio|share|to_income|dti|pti",
    )
    amount = _find(
        cols,
        r"(^|_)amt_credit($|_)",
        r"(^|_)(credit|loan)_?(amount|amt|amnt)($|_)",
        r"(^|_)loanamt($|_)",
        r"(^|_)amount($|_)",
        avoid=r"income|annuity|install|goods|price|ratio",
    )
    annuity = _find(
        cols,
        r"annuity",
        r"install?ment(_amount|_amt)?($|_)",
        r"(monthly_)?payment($|_)",
        avoid=r"rate|percent|pct|num|count|cnt|late|hist|ratio",
    )
    goods = _find(
        cols,
        r"goods_price",
        r"(purchase|property|goods|car|house)_?(price|value)",
        r"(^|_)price($|_)",
    )
    debt = _find(cols, r"(^|_)(total_)?debts?($|_)", avoid=r"ratio|to_income|dti|count|num")
    members = _find(
        cols,
        r"cnt_fam_members",
        r"(family|household)_?(size|members)",
        r"(^|_)members($|_)",
        r"(^|_)(dependents|dependants|num_dependents)($|_)",
    )
    balance = _find(
        cols,
        r"(^|_)bill_?amt_?1($|_)",  # the latest statement of a monthly series
        r"(^|_)(revol(ving)?_|card_|current_|outstanding_)?(bal|balance)($|_)",
        r"(^|_)outstanding($|_)",
        avoid=r"limit|ratio|util|count|num|cnt|avg|mean|max|min",
    )
    limit = _find(
        cols,
        r"(^|_)limit_?bal($|_)",
        r"(^|_)(credit|card|revol(ving)?)_?limit($|_)",
        r"(^|_)(credit_line|limit)($|_)",
        avoid=r"ratio|util|count|num|cnt|avg|mean",
    )
    has_utilisation = any(re.search(r"util", c, re.IGNORECASE) for c in cols)
    days_employed = _find(cols, r"days_employed")
    days_birth = _find(cols, r"days_birth")
    birth = _find(cols, r"(date_of_birth|birth_?date|(^|_)dob($|_))")
    if amount and income:
        add(
            "credit_to_income",
            f"{_ref(amount)} / {_ref(income)}",
            "loan amount over income (check both cover the same period)",
        )
    if annuity and income:
        add(
            "annuity_to_income",
            f"{_ref(annuity)} / {_ref(income)}",
            "payment burden: instalment over income",
        )
    if amount and goods:
        add(
            "credit_to_price",
            f"{_ref(amount)} / {_ref(goods)}",
            "loan to value: credit over the price of what it buys",
        )
    if debt and income:
        add(
            "debt_to_income",
            f"{_ref(debt)} / {_ref(income)}",
            "debt to income",
        )
    if balance and limit and not has_utilisation:
        add(
            "utilisation",
            f"{_ref(balance)} / {_ref(limit)}",
            "credit utilisation: balance over the credit limit (missing where the limit is 0)",
        )
    if income and members:
        dependents = bool(re.search(r"depend", members, re.IGNORECASE))
        per = f"({_ref(members)} + 1)" if dependents else _ref(members)
        add(
            "income_per_person",
            f"{_ref(income)} / {per}",
            "income per household member" + (" (dependents + the applicant)" if dependents else ""),
        )
    if days_employed:
        add(
            "years_employed",
            f"-{_ref(days_employed)} / {DAYS_PER_YEAR}",
            "days counted back from the application; a sentinel such as 365243 (not "
            "employed) belongs in data.special_codes",
        )
    protected_note = (
        "age is protected: only with the column under allow_sensitive_as_features (say why)"
    )
    if days_birth:
        add(
            "age_years",
            f"-{_ref(days_birth)} / {DAYS_PER_YEAR}",
            protected_note,
        )
    if birth and date_column:
        add(
            "age_years",
            f"years_between({_ref(date_column)}, {_ref(birth)})",
            f"age at the application date; {protected_note}",
        )
    return out
