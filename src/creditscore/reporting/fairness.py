"""Fairness, possible proxies and the protected-attribute statement, as page blocks.

Renders typed results of :mod:`creditscore.explain.fairness` and
:mod:`creditscore.explain.fairness.proxies` (or their saved ``to_dict`` form, so a model card can be
rendered again from its facts document): the group tables with how each attribute's
groups were made and which spellings were merged, the gaps and the gate, one figure per
attribute (approval rate; TPR and FPR), the attributes that could not be assessed, the
inputs that predict a protected attribute, and the sentence the model card's intended use
states about protected attributes, built from what the model really uses.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from creditscore.formatting import fmt, interval
from creditscore.reporting import document as doc

__all__ = [
    "fairness_blocks",
    "fairness_page",
    "fairness_plots",
    "protected_statement",
    "proxy_blocks",
    "verdict_lines",
]

GROUP_HEAD = ("group", "n", "bad rate", "mean PD", "approval [95% CI]", "TPR", "FPR", "AUC")


def _report_dict(report: Any) -> Mapping[str, Any]:
    out: Mapping[str, Any] = report if isinstance(report, Mapping) else report.to_dict()
    return out


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


# ------------------------------------------------------------------------------ plots
def _errorbars(
    ax: Any, groups: Sequence[Mapping[str, Any]], key: str, x: np.ndarray, **kw: Any
) -> None:
    """Points with CI bars; hollow markers for groups too small to be compared."""
    values = np.array([_num(g[key]) for g in groups], dtype=float)
    cis = np.array(
        [[_num(v) for v in (g[f"{key}_ci"] or (None, None))] for g in groups], dtype=float
    )
    err = np.vstack([values - cis[:, 0], cis[:, 1] - values])
    err = np.where(np.isfinite(err), np.clip(err, 0, None), 0.0)
    small = np.array([bool(g["small"]) for g in groups])
    label = kw.pop("label", None)
    color = kw.pop("color", None)
    for mask, face in ((~small, color), (small, "white")):
        if mask.any():
            ax.errorbar(
                x[mask],
                values[mask],
                yerr=err[:, mask],
                fmt="o",
                capsize=4,
                color=color,
                markerfacecolor=face,
                label=label,
                **kw,
            )
            label = None


def _axis(ax: Any, groups: Sequence[Mapping[str, Any]], x: np.ndarray, title: str) -> None:
    labels = [f"{g['group']}\n(n={g['n']})" for g in groups]
    rotate = len(groups) > 4 or max((len(str(g["group"])) for g in groups), default=0) > 12
    ax.set_xticks(
        x, labels, fontsize=8, rotation=35 if rotate else 0, ha="right" if rotate else "center"
    )
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylim(-0.03, 1.05)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)


def fairness_plots(report: Any, out_dir: str | Path | None = None) -> dict[str, bytes]:
    """One PNG per attribute (approval rate by group; TPR and FPR by group), written to
    ``out_dir`` too when given. Name: ``fairness_<attribute>``."""
    from creditscore.evaluation.plots import new_figure, render_pngs

    r = _report_dict(report)
    figures = {}
    for i, a in enumerate(r["attributes"]):
        groups = a["groups"]
        if not groups:
            continue
        fig = new_figure(max(7.0, 1.1 * len(groups) + 3.0), 3.6)
        x = np.arange(len(groups), dtype=float)
        ax = fig.add_subplot(1, 2, 1)
        _errorbars(ax, groups, "approval_rate", x, color="#1f77b4")
        best = max((_num(g["approval_rate"]) for g in groups if not g["small"]), default=math.nan)
        if math.isfinite(best):
            ax.axhline(0.8 * best, ls="--", color="#d62728", lw=1, label="4/5 of highest")
            ax.legend(fontsize=7, loc="lower right")
        _axis(ax, groups, x, "approval rate")
        ax2 = fig.add_subplot(1, 2, 2)
        _errorbars(ax2, groups, "tpr", x - 0.1, color="#2ca02c", label="TPR (approved | good)")
        _errorbars(ax2, groups, "fpr", x + 0.1, color="#d62728", label="FPR (approved | bad)")
        _axis(ax2, groups, x, "approval among goods and bads")
        ax2.legend(fontsize=7, loc="lower right")
        fig.suptitle(
            f"{a['name']}: 95% CI; hollow: under {r['min_group_size']} applicants", fontsize=10
        )
        figures[f"fairness_{i}_{_slug(a['name'])}"] = fig
    images, _ = render_pngs(figures, out_dir)
    return images


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in str(name)).strip("_").lower() or "group"


# ------------------------------------------------------------------------------ blocks
def verdict_lines(gate: Mapping[str, Any] | None) -> list[doc.Verdict]:
    """The gate's outcome as coloured lines."""
    if not gate:
        return []
    mode, n = gate.get("mode", "warn"), int(gate.get("violations") or 0)
    if not n:
        out = [
            doc.Verdict("green", f"Fairness gate ({mode}): no violation of the configured limits.")
        ]
    elif mode == "block":
        out = [
            doc.Verdict(
                "red", f"Fairness gate (block): {n} violation(s); this version cannot be promoted."
            )
        ]
    else:
        out = [
            doc.Verdict(
                "yellow", f"Fairness gate (warn): {n} violation(s), reported, not blocking."
            )
        ]
    out += [doc.Verdict("yellow", str(r)) for r in gate.get("reasons") or []]
    out += [doc.Verdict("info", str(r)) for r in gate.get("notes") or []]
    return out


def _cell(value: Any, ci: Any = None) -> str:
    text = fmt(value, 3)
    shown = interval(tuple(ci) if ci else None)
    return f"{text} {shown}" if shown else text


def fairness_blocks(
    report: Any,
    gate: Mapping[str, Any] | None = None,
    plots: Mapping[str, str] | None = None,
) -> list[doc.Block]:
    """The fairness section: the gate, then per attribute how its groups were made, the
    group table and the gaps, then the attributes not assessed and the figures (base64)."""
    r = _report_dict(report)
    out: list[doc.Block] = [*verdict_lines(gate)]
    out.append(
        doc.Text(
            f"At the policy threshold (PD < {r['threshold']:.3f} approves), on {r['n']:,} "
            f"labelled applications; {r['confidence']:.0%} bootstrap intervals "
            f"({r['n_boot']} resamples, stratified by group); groups under "
            f"{r['min_group_size']} applicants are shown but not compared.",
            "note",
        )
    )
    for a in r["attributes"]:
        shown = a["name"] if a["column"] == a["name"] else f"{a['name']} ({a['column']})"
        out.append(doc.Heading(shown))
        how = a.get("how")
        if how:
            out.append(doc.Text(f"Groups: {how}.", "note"))
        merged = a.get("normalised") or []
        if merged:
            out.append(
                doc.Text("Spellings merged into one group: " + "; ".join(merged) + ".", "note")
            )
        rows = [
            [
                str(g["group"]) + (" (small)" if g["small"] else ""),
                fmt(g["n"]),
                fmt(g["bad_rate"], 3),
                fmt(g["mean_pd"], 3),
                _cell(g["approval_rate"], g["approval_rate_ci"]),
                fmt(g["tpr"], 3),
                fmt(g["fpr"], 3),
                fmt(g["auc"], 3),
            ]
            for g in a["groups"]
        ]
        out.append(doc.Table(GROUP_HEAD, rows))
        if a.get("note"):
            out.append(doc.Text(str(a["note"]), "note"))
            continue
        items = []
        for key, d in (a.get("metrics") or {}).items():
            if key == "demographic_parity_ratio":
                continue  # the same number as the disparate impact ratio
            flag = ""
            if key == "disparate_impact_ratio" and d["value"] is not None:
                flag = " (passes the 4/5 rule)" if d["value"] >= 0.8 else " (below 0.8)"
            items.append(
                f"{key.replace('_', ' ')}: {fmt(d['value'], 3)} {interval(d['ci'])} "
                f"({d['groups'][0]} vs {d['groups'][1]}){flag}"
            )
        if items:
            out.append(doc.Bullets(items))
    skipped = r.get("skipped") or []
    if skipped:
        out.append(doc.Heading("Not assessed"))
        out.append(doc.Bullets([f"{s['name']} ({s['column']}): {s['reason']}" for s in skipped]))
    if plots:
        out.append(
            doc.Figures(
                [
                    doc.Figure(png, f"Approval, TPR and FPR by group: {_title(name)}", name)
                    for name, png in plots.items()
                ]
            )
        )
    return out


def _title(name: str) -> str:
    parts = name.split("_", 2)
    return parts[2].replace("_", " ") if len(parts) == 3 else name


def fairness_page(
    report: Any, gate: Mapping[str, Any] | None, plots: Mapping[str, bytes], title: str
) -> doc.Page:
    """A page of its own for ``creditscore fairness``."""
    b64 = {n: base64.b64encode(p).decode("ascii") for n, p in plots.items()}
    return doc.Page(
        title=title,
        sections=[doc.Section("fairness", "Fairness", fairness_blocks(report, gate, b64))],
        contents=False,
    )


# ------------------------------------------------------------------------------ proxies
def proxy_blocks(proxies: Any) -> list[doc.Block]:
    """The "possible proxies" section: strong proxies (flagged, not dropped) and, for each
    protected attribute, the input that predicts it best."""
    if not proxies:
        return [
            doc.Text(
                "Not computed: no proxy results were attached to this training (no protected "
                "attribute could be grouped).",
                "missing",
            )
        ]
    p = proxies if isinstance(proxies, Mapping) else proxies.to_dict()
    limit = float(p["min_auc"])
    scores = p.get("scores") or []
    strong = [s for s in scores if s["strong"]]
    out: list[doc.Block] = [
        doc.Text(
            f"How well each model input, on its own, tells the groups of each protected "
            f"attribute apart (ROC-AUC; 0.5 says nothing, 1.0 gives the group away; for "
            f"categories also Cramér's V), on {p['n_rows']:,} training rows. An input at or "
            f"above AUC {limit:.2f} (fairness.proxy_min_auc) may stand in for the attribute: "
            "it stays an input (flagged, not dropped); the credit-risk team judges whether it "
            "is a legitimate predictor, and the fairness section shows the outcome by group.",
            "note",
        )
    ]
    if strong:
        out.append(
            doc.Verdict(
                "yellow",
                f"{len(strong)} possible proxy(ies): "
                + ", ".join(f"{s['feature']} -> {s['attribute']}" for s in strong[:8])
                + (" ..." if len(strong) > 8 else ""),
            )
        )
        out.append(
            doc.Table(
                ("input", "attribute", "group it singles out", "AUC", "Cramér's V"),
                [
                    [
                        s["feature"],
                        s["attribute"],
                        str(s["group"]),
                        fmt(s["auc"], 3),
                        fmt(s["cramers_v"], 2),
                    ]
                    for s in strong
                ],
            )
        )
    else:
        out.append(
            doc.Verdict("green", f"No input reaches AUC {limit:.2f} on any protected attribute.")
        )
    best: dict[str, Mapping[str, Any]] = {}
    for s in scores:
        if s["attribute"] not in best or s["auc"] > best[s["attribute"]]["auc"]:
            best[s["attribute"]] = s
    if best:
        out.append(doc.Heading("Strongest input per protected attribute"))
        out.append(
            doc.Table(
                ("attribute", "input", "AUC", "Cramér's V"),
                [[a, s["feature"], fmt(s["auc"], 3), _v(s["cramers_v"])] for a, s in best.items()],
            )
        )
    if p.get("not_scored"):
        out.append(
            doc.Text(
                "Not scored (fewer than two groups of 20 applicants): "
                + ", ".join(p["not_scored"]),
                "note",
            )
        )
    return out


def _v(value: Any) -> str:
    return "–" if value is None else f"{float(value):.2f}"


# ------------------------------------------------------------------------------ statement
def protected_statement(
    protected: Mapping[str, Any] | None,
    sensitive: Sequence[str] = (),
    inputs: Sequence[str] = (),
) -> str:
    """The intended-use line about protected attributes, from what the model really uses
    (:class:`~creditscore.explain.fairness.protected_use.ProtectedUse` as a dict; for a card
    saved before it existed, from the card's lists of sensitive columns and inputs)."""
    if protected is None:
        used = set(inputs)
        protected = {
            "sensitive": list(sensitive),
            "as_inputs": {s: "(no reason recorded)" for s in sensitive if s in used},
        }
    sensitive = list(protected.get("sensitive") or [])
    as_inputs: Mapping[str, str] = protected.get("as_inputs") or {}
    unlisted = protected.get("unlisted") or []
    if not sensitive:
        text = "No column is listed as a protected attribute (`sensitive` is empty)."
    else:
        kept_out = [s for s in sensitive if s not in as_inputs]
        text = f"Protected attributes: {', '.join(sensitive)}; "
        if kept_out and not as_inputs:
            text += "none is a model input"
        elif kept_out:
            text += f"{', '.join(kept_out)} are not model inputs"
        else:
            text += "every one is a model input"
        if as_inputs:
            text += "; " + "; ".join(
                f"{col} is an input, allowed because: {why}" for col, why in as_inputs.items()
            )
        text += (
            ". None is ever a reason code or a counterfactual lever, and the decision log "
            "stores them only as keyed hashes (or not at all)"
        )
        text += "; other inputs may still act as proxies (see Possible proxies)."
    if unlisted:
        text += (
            " Warning: inputs that look protected but are not listed as sensitive: "
            + "; ".join(f"{c} ({why})" for c, why in unlisted)
            + "."
        )
    return text
