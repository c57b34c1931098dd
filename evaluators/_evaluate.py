"""``evaluate``: one model over one manifest -> predictions, summary and per-axis figures on disk."""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from degradebench import __version__
from degradebench.generators.core.errors import ConfigError, DegradebenchError
from degradebench.generators.core.provenance import git_revision, library_versions
from degradebench.generators.core.records import parse_folds
from degradebench.generators.core.files import (
    DirLock,
    atomic_write_bytes,
    write_failure,
    write_table_atomic,
)
from degradebench.generators.manifest import ManifestError, unsafe_paths

from . import metrics as M
from ._runner import run_model
from .models import Model, load_model

__all__ = ["evaluate", "EvalResult", "read_results", "load_manifest", "RESULT_FILES"]

RESULT_FILES = {
    "predictions": "predictions.parquet",
    "summary": "summary.parquet",
    "axis_summary": "axis_summary.parquet",
    "curves": "curves.parquet",
    "errors": "errors.parquet",
    "run": "run.json",
}


@dataclass
class EvalResult:
    """What ``evaluate`` wrote (also returned in memory)."""

    out: Path
    predictions: pd.DataFrame
    summary: pd.DataFrame
    axis_summary: pd.DataFrame
    curves: pd.DataFrame
    errors: pd.DataFrame
    run: dict[str, Any] = field(default_factory=dict)


def load_manifest(manifest: str | Path) -> tuple[pd.DataFrame, Path, dict]:
    """Read ``OUT/manifest`` (through the generators' reader when present) -> frame, OUT, metadata."""
    root = Path(manifest)
    if root.name == "manifest" and (root / "..").exists() and not (root / "manifest").exists():
        root = root.parent
    mdir = root / "manifest"
    if not mdir.exists():
        msg = (
            f"--manifest {manifest}: no manifest at {mdir}; give the OUT folder of "
            "'degradebench generate'"
        )
        raise ConfigError(msg)
    try:
        from degradebench.generators import read_manifest  # type: ignore[attr-defined]
    except ImportError:
        read_manifest = None
    try:
        df = read_manifest(root) if read_manifest else pd.read_parquet(mdir)
    except DegradebenchError:
        raise
    except Exception as exc:
        raise ConfigError(f"--manifest {manifest}: cannot read {mdir}: {exc}") from exc
    meta: dict = {}
    try:
        parts = sorted(mdir.rglob("*.parquet"))
        if parts:
            raw = pq.read_schema(parts[0]).metadata or {}
            for k, v in raw.items():
                key = k.decode(errors="replace")
                if key in ("pandas", "ARROW:schema"):
                    continue
                val = v.decode(errors="replace")
                try:
                    meta[key] = json.loads(val)
                except ValueError:
                    meta[key] = val
    except Exception:  # metadata is provenance only; a missing key must not stop the run
        meta = {}
    required = ["variant_id", "source_id", "label", "axis", "level", "path"]
    missing = [c for c in required if c not in df.columns]
    if missing:
        msg = f"--manifest {manifest}: columns {missing} are missing; has {list(df.columns)}"
        raise ConfigError(msg)
    bad = unsafe_paths(root, df["path"].tolist())
    if bad:
        path, why = bad[0]
        msg = (
            f"--manifest {manifest}: {len(bad)} manifest paths would read outside {root}, e.g. "
            f"{path!r} ({why}); a manifest names files inside its output folder only"
        )
        raise ManifestError(msg)
    return df, root, meta


def _versions() -> dict[str, str | None]:
    """The generators' library versions (Pillow, libjpeg-turbo, OpenCV, numpy, git) plus what
    evaluation adds (torch, pandas, onnxruntime, ...)."""
    import importlib.metadata as md

    out = {
        **library_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    for name in ("torch", "pandas", "pyarrow", "onnxruntime", "matplotlib", "scipy"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            continue
    return out


def _classes(manifest: pd.DataFrame, model: Model) -> list[str]:
    if model.input_config.classes is not None:
        return list(model.input_config.classes)
    return sorted({str(v) for v in manifest["label"].dropna() if str(v) != ""})


def read_results(results: str | Path) -> dict[str, Any]:
    """Load a RESULTS folder written by :func:`evaluate` (frames + run.json)."""
    root = Path(results)
    if not (root / RESULT_FILES["summary"]).exists():
        msg = f"{root}: not an evaluate results folder (no {RESULT_FILES['summary']})"
        raise ConfigError(msg)
    if not (root / RESULT_FILES["run"]).exists():
        msg = (
            f"{root}: incomplete results (no {RESULT_FILES['run']}: an evaluate run stopped while "
            "writing them); run the same 'degradebench evaluate' again"
        )
        raise ConfigError(msg)
    out: dict[str, Any] = {"dir": root}
    for key in ("predictions", "summary", "axis_summary", "curves", "errors"):
        p = root / RESULT_FILES[key]
        out[key] = pd.read_parquet(p) if p.exists() else pd.DataFrame()
    rp = root / RESULT_FILES["run"]
    out["run"] = json.loads(rp.read_text()) if rp.exists() else {}
    return out


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    write_table_atomic(pa.Table.from_pandas(df, preserve_index=False), path)


def _write_results(outp: Path, frames: dict[str, pd.DataFrame], run_info: dict) -> None:
    """Write every results file atomically, run.json last: run.json is removed first and marks
    a complete set, so a run killed half-way never leaves new predictions beside an old summary
    that :func:`read_results` would accept."""
    (outp / RESULT_FILES["run"]).unlink(missing_ok=True)
    for key, df in frames.items():
        _write_parquet(df, outp / RESULT_FILES[key])
    text = json.dumps(run_info, indent=2, default=str) + "\n"
    atomic_write_bytes(outp / RESULT_FILES["run"], text.encode())


class _ResultsLock(DirLock):
    """The lock on RESULTS; stale temp files of a killed run are removed once it is held."""

    def __init__(self, outp: Path):
        busy = DegradebenchError(
            f"--out {outp}: another degradebench evaluate is writing there; wait for it or "
            "choose another --out"
        )
        super().__init__(outp, busy, create=True)

    def __enter__(self) -> _ResultsLock:
        super().__enter__()
        for p in self.folder.iterdir():
            if p.name.startswith(".") and ".tmp-" in p.name or p.name.endswith(".parquet.tmp"):
                p.unlink(missing_ok=True)
        return self


def _predictions_frame(
    manifest: pd.DataFrame, run, model: Model, classes: list[str], topk: tuple[int, ...]
) -> pd.DataFrame:
    m = manifest.iloc[run.rows].reset_index(drop=True)
    probs = run.probs
    n = len(m)
    cls_index = {c: i for i, c in enumerate(classes)}
    label = m["label"].astype("string")
    label_index = pd.array([cls_index.get(x, pd.NA) if x is not pd.NA else pd.NA for x in label],
                           dtype="Int64")  # fmt: skip
    pred = probs.argmax(axis=1) if n else np.zeros(0, dtype=np.int64)
    conf = probs.max(axis=1) if n else np.zeros(0, dtype=np.float32)
    kmax = min(max((1, *topk)), len(classes))
    top = np.argsort(-probs, axis=1, kind="stable")[:, :kmax] if n else np.zeros((0, kmax), int)
    known = ~label_index.isna()
    li = label_index.to_numpy(dtype=np.int64, na_value=-1)
    out = pd.DataFrame({
        "variant_id": m["variant_id"].astype(str),
        "source_id": m["source_id"].astype(str),
        "model": model.name,
        "dataset": m["dataset"] if "dataset" in m else None,
        "suite": m["suite"] if "suite" in m else None,
        "fold": m["fold"] if "fold" in m else None,
        "axis": m["axis"].astype(str),
        "level": m["level"].astype(str),
        "level_value": pd.to_numeric(m["level_value"], errors="coerce").astype("float64")
        if "level_value" in m else np.nan,
        "axis_params": m["axis_params"] if "axis_params" in m else "{}",
        "psnr": pd.to_numeric(m["psnr"], errors="coerce").astype("float64")
        if "psnr" in m else np.nan,
        "path": m["path"].astype(str),
        "label": label,
        "label_index": label_index,
        "pred": pred.astype(np.int64),
        "pred_label": [classes[i] for i in pred],
        "confidence": conf.astype(np.float64),
        "correct": pd.array(np.where(known, pred == li, False), dtype="boolean"),
    })  # fmt: skip
    out.loc[~known, "correct"] = pd.NA
    for k in topk:
        if k < len(classes):
            hit = (top[:, :k] == li[:, None]).any(axis=1)
            col = pd.array(hit, dtype="boolean")
            col[~known] = pd.NA
            out[f"top{k}_correct"] = col
    out["topk"] = [row.tolist() for row in top]
    out["n_tiles"] = run.n_tiles.astype(np.int64)
    # Pair every variant with its source's clean variant.
    is_clean = ((out["axis"] == M.CLEAN) & (out["level"] == M.CLEAN)).to_numpy()
    clean_pos = pd.Series(np.flatnonzero(is_clean), index=out.loc[is_clean, "source_id"])
    clean_pos = clean_pos[~clean_pos.index.duplicated()]
    cpos = out["source_id"].map(clean_pos).to_numpy(dtype=float, na_value=np.nan)
    has = ~np.isnan(cpos)
    ci = np.where(has, cpos, 0).astype(int)
    p64 = probs.astype(np.float64)
    pc = p64[ci] if n else p64
    eps = 1e-12
    tv = 0.5 * np.abs(p64 - pc).sum(axis=1)
    kl = (pc * (np.log(pc + eps) - np.log(p64 + eps))).sum(axis=1)
    out["clean_pred"] = pd.array(np.where(has, pred[ci], 0), dtype="Int64")
    out.loc[~has, "clean_pred"] = pd.NA
    flipped = pd.array(pred != pred[ci] if n else np.zeros(0, bool), dtype="boolean")
    flipped[~has] = pd.NA
    out["flipped"] = flipped
    out["tv_clean"] = np.where(has, tv, np.nan)
    out["kl_clean"] = np.where(has, np.maximum(kl, 0.0), np.nan)
    out["probs"] = [row.astype(np.float32) for row in probs]
    return out


def evaluate(
    manifest: str | Path,
    model: Model | str,
    out: str | Path,
    *,
    device: str = "auto",
    batch_size: int = 32,
    folds: list[int] | str | None = None,
    amp: bool = False,
    workers: int | None = None,
    topk: tuple[int, ...] = (5,),
    n_boot: int = 1000,
    seed: int = 0,
    break_points: float = 5.0,
    baseline: str | Path | None = None,
    check_hash: bool = True,
    progress: bool = True,
    name: str | None = None,
    extra_config: dict | None = None,
    channels_last: bool = False,
) -> EvalResult:
    """Score ``model`` on every variant of the manifest in ``manifest`` (an OUT folder).

    Writes ``predictions.parquet``, ``summary.parquet``, ``axis_summary.parquet``,
    ``curves.parquet`` (accuracy / flip rate per curve point, see ``metrics.axis_points``),
    ``errors.parquet`` (files missing, failing their sha256, or undecodable: reported and
    skipped) and ``run.json`` (config, model spec and input config, library versions) to ``out``.

    Args:
        model: a loaded :class:`Model` or a spec string for :func:`load_model`.
        folds: restrict to these folds (list or ``"0,1"``).
        baseline: a results folder of the model that CE / mCE are relative to.
        break_points: accuracy drop (percentage points vs clean) that marks the breaking level.

    Raises:
        ModelError: the model fails or misbehaves (message names model, variants, expectation).
        ConfigError: bad arguments, manifest or baseline.
    """
    t_start = time.perf_counter()
    if batch_size < 1:
        raise ConfigError(f"--batch-size: must be a positive integer, got {batch_size}")
    if n_boot < 0:
        raise ConfigError(f"--bootstrap: must be 0 or more, got {n_boot}")
    if isinstance(model, str):
        model = load_model(model, name=name)
    elif name:
        model.name = name
    df, root, manifest_meta = load_manifest(manifest)
    # Class indices come from every label in the manifest, not only the selected folds, so a
    # fold missing a class does not shift the others.
    classes = _classes(df, model)
    fold_list = parse_folds(folds)
    total_rows = len(df)
    if fold_list is not None:
        full_folds = df["fold"] if "fold" in df else None
        if "fold" not in df:
            raise ConfigError("--folds: the manifest has no 'fold' column")
        df = df[df["fold"].isin(fold_list)]
        if df.empty:
            have = sorted(int(f) for f in pd.unique(full_folds))
            raise ConfigError(
                f"--folds {fold_list}: no variants in those folds; manifest has {have}"
            )
    df = df.reset_index(drop=True)
    unknown = sorted({str(v) for v in df["label"].dropna()} - set(classes))
    if unknown and model.input_config.classes is not None:
        print(
            f"degradebench evaluate: labels {unknown[:10]} are not among the model's classes "
            f"{classes[:10]}; their variants get no accuracy (flip rate and drift still count)",
            file=sys.stderr,
        )
    if not classes:
        raise ConfigError(
            "the manifest has no labels and the model's input config lists no classes"
        )
    baseline_info = None
    if baseline is not None:
        b = read_results(baseline)
        bname = b["run"].get("model", {}).get("name") or str(b["summary"]["model"].iloc[0])
        if b["curves"].empty:
            raise ConfigError(f"--baseline {baseline}: has no {RESULT_FILES['curves']}")
        baseline_info = (bname, b["summary"], b["curves"])

    outp = Path(out)
    # Taken before the model runs (hours, on a big manifest): a second run on RESULTS fails now.
    with _ResultsLock(outp):
        run = run_model(
            model, df, root, n_classes=len(classes), device=device, batch_size=batch_size,
            workers=workers, amp=amp, check_hash=check_hash, progress=progress,
            channels_last=channels_last,
        )  # fmt: skip
        errors = pd.DataFrame(run.errors, columns=["variant_id", "path", "stage", "message"])
        if len(errors):
            counts = errors["stage"].value_counts().to_dict()
            what = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
            print(
                f"degradebench evaluate: skipped {len(errors)} of {len(df)} variants ({what}); "
                f"see {Path(out) / RESULT_FILES['errors']}",
                file=sys.stderr,
            )
            if "verify" in counts or "missing" in counts:
                print(
                    f"degradebench evaluate: the manifest's files fail verification; run "
                    f"'degradebench verify {root}' for the full check",
                    file=sys.stderr,
                )
        preds = _predictions_frame(df, run, model, classes, tuple(topk))
        if preds.empty:
            raise ConfigError(
                f"no variant could be evaluated ({len(errors)} skipped); see the errors above"
            )
        boot = M.Bootstrap(preds["source_id"], n_boot=n_boot, seed=seed)
        summary, cells = M.level_metrics(preds, boot, tuple(topk))
        curves, curve_cells = M.curve_metrics(preds, boot)
        suites = [s for s in pd.unique(preds["suite"]) if s is not None] if "suite" in preds else []
        axsum = M.axis_summary(
            preds, cells, curve_cells, curves, boot, break_points=break_points,
            baseline=baseline_info, suite=suites[0] if len(suites) == 1 else None,
        )  # fmt: skip

        run_info = {
            "degradebench_version": __version__,
            "git_revision": git_revision(),
            "created_unix": time.time(),
            "model": {
                "name": model.name, "spec": model.spec, "kind": model.kind,
                "input_config": model.input_config.to_dict(), "classes": classes,
                **{k: v for k, v in model.details.items() if _jsonable(v)},
            },
            "manifest": {"path": str(root), "rows": total_rows, "evaluated_rows": len(df),
                         "metadata": {k: v for k, v in manifest_meta.items() if _jsonable(v)}},
            "config": {
                "device": device, "resolved_device": run.device, "batch_size": batch_size,
                "final_forward_batch": run.final_forward_batch, "folds": fold_list, "amp": amp,
                "workers": run.workers, "channels_last": channels_last, "topk": list(topk), "bootstrap": n_boot, "seed": seed,
                "break_points": break_points, "baseline": str(baseline) if baseline else None,
                "baseline_model": baseline_info[0] if baseline_info else None,
                "check_hash": check_hash, **(extra_config or {}),
            },
            "throughput": {"images": int(len(preds)), "seconds": run.seconds,
                           "images_per_s": run.images_per_s},
            "skipped": int(len(errors)),
            "library_versions": _versions(),
            "seconds_total": time.perf_counter() - t_start,
        }  # fmt: skip
        _write_results(outp, {"predictions": preds, "summary": summary, "axis_summary": axsum,
                              "curves": curves, "errors": errors}, run_info)  # fmt: skip
        return EvalResult(outp, preds, summary, axsum, curves, errors, run_info)


def _jsonable(v: Any) -> bool:
    try:
        json.dumps(v, default=str)
    except (TypeError, ValueError):
        return False
    return not (isinstance(v, float) and math.isnan(v))
