"""The document model every page is built from: a :class:`Page` of :class:`Section` s, each a
list of blocks (text, bullets, tables, key-value rows, figures, code, verdicts).

A page builder (:mod:`~creditscore.reporting.model_card`, the fairness and monitoring reports)
turns typed results into a Page; :mod:`~creditscore.reporting.html` and
:mod:`~creditscore.reporting.markdown` render any Page. So a page is laid out once and reads
the same in both formats, and the styling lives in one stylesheet.

Cells and texts are plain strings (format numbers with :mod:`creditscore.formatting`); the
renderers escape them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

#: Traffic-light levels (verdicts, badges, KPI colours).
Level = Literal["green", "yellow", "red", "info"]


@dataclass(frozen=True)
class Text:
    """A paragraph. ``kind``: ``plain``, ``note`` (muted) or ``missing`` (what was not computed)."""

    text: str
    kind: Literal["plain", "note", "missing"] = "plain"


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section."""

    text: str


@dataclass(frozen=True)
class Bullets:
    """A list. With ``labelled``, an item ``"Label: rest"`` shows its short label in bold."""

    items: Sequence[str]
    labelled: bool = False


@dataclass(frozen=True)
class Table:
    """A table of text cells. Columns whose cells all read as numbers are right-aligned.

    ``highlight``: rows whose first cell starts with this marker are emphasised (the
    champion). ``levels``: one traffic-light level (or None) per row, shown as a coloured
    row marker (monitoring, fairness verdicts).
    """

    head: Sequence[str]
    rows: Sequence[Sequence[str]]
    highlight: str | None = None
    levels: Sequence[Level | None] | None = None


@dataclass(frozen=True)
class KeyValues:
    """Label / value rows (the facts of a section)."""

    rows: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Figure:
    """A PNG image (base64) with a caption; ``name`` names its file in Markdown output."""

    png: str
    caption: str
    name: str
    wide: bool = False


@dataclass(frozen=True)
class Figures:
    """Figures side by side (two per row in HTML)."""

    figures: Sequence[Figure]


@dataclass(frozen=True)
class Code:
    """Preformatted text (a configuration, a command)."""

    text: str
    language: str = ""


@dataclass(frozen=True)
class Verdict:
    """A coloured line: a gate's or an alert's outcome."""

    level: Level
    text: str


@dataclass(frozen=True)
class Columns:
    """Two columns of blocks side by side (one after the other in Markdown)."""

    left: Sequence[Block]
    right: Sequence[Block]


@dataclass(frozen=True)
class Raw:
    """Content already rendered in both formats (a section whose calculator still returns
    HTML and Markdown; to be replaced by blocks built from its typed result)."""

    html: str
    markdown: str


Block = (
    Text | Heading | Bullets | Table | KeyValues | Figure | Figures | Code | Verdict | Columns | Raw
)


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    blocks: Sequence[Block]


@dataclass(frozen=True)
class Kpi:
    """A headline number under the title."""

    value: str
    label: str
    level: Level | None = None


@dataclass(frozen=True)
class Page:
    title: str
    sections: Sequence[Section]
    subtitle: str = ""
    badge: str | None = None
    badge_level: Level | None = None
    kpis: Sequence[Kpi] = field(default_factory=tuple)
    contents: bool = True  # a table of contents under the header
