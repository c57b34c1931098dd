"""Reports from one or more ``evaluate`` results folders: figures, Markdown, HTML, LaTeX.

``write_report([RESULTS, ...], DIR)`` reads the results once into :class:`~.runs.ModelResults`
(one per model; the same model evaluated on several suites is one model), builds one
:class:`~.document.Document` (:mod:`.build`), draws each axis's figures through the registered
figure kinds (:data:`~.figures.FIGURE_KINDS`; which kinds, the heat-map pairs, the datasets
with a colour filter array and the axis labels come from ``report.json``) and renders the
document three times:

- ``DIR/report.md`` (:mod:`.markdown`), figures linked as PNG;
- ``DIR/report.html`` (:mod:`.html`), self-contained (figures as PNG data URIs);
- ``DIR/report.tex`` (:mod:`.latex`), a fragment for a one-column article (booktabs, longtable,
  ``\\includegraphics`` of the PDF figures).

Figures go to ``DIR/figures/<axis>[_kind].png`` (200 dpi: what Markdown and HTML show), charts
also as ``.pdf`` (what LaTeX includes; raster figures -- heat maps, overlays, contact sheets --
are PNG only: :mod:`.figures.save`). They are drawn here and written at the end, in parallel worker
processes where that helps. With the manifest
reachable (run.json names it), a contact sheet per axis shows one source through every level.
A report whose inputs are unchanged (results, options, version: :mod:`.reuse`) is reused.
A ``train-matrix`` folder among the inputs (it holds ``matrix.parquet``) adds the matrix section
(:mod:`.matrix`: heat map and tables); given alone, the report is that section.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from degradebench.generators.core.errors import ConfigError

from .build import build_document
from .figures import FIGURE_KINDS
from .headline import identical_axes
from .html import render_html
from .latex import render_latex
from .markdown import render_markdown
from .matrix import is_matrix_dir, matrix_document, matrix_key, matrix_sections
from .params import HEATMAP_PAIRS, heatmap_params, report_defaults
from .reuse import forget_key, load_reusable, report_key, store_key
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
    identical: list[tuple[str, str]] = field(default_factory=list)  # (suite, axis) marked
    # "identical to clean: re-encode skipped" (every variant byte-identical to clean)
    reused: bool = False  # an existing report of the same inputs was kept


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
    reuse: bool = True,
    jobs: int | None = None,
) -> ReportFiles:
    """Write the report for one or more results folders (models side by side) into ``out``.

    Args:
        results: folders written by ``evaluate``; a ``train-matrix`` folder (it holds
            ``matrix.parquet``) adds the matrix section (:mod:`.matrix`); matrix folders alone
            make a report of their matrices.
        out: the report folder (created).
        title: the report's title (Markdown and HTML).
        min_count: heat-map cells with fewer sources than this are greyed out.
        sheets: draw a contact sheet per axis when the manifest is reachable.
        figures: the figure kinds to draw per axis, in order (default: report.json's list);
            register your own in :data:`~.figures.FIGURE_KINDS` first.
        reuse: keep the report already in ``out`` when it was made from the same results
            (run.json's ``key_sha256`` and content), options and degradebench version.
        jobs: processes that draw and write the figures (default: the cores, at most 8; 1 draws
            them in this process).
    """
    from .document import Figure as DocFigure
    from .figures.save import FigureTasks
    from .sheet import sheet_section

    if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 0:
        raise ConfigError(f"report: --min-count must be a whole number >= 0, got {min_count!r}")
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
        raise ConfigError(f"report: --jobs must be a whole number >= 1, got {jobs!r}")
    options = _options(min_count, sheets, tuple(figures) if figures is not None else None)
    outp = Path(out)
    md_path, html_path, tex_path = outp / "report.md", outp / "report.html", outp / "report.tex"
    matrices = [Path(r) for r in results if is_matrix_dir(r)]  # train-matrix folders
    results = [r for r in results if not is_matrix_dir(r)]
    key = report_key([Path(r) for r in results] if results else [],
                     {"title": title, "min_count": options.min_count, "sheets": sheets,
                      "figures": list(options.figures),
                      "matrices": matrix_key(matrices)})  # fmt: skip
    rec = load_reusable(outp, key) if reuse and (results or matrices) else None
    if rec is not None:
        print(f"degradebench report: {outp} holds the report of these results and options "
              "(unchanged inputs); reusing it", file=sys.stderr)  # fmt: skip
        figs = [outp / f for f in rec["files"] if f.startswith("figures/")]
        same = [(str(a), str(b)) for a, b in rec.get("identical", [])]
        return ReportFiles(outp, md_path, html_path, tex_path, figs, same, reused=True)
    models = load_models([Path(r) for r in results]) if results or not matrices else []
    figdir = outp / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    forget_key(outp)
    identical = identical_axes(models) if models else {}
    tasks = FigureTasks(jobs)  # workers draw and write the figures while tables are built here
    try:
        extra = [sheet_section(models, figdir, tasks)] if sheets and models else []
        extra += matrix_sections(matrices, figdir)
        if not models:  # matrix folders only
            doc = matrix_document(extra, title)
        else:
            doc = build_document(models, title, figdir, options,
                                 [s for s in extra if s is not None], identical=identical,
                                 tasks=tasks)  # fmt: skip
        tasks.fill(doc.sections)  # every figure file exists before the HTML inlines them
    finally:
        tasks.close()
    doc.sections = [s for s in doc.sections if s.anchor != "sheets"  # no sheet could be drawn
                    or any(isinstance(b, DocFigure) for b in s.blocks)]  # fmt: skip
    md_path.write_text(render_markdown(doc), encoding="utf-8")
    html_path.write_text(render_html(doc), encoding="utf-8")
    tex_path.write_text(render_latex(doc), encoding="utf-8")
    files = [p for f in doc.figures() for p in f.files.values()]
    same = [k for k, v in identical.items() if v.whole_axis]
    store_key(outp, key, [md_path, html_path, tex_path, *files], {"identical": same})
    return ReportFiles(outp, md_path, html_path, tex_path, files, same)
