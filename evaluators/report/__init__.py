"""Reports from one or more ``evaluate`` results folders: figures, Markdown, HTML, LaTeX.

``write_report([RESULTS, ...], DIR)`` reads the results once into :class:`~.runs.ModelResults`
(one per model; the same model evaluated on several suites is one model), builds one
:class:`~.document.Document` (:mod:`.build`), draws each axis's figures through the registered
figure kinds (:data:`~.figures.FIGURE_KINDS`; which kinds, the heat-map pairs, the datasets
with a colour filter array and the axis labels come from ``report.json``) and renders the
document three times:

- ``DIR/report.md`` (:mod:`.markdown`), figures linked as PNG;
- ``DIR/report.html`` (:mod:`.html`), self-contained (SVG inline, PNG as data URIs);
- ``DIR/report.tex`` (:mod:`.latex`), a fragment for a one-column article (booktabs, longtable,
  ``\\includegraphics`` of the PDF figures).

Figures go to ``DIR/figures/<axis>[_kind].png|.svg|.pdf`` (PNG at 200 dpi). With the manifest
reachable (run.json names it), a contact sheet per axis shows one source through every level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from degradebench.generators.core.errors import ConfigError

from .build import build_document
from .figures import FIGURE_KINDS
from .html import render_html
from .latex import render_latex
from .markdown import render_markdown
from .params import HEATMAP_PAIRS, heatmap_params, report_defaults
from .runs import load_models
from .view import ReportOptions

__all__ = [
    "write_report",
    "ReportFiles",
    "ReportOptions",
    "FIGURE_KINDS",
    "heatmap_params",
    "HEATMAP_PAIRS",
]


@dataclass
class ReportFiles:
    """What :func:`write_report` wrote."""

    out: Path
    markdown: Path
    html: Path
    latex: Path
    figures: list[Path] = field(default_factory=list)


def _options(min_count: int, sheets: bool, figures: tuple[str, ...] | None) -> ReportOptions:
    d = report_defaults()
    for name in figures or ():
        FIGURE_KINDS.get(name)  # an unknown kind fails here, with the close matches
    return ReportOptions(
        min_count=int(min_count),
        figures=tuple(figures if figures is not None else d.get("figures", ("curve",))),
        heatmap_pairs=HEATMAP_PAIRS,
        sheets=sheets,
    )


def write_report(
    results: list[str | Path],
    out: str | Path,
    *,
    title: str = "degradebench report",
    min_count: int = 10,
    sheets: bool = True,
    figures: tuple[str, ...] | list[str] | None = None,
) -> ReportFiles:
    """Write the report for one or more results folders (models side by side) into ``out``.

    Args:
        results: folders written by ``evaluate``.
        out: the report folder (created).
        title: the report's title (Markdown and HTML).
        min_count: heat-map cells with fewer sources than this are greyed out.
        sheets: draw a contact sheet per axis when the manifest is reachable.
        figures: the figure kinds to draw per axis, in order (default: report.json's list);
            register your own in :data:`~.figures.FIGURE_KINDS` first.
    """
    from .sheet import sheet_section

    if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 0:
        raise ConfigError(f"report: --min-count must be a whole number >= 0, got {min_count!r}")
    models = load_models([Path(r) for r in results])
    outp = Path(out)
    figdir = outp / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    options = _options(min_count, sheets, tuple(figures) if figures is not None else None)
    extra = [sheet_section(models, figdir)] if sheets else []
    doc = build_document(models, title, figdir, options, [s for s in extra if s is not None])
    md_path, html_path, tex_path = outp / "report.md", outp / "report.html", outp / "report.tex"
    md_path.write_text(render_markdown(doc), encoding="utf-8")
    html_path.write_text(render_html(doc), encoding="utf-8")
    tex_path.write_text(render_latex(doc), encoding="utf-8")
    files = [p for f in doc.figures() for p in f.files.values()]
    return ReportFiles(outp, md_path, html_path, tex_path, files)
