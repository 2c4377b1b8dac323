"""Render a :class:`~creditscore.reporting.document.Page` as Markdown, figures as PNG files
in an ``images/`` folder beside it (for a repository, a wiki or a pull request)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path

from creditscore.reporting import document as doc

IMAGES = "images"
_MARKS = {"green": "🟢", "yellow": "🟡", "red": "🔴", "info": "ℹ️"}


def cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


class _Writer:
    def __init__(self, images: Path | None) -> None:
        self.images = images

    def figure(self, f: doc.Figure) -> str:
        if self.images is None:
            return f"*{f.caption} (figure in the HTML page)*\n"
        self.images.mkdir(parents=True, exist_ok=True)
        (self.images / f"{f.name}.png").write_bytes(base64.b64decode(f.png))
        return f"![{f.caption}]({IMAGES}/{f.name}.png)\n\n*{f.caption}*\n"

    def block(self, b: doc.Block) -> str:
        if isinstance(b, doc.Text):
            return f"_{b.text}_\n" if b.kind == "missing" else f"{b.text}\n"
        if isinstance(b, doc.Heading):
            return f"**{b.text}**\n"
        if isinstance(b, doc.Bullets):
            return "".join(f"- {x}\n" for x in b.items)
        if isinstance(b, doc.Table):
            rows = [list(map(str, r)) for r in b.rows]
            if b.levels is not None:
                rows = [
                    [f"{_MARKS[lv]} {r[0]}" if lv else r[0], *r[1:]] if r else r
                    for r, lv in zip(rows, b.levels, strict=False)
                ]
            return table(list(b.head), rows)
        if isinstance(b, doc.KeyValues):
            return table(["", ""], [[f"**{k}**", v] for k, v in b.rows])
        if isinstance(b, doc.Figure):
            return self.figure(b)
        if isinstance(b, doc.Figures):
            return "\n".join(self.figure(f) for f in b.figures)
        if isinstance(b, doc.Code):
            return f"```{b.language}\n{b.text.rstrip()}\n```\n"
        if isinstance(b, doc.Verdict):
            return f"**{_MARKS[b.level]} {b.text}**\n"
        if isinstance(b, doc.Raw):
            return b.markdown.rstrip() + "\n"
        if isinstance(b, doc.Columns):
            return self.blocks(b.left) + "\n" + self.blocks(b.right)
        raise TypeError(f"not a block: {type(b).__name__}")

    def blocks(self, items: Sequence[doc.Block]) -> str:
        return "\n".join(self.block(b) for b in items)


def render(page: doc.Page, images: Path | None = None) -> str:
    """The page as Markdown; figures are written into ``images`` (when given) and linked."""
    w = _Writer(images)
    head = f"# {page.title}\n"
    if page.subtitle or page.badge:
        status = f"  \n**Status: {page.badge}**" if page.badge else ""
        head += f"\n{page.subtitle}{status}"
    if page.kpis:
        head += " · " + " · ".join(f"{k.label} {k.value}" for k in page.kpis)
    parts = [head + "\n"]
    for s in page.sections:
        parts.append(f"\n## {s.title}\n\n{w.blocks(s.blocks)}")
    return "".join(parts)
