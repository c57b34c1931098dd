"""``degradebench agreement``, the library-agreement audit: how far do resize libraries disagree on *your* images?

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
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from degradebench.generators.config import Config, load_config
from degradebench.generators.core.errors import ConfigError, DegradebenchError, SourceError
from degradebench.generators.core.files import atomic_write_bytes, write_table_atomic
from degradebench.generators.core.messages import suggest
from degradebench.generators.core.provenance import library_versions
from degradebench.generators.core.records import to_plain
from degradebench.generators.datasets import SourceRef, limit_per_label
from degradebench.generators.decode import decode_source
from degradebench.generators.ops.resize import (
    BACKENDS,
    ResizeParams,
    antialias_options,
    default_antialias,
    methods_for,
    native_dtype,
    resolve,
)
from degradebench.generators.ops.resize import KERNELS as RESIZE_KERNELS
from degradebench.generators.outdir import make_out_dir
from degradebench.generators.plan import resolve_sources

from ._agreement_report import (
    REPORT_FILE,
    markdown,
    plot_matrices,
    psnr_from_mse,
    psnr_matrix,
    summarise,
)
from .appdata import agreement_settings

__all__ = [
    "default_ops",
    "NominalOp",
    "Comparand",
    "AgreementSummary",
    "parse_op",
    "parse_ops",
    "comparand_name",
    "comparands",
    "compare_pair",
    "run_agreement",
    "summarise",
    "psnr_matrix",
]

AGREEMENT_FILE = "agreement.parquet"
MIN_IMAGES_PER_WORKER = 16  # fewer images than this per worker run in-process


def default_ops() -> tuple[str, ...]:
    """The operations audited without ``--ops`` (``agreement.ops`` in applications.yaml)."""
    return agreement_settings().ops


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


SPELLING = "METHOD xSCALE, e.g. 'bicubic x0.5' or 'nearest x2'"


def _methods() -> list[str]:
    return sorted({m for b in BACKENDS for m in methods_for(b)})


def parse_op(text: str) -> NominalOp:
    """``"bicubic x0.5"`` (also ``bicubic@0.5``, ``bicubic:0.5``) -> NominalOp.

    Raises:
        ConfigError: naming the text, the allowed spelling and the methods.
    """
    m = re.fullmatch(r"\s*([a-z-]+)\s*(?:x|@|:|\s)\s*([0-9]*\.?[0-9]+)\s*", text)
    if not m:
        raise ConfigError(
            f"--ops: {text!r}: write {SPELLING} (methods: {', '.join(_methods())}; SCALE a "
            "number > 0); separate several with commas"
        )
    method, scale = m.group(1), float(m.group(2))
    if method not in _methods():
        raise ConfigError(
            f"--ops: {text!r}: unknown method {method!r}; {suggest(method, _methods())}"
            f"available: {', '.join(_methods())}"
        )
    if not 0 < scale <= 100:
        raise ConfigError(f"--ops: {text!r}: scale must be > 0 and <= 100, got {scale:g}")
    return NominalOp(method, scale)


def parse_ops(texts: Sequence[str]) -> list[NominalOp]:
    """Several ``--ops`` names; a repeated operation (in any spelling) is an error."""
    ops = [parse_op(t) for t in texts]
    seen: dict[str, str] = {}
    for text, op in zip(texts, ops):
        if op.name in seen:
            raise ConfigError(f"--ops: {text!r} repeats {seen[op.name]!r} (both are {op.name!r})")
        seen[op.name] = text
    return ops


@dataclass(frozen=True)
class Comparand:
    """One library's take on a nominal op: its name in the matrix and its concrete params."""

    name: str
    backend: str
    params: ResizeParams = field(compare=False)

    def step_json(self) -> str:
        return json.dumps(
            {"op": "resize", "backend": self.backend, "params": to_plain(self.params)},
            sort_keys=True,
        )


def comparand_name(backend: str, antialias: bool, exact: bool = False, f32: bool = False) -> str:
    """``torch(aa=on)``, ``skimage(aa=off)``, ``opencv(aa=off, exact)``, ``pillow(aa=on, float32)``:
    every name states the antialias setting, so no name depends on a library's defaults."""
    parts = [f"aa={'on' if antialias else 'off'}"]
    if exact:
        parts.append("exact")
    if f32:
        parts.append("float32")
    return f"{backend}({', '.join(parts)})"


def comparands(op: NominalOp, float_paths: bool = False) -> list[Comparand]:
    """Every library that has ``op.method``, with its defaults first, then the other antialias
    setting where a library can do both, the centre-sampling nearest of OpenCV/torch
    (``exact``) and, with ``float_paths``, the float32 path of libraries whose own path is uint8."""
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
                    name = comparand_name(b, aa, m != op.method, dt != native_dtype(b, m))
                    p = resolve(b, ResizeParams(method=m, scale=op.scale, antialias=aa, dtype=dt))
                    out.append(Comparand(name, b, p))
    return out


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
        "psnr": psnr_from_mse(mse),
        "max_abs_diff": int(np.abs(d).max()) if d.size else 0,
        "differing_share": float(differs.mean()) if differs.size else 0.0,
    }


def _load_pixels(ref: SourceRef) -> np.ndarray:
    """Decode a source with the generators' source policy (orientation, mode, limits)."""
    return decode_source(ref.path, data=Path(ref.path).read_bytes()).pixels


class _Predictor:
    """Argmax class of a model for one uint8 image, through the evaluators' model API."""

    def __init__(self, spec: str):
        from degradebench.evaluators import load_model

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


def _image_rows(ref: SourceRef, plan: list, dataset: str, predict: Callable | None) -> list[dict]:
    """Every pair row of one image (raises SourceError/OSError for a bad source)."""
    img = _load_pixels(ref)
    rows = []
    for op, comps in plan:
        outs = {c.name: RESIZE_KERNELS[c.backend](img, c.params) for c in comps}
        preds = {k: predict(v) for k, v in outs.items()} if predict else {}
        for a, b in itertools.combinations(comps, 2):
            rows.append(
                {
                    "dataset": dataset,
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
                    **compare_pair(outs[a.name], outs[b.name]),
                    "prediction_a": preds.get(a.name),
                    "prediction_b": preds.get(b.name),
                    "prediction_differs": (preds[a.name] != preds[b.name] if predict else None),
                    "step_a": a.step_json(),
                    "step_b": b.step_json(),
                }
            )
    return rows


def _chunk_rows(
    refs: list[SourceRef], plan: list, dataset: str, model: str | _Predictor | None
) -> tuple[list[dict], list[dict], int]:
    """Rows, failures and the number of images compared for a run of sources (a worker loads
    the model from its spec; in-process runs pass the loaded one)."""
    predict = _Predictor(model) if isinstance(model, str) else model
    rows: list[dict] = []
    failed: list[dict] = []
    images = 0
    for ref in refs:
        try:
            rows.extend(_image_rows(ref, plan, dataset, predict))
        except (SourceError, OSError) as exc:
            failed.append({"source_path": ref.path, "message": str(exc)})
            continue
        images += 1
    return rows, failed, images


def _compare_all(refs, plan, dataset, model, jobs: int, progress: bool):  # noqa: ANN001, ANN202
    """Yield ``_chunk_rows`` results in source order: in-process, or ``jobs`` worker processes."""
    from tqdm.auto import tqdm

    jobs = min(jobs, len(refs) // MIN_IMAGES_PER_WORKER)  # starting a worker costs seconds
    if jobs < 2:
        predict = _Predictor(model) if model else None
        chunks = [[r] for r in refs]
        results = (_chunk_rows(c, plan, dataset, predict) for c in chunks)
    else:
        from joblib import Parallel, delayed

        size = max(1, len(refs) // (4 * jobs))
        chunks = [refs[i : i + size] for i in range(0, len(refs), size)]
        results = Parallel(n_jobs=jobs, return_as="generator")(
            delayed(_chunk_rows)(c, plan, dataset, model) for c in chunks
        )
    bar = tqdm(total=len(refs), desc="agreement", unit="img", disable=not progress, leave=False)
    for chunk, result in zip(chunks, results):
        bar.update(len(chunk))
        yield result
    bar.close()


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
    jobs: int = 1,
) -> AgreementSummary:
    """Run the audit on a dataset (a config name or a folder-per-class tree) into ``out``.

    ``jobs`` worker processes share the images (the rows are the same for any ``jobs``); with
    ``model`` each worker loads its own copy of the model.
    """
    t0 = time.perf_counter()
    cfg = config if isinstance(config, Config) else load_config(config)
    nominal = parse_ops(list(ops or default_ops()))
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit: must be an integer >= 1, got {limit}")
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ConfigError(f"--jobs: must be an integer >= 1, got {jobs!r}")
    if model and jobs > 1:
        _Predictor(model)  # a bad spec fails here, once, not in every worker
    out_dir = make_out_dir(out)
    name, refs = resolve_sources(cfg, dataset, jobs=jobs, progress=progress)
    if limit is not None:
        refs = limit_per_label(refs, limit)
    summary = AgreementSummary(out_dir, ops=[o.name for o in nominal])
    plan = [(op, comparands(op, float_paths)) for op in nominal]
    rows: list[dict] = []
    for chunk_rows, failed, images in _compare_all(refs, plan, name, model, jobs, progress):
        rows.extend(chunk_rows)
        summary.failed.extend(failed)
        summary.images += images
    if not rows:
        raise DegradebenchError(
            f"--dataset {dataset}: no image could be compared ({len(summary.failed)} failed to decode)"
        )
    summary.rows = _write_outputs(rows, out_dir, name, nominal, model, summary, plots)
    summary.seconds = time.perf_counter() - t0
    return summary


def _write_outputs(rows, out_dir, name, nominal, model, summary, plots) -> int:  # noqa: ANN001
    """agreement.parquet (with the run's metadata), agreement.md and the plots; the row count."""
    import pandas as pd
    import pyarrow as pa

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
    write_table_atomic(table, out_dir / AGREEMENT_FILE)
    summ = summarise(df)
    figures = plot_matrices(summ, out_dir) if plots else {}
    atomic_write_bytes(
        out_dir / REPORT_FILE, markdown(summ, name, summary, model, figures).encode()
    )
    return len(df)
