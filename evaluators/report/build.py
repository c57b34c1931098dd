"""Build the report's :class:`~.document.Document` once from the results (figures drawn here)."""

from __future__ import annotations

import json
from collections import Counter
from functools import partial
from pathlib import Path

from .document import (
    Bullets,
    Definitions,
    Document,
    Figure,
    Paragraph,
    Section,
    code,
    em,
    text,
)
from .figures import FIGURE_KINDS
from .figures.save import FigureTasks, Pending, formats_for, write_figure
from .forensic import forensic_definitions, forensic_level_tables, forensic_tables
from .headline import headline, identical_axes
from .regression import regression_definitions, regression_level_table, regression_table
from .runs import AxisKey, ModelResults, axis_keys
from .tables import (
    axis_table,
    by_library,
    global_table,
    group_table,
    level_table,
    mcnemar_table,
    model_table,
    overview_table,
    summary_level_table,
)
from .view import AxisView, ReportOptions, classifies, classifies_alone, localizes, safe_name

__all__ = ["build_document", "axis_views", "DEFINITIONS"]

DEFINITIONS = [
    ("AUC", text("mean accuracy over the axis's range (trapezoid over the level values divided "
                 "by their span when they are numbers, else the mean over levels).")),
    ("breaks at", text("the first level, mild to severe, whose accuracy is more than the run's ",
                       code("--break-points"), " below clean; ", em("never"),
                       " when no level is.")),
    ("max drop", text("clean accuracy minus the worst level's, in percentage points, on the "
                      "sources that have both.")),
    ("flip rate", text("the share of variants whose predicted class differs from the prediction "
                       "on the same source's clean variant (needs no labels).")),
    ("CE", text("corruption error as in ImageNet-C: the model's summed error over the axis's "
                "levels divided by the baseline model's (", code("--baseline"), "); mCE averages "
                "it over axes.")),
    ("n", text("distinct source images behind a value, with the variants behind it in "
               "brackets when a source has several (each source's variants are averaged "
               "first); intervals are 95% bootstrap intervals over sources.")),
    ("–", text("no value (not computed, or nothing to compute it on).")),
]  # fmt: skip


def axis_views(models: list[ModelResults], options: ReportOptions) -> list[AxisView]:
    """One view per (suite, axis); labels carry the suite only where an axis name repeats."""
    keys: list[AxisKey] = axis_keys(models)
    names = Counter(a for _, a in keys)
    views = []
    for suite, axis in keys:
        dup = names[axis] > 1 and suite
        label = f"{axis} ({suite})" if dup else axis
        stem = safe_name(f"{suite}-{axis}" if dup else axis)
        views.append(AxisView((suite, axis), models, label, stem, options))
    return views


def _figures(view: AxisView, figdir: Path) -> list[Figure]:
    """Draw and write the figures of one axis (a :class:`~.figures.save.FigureTasks` task)."""
    out = []
    for kind in view.options.figures:
        for d in FIGURE_KINDS.get(kind)(view):
            name = f"{view.stem}{d.suffix}"
            files = write_figure(d.fig, figdir / name, formats_for(d.embed))
            out.append(Figure(name, files, d.caption, d.alt, d.embed, kind))
    return out


def _cost(view: AxisView) -> float:
    """Rough drawing cost of an axis, to start the biggest first: forensic panels and overlays
    weigh about three plain curves."""
    return 3.0 if any(localizes(m) and len(view.preds(m)) for m in view.models) else 1.0


def _axis_section(view: AxisView, identical: dict, figures: Pending) -> Section:
    s = Section(text("Axis ", code(view.label)), f"axis-{view.stem}", tex_heading=False)
    same = identical.get(view.key)
    if same is not None and same.whole_axis:
        s.add(Paragraph(text(code(view.label), ": ", em("identical to clean: re-encode skipped"),
                             "; every variant of this axis is byte-identical to the clean variant "
                             "of its source, so its accuracy says nothing about robustness."),
                        "note"))  # fmt: skip
    elif same is not None:
        where = ", ".join(f"{view.level_label(lv)} ({k} of {n})" for lv, k, n in same.levels)
        s.add(Paragraph(text(code(view.label), ": byte-identical to clean (nothing changed, e.g. "
                             f"a re-encode skipped or a zero offset): {where} variants."),
                        "note"))  # fmt: skip
    s.add(figures)  # the axis's figures, drawn by a figure task
    cview = _classifying(view)
    tables = [] if cview is None else [
        summary_level_table(cview) if by_library(cview) else axis_table(cview), group_table(cview)]
    tables += forensic_tables(view)  # LaTeX: every axis in one table per kind (build_document)
    tables.append(regression_table(view))
    for t in tables:
        if t is not None:
            t.formats = frozenset({"md", "html"})
    return s.add(*tables)


def _classifying(view: AxisView) -> AxisView | None:
    """The view with the models that classify on this axis (all of them when no model
    localizes or regresses: a classification report is built as before); None when none does."""
    models = view.classified()
    if len(models) == len(view.models):
        return view
    return AxisView(view.key, models, view.label, view.stem, view.options) if models else None


def _provenance(models: list[ModelResults]) -> list[Bullets]:
    """Per results folder: versions, manifest and input config (LaTeX: without the config)."""
    full, short = [], []
    for m in models:
        for run, d in zip(m.runs, m.dirs):
            cfg = json.dumps(run.get("model", {}).get("input_config", {}), sort_keys=True)
            git = run.get("git_revision") or "?"
            head = [code(m.name), f" ({d.name}): degradebench "
                    f"{run.get('degradebench_version', '?')}, git {git[:12]}, torch "
                    f"{run.get('library_versions', {}).get('torch', '?')}, manifest ",
                    code(str(run.get("manifest", {}).get("path", "?")))]  # fmt: skip
            full.append(text(*head, ", input config ", code(cfg)))
            short.append(text(*head))
    return [Bullets(full, frozenset({"md", "html"})), Bullets(short, frozenset({"tex"}))]


def build_document(
    models: list[ModelResults], title: str, figdir: Path, options: ReportOptions,
    extra_sections: list[Section] | None = None, identical: dict | None = None,
    tasks: FigureTasks | None = None,
) -> Document:  # fmt: skip
    """The whole report: headline, models, axes at a glance, one section per axis, tables
    (``identical``: :func:`~.headline.identical_axes` when the caller has it already). The
    figures are drawn by ``tasks``, started here after the axes' tasks are added (the caller
    then fills the sections: :meth:`~.figures.save.FigureTasks.fill`); without it, here."""
    now = tasks is None
    tasks = FigureTasks(1) if now else tasks
    views = axis_views(models, options)
    slots = [tasks.add(partial(_figures, v, figdir), f"the figures of axis {v.label}", _cost(v))
             for v in views]  # fmt: skip
    tasks.start()  # workers draw the figures while the tables are built here
    identical = identical_axes(models) if identical is None else identical
    doc = Document(title, lead=[headline(models, views, identical)])
    models_table = model_table(models)
    models_table.formats = frozenset({"md", "html"})  # specs are paths and code names: not for a paper
    doc.sections.append(Section(text("Models"), "models").add(models_table))
    # Accuracy tables: the classifiers only, on their axes (all models when none localizes or
    # regresses).
    cmodels = models if classifies_alone(models) else [m for m in models if classifies(m)]
    cviews = [v for v in (_classifying(v) for v in views) if v is not None] if cmodels else []
    last = [d for d in DEFINITIONS if d[0] in ("n", "–")]  # for every figure
    first = [d for d in DEFINITIONS if d not in last] if cviews else []  # accuracy figures
    glance = Section(text("Axes at a glance"), "axes").add(
        Definitions(first + forensic_definitions(models) + regression_definitions(models)
                    + last))  # fmt: skip
    if cviews:
        overview = overview_table(cviews, cmodels)
        for row, v in zip(overview.rows, cviews):
            if v.key in identical and identical[v.key].whole_axis:
                row[0] += " (identical to clean: re-encode skipped)"
        glance.add(overview)
    doc.sections.append(glance)
    glob = global_table(models)
    if glob is not None:
        doc.sections.append(Section(text("Overall figures"), "overall").add(glob))
    doc.sections += [_axis_section(v, identical, slot) for v, slot in zip(views, slots)]
    levels = level_table(cviews, cmodels) if cviews else None
    if levels is not None:
        levels.formats = frozenset({"tex"})
        doc.sections.append(Section(text("All levels"), "levels").add(levels))
    forensic = forensic_level_tables(views)
    for t in forensic:
        t.formats = frozenset({"tex"})
    if forensic:
        doc.sections.append(Section(text("Forensic figures, all levels"), "forensic").add(*forensic))
    reg = regression_level_table(views)
    if reg is not None:
        reg.formats = frozenset({"tex"})
        doc.sections.append(Section(text("Regression figures, all levels"), "regression").add(reg))
    doc.sections += extra_sections or []
    mc = mcnemar_table(cmodels)
    if mc is not None:
        note = Paragraph(text("McNemar's exact test on paired correctness per axis, between "
                              "different models on the same variants."), "note")  # fmt: skip
        doc.sections.append(Section(text("Paired comparison (McNemar)"), "mcnemar").add(note, mc))
    doc.sections.append(Section(text("Provenance"), "provenance").add(*_provenance(models)))
    if now:
        tasks.fill(doc.sections)
    return doc
