"""Render a :class:`~.document.Document` as a LaTeX fragment for a one-column ``article``.

Needs ``\\usepackage{booktabs,longtable,array,graphicx}``. Tables are fitted to the text width:
a table wider than the page is split at its per-model column groups (key columns repeated),
long text columns wrap, and a table longer than a page becomes a ``longtable``. Figures are
``\\includegraphics`` of the PDF files beside the PNG and SVG ones.
"""

from __future__ import annotations

from .document import Bullets, Definitions, Document, Figure, Paragraph, Table, Text
from .tex_tables import render_table, tex_escape

__all__ = ["render_latex", "tex_escape", "PREAMBLE"]

PREAMBLE = r"\usepackage{booktabs,longtable,array,graphicx}"
_FLOATS_PER_PAGE_FLUSH = 8


def _text(t: Text) -> str:
    out = []
    for s in t:
        body = tex_escape(s.text)
        out.append({"code": rf"\texttt{{{body}}}", "em": rf"\emph{{{body}}}",
                    "strong": rf"\textbf{{{body}}}"}.get(s.style, body))  # fmt: skip
    return "".join(out)


def _figure(f: Figure) -> list[str]:
    path = f"figures/{f.files.get('pdf', f.files['png']).name}"
    return [r"\begin{figure}[htbp]", r"\centering",
            rf"\includegraphics[width=\linewidth,height=0.42\textheight,keepaspectratio]{{{path}}}",
            rf"\caption{{{tex_escape(f.caption)}}}", r"\end{figure}", ""]  # fmt: skip


def _block(b) -> list[str]:
    if isinstance(b, Paragraph):
        return [r"\noindent " + _text(b.text) if b.role == "headline" else _text(b.text), ""]
    if isinstance(b, Bullets):
        return [r"\begin{itemize}", *[rf"\item {_text(i)}" for i in b.items], r"\end{itemize}"]
    if isinstance(b, Definitions):
        items = [rf"\item[{tex_escape(t)}] {_text(d)}" for t, d in b.items]
        return [r"\begin{description}", *items, r"\end{description}", ""]
    if isinstance(b, Table):
        return render_table(b)
    if isinstance(b, Figure):
        return _figure(b)
    raise TypeError(f"latex: unknown block {type(b).__name__}")


def render_latex(doc: Document) -> str:
    """The report's tables, figures and text as a fragment to ``\\input`` in an article."""
    lines = [f"% degradebench report: \\input this file; the preamble needs {PREAMBLE}",
             "% figures/ lies beside this file (\\graphicspath{{DIR/}} when it does not)", ""]  # fmt: skip
    lines += [r"\begingroup\sloppy", ""]
    floats = 0
    for b in doc.lead:
        if "tex" in b.formats:
            lines += _block(b)
    for s in doc.sections:
        blocks = [b for b in s.blocks if "tex" in b.formats]
        if not blocks:
            continue
        if s.tex_heading:
            lines += [rf"\subsection*{{{_text(s.title)}}}", ""]
        for b in blocks:
            lines += _block(b)
            floats += isinstance(b, (Figure, Table))
        if floats >= _FLOATS_PER_PAGE_FLUSH:
            lines += [r"\clearpage", ""]
            floats = 0
    return "\n".join([*lines, r"\endgroup", ""])
