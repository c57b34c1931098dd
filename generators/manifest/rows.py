"""Build manifest and error rows from what execution returns: the plan, the final chain state and
the bytes written. Codec facts are read back from the bytes, never taken from what was asked."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from ..codecinfo import codec_facts
from ..jpeginfo import estimate_quality, probe_jpeg, tables_sha256
from ..ops import canonical_chain
from ..ops.metadata import KINDS, read_source_metadata
from .masks import MASK_COLUMNS
from .targets import target_columns

__all__ = ["variant_row", "error_row", "chain_json"]


def chain_json(load_step: dict, chain: Any, skipped: Sequence[bool] = ()) -> str:
    """The manifest's ``chain`` text: the load step, then the planned steps (canonical JSON);
    a step that did not run (after a skip rule that fired) carries ``"skipped": true``."""
    load_json = json.dumps(load_step, sort_keys=True, separators=(",", ":"))
    if not any(skipped):
        return "[" + load_json + "," + canonical_chain(chain)[1:]
    steps = [load_step] + [
        {**s.to_json(), "skipped": True} if skip else s.to_json() for s, skip in zip(chain, skipped)
    ]
    return json.dumps(steps, sort_keys=True, separators=(",", ":"))


def error_row(
    job: Any,
    stage: str,
    exc: BaseException,
    variant: str = "",
    error_type: str | None = None,
) -> dict:
    """One ``errors.parquet`` row for a source job (``stage`` read/decode/timeout/variant...)."""
    return {
        "source_path": job.ref.path,
        "stage": stage,
        "error_type": error_type or getattr(exc, "error_type", None) or type(exc).__name__,
        "message": getattr(exc, "message", None) or str(exc),
        "source_id": job.source_id,
        "suite": job.suite,
        "variant": variant,
    }


def _codec_truth(row: dict, final: Any, blob: bytes) -> None:
    """JPEG tables, subsampling and quality read back from the written file; for the other
    lossy formats what their headers say (``codec_info``, chroma in ``subsampling``)."""
    row["jpeg_quality"] = final.jpeg_quality  # the last JPEG pass applied, whatever the format
    if final.fmt != "jpeg":
        facts = codec_facts(final.fmt, blob)
        if facts:
            row["codec_info"] = json.dumps(facts, sort_keys=True)
            row["subsampling"] = facts.get("subsampling")
        return
    probe = probe_jpeg(blob)
    tables = [list(t) for t in probe.quant_tables]
    row.update(
        estimated_quality=estimate_quality(tables),
        quant_tables=tables,
        quant_tables_sha256=tables_sha256(tables),
        subsampling=probe.subsampling,
    )


def _metadata_truth(row: dict, final: Any, blob: bytes, embedded: dict) -> None:
    """Per kind: did the source's EXIF/ICC/XMP survive into the output bytes (null where the
    source had none)? ``metadata_survived``: every kind the chain kept, and the source had,
    survived (false when it kept nothing the source had)."""
    had = [k for k in KINDS if embedded.get(k)]
    back = read_source_metadata(blob) if had else {}
    for k in KINDS:
        row[f"{k}_survived"] = bool(back.get(k)) if k in had else None
    kept = [k for k in final.meta.get("keep", ()) if k in had]
    row["metadata_survived"] = bool(kept) and all(row[f"{k}_survived"] for k in kept)


def _history(source: Any) -> str | None:
    found = getattr(source, "jpeg_history", None)
    return json.dumps(found, sort_keys=True, separators=(",", ":")) if found else None


def variant_row(
    job: Any,
    plan: Any,
    *,
    chain: str,
    final: Any,
    size: tuple[int, int],
    blob: bytes,
    source: Any,
    skipped: Sequence[bool] = (),
) -> dict:
    """One manifest row (columns as ``MANIFEST_SCHEMA``; ``psnr`` and the mask columns left for
    the caller: see ``manifest.masks.mask_files``).

    Args:
        job, plan: the source job and the variant plan (``generators.plan``).
        chain: the ``chain`` column text (:func:`chain_json`).
        final: the chain's final ``ImageState``; ``size``: (width, height) of the encoded pixels.
        blob: the bytes written; ``source``: the ``DecodedSource`` (camera make/model).
        skipped: per step of ``plan.chain``, whether it did not run (for the task targets).
    """
    width, height = size
    row = {
        "variant_id": plan.variant_id,
        "source_id": job.source_id,
        "source_path": job.ref.path,
        "source_sha256": job.source_sha256,
        "dataset": job.dataset,
        "label": job.ref.label,
        "fold": job.ref.fold,
        "suite": job.suite,
        "axis": plan.axis,
        "level": plan.level,
        "level_value": plan.level_value,
        "axis_params": json.dumps(plan.axis_params, sort_keys=True),
        "chain": chain,
        "seed": plan.seed,
        "path": plan.path,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "format": final.fmt,
        "width": width,
        "height": height,
        "jpeg_quality": None,
        "estimated_quality": None,
        "quant_tables": None,
        "quant_tables_sha256": None,
        "subsampling": None,
        "jpeg_passes": final.passes,
        "prior_grid": [list(g) for g in final.grids],
        "psnr": None,
        "source_exif_make": source.exif_make,
        "source_exif_model": source.exif_model,
        "metadata_survived": False,
        "reencode_skipped": list(final.meta.get("skip_rules", ())),
        "source_jpeg_history": _history(source),
        **target_columns(plan.chain, final, source, skipped),
        **dict.fromkeys(MASK_COLUMNS),
        "codec_info": None,
    }
    _metadata_truth(row, final, blob, getattr(source, "embedded", None) or {})
    _codec_truth(row, final, blob)
    return row
