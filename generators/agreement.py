"""Library-agreement audit: how far do resize libraries disagree on *your* images?

For each nominal operation (``bicubic x0.5``, ``nearest x2``, ...) every library that has the
method resizes every image of a dataset with its own defaults (and, where a library can do
both, with antialias on and off); every pair of those outputs is compared: PSNR, maximum
absolute difference, share of pixels that differ and, given a model, whether its prediction
differs. This is the per-dataset version of the resize comparison published with clean-fid
(Parmar, Zhang, Zhu, CVPR 2022).

Outputs in ``OUT``: ``agreement.parquet`` (one row per op, pair and image), ``agreement.md``
(a PSNR matrix and a pair table per op) and ``agreement-<op>.png`` / ``.svg`` matrix plots.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .core.errors import ConfigError, DegradebenchError, SourceError
from .core.provenance import library_versions
from ._sources import SourceRef, limit_per_label
from .config import Config, load_config
from .ops.resize import (
    BACKENDS,
    ResizeParams,
    antialias_options,
    default_antialias,
    methods_for,
    native_dtype,
    resolve,
)
from .ops.resize import KERNELS as RESIZE_KERNELS

__all__ = [
    "DEFAULT_OPS",
    "NominalOp",
    "Comparand",
    "AgreementSummary",
    "parse_op",
    "comparands",
    "compare_pair",
    "run_agreement",
    "summarise",
    "psnr_matrix",
]

# The operations audited by default (override with --ops).
DEFAULT_OPS = (
    "bicubic x0.5",
    "bilinear x0.5",
    "area x0.5",
    "lanczos x0.5",
    "nearest x0.5",
    "nearest x2",
    "bicubic x2",
)

AGREEMENT_FILE = "agreement.parquet"
REPORT_FILE = "agreement.md"


@dataclass(frozen=True)
class NominalOp:
    method: str
    scale: float

    @property
    def name(self) -> str:
        return f"{self.method} x{self.scale:g}"

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9]+", "-", f"{self.method}-x{self.scale:g}").strip("-")


def parse_op(text: str) -> NominalOp:
    """``"bicubic x0.5"`` (also ``bicubic@0.5``, ``bicubic:0.5``) -> NominalOp."""
    m = re.fullmatch(r"\s*([a-z-]+)\s*(?:x|@|:|\s)\s*([0-9]*\.?[0-9]+)\s*", text)
    methods = sorted({m for b in BACKENDS for m in methods_for(b)})
    if not m:
        raise ConfigError(
            f"--ops: {text!r}: write METHOD xSCALE, e.g. 'bicubic x0.5' (methods: {', '.join(methods)})"
        )
    method, scale = m.group(1), float(m.group(2))
    if method not in methods:
        raise ConfigError(
            f"--ops: {text!r}: unknown method {method!r}; available: {', '.join(methods)}"
        )
    if not 0 < scale <= 100:
        raise ConfigError(f"--ops: {text!r}: scale must be > 0 and <= 100, got {scale:g}")
    return NominalOp(method, scale)


@dataclass(frozen=True)
class Comparand:
    """One library's take on a nominal op: its name in the matrix and its concrete params."""

    name: str
    backend: str
    params: ResizeParams = field(compare=False)

    def step_json(self) -> str:
        from .core.records import to_plain

        return json.dumps(
            {"op": "resize", "backend": self.backend, "params": to_plain(self.params)},
            sort_keys=True,
        )


def comparands(op: NominalOp, float_paths: bool = False) -> list[Comparand]:
    """Every library that has ``op.method``, with its defaults; plus the other antialias setting
    where a library can do both (``torch+aa``, ``skimage-aa``), the centre-sampling nearest of
    OpenCV/torch (``opencv/exact``) and, with ``float_paths``, the float32 path of libraries whose
    own path is uint8 (``pillow/f32``)."""
    out: list[Comparand] = []
    for b in BACKENDS:
        methods = [m for m in (op.method,) if m in methods_for(b)]
        if op.method == "nearest" and "nearest-exact" in methods_for(b):
            methods.append("nearest-exact")
        for m in methods:
            default = default_antialias(b, m)
            for aa in sorted(antialias_options(b, m), key=lambda a: a != default):
                dtypes = [native_dtype(b, m)]
                if float_paths and dtypes[0] == "uint8":
                    dtypes.append("float32-unit")
                for dt in dtypes:
                    name = b
                    if m != op.method:
                        name += "/exact"
                    if aa != default:
                        name += "+aa" if aa else "-aa"
                    if dt != native_dtype(b, m):
                        name += "/f32"
                    p = resolve(b, ResizeParams(method=m, scale=op.scale, antialias=aa, dtype=dt))
                    out.append(Comparand(name, b, p))
    return out


def _psnr_from_mse(mse: float) -> float:
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def compare_pair(a: np.ndarray, b: np.ndarray) -> dict:
    """PSNR (peak 255), MSE, max |a - b| and the share of pixels with any channel different."""
    if a.shape != b.shape:
        raise ValueError(f"outputs differ in shape: {a.shape} vs {b.shape}")
    d = a.astype(np.int16) - b.astype(np.int16)
    mse = float(np.mean(d.astype(np.float64) ** 2)) if d.size else 0.0
    differs = d != 0
    if differs.ndim == 3:
        differs = differs.any(axis=2)
    return {
        "mse": mse,
        "psnr": _psnr_from_mse(mse),
        "max_abs_diff": int(np.abs(d).max()) if d.size else 0,
        "differing_share": float(differs.mean()) if differs.size else 0.0,
    }


def _load_pixels(ref: SourceRef) -> np.ndarray:
    """Decode a source with the generators' source policy (falls back to Pillow when absent)."""
    data = Path(ref.path).read_bytes()
    try:
        from ._decode import decode_source
    except ImportError:  # the shared decoding policy module is optional at this layer
        import io

        from PIL import Image, ImageOps

        try:
            with Image.open(io.BytesIO(data)) as im:
                im = ImageOps.exif_transpose(im)
                im = im if im.mode in ("RGB", "L") else im.convert("RGB")
                return np.asarray(im)
        except Exception as exc:  # noqa: BLE001 - any decoder failure is a bad source
            raise SourceError(ref.path, "decode", str(exc)) from None
    return decode_source(ref.path, data=data).pixels


class _Predictor:
    """Argmax class of a model for one uint8 image, through the evaluators' model API."""

    def __init__(self, spec: str):
        from degradebench.evaluators import load_model  # lazy: generators never need evaluators

        self.model = load_model(spec)
        self.spec = spec

    def __call__(self, img: np.ndarray) -> int:
        import torch
        from degradebench.evaluators._fit import fit_image, normalise

        rgb = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img
        tiles = torch.from_numpy(fit_image(np.ascontiguousarray(rgb), self.model.input_config))
        scores = self.model.predict(normalise(tiles, self.model.input_config))
        return int(torch.as_tensor(scores).float().mean(dim=0).argmax().item())


@dataclass
class AgreementSummary:
    out: Path
    images: int = 0
    failed: list[dict] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)
    rows: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"compared {len(self.ops)} ops on {self.images} images ({self.rows} pair rows) in "
            f"{self.seconds:.1f}s; {len(self.failed)} images skipped; see {self.out / REPORT_FILE}"
        )


def run_agreement(
    *,
    config: str | Path | Config | None = None,
    dataset: str,
    out: str | Path,
    ops: Sequence[str] | None = None,
    model: str | None = None,
    limit: int | None = None,
    float_paths: bool = False,
    progress: bool = True,
    plots: bool = True,
) -> AgreementSummary:
    """Run the audit on a dataset (a config name or a folder-per-class tree) into ``out``."""
    import pandas as pd
    import pyarrow as pa

    from . import manifest as mf
    from .runner import make_out_dir, resolve_sources

    t0 = time.perf_counter()
    cfg = config if isinstance(config, Config) else load_config(config)
    nominal = [parse_op(o) for o in (ops or DEFAULT_OPS)]
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit: must be an integer >= 1, got {limit}")
    out_dir = make_out_dir(out)
    name, refs = resolve_sources(cfg, dataset, progress=progress)
    if limit is not None:
        refs = limit_per_label(refs, limit)
    predict: Callable[[np.ndarray], int] | None = _Predictor(model) if model else None
    summary = AgreementSummary(out_dir, ops=[o.name for o in nominal])
    plan = [(op, comparands(op, float_paths)) for op in nominal]
    rows: list[dict] = []
    from tqdm.auto import tqdm

    for ref in tqdm(refs, desc="agreement", unit="img", disable=not progress, leave=False):
        try:
            img = _load_pixels(ref)
        except (SourceError, OSError) as exc:
            summary.failed.append({"source_path": ref.path, "message": str(exc)})
            continue
        summary.images += 1
        for op, comps in plan:
            outs = {c.name: RESIZE_KERNELS[c.backend](img, c.params) for c in comps}
            preds = {k: predict(v) for k, v in outs.items()} if predict else {}
            for a, b in itertools.combinations(comps, 2):
                m = compare_pair(outs[a.name], outs[b.name])
                rows.append(
                    {
                        "dataset": name,
                        "op": op.name,
                        "method": op.method,
                        "scale": op.scale,
                        "a": a.name,
                        "b": b.name,
                        "source_path": ref.path,
                        "label": ref.label,
                        "height": int(img.shape[0]),
                        "width": int(img.shape[1]),
                        "out_height": int(outs[a.name].shape[0]),
                        "out_width": int(outs[a.name].shape[1]),
                        **m,
                        "prediction_a": preds.get(a.name),
                        "prediction_b": preds.get(b.name),
                        "prediction_differs": (preds[a.name] != preds[b.name] if predict else None),
                        "step_a": a.step_json(),
                        "step_b": b.step_json(),
                    }
                )
    if not rows:
        raise DegradebenchError(
            f"--dataset {dataset}: no image could be compared ({len(summary.failed)} failed to decode)"
        )
    df = pd.DataFrame(rows)
    df["prediction_a"] = df["prediction_a"].astype("Int64")
    df["prediction_b"] = df["prediction_b"].astype("Int64")
    df["prediction_differs"] = df["prediction_differs"].astype("boolean")
    meta = {
        "dataset": name,
        "ops": [o.name for o in nominal],
        "model": model,
        "versions": library_versions(),
        "failed": summary.failed,
    }
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata({b"degradebench": json.dumps(meta, default=str).encode()})
    mf.write_table_atomic(table, out_dir / AGREEMENT_FILE)
    summ = summarise(df)
    figures = _plot_matrices(summ, out_dir) if plots else {}
    mf.atomic_write_bytes(
        out_dir / REPORT_FILE, _markdown(summ, name, summary, model, figures).encode()
    )
    summary.rows = len(df)
    summary.seconds = time.perf_counter() - t0
    return summary


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
                "psnr": _psnr_from_mse(float(g["mse"].mean())),
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


def _plot_matrices(summ, out_dir: Path) -> dict[str, str]:  # noqa: ANN001
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
            path = out_dir / f"agreement-{slug}.{ext}"
            tmp = path.with_name(f".{path.name}.tmp")
            fig.savefig(tmp, format=ext, dpi=110, metadata={"Date": None} if ext == "svg" else {})
            tmp.replace(path)
        plt.close(fig)
        files[op] = f"agreement-{slug}.png"
    return files


def _markdown(summ, dataset: str, s: AgreementSummary, model: str | None, figs: dict) -> str:  # noqa: ANN001
    lines = [
        f"# Library agreement on `{dataset}`",
        "",
        f"{s.images} images; {len(s.failed)} skipped. Each library uses its own defaults "
        "(Pillow antialiases, OpenCV and torch do not, scikit-image does on downscale); "
        "`+aa`/`-aa` is the other antialias setting, `/exact` the centre-sampling nearest, "
        "`/f32` the float32 path. PSNR is pooled over images (from the mean MSE); `=` means "
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
