"""The train-on-X / test-on-Y matrix (``degradebench train-matrix``) as a heat map and tables.

A matrix folder holds ``matrix.parquet`` (long format, :data:`MATRIX_COLUMNS`: one row per
training policy, test condition (axis, level) and metric) and ``matrix.json`` (how it was made;
optional ``summary`` groups for the compact table). ``write_report`` given a matrix folder adds
the section :func:`matrix_section` builds: the heat map (rows = training policy, columns = test
condition, the clean column first; accuracy), the compact table and every value with its
interval. :func:`draw_matrix` is also what ``train-matrix`` saves as ``matrix.png/.svg``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from degradebench.generators.core.errors import ConfigError
from matplotlib import colormaps
from matplotlib.figure import Figure as MplFigure

from .document import Document, Figure, Paragraph, Section, Table, code, text
from .figures import save_figure
from .view import fmt, fmt_ci

__all__ = [
    "MATRIX_FILE",
    "MATRIX_RUN",
    "MATRIX_COLUMNS",
    "is_matrix_dir",
    "read_matrix",
    "condition_label",
    "conditions",
    "draw_matrix",
    "summary_frame",
    "matrix_section",
    "matrix_sections",
    "matrix_document",
    "matrix_key",
]

MATRIX_FILE = "matrix.parquet"
MATRIX_RUN = "matrix.json"
MATRIX_COLUMNS = ["policy", "axis", "level", "metric", "value", "ci_low", "ci_high", "n"]
CLEAN = "clean"


def is_matrix_dir(path: str | Path) -> bool:
    """True for a folder ``train-matrix`` wrote (it holds ``matrix.parquet``)."""
    return (Path(path) / MATRIX_FILE).is_file()


def read_matrix(folder: str | Path) -> pd.DataFrame:
    """``folder/matrix.parquet``, its columns checked.

    Raises:
        ConfigError: unreadable, or a column missing (names the file, the columns and the fix).
    """
    path = Path(folder) / MATRIX_FILE
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the matrix ({exc}); rerun train-matrix") from None
    missing = [c for c in MATRIX_COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"{path}: lacks columns {missing} (has {list(frame.columns)}); it must hold "
            f"{MATRIX_COLUMNS}: rerun degradebench train-matrix into that folder"
        )
    return frame[MATRIX_COLUMNS]


def _run_record(folder: Path) -> dict:
    try:
        rec = json.loads((folder / MATRIX_RUN).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) else {}


def condition_label(axis: str, level: str) -> str:
    """``jpeg 90``, ``crop dy=0,dx=1``; the clean condition is just ``clean``."""
    return CLEAN if axis == CLEAN else f"{axis} {level}"


def conditions(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """The (axis, level) test conditions in the matrix's order, the clean one first."""
    seen = list(dict.fromkeys(zip(frame["axis"].astype(str), frame["level"].astype(str))))
    return sorted(seen, key=lambda c: c[0] != CLEAN)  # stable: the rest keep their order


def _grid(frame: pd.DataFrame, metric: str) -> tuple[list[str], list[tuple[str, str]], np.ndarray]:
    rows = frame[frame["metric"] == metric]
    policies = list(dict.fromkeys(rows["policy"].astype(str)))
    conds = conditions(rows)
    index = {c: j for j, c in enumerate(conds)}
    data = np.full((len(policies), len(conds)), np.nan)
    for r in rows.itertuples(index=False):
        data[policies.index(str(r.policy)), index[(str(r.axis), str(r.level))]] = r.value
    return policies, conds, data


def draw_matrix(
    frame: pd.DataFrame, metric: str = "accuracy", source: str | Path = MATRIX_FILE
) -> MplFigure:
    """The heat map: rows = training policy, columns = test condition (clean first), cells =
    ``metric`` in percent; thin white lines separate the axes. ``source``: the matrix file
    ``frame`` came from (errors name it)."""
    policies, conds, data = _grid(frame, metric)
    if not policies:
        raise ConfigError(
            f"{source}: no {metric!r} rows to draw (metrics there: "
            f"{', '.join(sorted(map(str, frame['metric'].unique()))) or 'none'}); rerun "
            "degradebench train-matrix into that folder to rewrite it"
        )
    fig = MplFigure(figsize=(max(5.0, 1.8 + 0.2 * len(conds)), 1.9 + 0.38 * len(policies)))
    ax = fig.add_subplot()
    cmap = colormaps["viridis"].with_extremes(bad="0.85")  # a missing cell is grey
    img = ax.imshow(100 * data, cmap=cmap, vmin=0, vmax=100, aspect="auto")
    for (r, c), v in np.ndenumerate(data):
        if not np.isnan(v):
            ax.text(c, r, f"{100 * v:.0f}", ha="center", va="center", fontsize=5.5,
                    color="white" if v < 0.55 else "black")  # fmt: skip
    for j in range(1, len(conds)):
        if conds[j][0] != conds[j - 1][0]:
            ax.axvline(j - 0.5, color="white", lw=1.5)
    ax.set_xticks(range(len(conds)), [condition_label(*c) for c in conds], rotation=90,
                  fontsize=6)  # fmt: skip
    ax.set_yticks(range(len(policies)), policies, fontsize=7)
    ax.set_ylabel("training policy", fontsize=8)
    ax.set_xlabel("test condition (axis, level)", fontsize=8)
    label = metric.replace("_", " ")
    ax.set_title(f"{label} (%) by training policy and test condition", fontsize=9)
    bar = fig.colorbar(img, ax=ax, fraction=0.025, pad=0.01)
    bar.set_label(f"{label} (%)", fontsize=7)
    bar.ax.tick_params(labelsize=6)
    return fig


def summary_frame(frame: pd.DataFrame, groups: list[dict], metric: str = "accuracy"
                  ) -> pd.DataFrame:  # fmt: skip
    """Rows = policy, columns = the groups' labels: the mean of ``metric`` over the levels of
    the group's axis that match its names or shell patterns (NaN when none is there)."""
    rows = frame[frame["metric"] == metric]
    out = {}
    for g in groups:
        axis_rows = rows[rows["axis"].astype(str) == str(g["axis"])]
        pick = np.array([any(fnmatch.fnmatchcase(lv, p) for p in g["levels"])
                         for lv in axis_rows["level"].astype(str)], dtype=bool)  # fmt: skip
        out[str(g["label"])] = axis_rows[pick].groupby("policy", sort=False)["value"].mean()
    policies = list(dict.fromkeys(rows["policy"].astype(str)))
    return pd.DataFrame(out).reindex(policies)


def _summary_table(frame: pd.DataFrame, groups: list[dict]) -> Table | None:
    if not groups:
        return None
    s = summary_frame(frame, groups)
    header = ["training policy", *s.columns]
    body = [[str(p), *(fmt(v) for v in row)] for p, row in zip(s.index, s.to_numpy())]
    return Table(header, body, "Accuracy (%) per training policy: the mean over the levels of "
                 "each group", "tab:matrix-summary")  # fmt: skip


def _full_table(frame: pd.DataFrame, metric: str = "accuracy") -> Table:
    rows = frame[frame["metric"] == metric]
    policies = list(dict.fromkeys(rows["policy"].astype(str)))
    cell = {(str(r.policy), str(r.axis), str(r.level)): r for r in rows.itertuples(index=False)}
    body = []
    for axis, level in conditions(rows):
        line = [condition_label(axis, level)]
        for p in policies:
            r = cell.get((p, axis, level))
            line.append("–" if r is None else fmt_ci(r.value, r.ci_low, r.ci_high))
        body.append(line)
    n = int(rows["n"].max()) if len(rows) else 0
    return Table(["test condition", *policies], body,
                 f"{metric.replace('_', ' ')} (%) [95% bootstrap interval over sources], "
                 f"n = {n} sources per cell", "tab:matrix", group_size=1)  # fmt: skip


def _about(folder: Path, rec: dict) -> Paragraph:
    recipe = rec.get("recipe", {})
    parts = ["Rows: the reference architecture trained under each policy of ",
             code("datasets.yaml"), "'s ", code("policies:"), " map (",
             f"{recipe.get('epochs', '?')} epochs, {recipe.get('patches_per_image', '?')} "
             f"patches per image, seed {recipe.get('seed', '?')}", "); columns: the test "
             f"conditions of the suites {', '.join(rec.get('suites', [])) or '?'} on the "
             f"held-out fold {rec.get('fold', '?')}, the clean column first. Folder: ",
             code(str(folder))]  # fmt: skip
    if rec.get("quick"):
        parts.append(" (a --quick run: a small dataset and a short recipe; not the measured "
                     "matrix)")  # fmt: skip
    return Paragraph(text(*parts, "."))


def matrix_section(folder: str | Path, figdir: Path, stem: str = "matrix") -> Section:
    """The report section of one matrix folder: what it is, the heat map, the compact table
    (``matrix.json``'s ``summary`` groups) and every accuracy with its interval."""
    folder = Path(folder)
    frame = read_matrix(folder)
    rec = _run_record(folder)
    fig = draw_matrix(frame, source=folder / MATRIX_FILE)
    files = save_figure(fig, figdir / stem, pdf=False)
    caption = ("Accuracy (%) of each training policy (rows) on each test condition (columns, "
               "clean first)")  # fmt: skip
    figure = Figure(stem, files, caption, "heat map of accuracy, training policy x test "
                    "condition", embed="png", kind="matrix")  # fmt: skip
    section = Section(text("Train on X, test on Y"), f"matrix-{stem}")
    return section.add(
        _about(folder, rec),
        figure,
        _summary_table(frame, rec.get("summary") or []),
        _full_table(frame),
    )


def matrix_sections(folders: list[Path], figdir: Path) -> list[Section]:
    """One section per matrix folder (figures ``matrix.png``, ``matrix-1.png``, ...)."""
    return [matrix_section(f, figdir, "matrix" if i == 0 else f"matrix-{i}")
            for i, f in enumerate(folders)]  # fmt: skip


def matrix_document(sections: list[Section], title: str) -> Document:
    """A report of matrix folders only (no results folders given)."""
    return Document(title, sections=list(sections))


def matrix_key(folders: list[Path]) -> list[dict]:
    """What a report depends on per matrix folder: its path and the sha256 of its two files."""
    out = []
    for folder in folders:
        entry = {"path": str(Path(folder).absolute())}
        for name in (MATRIX_FILE, MATRIX_RUN):
            try:
                entry[name] = hashlib.sha256((Path(folder) / name).read_bytes()).hexdigest()
            except OSError:
                entry[name] = None
        out.append(entry)
    return out
