"""The monitoring report: one self-contained HTML page drawn from a :class:`MonitoringReport`.

No calculation happens here: every number comes from the typed result. The page opens with
the traffic-light verdict and the alerts, then the cohorts at a glance, a heat map of PSI by
input and cohort, the score distributions, performance and backtesting by risk band, the
label-free estimate (marked as an estimate on every line), the inputs in detail and the
methods with their thresholds. Inline CSS and SVG only: it opens offline, prints, and can be
archived with the validation file. (The escaping and CSS helpers are this module's own until
the reporting layer shares them.)
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from creditscore.monitoring.results import (
    CohortResult,
    FeatureDrift,
    MonitoringReport,
    RequestErrors,
)

LIGHT_TEXT = {"green": "GREEN", "yellow": "YELLOW", "red": "RED", "grey": "n/a"}
STATUS_LIGHT = {"stable": "green", "watch": "yellow", "act": "red", "insufficient": "grey"}
#: Line colours of stable cohorts (cool); drifting ones are drawn in the status colour.
PALETTE = ["#1f5fa8", "#2a9d8f", "#8e6bbf", "#457b9d", "#588157", "#6d597a", "#264653",
           "#3a86ff", "#5e60ce", "#4d908e", "#577590", "#7b8cde"]  # fmt: skip
DRIFT_COLOURS = {"act": "#d93025", "watch": "#e09b00"}

CSS = """
:root { --ink:#1d2430; --muted:#5b6576; --line:#d9dee7; --soft:#f4f6fa; --accent:#1f5fa8;
        --green:#1e7a46; --green-bg:#e3f4ea; --yellow:#8a5a00; --yellow-bg:#fff1cc;
        --red:#b3261e; --red-bg:#fde2e0; --grey:#6b7280; --grey-bg:#eef0f3; }
* { box-sizing: border-box; }
body { font: 14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0; background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 26px 34px 60px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 16px; }
h1 { font-size: 25px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 30px 0 8px; padding-top: 6px; border-top: 1px solid var(--line);
     color: var(--accent); }
h3 { font-size: 15px; margin: 16px 0 6px; }
.sub, .note { color: var(--muted); margin: 2px 0; }
.note { font-size: 13px; }
.verdict { display: flex; gap: 18px; align-items: center; padding: 14px 18px; border-radius: 8px;
           margin: 10px 0 12px; border: 1px solid var(--line); }
.verdict .lamp { width: 54px; height: 54px; border-radius: 50%; flex: none;
                 box-shadow: inset 0 -4px 8px rgba(0,0,0,.18); }
.verdict b { font-size: 22px; display: block; }
.verdict.green { background: var(--green-bg); } .verdict.green .lamp { background: #2fa35f; }
.verdict.yellow { background: var(--yellow-bg); } .verdict.yellow .lamp { background: #f2b705; }
.verdict.red { background: var(--red-bg); } .verdict.red .lamp { background: #d93025; }
.kpis { display: grid; grid-template-columns: repeat(5, 1fr); gap: 10px; margin: 8px 0 6px; }
.kpi { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
       padding: 8px 10px; }
.kpi b { display: block; font-size: 19px; }
.kpi span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 9px; text-align: left;
         vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.wide { width: 100%; }
.chip { display: inline-block; min-width: 58px; text-align: center; padding: 1px 8px;
        border-radius: 10px; font-size: 12px; font-weight: 700; }
.chip.green { background: var(--green-bg); color: var(--green); }
.chip.yellow { background: var(--yellow-bg); color: var(--yellow); }
.chip.red { background: var(--red-bg); color: var(--red); }
.chip.grey { background: var(--grey-bg); color: var(--grey); }
.est { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 11px;
       font-weight: 700; letter-spacing: .04em; color: #5b3c88; background: #efe7fb;
       border: 1px dashed #8e6bbf; }
td.est-cell { color: #5b3c88; font-style: italic; }
.heat td.cell { text-align: center; font-variant-numeric: tabular-nums; min-width: 64px;
                border: 2px solid #fff; }
.heat td.green { background: #d8efe0; } .heat td.yellow { background: #ffe39a; }
.heat td.red { background: #f6a39c; color: #5c0f0a; font-weight: 700; }
.heat td.grey { background: var(--grey-bg); color: var(--grey); }
.heat th.feat, .heat td.feat { text-align: left; white-space: nowrap; }
.box { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; margin: 8px 0; }
.box.estimate { border: 2px dashed #8e6bbf; background: #faf7ff; }
.legend span { display: inline-block; margin-right: 14px; font-size: 12px; color: var(--muted); }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
            vertical-align: -1px; margin-right: 4px; }
svg text { font: 11px -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: #3b4452; }
.nowrap { white-space: nowrap; }
@media print { main { padding: 0; } h2 { break-after: avoid; } }
"""


# --------------------------------------------------------------------------- helpers
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}f}"


def _pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def _p(p: float | None) -> str:
    if p is None:
        return "–"
    return "&lt;0.001" if p < 0.001 else f"{p:.3f}"


def _chip(light: str, text: str | None = None) -> str:
    shown = text or LIGHT_TEXT.get(light, light)
    return f'<span class="chip {_e(light)}">{_e(shown)}</span>'


def _status_chip(status: str) -> str:
    return _chip(STATUS_LIGHT.get(status, "grey"), status)


EST = '<span class="est">ESTIMATE</span>'


def _table(
    head: Sequence[str], rows: Iterable[Sequence[str]], numeric: set[int], cls: str = ""
) -> str:
    def cell(tag: str, i: int, content: str) -> str:
        return (
            f'<{tag} class="num">{content}</{tag}>' if i in numeric else f"<{tag}>{content}</{tag}>"
        )

    ths = "".join(cell("th", i, _e(h)) for i, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(cell("td", i, c) for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    klass = f' class="{cls}"' if cls else ""
    return f"<table{klass}><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table>"


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{body}</section>'


def _when(text: str | None) -> str:
    return "unknown" if not text else text.replace("T", " ")[:16] + " UTC"


# --------------------------------------------------------------------------- sections
def _version(version: str) -> tuple[str, str]:
    """(what the title says, a line for the source) of a version label."""
    if version.startswith("bundle "):
        return "(bundle folder)", f'<p class="sub">Bundle: {_e(version[7:])}</p>'
    return version, ""


def _header(r: MonitoringReport) -> str:
    m, s = r.model, r.source
    version, where = _version(m.version)
    window = ""
    if s.since or s.until:
        window = f" · from {_e(_when(s.since))} to {_e(_when(s.until))} (exclusive)"
    ref = (
        f"{m.reference_rows:,} training rows (inputs), {m.score_reference_rows:,} held-out "
        "decisions (score)"
    )
    return (
        f"<header><h1>Model monitoring: {_e(m.name)} {_e(version)}</h1>{where}"
        f'<p class="sub">Current data: {_e(s.description)} · {s.rows:,} rows in '
        f"{len(r.cohorts)} cohort(s) by {_e(s.by)}{window}</p>"
        f'<p class="sub">Reference: {ref} · policy {_e(m.policy_version)} · trained '
        f"{_e(_when(m.trained_at))} · report of {_e(_when(r.generated_at))}</p></header>"
    )


_MEANING = {
    "green": "Nothing moved beyond its threshold.",
    "yellow": "Something moved: watch it at the next run.",
    "red": "Act: investigate the red items before the model keeps deciding as it does "
    "(creditscore monitor exits 1).",
}


def _verdict(r: MonitoringReport) -> str:
    reds = sum(a.level == "red" for a in r.alerts)
    yellows = sum(a.level == "yellow" for a in r.alerts)
    meaning = _MEANING.get(r.verdict, _MEANING["green"])
    latest = r.cohorts[-1]
    worst = max(r.cohorts, key=lambda c: c.score.psi or 0.0)
    observed = [c for c in r.cohorts if c.performance is not None and c.performance.mature]
    auc_text = "no mature outcomes"
    if observed:
        last = observed[-1].performance
        assert last is not None
        auc_text = f"{_num(last.auc)} in {_e(observed[-1].cohort)}"
    kpis = [
        (f"{r.source.rows:,}", f"rows in {len(r.cohorts)} cohorts"),
        (_num(worst.score.psi), f"worst score PSI ({_e(worst.cohort)})"),
        (
            _pct(latest.decisions.approval_rate),
            f"approved in {_e(latest.cohort)} (development "
            f"{_pct(latest.decisions.approval_rate_reference)})",
        ),
        (auc_text, f"latest observed AUC (development {_num(r.model.auc_reference)})"),
        (f"{_num(latest.estimate.auc)} {EST}", f"label-free AUC of {_e(latest.cohort)} (CBPE)"),
    ]
    tiles = "".join(f"<div class=kpi><b>{v}</b><span>{t}</span></div>" for v, t in kpis)
    return (
        f'<div class="verdict {_e(r.verdict)}"><div class="lamp"></div><div>'
        f"<b>Verdict: {LIGHT_TEXT.get(r.verdict, r.verdict)}</b>{reds} red and {yellows} "
        f"yellow alert(s). {_e(meaning)}</div></div><div class=kpis>{tiles}</div>"
    )


def _alerts(r: MonitoringReport) -> str:
    if not r.alerts:
        body = '<p class="note">No alert: every item is green.</p>'
        return _section("alerts", "Alerts", body)
    rows = [(_chip(a.level), _e(a.cohort), _e(a.item), _e(a.message)) for a in r.alerts[:60]]
    body = _table(("level", "cohort", "item", "what moved"), rows, set(), "wide")
    if len(r.alerts) > 60:
        body += f'<p class="note">... and {len(r.alerts) - 60} more in the JSON.</p>'
    return _section("alerts", "Alerts", body)


def _cohort_row(c: CohortResult, ops: bool, pooled: bool) -> list[str]:
    perf = c.performance
    if perf is not None and perf.mature:
        bad, auc = _pct(perf.bad_rate), _num(perf.auc)
    else:
        bad, auc = f"{_pct(c.estimate.bad_rate)} {EST}", f"{_num(c.estimate.auc)} {EST}"
    row = [
        f"<b>{_e(c.cohort)}</b>",
        f"{c.n:,}",
        _chip(STATUS_LIGHT.get(c.score.status, "grey"), _num(c.score.psi)),
        _pct(c.decisions.approval_rate),
        _pct(c.decisions.refer_rate),
        _pct(c.decisions.decline_rate),
        _num(c.score.mean_pd),
        bad,
        auc,
    ]
    if ops:
        o = c.operations
        row += [_num(o.latency_p50_ms, 2) if o else "–", _num(o.latency_p99_ms, 2) if o else "–"]
        row += _error_cells(o.errors if o else None)
    row.append("" if pooled else _chip(c.verdict))
    return row


def _error_cells(e: RequestErrors | None) -> list[str]:
    """4xx, 5xx and the error rate of a cohort: '–' when its errors cannot be cut by this
    cohort, 'not recorded' for a log from before they were."""
    if e is None:
        return ["–", "–", "–"]
    if not e.recorded:
        return ["–", "–", '<span class="note">not recorded</span>']
    rate = _chip(STATUS_LIGHT.get(e.status, "grey"), _pct(e.rate))
    return [f"{e.client:,}", f"{e.server:,}", rate]


def _cohorts(r: MonitoringReport) -> str:
    ops = any(c.operations is not None for c in r.cohorts)
    head = ["cohort", "rows", "score PSI", "approve", "refer", "decline", "mean PD",
            "bad rate", "AUC"]  # fmt: skip
    if ops:
        head += ["p50 ms", "p99 ms", "4xx", "5xx", "error rate"]
    head.append("verdict")
    rows = [_cohort_row(c, ops, False) for c in r.cohorts]
    if len(r.cohorts) > 1:
        rows.append(_cohort_row(r.overall, ops, True))
    ref = r.cohorts[0].decisions
    note = (
        f'<p class="note">Development: approve {_pct(ref.approval_rate_reference)}, refer '
        f"{_pct(ref.refer_rate_reference)}, decline {_pct(ref.decline_rate_reference)}, mean "
        f"PD {_num(r.cohorts[0].score.mean_pd_reference)}, AUC {_num(r.model.auc_reference)} "
        f"(± {_num(r.model.auc_reference_se)} s.e.). ESTIMATE: label-free, from the PDs, for "
        "cohorts whose outcomes have not matured; elsewhere bad rate and AUC are observed.</p>"
    )
    if ops:
        t = r.thresholds
        note += (
            '<p class="note">Errors: scoring requests the service refused (4xx: not JSON, a '
            "missing or invalid field, a refused row of a batch) or failed (5xx); error rate "
            "= errors / (decisions + errors), watch from "
            f"{_pct(t.get('error_rate_watch'))}, act from {_pct(t.get('error_rate_act'))} "
            f"(5xx alone: {_pct(t.get('server_error_rate_watch'))} / "
            f"{_pct(t.get('server_error_rate_act'))}). Requests refused before the key was "
            "checked are on /metrics only.</p>"
        )
    table = _table(head, rows, set(range(1, len(head) - 1)), "wide")
    return _section("cohorts", "Cohorts at a glance", table + note)


def _heat_cell(light: str, text: str, title: str = "") -> str:
    tip = f' title="{_e(title)}"' if title else ""
    return f'<td class="cell {light}"{tip}>{text}</td>'


def _heatmap(r: MonitoringReport) -> str:
    by_feature: dict[str, list[FeatureDrift]] = {}
    for c in r.cohorts:
        for f in c.features:
            by_feature.setdefault(f.feature, []).append(f)
    order = sorted(by_feature, key=lambda n: -max((f.psi or 0.0) for f in by_feature[n]))
    head = "".join(f"<th class=num>{_e(c.cohort)}</th>" for c in r.cohorts)
    score = "".join(
        _heat_cell(STATUS_LIGHT.get(c.score.status, "grey"), _num(c.score.psi)) for c in r.cohorts
    )
    rows = [f'<tr><td class="feat"><b>score (PD)</b></td>{score}</tr>']
    for name in order:
        cells = "".join(
            _heat_cell(STATUS_LIGHT.get(f.status, "grey"), _num(f.psi), "; ".join(f.reasons))
            for f in by_feature[name]
        )
        rows.append(f'<tr><td class="feat">{_e(name)}</td>{cells}</tr>')
    legend = "".join(
        f'<span><i style="background:{colour}"></i>{label}</span>'
        for colour, label in (
            ("#d8efe0", "stable"),
            ("#ffe39a", "watch"),
            ("#f6a39c", "act"),
            ("#eef0f3", "too few rows"),
        )
    )
    t = r.thresholds
    note = (
        '<p class="note">Each cell is the PSI of an input (its CSI) in a cohort against '
        "training; the colour is the input's status, which also weighs the effect size, the "
        f"missing share and the out-of-range and unseen rates (PSI bands {t['psi_watch']:g} / "
        f"{t['psi_act']:g}; a change counts only with a test p-value below "
        f"{t['drift_alpha']:g}). Inputs sorted by their largest PSI.</p>"
    )
    table = (
        f'<table class="heat"><thead><tr><th class="feat">input</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    return _section(
        "heatmap", "PSI by input and cohort", f'<p class="legend">{legend}</p>' + table + note
    )


def _score_chart(r: MonitoringReport) -> str:
    bins = r.overall.score.bins
    if not bins:
        return ""
    w, h, left, bottom, top = 1080, 300, 54, 64, 16
    cohorts = r.cohorts[:12]
    shares = [b.reference for b in bins] + [b.current for c in cohorts for b in c.score.bins]
    ymax = max(0.05, math.ceil(max(shares) * 20) / 20)
    step = (w - left - 10) / len(bins)

    def y(v: float) -> float:
        return top + (h - top - bottom) * (1 - v / ymax)

    def x(i: int) -> float:
        return left + i * step + step / 2

    svg = [f'<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="score distributions">']
    for k in range(6):
        v = ymax * k / 5
        svg.append(
            f'<line x1="{left}" x2="{w - 10}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e6e9ef"/>'
        )
        svg.append(
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{100 * v:.0f}%</text>'
        )
    for i, b in enumerate(bins):
        top_y = y(b.reference)
        svg.append(
            f'<rect x="{x(i) - step * 0.38:.1f}" y="{top_y:.1f}" width="{step * 0.76:.1f}" '
            f'height="{y(0) - top_y:.1f}" fill="#d5dae3"/>'
        )
        pd_range, _, points = b.label.partition(" (")
        svg.append(
            f'<text x="{x(i):.1f}" y="{h - bottom + 16}" text-anchor="middle">'
            f"{_e(pd_range[3:])}</text>"
        )
        svg.append(
            f'<text x="{x(i):.1f}" y="{h - bottom + 30}" text-anchor="middle" '
            f'fill="#7a8394">{_e(points.rstrip(")"))}</text>'
        )
    legend = []
    for j, c in enumerate(cohorts):
        drifting = c.score.status in DRIFT_COLOURS
        colour = DRIFT_COLOURS.get(c.score.status, PALETTE[j % len(PALETTE)])
        style = 'stroke-width="3.4"' if drifting else 'stroke-width="1.5" stroke-dasharray="5 3"'
        pts = " ".join(f"{x(i):.1f},{y(b.current):.1f}" for i, b in enumerate(c.score.bins))
        svg.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" {style}/>')
        legend.append(
            f'<span><i style="background:{colour}"></i>{_e(c.cohort)} '
            f"(PSI {_num(c.score.psi)})</span>"
        )
    svg.append(
        f'<text x="{left}" y="{h - 8}">PD range of each bin (deciles of the development PDs) and '
        "its score points; grey bars: development share</text></svg>"
    )
    note = (
        '<p class="note">Thick lines in orange or red: cohorts whose score PSI is watch or act; '
        "dashed: stable cohorts. A stable score keeps every line on the grey bars.</p>"
    )
    body = "".join(svg) + f'<p class="legend">{"".join(legend)}</p>' + note
    return _section("score", "Score distributions", body)


def _perf_row(c: CohortResult) -> list[str]:
    p, est = c.performance, c.estimate
    label = f"<b>{_e(c.cohort)}</b>"
    if p is None:
        dash = ["–"] * 7
        return [label, "0", *dash, f"{_num(est.auc)} {EST}", _chip("grey", "no outcomes")]
    ci = p.auc_change_ci
    change = "–"
    if p.auc_change is not None and ci is not None:
        change = f"{p.auc_change:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"
    hl_chip = _chip(p.hosmer_lemeshow_light) if p.mature else ""
    return [
        label,
        f"{p.n:,} ({_pct(p.labelled_share, 0)})",
        _num(p.auc),
        change,
        _num(p.gini),
        _num(p.ks),
        _num(p.brier, 4),
        f"{_pct(p.bad_rate)} / {_pct(p.mean_pd)}",
        f"{_num(p.hosmer_lemeshow, 1)} (p {_p(p.hosmer_lemeshow_p)}) {hl_chip}",
        f"{_num(est.auc)} {EST}",
        _chip(p.auc_light) if p.mature else _chip("grey", "immature"),
    ]


def _performance(r: MonitoringReport) -> str:
    head = ("cohort", "with outcome", "AUC", "change vs dev [95% CI]", "Gini", "KS", "Brier",
            "bad rate / mean PD", "Hosmer-Lemeshow", "label-free AUC", "AUC light")  # fmt: skip
    rows = [_perf_row(c) for c in r.cohorts]
    note = (
        f'<p class="note">Development AUC {_num(r.model.auc_reference)} ± '
        f"{_num(r.model.auc_reference_se)} (DeLong s.e., test split). AUC light: the ECB test "
        "of the current AUC against development, S = (AUC<sub>dev</sub> − AUC) / s, "
        "p = 1 − Φ(S), on its confidence 1 − p: green below 95 %, yellow to 99.9 %, red "
        f"beyond. A cohort is mature when at least {r.thresholds['min_labelled_share']:.0%} "
        "of its decisions have an outcome; an immature cohort's figures are shown but do not "
        "alert.</p>"
    )
    table = _table(head, rows, {1, 2, 4, 5, 6}, "wide")
    return _section("performance", "Performance once outcomes arrive", table + note)


def _band_cell(b: Any, mature: bool) -> str:
    if b.n == 0:
        return '<td class="note">no outcomes</td>'
    light = _chip(b.light) if mature else _chip("grey", "immature")
    return (
        f'<td>{light}<br><span class="nowrap"><b>{_pct(b.default_rate)}</b> defaults vs PD '
        f'{_pct(b.mean_pd)}</span><br><span class="note">D {b.defaults:,} of N {b.n:,} · '
        f"Jeffreys p {_p(b.jeffreys_p)} · binomial p {_p(b.binomial_p)}</span></td>"
    )


def _backtesting(r: MonitoringReport) -> str:
    cohorts = [c for c in r.cohorts if c.performance is not None]
    if not cohorts:
        body = (
            '<p class="note">No outcomes loaded yet (creditscore outcomes FILE): nothing to '
            "backtest.</p>"
        )
        return _section("backtesting", "Backtesting by risk band", body)
    perfs = [c.performance for c in cohorts if c.performance is not None]
    head = "".join(f"<th>{_e(c.cohort)}</th>" for c in cohorts)
    rows = []
    for i, band in enumerate(perfs[0].bands):
        cells = "".join(_band_cell(p.bands[i], p.mature) for p in perfs)
        rows.append(f"<tr><th>{_e(band.band)}</th>{cells}</tr>")
    hl = "".join(
        f"<td>{_chip(p.hosmer_lemeshow_light) if p.mature else _chip('grey', 'immature')} "
        f'<span class="note">{_num(p.hosmer_lemeshow, 1)}, p {_p(p.hosmer_lemeshow_p)}</span></td>'
        for p in perfs
    )
    rows.append(f"<tr><th>Hosmer-Lemeshow</th>{hl}</tr>")
    table = (
        f'<table class="wide"><thead><tr><th>band</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    note = (
        '<p class="note">Per band: the observed default rate against the mean PD of the '
        "decisions with an outcome. The Jeffreys test, p = BetaCDF(PD; D + ½, N − D + ½), and "
        "the one-sided binomial test ask whether defaults exceed the PD (a PD set too low); "
        "the light is the Jeffreys test's confidence 1 − p (green &lt; 95 %, yellow &lt; "
        "99.9 %, red from 99.9 %). Hosmer-Lemeshow sums (D − N·PD)² / (N·PD·(1 − PD)) over the "
        "bands (χ², one degree of freedom per band) and catches PDs too high as well as too "
        "low.</p>"
    )
    return _section("backtesting", "Backtesting by risk band", table + note)


def _estimate(r: MonitoringReport) -> str:
    rows = []
    for c in r.cohorts:
        e = c.estimate
        rows.append(
            [
                f"<b>{_e(c.cohort)}</b>",
                f"{e.n:,}",
                f"{EST} {_num(e.auc)}",
                _num(e.gini),
                _pct(e.bad_rate),
                f"{e.auc_change:+.3f}" if e.auc_change is not None else "–",
                _num(c.performance.auc) if c.performance is not None else "not yet",
            ]
        )
    head = ("cohort", "rows", "estimated AUC", "estimated Gini", "expected bad rate",
            "est. change vs dev", "observed AUC")  # fmt: skip
    note = (
        f'<p class="note"><b>An estimate, not a measurement:</b> {_e(r.overall.estimate.note)}.'
        " Method: confidence-based performance estimation (CBPE): each decision with PD p "
        "counts as p of a bad and 1 − p of a good, which gives an expected ROC curve.</p>"
    )
    body = _table(head, rows, {1, 3, 4, 5, 6}, "wide") + note
    box = f'<div class="box estimate">{body}</div>'
    return _section("estimate", "Label-free performance estimate (CBPE)", box)


_RANK = {"insufficient": -1, "stable": 0, "watch": 1, "act": 2}


def _input_row(c: CohortResult, f: FeatureDrift) -> list[str]:
    method = "W₁/σ" if f.effect_method == "wasserstein_normed" else "JS"
    extra = []
    if f.out_of_range_rate is not None:
        extra.append(f"{_pct(f.out_of_range_rate, 2)} out of range")
    if f.unseen_rate is not None:
        examples = f" (e.g. {', '.join(f.unseen_examples[:3])})" if f.unseen_examples else ""
        extra.append(f"{_pct(f.unseen_rate, 2)} unseen{examples}")
    if f.invalid:
        extra.append(f"{f.invalid:,} not numbers")
    return [
        _e(f.feature),
        _e(f.kind),
        _e(c.cohort),
        _num(f.psi),
        f"{_num(f.effect_size)} {method}",
        f"{_p(f.p_value)} ({'KS' if f.test == 'ks' else 'χ²'})",
        f"{_pct(f.missing_reference)} → {_pct(f.missing_current)}",
        _e("; ".join(extra)) or "–",
        _status_chip(f.status),
    ]


def _inputs(r: MonitoringReport) -> str:
    worst: dict[str, tuple[CohortResult, FeatureDrift]] = {}
    for c in r.cohorts:
        for f in c.features:
            seen = worst.get(f.feature)
            if seen is None or (_RANK[f.status], f.psi or 0) > (
                _RANK[seen[1].status],
                seen[1].psi or 0,
            ):
                worst[f.feature] = (c, f)
    ordered = sorted(worst.values(), key=lambda cf: (-_RANK[cf[1].status], -(cf[1].psi or 0)))
    head = ("input", "kind", "worst cohort", "PSI", "effect size", "p-value", "missing",
            "range / levels", "status")  # fmt: skip
    note = (
        '<p class="note">Effect size: W₁/σ is the Wasserstein distance between the binned '
        "distributions over the training standard deviation; JS the Jensen-Shannon distance "
        "of the level shares (base 2, 0 to 1). Unlike a p-value it does not grow with the "
        "number of rows, so it decides together with the PSI; the KS or χ² p-value is shown "
        "and only confirms that a change is not noise.</p>"
    )
    table = _table(head, [_input_row(c, f) for c, f in ordered], {3, 4, 5}, "wide")
    return _section("inputs", "Inputs in detail (worst cohort of each)", table + note)


def _mix(r: MonitoringReport) -> str:
    rows = [
        [
            _e(b.band),
            _pct(b.share_reference),
            _pct(b.share),
            _num(b.mean_pd),
            f"{b.approve:,}",
            f"{b.refer:,}",
            f"{b.decline:,}",
        ]
        for b in r.overall.decisions.bands
    ]
    head = ("risk band", "development share", "current share", "mean PD", "approved",
            "referred", "declined")  # fmt: skip
    table = _table(head, rows, {1, 2, 3, 4, 5, 6})
    return _section("mix", "Decision mix by risk band (all cohorts)", table)


def _methods(r: MonitoringReport) -> str:
    t = r.thresholds

    def bands(name: str, pct: bool = False) -> str:
        w, a = t[f"{name}_watch"], t[f"{name}_act"]
        shown = (_pct(w), _pct(a)) if pct else (f"{w:g}", f"{a:g}")
        return f"stable &lt; {shown[0]} ≤ watch &lt; {shown[1]} ≤ act"

    lights = (
        f"green &lt; {_pct(t['yellow_confidence'])} ≤ yellow &lt; "
        f"{_pct(t['red_confidence'])} ≤ red (confidence 1 − p)"
    )
    rows = [
        ("PSI / CSI", bands("psi")),
        ("effect size", bands("effect")),
        ("test gate", f"a size past its threshold counts only when p &lt; {t['drift_alpha']:g}"),
        ("missing share change (absolute)", bands("missing", True)),
        ("numbers outside the training range", bands("out_of_range", True)),
        ("categories never seen in training", bands("unseen", True)),
        ("approval rate change (points)", bands("approval", True)),
        ("test traffic lights", lights),
        ("smallest cohort assessed", f"{t['min_rows']:,} rows"),
        ("mature outcomes", f"at least {_pct(t['min_labelled_share'], 0)} of a cohort"),
    ]
    notes = "".join(f"<li>{_e(n)}</li>" for n in r.notes)
    body = _table(("item", "rule"), rows, set())
    if notes:
        body += f"<h3>Notes</h3><ul>{notes}</ul>"
    return _section("methods", "Methods and thresholds", body)


def render_html(report: MonitoringReport) -> str:
    """The whole page as one string."""
    parts = [
        _header(report),
        _verdict(report),
        _alerts(report),
        _cohorts(report),
        _heatmap(report),
        _score_chart(report),
        _performance(report),
        _backtesting(report),
        _estimate(report),
        _inputs(report),
        _mix(report),
        _methods(report),
    ]
    title = f"Monitoring · {report.model.name} {_version(report.model.version)[0]}"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>"
        + "".join(parts)
        + "</main></body></html>"
    )


def write_report(report: MonitoringReport, folder: str | Path) -> dict[str, Path]:
    """``monitoring.html`` and ``monitoring.json`` in ``folder``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    html_path, json_path = out / "monitoring.html", out / "monitoring.json"
    html_path.write_text(render_html(report), encoding="utf-8")
    text = json.dumps(report.to_dict(), indent=2, allow_nan=False)
    json_path.write_text(text + "\n", encoding="utf-8")
    return {"html": html_path, "json": json_path}
