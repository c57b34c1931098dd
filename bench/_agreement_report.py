"""The agreement audit's outputs: the per-pair summary, PSNR matrices, plots and agreement.md."""

from __future__ import annotations

import io
import itertools
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
from degradebench.generators.core.files import atomic_write_bytes

__all__ = ["REPORT_FILE", "psnr_from_mse", "summarise", "psnr_matrix", "plot_matrices", "markdown"]

REPORT_FILE = "agreement.md"


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB for 8-bit images (peak 255) from a mean squared error; inf when identical."""
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def summarise(df):  # noqa: ANN001, ANN201 - pandas in, pandas out
    """One row per (op, a, b): images, pooled PSNR (from the mean MSE), median per-image PSNR,
    worst max-abs-diff, mean share of differing pixels, share of differing predictions."""
    import pandas as pd

    rows = []
    for (op, a, b), g in df.groupby(["op", "a", "b"], sort=False):
        pd_share = g["prediction_differs"].dropna()
        rows.append(
            {
                "op": op,
                "a": a,
                "b": b,
                "images": len(g),
                "psnr": psnr_from_mse(float(g["mse"].mean())),
                "psnr_median": float(np.median(g["psnr"])),
                "max_abs_diff": int(g["max_abs_diff"].max()),
                "differing_share": float(g["differing_share"].mean()),
                "prediction_differs_share": float(pd_share.mean()) if len(pd_share) else None,
            }
        )
    return pd.DataFrame(rows)


def psnr_matrix(summ, op: str):  # noqa: ANN001, ANN201
    """Symmetric PSNR matrix (pandas DataFrame) for one op; the diagonal is inf."""
    import pandas as pd

    g = summ[summ["op"] == op]
    names = list(dict.fromkeys(list(g["a"]) + list(g["b"])))
    mat = pd.DataFrame(math.inf, index=names, columns=names, dtype=float)
    for r in g.itertuples():
        mat.loc[r.a, r.b] = mat.loc[r.b, r.a] = r.psnr
    return mat


def _fmt_db(v: float) -> str:
    return "=" if math.isinf(v) else f"{v:.1f}"


def plot_matrices(summ, out_dir: Path) -> dict[str, str]:  # noqa: ANN001
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from degradebench.evaluators.report.figures import DPI  # the report's PNG resolution

    files = {}
    for op in dict.fromkeys(summ["op"]):
        mat = psnr_matrix(summ, op)
        vals = mat.to_numpy()
        finite = vals[np.isfinite(vals)]
        hi = float(finite.max()) if finite.size else 60.0
        lo = float(finite.min()) if finite.size else 20.0
        shown = np.where(np.isfinite(vals), vals, hi)
        n = len(mat)
        fig, ax = plt.subplots(figsize=(1.0 + 0.9 * n, 0.8 + 0.8 * n))
        im = ax.imshow(shown, cmap="viridis", vmin=lo, vmax=max(hi, lo + 1e-6))
        ax.set_xticks(range(n), mat.columns, rotation=45, ha="right")
        ax.set_yticks(range(n), mat.index)
        span = max(hi - lo, 1e-6)
        for i, j in itertools.product(range(n), range(n)):
            bright = (shown[i, j] - lo) / span > 0.6  # dark text on the light end of viridis
            color = "k" if bright else "w"
            ax.text(j, i, _fmt_db(vals[i, j]), ha="center", va="center", fontsize=8, color=color)
        ax.set_title(f"{op}: PSNR between libraries (dB; '=' identical)", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        fig.tight_layout()
        slug = re.sub(r"[^A-Za-z0-9]+", "-", op).strip("-")
        for ext in ("png", "svg"):
            buf = io.BytesIO()
            fig.savefig(buf, format=ext, dpi=DPI, metadata={"Date": None} if ext == "svg" else {})
            atomic_write_bytes(out_dir / f"agreement-{slug}.{ext}", buf.getvalue())
        plt.close(fig)
        files[op] = f"agreement-{slug}.png"
    return files


def markdown(summ, dataset: str, s: Any, model: str | None, figs: dict) -> str:  # noqa: ANN001
    lines = [
        f"# Library agreement on `{dataset}`",
        "",
        f"{s.images} images; {len(s.failed)} skipped. Each library uses its own defaults "
        "(Pillow antialiases, OpenCV and torch do not, scikit-image does on downscale); "
        "each name states the antialias setting (`aa=on`/`aa=off`), `exact` marks the "
        "centre-sampling nearest and `float32` the float32 path. PSNR is pooled over images "
        "(from the mean MSE); `=` means "
        "identical on every image.",
        "",
    ]
    if model:
        lines += [f"Model: `{model}` (share of images whose predicted class differs).", ""]
    for op in dict.fromkeys(summ["op"]):
        mat = psnr_matrix(summ, op)
        lines += [f"## {op}", ""]
        if op in figs:
            lines += [f"![{op}]({figs[op]})", ""]
        lines.append("| PSNR dB | " + " | ".join(mat.columns) + " |")
        lines.append("|---" * (len(mat.columns) + 1) + "|")
        for name, row in mat.iterrows():
            lines.append(f"| {name} | " + " | ".join(_fmt_db(v) for v in row) + " |")
        lines += [
            "",
            "| a | b | PSNR dB | median dB | max abs diff | pixels differing |"
            + (" predictions differing |" if model else ""),
            "|---|---|---|---|---|---|" + ("---|" if model else ""),
        ]
        for r in summ[summ["op"] == op].itertuples():
            cells = [
                r.a,
                r.b,
                _fmt_db(r.psnr),
                _fmt_db(r.psnr_median),
                str(r.max_abs_diff),
                f"{100 * r.differing_share:.1f}%",
            ]
            if model:
                v = r.prediction_differs_share
                cells.append("n/a" if v is None or v != v else f"{100 * v:.1f}%")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
