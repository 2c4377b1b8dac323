"""The commented ``creditscore.yaml`` that ``init`` writes.

Written by hand, not dumped: every decision is one line with its reason beside it as a
comment, so a user reads each one and undoes it by deleting or moving the line. The text
round-trips through :meth:`ProjectConfig.from_yaml` (a test checks it).
"""

from __future__ import annotations

from typing import Any

import yaml

from creditscore.config import (
    DEFAULT_CANDIDATES,
    BudgetConfig,
    CostConfig,
    FairnessConfig,
    PolicyConfig,
    Scalar,
    ScoringConfig,
    SplitConfig,
)
from creditscore.formatting import value_text
from creditscore.init.project import Inference
from creditscore.outcome import Outcome

__all__ = ["render_yaml"]

_COMMENT_COL = 32


def _y(value: Any) -> str:
    """A scalar in YAML, quoted only where YAML would misread it (``yes``, ``1.0``, ``a: b``)."""
    if value is None:
        return ""
    text = yaml.safe_dump(
        value, default_flow_style=True, allow_unicode=True, width=10**9, sort_keys=False
    )
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    if text.endswith("..."):
        text = text[: -len("...")].rstrip()
    return text


def _line(body: str, comment: str = "") -> str:
    if not comment:
        return body
    comment = " ".join(comment.split())
    return f"{body.ljust(_COMMENT_COL - 1)} # {comment}"


def _wrap(prefix: str, names: list[str], width: int = 88) -> list[str]:
    lines: list[str] = []
    current = prefix
    for i, n in enumerate(names):
        piece = n + ("," if i < len(names) - 1 else "")
        if len(current) + len(piece) + 1 > width and current.strip() != prefix.strip():
            lines.append(current.rstrip())
            current = "#     "
        current += " " + piece
    lines.append(current.rstrip())
    return lines


def _list(key: str, indent: str, items: list[tuple[str, str]], empty: str) -> list[str]:
    """``key:`` then one ``- item  # why`` per item, or ``key: []  # empty`` for none."""
    if not items:
        return [_line(f"{indent}{key}: []", empty)]
    return [f"{indent}{key}:"] + [_line(f"{indent}  - {_y(c)}", why) for c, why in items]


def _header(inf: Inference) -> list[str]:
    rate = 100.0 * inf.bad_rate
    source = (
        f"from {inf.data_path}"
        if inf.data_path
        else "(data.path is empty: train reads the bundled German data; set it to your file)"
    )
    out = [
        f"# creditscore project configuration, written by `creditscore init` {source}.",
        f"# {inf.n_rows} rows, {inf.n_bads} bads ({rate:.1f} %), bad = {_outcome(inf).bad_text}"
        + (
            f"; {inf.n_rows - inf.n_known} rows indeterminate." if inf.n_known < inf.n_rows else "."
        ),
        '# Every key is documented in the README ("Configuration"); unknown keys are errors.',
        "#",
        "# Every decision init made is one line below, with the reason beside it:",
        "# - data.exclude and sensitive keep columns out of the model; delete a line to make",
        "#   the column an input (for the id or date column, also clear data.id_column or",
        "#   data.date_column);",
        "# - data.numeric and data.categorical give every input its type: train checks the",
        "#   values against it and never re-guesses; move a line to change a type;",
        "# - data.special_codes lists values that mean 'missing'; delete a line to undo.",
        "# Model inputs:",
    ]
    out += _wrap(f"#   numeric ({len(inf.numeric)}):", inf.numeric or ["none"])
    out += _wrap(f"#   categorical ({len(inf.categorical)}):", inf.categorical or ["none"])
    return out


def _outcome(inf: Inference) -> Outcome:
    return Outcome.of(inf.positive, inf.negative)


def _outcome_lines(inf: Inference) -> list[str]:
    """data.positive, and data.negative when the target has more than two values."""
    bad = inf.positive if isinstance(inf.positive, list) else [inf.positive]
    if len(bad) == 1 and len(inf.target_counts) == 2 and len(inf.negative) == 1:
        return [
            _line(
                f"  positive: {_y(bad[0])}",
                f"the value that marks a bad (default); the other is {value_text(inf.negative[0])}",
            )
        ]

    def listed(key: str, values: list[Scalar], why: str) -> list[str]:
        rows = [(v, f"{inf.target_counts.get(value_text(v), 0):,} rows") for v in values]
        return [_line(f"  {key}:", why)] + [_line(f"    - {_y(v)}", n) for v, n in rows]

    out = listed("positive", bad, "the values that mark a bad (default)")
    out += listed(
        "negative",
        inf.negative,
        "the values that mark a good; a value in neither list is indeterminate: train leaves "
        "its rows out",
    )
    chosen = {value_text(v) for v in [*bad, *inf.negative]}
    left = [(k, n) for k, n in inf.target_counts.items() if k not in chosen]
    if left:
        out.append("  # indeterminate, left out: " + ", ".join(f"{k} ({n:,})" for k, n in left))
    return out


def _data(inf: Inference) -> list[str]:
    reasons = {d.column: d for d in inf.decisions}
    out = ["data:"]
    out.append(
        _line(
            f"  path: {_y(inf.data_path)}".rstrip(),
            "CSV, Parquet or Excel; a relative path starts at this file's folder",
        )
    )
    out.append(f"  target: {_y(inf.target)}")
    out += _outcome_lines(inf)
    out.append(
        _line(
            f"  id_column: {_y(inf.id_column)}".rstrip(),
            "unique application id, never a feature" if inf.id_column else "none found",
        )
    )
    out.append(
        _line(
            f"  date_column: {_y(inf.date_column)}".rstrip(),
            "enables the out-of-time split"
            if inf.date_column
            else "none found; set one to enable the out-of-time split",
        )
    )
    excluded = [(d.column, d.reason) for d in inf.decisions if d.excluded]
    if excluded:
        out.append("  exclude:                      # never model inputs; delete a line to undo")
        out += [_line(f"    - {_y(c)}", why) for c, why in excluded]
    else:
        out.append("  exclude: []")
    for kind in ("numeric", "categorical"):
        cols = inf.numeric if kind == "numeric" else inf.categorical
        out += _list(
            kind,
            "  ",
            [(c, _input_comment(reasons[c])) for c in cols],
            f"no {kind} inputs",
        )
    if inf.special_codes:
        out.append(
            "  special_codes:                # values meaning 'missing'; delete a line to undo"
        )
        for col, sc in inf.special_codes.items():
            out.append(
                _line(f"    {_y(col)}: {_y(list(sc.codes))}", f"{sc.reason}; {sc.rows} rows")
            )
    else:
        out.append(
            _line("  special_codes: {}", "per column, values meaning 'missing': {col: [-999]}")
        )
    if inf.decimal_comma:
        out.append(_line("  decimal_comma:", "numbers written with a decimal comma: '1.234,56'"))
        out += [f"    - {_y(c)}" for c in inf.decimal_comma]
    out.append(
        _line(
            "  max_categories: 200",
            "a categorical input with more levels (or over half unique) is refused",
        )
    )
    out.append(_line("  monotone: {}", "e.g. {days_past_due: increasing}: PD only rises with it"))
    return out


def _input_comment(d: Any) -> str:
    """An input's type reason and, when it is one, its possible-proxy or leakage flag."""
    flags = ("POSSIBLE PROXY", "POSSIBLE LEAKAGE")
    return "; ".join([d.reason, *(n for n in d.notes if n.startswith(flags))])


def _proxies(inf: Inference) -> list[str]:
    if inf.proxies is None:
        return []
    strong = inf.proxies.strong
    limit = inf.proxies.min_auc
    if not strong:
        return [
            f"# Possible proxies: no input predicts a protected attribute with AUC >= {limit:.2f}.",
            "",
        ]
    out = [
        "# Possible proxies: these inputs predict a protected attribute on their own with",
        f"# AUC >= {limit:.2f} (fairness.proxy_min_auc). They stay inputs (flagged, not",
        "# dropped); the model card lists them again. Add one to data.exclude if it should not",
        "# be used.",
    ]
    out += [f"#   {s.feature} -> {s.text()}" for s in strong]
    return [*out, ""]


def _sensitive(inf: Inference) -> list[str]:
    out = [
        "# Protected attributes: used for fairness analysis only; never model inputs, reason",
        "# codes or counterfactual levers, and only hashed (or dropped) in the decision log.",
    ]
    sens = [(d.column, d.reason) for d in inf.decisions if d.role == "sensitive"]
    if sens:
        out.append("sensitive:")
        out += [_line(f"  - {_y(c)}", why) for c, why in sens]
    else:
        out.append("sensitive: []                   # none found by name or values; list any here")
    out.append(
        _line(
            "allow_sensitive_as_features: {}",
            "{column: why it may be an input}; the model card shows the reason",
        )
    )
    return [*out, ""]


def _fairness(inf: Inference) -> list[str]:
    fc = FairnessConfig()
    out = [
        "# Group fairness at the policy threshold. Each protected attribute as init groups it:",
        "# {name, column, bands: [25, 35, 50]} bands a number; birth: date (or year) reads a",
        "# date of birth as the age at age_at (a date column) or at the training date;",
        "# columns: [...] joins one 0/1 column per group into one attribute; a 0/1 column is",
        "# two groups (female / not female); pattern: a regex whose first group is the group.",
        "fairness:",
    ]
    if inf.groups:
        out.append("  groups:")
        for spec in inf.groups:
            out.append(_line(f"    - {_y(spec.to_dict())}", spec.kind_text))
    else:
        out.append("  groups: []                   # none: no protected attribute found")
    for col, why in inf.ungrouped.items():
        out.append(f"  # not grouped: {col}: {' '.join(why.split())}")
    out += [
        "  intersections: []             # e.g. [[sex, age]]",
        _line(f"  mode: {fc.mode}", "warn: report violations; block: they stop promotion"),
        _line(f"  min_disparate_impact: {fc.min_disparate_impact}", "the four-fifths rule"),
        _line(
            f"  proxy_min_auc: {fc.proxy_min_auc}",
            "an input predicting a protected attribute this well is listed as a possible proxy",
        ),
        "",
    ]
    return out


def _derived_lines(inf: Inference) -> list[str]:
    """``features.derived``, with the standard credit ratios recognised from the column
    names proposed commented out (features/derived.py decides which)."""
    from creditscore.features.derived import propose_derived

    blocked = {inf.target, inf.id_column, *inf.sensitive}
    columns = [d.column for d in inf.decisions if d.column not in blocked]
    proposals = propose_derived(columns, inf.date_column)
    out = [
        "# Derived features: name -> expression over input columns, computed inside the model",
        "# (ratios divide safely: missing when the denominator is 0 or missing). Grammar: README.",
        "features:",
    ]
    if not proposals:
        return [*out, "  derived: {}", ""]
    out += ["  derived:                      # init recognised these; uncomment to use"]
    out += [_line(f"    # {name}: {_y(expression)}", why) for name, expression, why in proposals]
    return [*out, ""]


def _levers(inf: Inference) -> list[str]:
    out = [
        "# Counterfactuals ('what would get me approved') change only actionable inputs (what",
        "# an applicant can change: amount, duration, down payment, ...); immutable inputs (the",
        "# past, time-based facts, characteristics) and protected attributes never change.",
    ]
    out += _list(
        "actionable",
        "",
        [(c, "") for c in inf.actionable],
        "no input looks actionable; list the ones an applicant can change",
    )
    out += _list(
        "immutable",
        "",
        list(inf.immutable.items()),
        "none found by name; list the inputs an applicant cannot change",
    )
    return [*out, ""]


def render_yaml(inf: Inference) -> str:
    """The commented ``creditscore.yaml`` for an inference (round-trips through
    :meth:`ProjectConfig.from_yaml`)."""
    out = _header(inf)
    out.append(f"name: {_y(inf.name or 'creditscore')}")
    out.append("")
    out += _data(inf)
    out.append("")
    out += _proxies(inf)
    out += _sensitive(inf)
    split = SplitConfig()
    out += [
        "split:",
        _line(f"  valid: {split.valid}", "share of rows for model selection"),
        _line(f"  test: {split.test}", "share held out for the final report"),
        f"  seed: {split.seed}",
        _line(
            f"  out_of_time: {_y(split.out_of_time)}",
            "with a date column, test on the latest applications",
        ),
        "",
        f"candidates: [{', '.join(DEFAULT_CANDIDATES)}]",
        "",
    ]
    budget = BudgetConfig()
    out += [
        "budget:",
        _line(f"  trials: {_y(budget.trials)}", "Optuna trials per candidate ..."),
        _line(f"  seconds: {_y(budget.seconds)}", "... or this many seconds, whichever is first"),
        f"  cv_folds: {budget.cv_folds}",
        f"  seed: {budget.seed}",
        _line(f"  blend: {_y(budget.blend)}", "try a blend of the best candidates"),
        _line(
            f"  prefer_transparent: {_y(budget.prefer_transparent)}",
            "keep a logistic / scorecard champion unless beaten by > 1 standard error",
        ),
        "",
    ]
    costs = CostConfig()
    out += [
        "costs:",
        _line(
            f"  false_negative: {_y(costs.false_negative)}", "approving an applicant who defaults"
        ),
        _line(
            f"  false_positive: {_y(costs.false_positive)}",
            "declining an applicant who would have repaid",
        ),
        "",
    ]
    policy = PolicyConfig()
    sc = policy.scaling
    out += [
        "policy:",
        _line(f"  refer_margin: {_y(policy.refer_margin)}", "refer PDs this close to the cut-off"),
        _line(f"  calibration: {policy.calibration}", "auto, isotonic, sigmoid or none"),
        f"  scaling: {{base_points: {_y(sc.base_points)}, base_odds: {_y(sc.base_odds)}, "
        f"pdo: {_y(sc.pdo)}}}",
        "  risk_bands:",
    ]
    out += [f"    - {{name: {_y(b.name)}, max_pd: {_y(b.max_pd)}}}" for b in policy.risk_bands]
    scoring = ScoringConfig()
    out += [
        "",
        "scoring:",
        _line(
            f"  out_of_range: {scoring.out_of_range}",
            "a number outside the training range: warn (scored, flagged) or refuse",
        ),
        "",
        "# feature -> text shown in reason codes, e.g.  duration_in_month: Loan duration",
        "reasons: {}",
        "",
    ]
    out += _derived_lines(inf)
    out += _fairness(inf)
    out += _levers(inf)
    out += [_line("output_dir: artifacts", "where bundles and plots go, relative to this file"), ""]
    return "\n".join(out)
