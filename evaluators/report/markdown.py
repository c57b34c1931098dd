"""Render a :class:`~.document.Document` as Markdown (report.md; figures as PNG links)."""

from __future__ import annotations

from .document import Bullets, Definitions, Document, Figure, Paragraph, Table, Text

__all__ = ["render_markdown"]

_MARK = {"code": "`", "em": "*", "strong": "**"}


def _text(t: Text) -> str:
    out = []
    for s in t:
        mark = _MARK.get(s.style, "")
        out.append(f"{mark}{s.text}{mark}")
    return "".join(out)


def _table(t: Table) -> str:
    cell = lambda c: str(c).replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(cell(h) for h in t.header) + " |",
           "|" + "|".join("---" for _ in t.header) + "|"]  # fmt: skip
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in t.rows]
    return "\n".join(out)


def _block(b) -> list[str]:
    if isinstance(b, Paragraph):
        return [_text(b.text), ""]
    if isinstance(b, Bullets):
        return [f"- {_text(i)}" for i in b.items] + [""]
    if isinstance(b, Definitions):
        return [f"- **{term}**: {_text(d)}" for term, d in b.items] + [""]
    if isinstance(b, Table):
        return ([f"{b.caption}:", ""] if b.caption else []) + [_table(b), ""]
    if isinstance(b, Figure):
        return [f"![{b.alt}](figures/{b.files['png'].name})", "", f"*{b.caption}*", ""]
    raise TypeError(f"markdown: unknown block {type(b).__name__}")


def render_markdown(doc: Document) -> str:
    """The whole report as Markdown."""
    lines = [f"# {doc.title}", ""]
    for b in doc.lead:
        if "md" in b.formats:
            lines += _block(b)
    for s in doc.sections:
        blocks = [b for b in s.blocks if "md" in b.formats]
        if blocks:
            lines += [f"## {_text(s.title)}", ""]
        for b in blocks:
            lines += _block(b)
    return "\n".join(lines)
