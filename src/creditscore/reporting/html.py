"""Render a :class:`~creditscore.reporting.document.Page` as one self-contained HTML file.

Everything is inline (one stylesheet, PNGs as data URIs): the page opens from an e-mail, an
MLflow artifact or a USB stick on an offline machine, and prints on A4.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from creditscore.reporting import document as doc

CSS = """
:root { --ink:#1d2430; --muted:#5b6576; --line:#d9dee7; --soft:#f4f6fa; --accent:#1f5fa8;
        --green:#1e7a46; --yellow:#a15c00; --red:#b42318; --info:#1f5fa8; }
* { box-sizing: border-box; }
body { font: 14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0; background: #fff; }
main { max-width: 1080px; margin: 0 auto; padding: 28px 36px 60px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 14px; margin-bottom: 18px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 30px 0 10px; padding-top: 6px; border-top: 1px solid var(--line);
     color: var(--accent); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.sub { color: var(--muted); margin: 0; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; font-size: 12px;
         font-weight: 600; margin-left: 8px; vertical-align: middle; background: var(--soft);
         border: 1px solid var(--line); }
.badge.green { background: #e3f4ea; color: var(--green); border-color: #b5dfc6; }
.badge.yellow { background: #fff1dc; color: var(--yellow); border-color: #f1cf9b; }
.badge.red { background: #fde8e6; color: var(--red); border-color: #f3b8b1; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 10px;
        margin: 16px 0 4px; }
.kpi { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
       padding: 8px 10px; }
.kpi b { display: block; font-size: 20px; }
.kpi span { color: var(--muted); font-size: 12px; }
.kpi.green { border-left: 5px solid var(--green); }
.kpi.yellow { border-left: 5px solid var(--yellow); }
.kpi.red { border-left: 5px solid var(--red); }
nav ol { columns: 3; margin: 8px 0 0; padding-left: 20px; color: var(--muted); }
nav a { color: var(--accent); text-decoration: none; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; width: auto;
        min-width: 55%; }
table.kv, .two table { width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left;
         vertical-align: top; }
table:not(.kv) th, td.num { white-space: nowrap; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.kv th { width: 30%; background: none; font-weight: 600; color: var(--muted); }
tr.highlight td { font-weight: 600; background: #eef6f1; }
tr.green td:first-child { border-left: 5px solid var(--green); }
tr.yellow td:first-child { border-left: 5px solid var(--yellow); }
tr.red td:first-child { border-left: 5px solid var(--red); }
tr.info td:first-child { border-left: 5px solid var(--line); }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px;
         background: #fff; }
figure img { width: 100%; height: auto; display: block; }
figure.wide { max-width: 820px; }
figcaption { color: var(--muted); font-size: 12px; padding: 4px 2px 0; }
.note { color: var(--muted); }
.missing { color: var(--yellow); font-style: italic; }
.verdict { padding: 6px 10px; border-radius: 6px; margin: 8px 0; font-weight: 600;
           border: 1px solid var(--line); background: var(--soft); }
.verdict.green { background: #e3f4ea; color: var(--green); border-color: #b5dfc6; }
.verdict.yellow { background: #fff1dc; color: var(--yellow); border-color: #f1cf9b; }
.verdict.red { background: #fde8e6; color: var(--red); border-color: #f3b8b1; }
ul.labelled li { margin-bottom: 4px; }
pre { background: var(--soft); border: 1px solid var(--line); padding: 10px; font-size: 11.5px;
      overflow-x: auto; white-space: pre-wrap; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; align-items: start; }
@page { size: A4; margin: 12mm; }
@media print {
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  figure, table, .kpis { break-inside: avoid; }
  nav { display: none; }
  a { color: inherit; text-decoration: none; }
}
"""


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def is_number(text: str) -> bool:
    """A cell that reads as a number (``1,000``, ``30.0 %``, ``3 (0)``, ``0.78 [0.7, 0.8]``,
    a range ``0.05–0.15``, ``≥ 600``)."""
    t = text.split("(")[0].split("[")[0].replace(",", "").replace("%", "").replace(" ", "")
    t = t.lstrip("≥≤<>+")
    try:
        for part in t.split("–") if "–" in t[1:] else [t]:
            float(part)
    except ValueError:
        return False
    return True


def _table(t: doc.Table) -> str:
    rows = [list(map(str, r)) for r in t.rows]
    numeric = [
        i > 0
        and bool(rows)
        and all(is_number(r[i]) or r[i] in ("–", "") for r in rows if i < len(r))
        for i in range(len(t.head))
    ]
    th = "".join(
        f'<th class="num">{escape(h)}</th>' if numeric[i] else f"<th>{escape(h)}</th>"
        for i, h in enumerate(t.head)
    )
    body = []
    for k, row in enumerate(rows):
        classes = []
        if t.highlight and row and row[0].startswith(t.highlight):
            classes.append("highlight")
        if t.levels is not None and k < len(t.levels) and t.levels[k]:
            classes.append(str(t.levels[k]))
        cls = f' class="{" ".join(classes)}"' if classes else ""
        tds = "".join(
            f'<td class="num">{escape(c)}</td>'
            if i < len(numeric) and numeric[i]
            else f"<td>{escape(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr{cls}>{tds}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _labelled(item: str) -> str:
    label, sep, rest = item.partition(": ")
    if sep and len(label) < 20:
        return f"<li><b>{escape(label)}:</b> {escape(rest)}</li>"
    return f"<li>{escape(item)}</li>"


def _figure(f: doc.Figure) -> str:
    cls = ' class="wide"' if f.wide else ""
    return (
        f'<figure{cls}><img alt="{escape(f.name)}" src="data:image/png;base64,{f.png}">'
        f"<figcaption>{escape(f.caption)}</figcaption></figure>"
    )


def block(b: doc.Block) -> str:
    """One block as HTML."""
    if isinstance(b, doc.Text):
        cls = "" if b.kind == "plain" else f' class="{b.kind}"'
        return f"<p{cls}>{escape(b.text)}</p>"
    if isinstance(b, doc.Heading):
        return f"<h3>{escape(b.text)}</h3>"
    if isinstance(b, doc.Bullets):
        if b.labelled:
            return '<ul class="labelled">' + "".join(_labelled(x) for x in b.items) + "</ul>"
        return "<ul>" + "".join(f"<li>{escape(x)}</li>" for x in b.items) + "</ul>"
    if isinstance(b, doc.Table):
        return _table(b)
    if isinstance(b, doc.KeyValues):
        body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in b.rows)
        return f'<table class="kv"><tbody>{body}</tbody></table>'
    if isinstance(b, doc.Figure):
        return _figure(b)
    if isinstance(b, doc.Figures):
        return '<div class="grid">' + "".join(_figure(f) for f in b.figures) + "</div>"
    if isinstance(b, doc.Code):
        return f"<pre>{escape(b.text)}</pre>"
    if isinstance(b, doc.Verdict):
        return f'<div class="verdict {b.level}">{escape(b.text)}</div>'
    if isinstance(b, doc.Raw):
        return b.html
    if isinstance(b, doc.Columns):
        return f'<div class="two"><div>{blocks(b.left)}</div><div>{blocks(b.right)}</div></div>'
    raise TypeError(f"not a block: {type(b).__name__}")


def blocks(items: Sequence[doc.Block]) -> str:
    return "".join(block(b) for b in items)


def section(s: doc.Section) -> str:
    return (
        f'<section id="{escape(s.anchor)}"><h2>{escape(s.title)}</h2>{blocks(s.blocks)}</section>'
    )


def render(page: doc.Page) -> str:
    """The whole page as a standalone HTML document."""
    badge = ""
    if page.badge:
        badge = f'<span class="badge {page.badge_level or ""}">{escape(page.badge)}</span>'
    kpis = ""
    if page.kpis:
        kpis = (
            '<div class="kpis">'
            + "".join(
                f'<div class="kpi {k.level or ""}"><b>{escape(k.value)}</b>'
                f"<span>{escape(k.label)}</span></div>"
                for k in page.kpis
            )
            + "</div>"
        )
    nav = ""
    if page.contents and len(page.sections) > 1:
        items = "".join(
            f'<li><a href="#{escape(s.anchor)}">{escape(s.title)}</a></li>' for s in page.sections
        )
        nav = f"<nav><ol>{items}</ol></nav>"
    subtitle = f'<p class="sub">{escape(page.subtitle)}</p>' if page.subtitle else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(page.title)}</title><style>{CSS}</style></head><body><main>"
        f"<header><h1>{escape(page.title)}{badge}</h1>{subtitle}{kpis}{nav}</header>"
        + "".join(section(s) for s in page.sections)
        + "</main></body></html>\n"
    )
