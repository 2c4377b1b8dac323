"""The model card: one self-contained HTML page (and a Markdown twin) per model version.

Written for a model validator: what the model is for and where it stops, the data and
splits, every candidate compared, the chosen model and its parameters, test metrics with
the six evaluation plots, calibration, threshold and cost, the decision policy, the top
features, fairness and explanations (when computed), the stability baseline monitoring
compares against, and the promotion record.

It lays out the card's facts document (:mod:`creditscore.evaluation.card`) as a
:class:`~creditscore.reporting.document.Page`, rendered by the one HTML and Markdown
renderer of :mod:`creditscore.reporting`.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from creditscore.evaluation.card import CONTEXT_FILE, TOP_FEATURES, card_context
from creditscore.evaluation.plots import PLOT_NAMES
from creditscore.evaluation.threshold import one_sided
from creditscore.formatting import fmt, pct
from creditscore.outcome import NO_OUTCOME
from creditscore.reporting import html, markdown
from creditscore.reporting.document import (
    Block,
    Bullets,
    Code,
    Columns,
    Figure,
    Figures,
    Heading,
    KeyValues,
    Kpi,
    Level,
    Page,
    Raw,
    Section,
    Table,
    Text,
)
from creditscore.reporting.fairness import (
    fairness_blocks,
    fairness_plots,
    protected_statement,
    proxy_blocks,
)

if TYPE_CHECKING:
    from creditscore.training.train import TrainingResult

__all__ = ["SECTIONS", "build_model_card", "card_page", "render_model_card"]

HTML_FILE = "model_card.html"
MARKDOWN_FILE = "model_card.md"

#: (anchor, title) of every section, in order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("intended-use", "Intended use and limitations"),
    ("data", "Data"),
    ("splits", "Splits"),
    ("candidates", "Candidates compared"),
    ("model", "Chosen model and parameters"),
    ("test-metrics", "Test metrics"),
    ("errors", "Error analysis"),
    ("calibration", "Calibration"),
    ("threshold", "Threshold and cost"),
    ("policy", "Decision policy and risk bands"),
    ("features", "Top features"),
    ("fairness", "Fairness"),
    ("proxies", "Possible proxies"),
    ("explanations", "Explanations"),
    ("interactions", "Feature interactions"),
    ("stability", "Stability baseline"),
    ("promotion", "Promotion record"),
    ("reproducibility", "Reproducibility"),
)

PLOT_CAPTIONS = {
    "roc": "ROC curve with the policy's operating point.",
    "pr": "Precision-recall curve.",
    "calibration": "Reliability by PD decile; PD histogram below.",
    "ks": "Cumulative PD distributions of goods and bads (KS).",
    "score_distribution": "Score points of goods and bads, with the threshold.",
    "cost_threshold": "Expected cost per applicant by threshold.",
    "importance": "Drop in ROC-AUC (rows the model did not learn from) when a feature is shuffled.",
}

METRIC_ROWS = (
    ("roc_auc", "ROC-AUC"),
    ("gini", "Gini"),
    ("ks", "KS"),
    ("pr_auc", "PR-AUC (average precision)"),
    ("brier", "Brier score"),
    ("log_loss", "Log loss"),
    ("rmse", "RMSE of the PD"),
    ("mae", "MAE of the PD"),
    ("accuracy", "Accuracy"),
    ("precision", "Precision (bad rate among declined)"),
    ("recall", "Recall (share of bads declined)"),
    ("f1", "F1"),
    ("specificity", "Specificity (share of goods approved)"),
    ("approval_rate", "Approval rate"),
    ("bad_rate_approved", "Bad rate among approved"),
    ("expected_cost", "Expected cost per applicant"),
)

CALIBRATION_NOTE = (
    "Chosen by 5-fold cross-validated log loss within the rows named above the table; "
    '"none" is the uncalibrated model.'
)


def _target_text(d: dict[str, Any]) -> str:
    """The target, its bad and good values, and the rows left out as indeterminate."""
    good = d.get("negative") or "the other value"
    text = f"{d['target']} (bad = {d['positive']}; good = {good})"
    left_out = d.get("indeterminate") or {}
    if left_out:
        listed = ", ".join(
            f"{k if k == NO_OUTCOME else repr(k)} ({n:,})" for k, n in left_out.items()
        )
        text += (
            f"; {sum(left_out.values()):,} rows without a bad or good outcome, left out: {listed}"
        )
    return text


def _prov(ctx: dict[str, Any]) -> dict[str, Any]:
    """Which rows each figure comes from (cards written before final_fit: train only)."""
    p = ctx.get("provenance")
    if p:
        return dict(p)
    rows = ctx["splits"]["rows"]
    return {
        "final_fit": "train",
        "fitted_on": f"train ({rows['train']['rows']:,} rows)",
        "selection": f"CV on train ({rows['train']['rows']:,} rows)",
        "candidates": "each candidate fitted on train, scored on valid",
        "calibration": f"CV log loss within valid ({rows['valid']['rows']:,} rows)",
        "threshold": f"cost-optimal on valid ({rows['valid']['rows']:,} rows)",
        "development_key": "valid",
        "development": f"valid ({rows['valid']['rows']:,} rows)",
        "test": f"test ({rows['test']['rows']:,} rows)",
    }


def _when(iso: Any) -> str:
    return str(iso or "")[:19].replace("T", " ")


def _not_computed(what: str) -> str:
    return f"Not computed: no {what} results were attached to this training."


class _Facts:
    """The card's sentences and tables, read from its facts document."""

    def __init__(self, ctx: dict[str, Any], version: str | None, promotion: dict[str, Any] | None):
        self.c = ctx
        self.version = version
        self.promotion = promotion

    # ---------------------------------------------------------------- text
    def title(self) -> str:
        v = f" version {self.version}" if self.version else ""
        return f"Model card: {self.c['name']}{v}"

    def subtitle(self) -> str:
        return (
            f"{self.c['label']} · trained {_when(self.c.get('trained_at'))} UTC"
            f" · card generated {_when(self.c['generated_at'])} UTC"
        )

    def status(self) -> str:
        if not self.promotion:
            return "not registered"
        return str(self.promotion.get("decision") or "registered")

    def intended_use(self) -> list[str]:
        d = self.c["data"]
        period = f" from {d['period'][0]} to {d['period'][1]}" if d["period"] else ""
        p = self.c["policy"]
        items = [
            f"Purpose: estimate the probability of default (PD) of a credit application, i.e. "
            f"that the target '{d['target']}' is {d['positive']}, and turn it into score points, "
            f"a risk band and an approve / refer / decline recommendation under the policy below.",
            "Users: credit-risk analysts and underwriters (who decide referred applications), "
            "and model validators. The decision is a recommendation; declines must be explainable "
            "to the applicant with the reason codes.",
            f"Population: applications like the {d['rows']:,} in the training data{period}. "
            "Do not use it for other products, channels, regions or periods without re-validation.",
            protected_statement(
                self.c.get("protected"), d["sensitive"], [*d["numeric"], *d["categorical"]]
            ),
            f"The shipped model learnt from {_prov(self.c)['fitted_on']}; PDs are calibrated "
            f"({self.c['calibration']['method']}) and the threshold set on "
            f"{_prov(self.c)['development']}; the threshold "
            f"{p['threshold']:.4f} is cost-optimal for costs FN {p['costs']['false_negative']:g} : "
            f"FP {p['costs']['false_positive']:g} and must be revisited when costs change.",
            f"The test set has only {self.c['splits']['rows']['test']['rows']:,} rows: read its "
            "metrics with the interval given. Monitor drift against the stability baseline and "
            "re-validate when the population stability index exceeds 0.25.",
        ]
        costs = p["costs"]
        what = one_sided(
            self.c["test_metrics"].get("approval_rate"), p["threshold"], p["bayes_threshold"],
            costs["false_negative"], costs["false_positive"],
        )  # fmt: skip
        if what is not None:
            items.append(
                f"At this threshold the policy {what}. Review the costs (or the inputs) before "
                "this policy decides anything."
            )
        if d["demo"]:
            items.append(
                "Demonstration data: the bundled Statlog German Credit data (Hofmann 1994, UCI, "
                "CC BY 4.0), historic and small. This model is for demonstration, not for "
                "lending decisions."
            )
        return items

    # ---------------------------------------------------------------- tables
    def data_rows(self) -> list[tuple[str, str]]:
        d = self.c["data"]
        return [
            ("Source", d["source"] or "bundled German credit data (german_credit.csv)"),
            ("SHA-256 of the data", d["hash"]),
            ("Rows", fmt(d["rows"])),
            ("Bads", f"{d['bads']:,} (bad rate {pct(d['bad_rate'])})"),
            ("Target", _target_text(d)),
            (
                "Period",
                f"{d['period'][0]} to {d['period'][1]}" if d["period"] else "no date column",
            ),
            ("Numeric inputs", f"{len(d['numeric'])}: " + ", ".join(d["numeric"])),
            ("Categorical inputs", f"{len(d['categorical'])}: " + ", ".join(d["categorical"])),
            ("Sensitive", _sensitive_row(d["sensitive"], self.c.get("protected"))),
            ("Excluded", ", ".join(d["excluded"]) or "none"),
            ("Id / date column", f"{d['id_column'] or '–'} / {d['date_column'] or '–'}"),
        ]

    def split_table(self) -> tuple[list[str], list[list[str]]]:
        s = self.c["splits"]
        rows = [
            [n, fmt(r["rows"]), pct(r["share"]), fmt(r["bads"]), pct(r["bad_rate"])]
            for n, r in s["rows"].items()
        ]
        return ["split", "rows", "share", "bads", "bad rate"], rows

    def split_note(self) -> str:
        s = self.c["splits"]
        if s["out_of_time"]:
            period = (
                f" ({s['test_period'][0]} to {s['test_period'][1]})" if s["test_period"] else ""
            )
            return (
                f"Out-of-time: the test set is the latest applications{period}; train and valid "
                f"are a stratified split of the earlier ones (seed {s['seed']})."
            )
        if _prov(self.c)["final_fit"] == "train":
            return (
                f"Stratified random split, seed {s['seed']}. Train tunes the candidates by "
                "cross-validation, valid calibrates and sets the threshold, test is touched "
                "once for the figures below."
            )
        return (
            f"Stratified random split, seed {s['seed']}. Train tunes and selects the "
            "candidates by cross-validation; the champion is then refitted on train + valid, "
            "calibrated and thresholded on cross-fitted out-of-fold PDs of train + valid; "
            "test is touched once for the figures below."
        )

    def provenance_rows(self) -> list[tuple[str, str]]:
        p = _prov(self.c)
        return [
            ("final_fit", str(p["final_fit"])),
            ("Shipped model fitted on", str(p["fitted_on"])),
            ("Selection AUC", str(p["selection"])),
            ("Champion chosen by", str(p.get("choice", "the best selection AUC"))),
            ("Candidates' valid AUC, KS, Brier", str(p["candidates"])),
            ("Calibration", str(p["calibration"])),
            ("Threshold", str(p["threshold"])),
            ("Development metrics", str(p["development"])),
            ("Test metrics, error analysis, plots", str(p["test"])),
        ]

    def candidate_table(self) -> tuple[list[str], list[list[str]]]:
        head = [
            "candidate",
            "selection AUC",
            "CV ROC-AUC",
            "± std",
            "valid AUC",
            "valid KS",
            "valid Brier",
            "trials (pruned)",
            "fit s",
        ]
        rows = [
            [
                ("★ " if c["champion"] else "") + c["label"],
                fmt(c.get("selection_auc")),
                fmt(c["cv_auc_mean"]),
                fmt(c["cv_auc_std"], 3),
                fmt(c["valid_auc"]),
                fmt(c["valid_ks"], 3),
                fmt(c["valid_brier"]),
                (f"{c['trials']} ({c['pruned']})" if c["trials"] else "–")
                + (", defaults kept" if c.get("kept_defaults") else ""),
                fmt(c["fit_seconds"], 2),
            ]
            for c in self.c["candidates"]
        ]
        return head, rows

    def candidate_note(self) -> str:
        b = self.c["budget"]
        limits = " and ".join(
            x
            for x in (
                f"{b['trials']} trials" if b.get("trials") else "",
                f"{b['seconds']:g} s" if b.get("seconds") else "",
            )
            if x
        )
        return (
            f"Each candidate is tuned with Optuna ({limits} per candidate, whichever comes first) "
            f"by stratified {b['cv_folds']}-fold cross-validated ROC-AUC on train; its defaults "
            "are kept unless the best trial beats them by more than one standard error of the "
            "paired fold differences. The champion (★) has the best selection AUC: the mean "
            f"ROC-AUC over the {b['cv_folds']} folds and the validation rows, which took no "
            "part in tuning (ties: better CV ROC-AUC); a blend is chosen on the same parts."
            + (
                " With budget.prefer_transparent, a logistic regression or scorecard stays "
                "champion unless a more complex candidate beats it by more than one standard "
                f"error of their paired part differences; here: {_prov(self.c).get('choice')}."
                if b.get("prefer_transparent", False)
                else ""
            )
        )

    def param_rows(self) -> list[tuple[str, str]]:
        ch = self.c["champion"]
        rows = [
            ("Model", f"{self.c['label']} ({self.c['candidate']})"),
            ("Inputs", str(ch["features"])),
            ("Selection AUC (folds and valid)", fmt(ch.get("selection_auc"))),
            ("CV ROC-AUC on train", f"{fmt(ch['cv_auc_mean'])} ± {fmt(ch['cv_auc_std'], 3)}"),
            ("Calibration", ch["calibration"]),
        ]
        rows += [(f"parameter {k}", fmt(v)) for k, v in ch["params"].items()]
        for member, params in (ch.get("members") or {}).items():
            text = ", ".join(f"{k}={fmt(v)}" for k, v in params.items())
            rows.append((f"member {member}", text or "defaults"))
        return rows

    def metric_table(self) -> tuple[list[str], list[list[str]]]:
        t, v = self.c["test_metrics"], self.c["valid_metrics"]
        rows = [[label, fmt(t.get(k)), fmt(v.get(k))] for k, label in METRIC_ROWS]
        dev = "valid" if _prov(self.c)["development_key"] == "valid" else "out-of-fold train+valid"
        return [
            "metric",
            f"test ({fmt(t.get('n'))} rows)",
            f"{dev} ({fmt(v.get('n'))} rows)",
        ], rows

    def metric_note(self) -> str:
        ci = self.c.get("test_auc_interval")
        t = self.c["test_metrics"]
        text = (
            f"Decisions at the policy threshold {self.c['policy']['threshold']:.4f} (declined = "
            "predicted bad). "
        )
        if ci:
            text += (
                f"Test ROC-AUC {fmt(t.get('roc_auc'), 3)}, 95 % bootstrap interval "
                f"{ci[0]:.3f} to {ci[1]:.3f} ({self.c.get('test_auc_bootstrap', 300)} "
                "resamples of the test rows)."
            )
        return text

    def confusion(self) -> tuple[list[str], list[list[str]]]:
        t = self.c["test_metrics"]
        return ["test set", "approved (PD < threshold)", "declined (PD ≥ threshold)"], [
            ["good", fmt(t.get("tn")), fmt(t.get("fp"))],
            ["bad", fmt(t.get("fn")), fmt(t.get("tp"))],
        ]

    def calibration_table(self) -> tuple[list[str], list[list[str]]]:
        rows = [
            [
                fmt(r["bin"]),
                fmt(r["n"]),
                f"{r['pd_min']:.4f}–{r['pd_max']:.4f}",
                fmt(r["mean_pd"]),
                fmt(r["observed_bad_rate"]),
                fmt(r["bads"]),
            ]
            for r in self.c["calibration"]["table"]
        ]
        return ["decile", "rows", "PD range", "mean PD", "observed bad rate", "bads"], rows

    def log_loss_table(self) -> tuple[list[str], list[list[str]]]:
        cal = self.c["calibration"]
        rows = [
            [m + (" (chosen)" if m == cal["method"] else ""), fmt(v)]
            for m, v in cal["cv_log_loss"].items()
        ]
        return ["method", f"5-fold CV log loss ({_prov(self.c)['development']})"], rows

    def threshold_rows(self) -> list[tuple[str, str]]:
        p, t = self.c["policy"], self.c["test_metrics"]
        dec = self.c["test_decisions"]
        rows = [
            (
                "Threshold (decline when PD ≥)",
                f"{p['threshold']:.4f} = {p['threshold_points']} points",
            ),
            ("Bayes threshold c_FP / (c_FP + c_FN)", f"{p['bayes_threshold']:.4f}"),
            (
                "Costs",
                f"approving a bad (FN) {p['costs']['false_negative']:g}, "
                f"declining a good (FP) {p['costs']['false_positive']:g}",
            ),
            (
                "Refer band",
                f"PD {p['refer_band'][0]:.4f} to {p['refer_band'][1]:.4f}"
                if p.get("refer_band")
                else "none (refer margin 0)",
            ),
            (
                "Expected cost per applicant (test / development rows)",
                f"{fmt(t.get('expected_cost'))} / "
                f"{fmt(self.c['valid_metrics'].get('expected_cost'))}",
            ),
            ("Test decisions", ", ".join(f"{k} {pct(v)}" for k, v in dec.items())),
        ]
        return rows

    def band_table(self) -> tuple[list[str], list[list[str]]]:
        rows, above = [], None
        for b in self.c["bands"]:
            if above is None:
                points = f"≥ {b['min_points']}"
            elif b["pd_to"] >= 1:
                points = f"< {above}"
            else:
                points = f"{b['min_points']}–{above - 1}"
            above = b["min_points"]
            rows.append(
                [
                    b["name"],
                    f"{b['pd_from']:.2f}–{b['pd_to']:.2f}",
                    points,
                    pct(b["test_share"]),
                    pct(b["test_bad_rate"]) if b["test_bad_rate"] is not None else "–",
                ]
            )
        return ["band", "PD range", "score points", "share of test", "test bad rate"], rows

    def policy_note(self) -> str:
        s = self.c["policy"]["scaling"]
        return (
            f"Policy version {self.c['policy']['version']}. Score points = {s['offset']:.2f} + "
            f"{s['factor']:.3f} × ln(good:bad odds): {s['base_points']:g} points at odds "
            f"{s['base_odds']:g}:1, {s['pdo']:g} points to double the odds."
        )

    def importance_table(self) -> tuple[list[str], list[list[str]]]:
        rows = [
            [r["feature"], fmt(r["mean"]), fmt(r["std"])]
            for r in self.c["importance"]["rows"][:TOP_FEATURES]
        ]
        return ["feature", "mean AUC drop", "std"], rows

    def importance_note(self) -> str:
        imp = self.c["importance"]
        return (
            f"Permutation importance (scikit-learn) on the {imp['valid_rows']:,} "
            f"{imp.get('rows_label', 'validation')} rows (the shipped model did not learn from "
            "them): "
            f"each feature shuffled {imp['repeats']} times, ROC-AUC scorer, through the whole "
            "calibrated pipeline. Near-zero or negative values mean the model barely uses the "
            "feature."
        )

    def stability_table(self) -> tuple[list[str], list[list[str]]]:
        rows = []
        for r in self.c["stability"]["score_deciles"]:
            if r["pd_from"] <= 0:
                points = f"≥ {r['points_from']}"
            elif r["pd_to"] >= 1:
                points = f"≤ {r['points_to']}"
            else:
                points = f"{r['points_from']}–{r['points_to']}"
            rows.append(
                [fmt(r["bin"]), f"{r['pd_from']:.4f}–{r['pd_to']:.4f}", points, pct(r["share"])]
            )
        return ["bin", "PD range", "score points", "share of train"], rows

    def stability_features(self) -> tuple[list[str], list[list[str]]]:
        rows = [
            [
                f["feature"],
                f["kind"],
                fmt(f["bins"]),
                fmt(f["mean"], 2),
                fmt(f["std"], 2),
                pct(f["missing_share"]),
            ]
            for f in self.c["stability"]["features"]
        ]
        return ["feature", "kind", "bins / levels", "mean", "std", "missing"], rows

    def stability_note(self) -> str:
        s = self.c["stability"]
        return (
            "Reference distributions saved in the bundle "
            f"(Profile, {s['n_rows']:,} rows the model was developed on; with final_fit "
            "train_valid the score bins are of out-of-fold PDs): "
            "monitoring compares live applications and scores with these bins (PSI, KS) without "
            "needing the training data."
        )

    def promotion_rows(self) -> list[tuple[str, str]]:
        pr = self.promotion
        if not pr:
            return [
                (
                    "Status",
                    "not yet registered: this card was written before the registry's gate ran",
                )
            ]
        rows = [
            ("Version", self.version or "–"),
            ("Alias", str(pr.get("decision") or "–")),
            ("Reason", str(pr.get("reason") or "–")),
            ("By", str(pr.get("by") or "–")),
            ("When", str(pr.get("at") or "–")),
        ]
        if pr.get("compared_with"):
            rows.append(("Compared with", f"champion version {pr['compared_with']}"))
        cmp = pr.get("comparison") or {}
        if cmp:
            rows.append(
                (
                    "Same test rows",
                    f"{int(cmp.get('rows', 0)):,} rows: AUC {fmt(cmp.get('auc_new'))} vs "
                    f"{fmt(cmp.get('auc_champion'))}, Brier {fmt(cmp.get('brier_new'))} vs "
                    f"{fmt(cmp.get('brier_champion'))} (new vs champion)",
                )
            )
        if pr.get("gate") and pr.get("gate_reason") and pr.get("gate_reason") != pr.get("reason"):
            rows.append(("Gate at registration", f"{pr['gate']}: {pr['gate_reason']}"))
        return rows

    def history_table(self) -> tuple[list[str], list[list[str]]] | None:
        events = (self.promotion or {}).get("history") or []
        if not events:
            return None
        rows = [
            [
                _when(e.get("at")),
                str(e.get("action", "")),
                f"v{e.get('version')}",
                f"v{e['previous']}" if e.get("previous") else "–",
                str(e.get("by", "")),
                str(e.get("reason", "")),
            ]
            for e in events
        ]
        return ["when (UTC)", "action", "champion", "before", "by", "reason"], rows

    def versions_table(self) -> tuple[list[str], list[list[str]]]:
        libs = self.c["reproducibility"]["library_versions"]
        return ["library", "version"], [[k, str(v)] for k, v in sorted(libs.items())]

    def repro_rows(self) -> list[tuple[str, str]]:
        r = self.c["reproducibility"]
        return [
            ("Data hash", r["data_hash"]),
            ("Policy version", r["policy_version"]),
            ("Bundle", r["bundle_path"]),
            ("Training time", f"{r['training_seconds']:.0f} s"),
        ]


def _sensitive_row(sensitive: list[str], protected: dict[str, Any] | None) -> str:
    inputs = (protected or {}).get("as_inputs") or {}
    if not sensitive:
        return "none"
    return ", ".join(f"{s} (a model input: allowed)" if s in inputs else s for s in sensitive) + (
        "; not model inputs" if not inputs else ""
    )


# =========================================================================== the page
def _errors(ctx: dict[str, Any]) -> list[Block]:
    ea = ctx.get("error_analysis")
    if not ea:
        return [Text(_not_computed("error analysis"), "missing")]
    feats = list((ea["confident_goods"] or ea["confident_bads"] or [{"values": {}}])[0]["values"])

    def examples(items: list[dict[str, Any]]) -> Table:
        head = ["row", "id", "PD", *feats]
        rows = [
            [str(e["row"]), e["application_id"] or "-", f"{e['pd']:.3f}"]
            + [fmt(e["values"].get(f)) for f in feats]
            for e in items
        ]
        return Table(head, rows)

    def bins(items: list[dict[str, Any]], first: str) -> Table:
        head = [
            first,
            "rows",
            "bads",
            "mean PD",
            "bad rate",
            "error rate",
            "false approvals",
            "false declines",
        ]
        rows = [
            [
                b["label"],
                fmt(b["n"]),
                fmt(b["bads"]),
                fmt(b["mean_pd"], 3),
                pct(b["bad_rate"]),
                pct(b["error_rate"]),
                fmt(b["false_approvals"]),
                fmt(b["false_declines"]),
            ]
            for b in items
        ]
        return Table(head, rows)

    out: list[Block] = [
        Text(
            f"On {ea['rows']}, decisions at the threshold {ea['threshold']:.4f}: "
            f"{pct(ea['error_rate'])} decided wrongly (a bad approved or a good declined).",
            "note",
        ),
        Heading("Most confident errors: goods with the highest PD (declined, repaid)"),
        examples(ea["confident_goods"]),
        Heading("Most confident errors: bads with the lowest PD (approved, defaulted)"),
        examples(ea["confident_bads"]),
        Heading("Error rates by PD decile"),
        bins(ea["by_decile"], "decile"),
    ]
    for feature in ea["by_feature"]:
        out += [Heading(f"Error rates by {feature['feature']}"), bins(feature["bins"], "bin")]
    return out


def _interaction_blocks(ctx: dict[str, Any]) -> list[Block]:
    it = ctx.get("interactions")
    if not it:
        return [Text("No tree model in the champion: no interactions to compute.", "missing")]
    out: list[Block] = [
        Text(
            f"{it['method']} of {it['model']}, on {it['rows']}; strength: {it['unit']}, "
            "summed over each feature's encoded columns, both orders counted.",
            "note",
        ),
        Table(
            ["feature", "with", "strength"],
            [[r["a"], r["b"], fmt(r["strength"], 4)] for r in it["pairs"]],
        ),
    ]
    if it.get("plot"):
        out.append(Figure(it["plot"], "Strongest feature interactions.", "interactions"))
    return out


def _extra(ctx: dict[str, Any], key: str, what: str) -> list[Block]:
    ex = (ctx.get("extras") or {}).get(key)
    if not ex or not (ex.get("html") or ex.get("markdown") or ex.get("plots")):
        return [Text(_not_computed(what), "missing")]
    out: list[Block] = [Raw(ex.get("html", ""), ex.get("markdown", ""))]
    figures = [
        Figure(d, n.replace("_", " "), f"{key}_{n}") for n, d in (ex.get("plots") or {}).items()
    ]
    if figures:
        out.append(Figures(figures))
    return out


def _explanations(c: dict[str, Any]) -> list[Block]:
    """What drives the model: the importance table and its plots (or, on a card saved by
    an older version, the section it saved ready-made)."""
    ex = c.get("explanations")
    if not ex:
        return _extra(c, "explanations", "explanation")
    if ex.get("error"):
        return [Text(f"Not computed: {ex['error']}", "missing")]
    rows = [
        [r["label"], fmt(r["mean_abs_contribution"], 3), pct(r["share"])]
        for r in ex.get("importance", [])
    ]
    out: list[Block] = [
        Heading("What drives the model"),
        Text(ex["intro"]),
        Table(["feature", "mean abs contribution", "share"], rows),
    ]
    captions = {
        "shap_beeswarm": "Each applicant's contribution per feature (colour: the value).",
        "partial_dependence": "Calibrated PD as one input varies, the others as observed.",
    }
    figures = [
        Figure(data, captions.get(name, name.replace("_", " ")), f"explanations_{name}")
        for name, data in (ex.get("plots") or {}).items()
    ]
    if figures:
        out.append(Figures(figures))
    return out


def _fairness(c: dict[str, Any]) -> list[Block]:
    """The fairness section from the saved report (figures drawn here), or the section an
    older card saved ready-made."""
    facts = c.get("fairness")
    if not facts:
        return _extra(c, "fairness", "fairness")
    pngs = fairness_plots(facts["report"])
    b64 = {n: base64.b64encode(p).decode("ascii") for n, p in pngs.items()}
    return fairness_blocks(facts["report"], facts.get("gate"), b64)


def card_page(
    context: dict[str, Any], version: str | None = None, promotion: dict[str, Any] | None = None
) -> Page:
    """The model card of a facts document, as a page (for any renderer)."""
    f = _Facts(context, version, promotion)
    c = context
    t, p = c["test_metrics"], c["policy"]
    plots = Figures(
        [Figure(c["plots"][n], PLOT_CAPTIONS.get(n, n), n) for n in PLOT_NAMES if n in c["plots"]]
    )
    history = f.history_table()
    promotion_blocks: list[Block] = [KeyValues(f.promotion_rows())]
    if history is not None:
        promotion_blocks += [Heading("History of this version"), Table(*history)]
    body: dict[str, list[Block]] = {
        "intended-use": [Bullets(f.intended_use(), labelled=True)],
        "data": [KeyValues(f.data_rows())],
        "splits": [
            Table(*f.split_table()),
            Text(f.split_note(), "note"),
            Heading("What was validated on what"),
            KeyValues(f.provenance_rows()),
        ],
        "candidates": [
            Table(*f.candidate_table(), highlight="★"),
            Text(f.candidate_note(), "note"),
        ],
        "model": [KeyValues(f.param_rows())],
        "test-metrics": [
            Table(*f.metric_table()),
            Text(f.metric_note(), "note"),
            Heading("Confusion matrix at the threshold"),
            Table(*f.confusion()),
            plots,
        ],
        "calibration": [
            Columns(
                [Heading("Method"), Table(*f.log_loss_table()), Text(CALIBRATION_NOTE, "note")],
                [Heading("Test set by PD decile"), Table(*f.calibration_table())],
            )
        ],
        "errors": _errors(c),
        "threshold": [KeyValues(f.threshold_rows())],
        "policy": [Table(*f.band_table()), Text(f.policy_note(), "note")],
        "features": [
            Figure(c["importance"]["plot"], PLOT_CAPTIONS["importance"], "importance", wide=True),
            Table(*f.importance_table()),
            Text(f.importance_note(), "note"),
        ],
        "fairness": _fairness(c),
        "proxies": proxy_blocks(c.get("proxies")),
        "explanations": _explanations(c),
        "interactions": _interaction_blocks(c),
        "stability": [
            Text(f.stability_note(), "note"),
            Heading("Score (PD) deciles of the training rows"),
            Table(*f.stability_table()),
            Heading("Inputs"),
            Table(*f.stability_features()),
        ],
        "promotion": promotion_blocks,
        "reproducibility": [
            KeyValues(f.repro_rows()),
            Heading("Library versions"),
            Table(*f.versions_table()),
            Heading("Project configuration"),
            Code(c["reproducibility"]["config_yaml"], "yaml"),
        ],
    }
    status = f.status()
    level: Level | None = (
        "green" if "champion" in status else ("yellow" if "challenger" in status else None)
    )
    return Page(
        title=f.title(),
        subtitle=f.subtitle(),
        badge=status,
        badge_level=level,
        kpis=[
            Kpi(fmt(t.get("roc_auc"), 3), "test ROC-AUC"),
            Kpi(fmt(t.get("gini"), 3), "Gini"),
            Kpi(fmt(t.get("ks"), 3), "KS"),
            Kpi(fmt(t.get("brier"), 3), "Brier"),
            Kpi(f"{p['threshold']:.3f}", "PD threshold"),
            Kpi(pct(t.get("approval_rate"), 0), "approval rate"),
        ],
        sections=[Section(anchor, title, body[anchor]) for anchor, title in SECTIONS],
    )


def render_model_card(
    context: dict[str, Any],
    out_dir: Path,
    *,
    version: str | None = None,
    promotion: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``model_card.html`` (self-contained), ``model_card.md`` (+ ``images/``) and
    ``model_card.json`` (the facts, to render it again) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx_path = out_dir / CONTEXT_FILE
    ctx_path.write_text(json.dumps(context), encoding="utf-8")
    page = card_page(context, version, promotion)
    html_path = out_dir / HTML_FILE
    html_path.write_text(html.render(page), encoding="utf-8")
    md_path = out_dir / MARKDOWN_FILE
    md_path.write_text(markdown.render(page, out_dir / markdown.IMAGES), encoding="utf-8")
    return {"html": html_path, "markdown": md_path, "context": ctx_path}


def build_model_card(
    result: TrainingResult,
    out_dir: Path,
    *,
    version: str | None = None,
    promotion: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Gather the facts of a training result and write its card (see
    :func:`render_model_card`)."""
    return render_model_card(
        card_context(result), Path(out_dir), version=version, promotion=promotion
    )
