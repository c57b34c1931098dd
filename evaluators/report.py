"""Reports from one or more ``evaluate`` results folders: curves, heat maps, Markdown, HTML, LaTeX.

``write_report([RESULTS, ...], DIR)`` writes ``DIR/figures/<axis>.png|.svg`` (accuracy and flip
rate per level, a line per model with its bootstrap confidence band, clean as a dashed line),
``DIR/figures/<axis>_heatmap.png|.svg`` for two-parameter axes (double JPEG QF1 x QF2, crop
dy x dx), ``report.md``, a self-contained ``report.html`` (SVG inline, PNG as base64) and
``report.tex`` (booktabs tables). Models appear side by side; with two or more, McNemar's paired
test per axis compares every pair.
"""

from __future__ import annotations

import base64
import html
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from degradebench.generators.core.errors import ConfigError
from matplotlib.figure import Figure

from . import metrics as M
from ._evaluate import read_results

__all__ = ["write_report", "ReportFiles", "heatmap_params", "HEATMAP_PAIRS"]

# Parameter pairs drawn as a heat map when an axis varies both (rows x columns).
HEATMAP_PAIRS = (
    ("q1", "q2"),
    ("dy", "dx"),
    ("offset[0]", "offset[1]"),
    ("shift[0]", "shift[1]"),
    ("r", "c"),
)
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


@dataclass
class ReportFiles:
    out: Path
    markdown: Path
    html: Path
    latex: Path
    figures: list[Path] = field(default_factory=list)


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        elif isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                if isinstance(x, (int, float)) and not isinstance(x, bool):
                    out[f"{key}[{i}]"] = x
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[key] = v
    return out


def _params_frame(axis_params: pd.Series) -> pd.DataFrame:
    rows = []
    for s in axis_params:
        try:
            d = json.loads(s) if isinstance(s, str) else (s or {})
        except ValueError:
            d = {}
        rows.append(_flatten(d) if isinstance(d, dict) else {})
    return pd.DataFrame(rows, index=axis_params.index)


def heatmap_params(axis_params: pd.Series) -> tuple[str, str] | None:
    """The two parameters of an axis to draw as a heat map, or None for one-parameter axes."""
    pf = _params_frame(axis_params)
    varying = [c for c in pf.columns if pf[c].nunique(dropna=True) > 1]
    for a, b in HEATMAP_PAIRS:
        if a in varying and b in varying:
            return (a, b)
    if len(varying) == 2:
        return (varying[0], varying[1])
    return None


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "axis"


def _save(fig: Figure, stem: Path) -> tuple[Path, Path]:
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    fig.savefig(png, dpi=110, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(svg, bbox_inches="tight", metadata={"Date": None, "Creator": None})
    return png, svg


def _fmt(v: float, pct: bool = True) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{100 * v:.1f}" if pct else f"{v:.3g}"


def _fmt_ci(v: float, lo: float, hi: float, pct: bool = True) -> str:
    if math.isnan(lo) or math.isnan(hi):
        return _fmt(v, pct)
    return f"{_fmt(v, pct)} [{_fmt(lo, pct)}, {_fmt(hi, pct)}]"


class _Model:
    def __init__(self, name: str, res: dict):
        self.name = name
        self.res = res
        self.summary: pd.DataFrame = res["summary"]
        self.axis_summary: pd.DataFrame = res["axis_summary"]
        self.pred: pd.DataFrame = res["predictions"]
        self.run: dict = res["run"]
        self.curves: pd.DataFrame = res.get("curves", pd.DataFrame())


def _load(results: list[str | Path]) -> list[_Model]:
    if not results:
        raise ConfigError(
            "report: give at least one RESULTS folder written by 'degradebench evaluate'"
        )
    models: list[_Model] = []
    seen: set[str] = set()
    for r in results:
        res = read_results(r)
        names = list(pd.unique(res["summary"]["model"])) or [Path(r).name]
        for name in names:
            label = str(name)
            if label in seen:  # the same model evaluated twice: tell the runs apart
                label = f"{name} ({Path(r).name})"
            seen.add(label)
            sub = dict(res)
            for key in ("summary", "axis_summary", "predictions", "curves"):
                df = res[key]
                if len(df) and "model" in df:
                    df = df[df["model"] == name].copy()
                    df["model"] = label
                sub[key] = df
            models.append(_Model(label, sub))
    return models


def _metric_rows(m: _Model, axis: str, metric: str) -> pd.DataFrame:
    s = m.summary
    return s[(s["axis"] == axis) & (s["metric"] == metric)]


def _curve_rows(m: _Model, axis: str, metric: str, series: str = "all") -> pd.DataFrame:
    c = m.curves
    if c.empty:
        return c
    sel = (c["axis"] == axis) & (c["metric"] == metric) & (c["series"] == series)
    return c[sel & (c["rank"] >= 0)].sort_values("rank")


def _group_table(models: list[_Model], axis: str) -> tuple[list[str], list[list[str]]] | None:
    """Pooled over the axis per combination of boolean level parameters (curves' point "all")."""
    groups: list[str] = []
    for m in models:
        c = m.curves
        if not c.empty:
            sel = (c["axis"] == axis) & (c["rank"] == -1)
            groups += [g for g in pd.unique(c.loc[sel, "series"]) if g not in groups]
    if not groups:
        return None
    groups = ["all"] + sorted(g for g in groups if g != "all")
    header = ["levels with"]
    for m in models:
        header += [f"{m.name} accuracy % [95% CI]", f"{m.name} flip %", f"{m.name} n"]
    rows = []
    for g in groups:
        row = ["all levels" if g == "all" else g.replace(",", ", ")]
        for m in models:
            c = m.curves
            base = c[(c["axis"] == axis) & (c["rank"] == -1) & (c["series"] == g)]
            acc = base[base["metric"] == "accuracy"]
            flip = base[base["metric"] == "flip_rate"]
            row.append("–" if acc.empty else _fmt_ci(*acc.iloc[0][["value", "ci_low", "ci_high"]]))
            row.append("–" if flip.empty else _fmt(flip.iloc[0]["value"]))
            n = acc if not acc.empty else flip
            row.append("–" if n.empty else str(int(n.iloc[0]["n"])))
        rows.append(row)
    return header, rows


def _points(models: list[_Model], axis: str) -> tuple[list[str], np.ndarray]:
    """Curve points of an axis in severity order (union over models) and their x values."""
    order: list[str] = []
    xs: dict[str, float] = {}
    for m in models:
        c = m.curves
        if c.empty:
            continue
        c = c[(c["axis"] == axis) & (c["rank"] >= 0)].sort_values("rank")
        for pt, x in zip(c["point"], c["x"]):
            if pt not in xs:
                order.append(pt)
                xs[pt] = float(x)
    return order, np.array([xs[p] for p in order], dtype=float)


def _series(models: list[_Model], axis: str) -> list[str]:
    out: list[str] = []
    for m in models:
        c = m.curves
        if not c.empty:
            sel = (c["axis"] == axis) & (c["rank"] >= 0)
            out += [s for s in pd.unique(c.loc[sel, "series"]) if s not in out]
    return ["all"] + sorted(s for s in out if s != "all")


def _clean_value(m: _Model, metric: str) -> tuple[float, float, float] | None:
    r = _metric_rows(m, M.CLEAN, metric)
    r = r[r["level"] == M.CLEAN]
    if r.empty:
        return None
    row = r.iloc[0]
    return float(row["value"]), float(row["ci_low"]), float(row["ci_high"])


_STYLES = ("--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1)))


def _curve_figure(models: list[_Model], axis: str) -> Figure | None:
    order, x_vals = _points(models, axis)
    metrics = [
        mt for mt in ("accuracy", "flip_rate")
        if any(not _curve_rows(m, axis, mt).empty for m in models)
    ]  # fmt: skip
    if not order or not metrics:
        return None
    numeric = M.numeric_x(x_vals)
    series = _series(models, axis)
    fig = Figure(figsize=(5.2 * len(metrics), 3.7), layout="constrained")
    for j, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), j + 1)
        for i, m in enumerate(models):
            color = _COLORS[i % len(_COLORS)]
            for k, ser in enumerate(series):
                rows = _curve_rows(m, axis, metric, ser)
                if rows.empty:
                    continue
                pts = list(rows["point"])
                xs = (rows["x"].to_numpy(dtype=float) if numeric
                      else np.array([order.index(p) for p in pts], dtype=float))  # fmt: skip
                y = rows["value"].to_numpy(dtype=float) * 100
                if ser == "all":
                    lo = rows["ci_low"].to_numpy(dtype=float) * 100
                    hi = rows["ci_high"].to_numpy(dtype=float) * 100
                    ax.plot(xs, y, marker="o", ms=3.5, color=color, label=m.name)
                    if not np.isnan(lo).all():
                        ax.fill_between(xs, lo, hi, color=color, alpha=0.18, linewidth=0)
                else:
                    style = _STYLES[(k - 1) % len(_STYLES)]
                    ax.plot(xs, y, ls=style, lw=1, marker=".", ms=3, color=color, alpha=0.8,
                            label=f"{m.name}: {ser}")  # fmt: skip
            clean = _clean_value(m, metric)
            if clean is not None and metric == "accuracy":
                ax.axhline(clean[0] * 100, color=color, ls="--", lw=1, alpha=0.6)
        if numeric:
            ax.set_xlabel(f"{axis}: {_x_name(order)}")
            # Severity grows left to right: flip the axis when milder points have larger x.
            if x_vals[0] > x_vals[-1]:
                ax.invert_xaxis()
        else:
            ax.set_xticks(range(len(order)))
            many = len(order) > 5
            ax.set_xticklabels(order, rotation=60 if many else 0, ha="right" if many else "center",
                               fontsize=7 if many else 8)  # fmt: skip
            ax.set_xlabel(f"{axis} level")
        ax.set_ylabel("accuracy (%)" if metric == "accuracy" else "flip rate vs clean (%)")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
        title = f"{axis}: {metric.replace('_', ' ')}"
        if metric == "accuracy" and any(_clean_value(m, "accuracy") for m in models):
            title += " (dashed: clean)"
        ax.set_title(title, fontsize=10)
        if j == 0:
            ax.legend(fontsize=7, loc="lower left")
    return fig


def _x_name(order: list[str]) -> str:
    names = {p.split("=", 1)[0] for p in order if "=" in p}
    return names.pop() if len(names) == 1 else "level"


def _dense(values: pd.Index) -> list:
    """Small integer grids (offsets 0..7) keep every row/column, so the layout is the grid's."""
    vals = sorted(values)
    if vals and all(float(v).is_integer() for v in vals) and vals[-1] - vals[0] <= 15:
        return list(range(int(vals[0]), int(vals[-1]) + 1))
    return vals


def _heatmap_figure(models: list[_Model], axis: str) -> tuple[Figure, str, tuple] | None:
    models = [m for m in models if len(m.pred) and (m.pred["axis"] == axis).any()]  # side by side
    preds = [m.pred[m.pred["axis"] == axis] for m in models]
    if not preds or preds[0].empty:
        return None
    pair = heatmap_params(preds[0]["axis_params"])
    if pair is None:
        return None
    labelled = preds[0]["correct"].notna().any()
    col, what = ("correct", "accuracy") if labelled else ("flipped", "flip rate")
    fig = Figure(figsize=(4.4 * len(models), 3.8), layout="constrained")
    other: list[str] = []
    for i, m in enumerate(models):
        p = m.pred[m.pred["axis"] == axis]
        pf = _params_frame(p["axis_params"])
        other = [c for c in pf.columns if c not in pair and pf[c].nunique() > 1]
        v = pd.to_numeric(p[col].astype("Float64"), errors="coerce")
        grid = (
            pd.DataFrame({"a": pf[pair[0]], "b": pf[pair[1]], "v": v})
            .dropna()
            .pivot_table(index="a", columns="b", values="v", aggfunc="mean")
        )
        grid = grid.reindex(index=_dense(grid.index), columns=_dense(grid.columns))
        ax = fig.add_subplot(1, len(models), i + 1)
        data = grid.to_numpy(dtype=float) * 100
        im = ax.imshow(data, vmin=0, vmax=100, cmap="viridis", origin="lower", aspect="auto")
        ax.set_xticks(range(grid.shape[1]))
        ax.set_xticklabels([f"{c:g}" for c in grid.columns], fontsize=7)
        ax.set_yticks(range(grid.shape[0]))
        ax.set_yticklabels([f"{r:g}" for r in grid.index], fontsize=7)
        ax.set_xlabel(pair[1])
        ax.set_ylabel(pair[0])
        ax.set_title(f"{m.name}: {what} (%)", fontsize=9)
        if data.size <= 150:
            for (r, c), val in np.ndenumerate(data):
                if not np.isnan(val):
                    ax.text(c, r, f"{val:.0f}", ha="center", va="center", fontsize=6,
                            color="white" if val < 60 else "black")  # fmt: skip
        if i == len(models) - 1:
            fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(f"{axis}: {pair[0]} x {pair[1]}" + (f" (mean over {', '.join(other)})" if other else ""),
                 fontsize=10)  # fmt: skip
    return fig, what, pair


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(out)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


_TEX_ESC = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
            "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}  # fmt: skip


def _tex(s: str) -> str:
    return "".join(_TEX_ESC.get(ch, ch) for ch in str(s)).replace("–", "--")


def _tex_table(header: list[str], rows: list[list[str]], caption: str, label: str) -> str:
    cols = "l" * 2 + "r" * (len(header) - 2)
    lines = [
        r"\begin{table}[t]", r"\centering", r"\small", rf"\caption{{{_tex(caption)}}}",
        rf"\label{{{label}}}", rf"\begin{{tabular}}{{{cols}}}", r"\toprule",
        " & ".join(_tex(h) for h in header) + r" \\", r"\midrule",
    ]  # fmt: skip
    lines += [" & ".join(_tex(c) for c in r) + r" \\" for r in rows]
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(lines)


def _inline_svg(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def _png_data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _axis_table(models: list[_Model], axis: str) -> tuple[list[str], list[list[str]]]:
    header = ["point", "series"]
    for m in models:
        header += [f"{m.name} accuracy % [95% CI]", f"{m.name} flip %", f"{m.name} n"]
    order, _ = _points(models, axis)
    rows = []
    for ser in _series(models, axis):
        for pt in order:
            row = [pt, ser]
            found = False
            for m in models:
                acc = _curve_rows(m, axis, "accuracy", ser)
                acc = acc[acc["point"] == pt]
                flip = _curve_rows(m, axis, "flip_rate", ser)
                flip = flip[flip["point"] == pt]
                found |= not (acc.empty and flip.empty)
                row.append(
                    "–" if acc.empty else _fmt_ci(*acc.iloc[0][["value", "ci_low", "ci_high"]])
                )
                row.append("–" if flip.empty else _fmt(flip.iloc[0]["value"]))
                n = acc if not acc.empty else flip
                row.append("–" if n.empty else str(int(n.iloc[0]["n"])))
            if found:
                rows.append(row)
    return header, rows


def _overview_table(models: list[_Model], axes: list[str]) -> tuple[list[str], list[list[str]]]:
    header = ["axis"]
    for m in models:
        header += [f"{m.name} AUC acc %", f"{m.name} breaks at", f"{m.name} max drop pts"]
    has_ce = any((m.axis_summary["metric"] == "ce").any() for m in models if len(m.axis_summary))
    if has_ce:
        header += [f"{m.name} CE" for m in models]
    rows = []
    for axis in axes:
        row = [axis]
        for m in models:
            a = m.axis_summary
            a = a[a["axis"] == axis] if len(a) else a

            def get(metric: str, a=a) -> pd.Series | None:
                r = a[a["metric"] == metric] if len(a) else a
                return None if r is None or r.empty else r.iloc[0]

            auc, brk, drop = get("auc_accuracy"), get("breaking_level"), get("max_accuracy_drop")
            row.append(
                _fmt_ci(auc["value"], auc["ci_low"], auc["ci_high"]) if auc is not None else "–"
            )
            if brk is None:
                row.append("–")
            else:
                row.append(str(brk["level"]) if brk["level"] is not None else "never")
            row.append(f"{100 * drop['value']:.1f}" if drop is not None else "–")
        if has_ce:
            for m in models:
                a = m.axis_summary
                r = a[(a["axis"] == axis) & (a["metric"] == "ce")] if len(a) else a
                row.append(f"{r.iloc[0]['value']:.3f}" if len(r) else "–")
        rows.append(row)
    return header, rows


def _model_table(models: list[_Model]) -> tuple[list[str], list[list[str]]]:
    header = ["model", "spec", "variants", "clean accuracy % [95% CI]", "images/s", "device",
              "manifest"]  # fmt: skip
    rows = []
    for m in models:
        run = m.run
        clean = _clean_value(m, "accuracy")
        thr = run.get("throughput", {})
        rows.append([
            m.name, run.get("model", {}).get("spec", "?"), str(len(m.pred)),
            _fmt_ci(*clean) if clean else "–",
            f"{thr.get('images_per_s', float('nan')):.1f}",
            run.get("config", {}).get("resolved_device", "?"),
            run.get("manifest", {}).get("path", "?"),
        ])  # fmt: skip
    return header, rows


def _global_table(models: list[_Model]) -> tuple[list[str], list[list[str]]] | None:
    rows = []
    for m in models:
        a = m.axis_summary
        if not len(a):
            continue
        for r in a[a["axis"] == "*"].itertuples():
            val = _fmt_ci(r.value, r.ci_low, r.ci_high, pct=r.metric == "spcup2018_score")
            rows.append([m.name, r.metric, val, r.baseline or ""])
    return (["model", "figure", "value", "baseline"], rows) if rows else None


def _mcnemar_table(models: list[_Model]) -> tuple[list[str], list[list[str]]] | None:
    rows = []
    for i in range(len(models)):
        for j in range(i + 1, len(models)):
            a, b = models[i].pred, models[j].pred
            if not len(a) or not len(b):
                continue
            cmp = M.compare(a, b)
            for r in cmp.itertuples():
                rows.append([
                    f"{r.model_a} vs {r.model_b}", r.axis, str(r.n), _fmt(r.accuracy_a),
                    _fmt(r.accuracy_b), str(r.a_only), str(r.b_only), f"{r.p_value:.3g}",
                ])  # fmt: skip
    if not rows:
        return None
    header = ["pair", "axis", "paired variants", "acc A %", "acc B %", "only A right",
              "only B right", "McNemar p"]  # fmt: skip
    return header, rows


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1200px;
color:#222;padding:0 1em}
table{border-collapse:collapse;margin:0.6em 0 1.4em;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
figure{margin:0.5em 0 1.5em}figure svg,figure img{max-width:100%;height:auto;display:block}
figcaption{font-size:12px;color:#555}code{background:#f5f5f5;padding:0 3px}
"""


def write_report(
    results: list[str | Path], out: str | Path, *, title: str = "degradebench report"
) -> ReportFiles:
    """Write the report for one or more results folders (models side by side) into ``out``."""
    models = _load([Path(r) for r in results])
    outp = Path(out)
    figdir = outp / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    axes: list[str] = []
    for m in models:
        for a in pd.unique(m.summary["axis"]):
            if a != M.CLEAN and a not in axes:
                axes.append(a)

    md: list[str] = [f"# {title}", ""]
    hb: list[str] = [f"<h1>{html.escape(title)}</h1>"]
    tex: list[str] = ["% degradebench report tables (needs \\usepackage{booktabs})", ""]
    figures: list[Path] = []

    h, rows = _model_table(models)
    md += ["## Models", "", _md_table(h, rows), ""]
    hb += ["<h2>Models</h2>", _html_table(h, rows)]
    h, rows = _overview_table(models, axes)
    md += [
        "## Axes at a glance", "",
        "AUC = mean accuracy over the axis's range; *breaks at* = the first level (mild to "
        "severe) whose accuracy is more than the run's `--break-points` below clean.", "",
        _md_table(h, rows), "",
    ]  # fmt: skip
    hb += ["<h2>Axes at a glance</h2>", _html_table(h, rows)]
    tex.append(_tex_table(h, rows, "Per-axis robustness", "tab:degradebench-axes"))
    glob = _global_table(models)
    if glob:
        md += ["## Overall figures", "", _md_table(*glob), ""]
        hb += ["<h2>Overall figures</h2>", _html_table(*glob)]

    level_rows_tex: list[list[str]] = []
    for axis in axes:
        stem = figdir / _safe(axis)
        md += [f"## Axis `{axis}`", ""]
        hb += [f"<h2 id='axis-{_safe(axis)}'>Axis <code>{html.escape(axis)}</code></h2>"]
        fig = _curve_figure(models, axis)
        if fig is not None:
            png, svg = _save(fig, stem)
            figures += [png, svg]
            cap = (f"{axis}: accuracy and flip rate per level, 95% bootstrap bands over source "
                   "images; dashed line: clean accuracy.")  # fmt: skip
            md += [f"![{axis} curves](figures/{png.name})", "", f"*{cap}*", ""]
            hb += [f"<figure class='curve'>{_inline_svg(svg)}<figcaption>{html.escape(cap)}"
                   "</figcaption></figure>"]  # fmt: skip
        hm = _heatmap_figure(models, axis)
        if hm is not None:
            fig, what, pair = hm
            png, svg = _save(fig, figdir / f"{_safe(axis)}_heatmap")
            figures += [png, svg]
            cap = f"{axis}: {what} over {pair[0]} (rows) x {pair[1]} (columns)."
            md += [f"![{axis} heat map](figures/{png.name})", "", f"*{cap}*", ""]
            hb += [f"<figure class='heatmap'><img alt='{html.escape(axis)} heat map' "
                   f"src='{_png_data_uri(png)}'><figcaption>{html.escape(cap)}</figcaption>"
                   "</figure>"]  # fmt: skip
        h, rows = _axis_table(models, axis)
        md += [_md_table(h, rows), ""]
        hb += [_html_table(h, rows)]
        grouped = _group_table(models, axis)
        if grouped:
            note = f"{axis}, pooled over its levels by their boolean parameters:"
            md += [note, "", _md_table(*grouped), ""]
            hb += [f"<p>{html.escape(note)}</p>", _html_table(*grouped)]
        level_rows_tex += [[axis, *r] for r in rows]
    if axes:
        h, _ = _axis_table(models, axes[0])
        clean_row = [M.CLEAN, M.CLEAN, "all"]
        for m in models:
            c = _clean_value(m, "accuracy")
            f = _clean_value(m, "flip_rate")
            n = _metric_rows(m, M.CLEAN, "accuracy")
            clean_row += [_fmt_ci(*c) if c else "–", _fmt(f[0]) if f else "–",
                          str(int(n.iloc[0]["n"])) if len(n) else "–"]  # fmt: skip
        tex.append(_tex_table(["axis", *h], [clean_row, *level_rows_tex],
                              "Accuracy (%, 95% bootstrap CI) and flip rate per level",
                              "tab:degradebench-levels"))  # fmt: skip
    mc = _mcnemar_table(models)
    if mc:
        note = ("McNemar's exact test on paired correctness per axis; variants of one source are "
                "correlated, so read p-values as indicative.")  # fmt: skip
        md += ["## Paired comparison (McNemar)", "", note, "", _md_table(*mc), ""]
        hb += ["<h2>Paired comparison (McNemar)</h2>", f"<p>{html.escape(note)}</p>",
               _html_table(*mc)]  # fmt: skip

    prov = [
        f"- `{m.name}`: degradebench {m.run.get('degradebench_version', '?')}, git "
        f"{m.run.get('git_revision') or '?'}, torch "
        f"{m.run.get('library_versions', {}).get('torch', '?')}, input config "
        f"`{json.dumps(m.run.get('model', {}).get('input_config', {}), sort_keys=True)}`"
        for m in models
    ]
    md += ["## Provenance", "", *prov, ""]
    hb += ["<h2>Provenance</h2><ul>"
           + "".join(f"<li>{html.escape(p[2:])}</li>" for p in prov) + "</ul>"]  # fmt: skip

    outp.mkdir(parents=True, exist_ok=True)
    md_path, html_path, tex_path = outp / "report.md", outp / "report.html", outp / "report.tex"
    md_path.write_text("\n".join(md), encoding="utf-8")
    doc = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(hb) + "</body></html>\n"
    )  # fmt: skip
    html_path.write_text(doc, encoding="utf-8")
    tex_path.write_text("\n".join(tex), encoding="utf-8")
    return ReportFiles(outp, md_path, html_path, tex_path, figures)
