"""The report's document model: sections of paragraphs, lists, tables and figures.

Built once from the results (:mod:`.build`), then rendered by three small renderers
(:mod:`.markdown`, :mod:`.html`, :mod:`.latex`). Text is a tuple of :class:`Span` (plain, code,
emphasis), never Markdown, so no renderer has to parse another one's syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Span",
    "Text",
    "text",
    "code",
    "em",
    "plain",
    "Paragraph",
    "Bullets",
    "Definitions",
    "Table",
    "Figure",
    "Block",
    "Section",
    "Document",
    "ALL_FORMATS",
]

ALL_FORMATS = frozenset({"md", "html", "tex"})


@dataclass(frozen=True)
class Span:
    """A run of text in one style: ``""`` (plain), ``"code"``, ``"em"`` or ``"strong"``."""

    text: str
    style: str = ""


Text = tuple[Span, ...]


def text(*parts: str | Span) -> Text:
    """Build a :data:`Text` from strings (plain) and spans."""
    return tuple(p if isinstance(p, Span) else Span(str(p)) for p in parts)


def code(s: str) -> Span:
    """A span set in a monospace font (names, values, paths)."""
    return Span(str(s), "code")


def em(s: str) -> Span:
    """An emphasised span."""
    return Span(str(s), "em")


def plain(t: Text) -> str:
    """The text without styles (alt texts, captions in places that take no markup)."""
    return "".join(s.text for s in t)


@dataclass
class Paragraph:
    """A paragraph; ``role`` is ``"p"``, ``"note"`` (smaller, after a table) or ``"headline"``."""

    text: Text
    role: str = "p"
    formats: frozenset[str] = ALL_FORMATS


@dataclass
class Bullets:
    """An unordered list."""

    items: list[Text]
    formats: frozenset[str] = ALL_FORMATS


@dataclass
class Definitions:
    """Terms and their definitions (AUC, breaks at, flip rate, CE)."""

    items: list[tuple[str, Text]]
    formats: frozenset[str] = ALL_FORMATS


@dataclass
class Table:
    """A table of strings. ``key_columns`` leading columns are repeated when a renderer splits
    a wide table into parts; ``groups`` names the column groups (one per model) it may split at."""

    header: list[str]
    rows: list[list[str]]
    caption: str = ""
    label: str = ""
    key_columns: int = 1
    group_size: int = 0  # columns per model after the key columns (0: no split points)
    formats: frozenset[str] = ALL_FORMATS
    first_as_heading: bool = False  # LaTeX: column 0 becomes a heading row where it changes


@dataclass
class Figure:
    """One drawn figure: its files by format (``png``, ``svg``, ``pdf``) and how HTML embeds it."""

    name: str  # file stem under figures/
    files: dict[str, Path]
    caption: str
    alt: str
    embed: str = "svg"  # "svg" (a vector chart: SVG inline if written) or "png" (raster)
    kind: str = "curve"
    formats: frozenset[str] = ALL_FORMATS


Block = Paragraph | Bullets | Definitions | Table | Figure


@dataclass
class Section:
    """A titled section; ``anchor`` is the id renderers give it."""

    title: Text
    anchor: str
    blocks: list[Block] = field(default_factory=list)
    tex_heading: bool = True  # axis sections: LaTeX floats carry the axis in their captions

    def add(self, *blocks: Block | None) -> Section:
        """Append the blocks that are not None; returns self."""
        self.blocks += [b for b in blocks if b is not None]
        return self


@dataclass
class Document:
    """The whole report: a title, a lead (headline) and sections."""

    title: str
    lead: list[Block] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)

    def figures(self) -> list[Figure]:
        """Every figure, in document order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]
