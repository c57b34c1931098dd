"""Predicted maps on disk: the report's example overlays and ``--save-maps``.

A localization run keeps the image-size 8-bit map of a few fixed variants as
``RESULTS/overlays/<variant_id>.png`` (listed in run.json ``overlays``) and, with
``--save-maps``, every map as ``RESULTS/maps/<variant_id>.png`` (predictions ``map_path``).

Which variants (:func:`choose_overlays`, decided from the manifest before the model runs, so the
same model on the same manifest always shows the same images): per (suite, axis), the 3
sources with the largest mean ``mask_fraction`` over their manipulated variants on that axis
(ties by ``source_id``), so a thumbnail shows a visible region; each of them keeps one
manipulation kind on the whole axis (the one with its largest mean ``mask_fraction``, so the
overlay shows a visible region; ties by name), and at every level its variant of that kind
(the lowest ``variant_id``; a level without that kind: its variant with the largest mask). So
the same sources, and mostly the same edits, are shown at every level. Entries are listed by
suite, axis, level (from mildest, as the axis's curve) and source.

Maps are written while the model runs into hidden staging folders; :func:`.results.write_results`
swaps them in (old ``overlays/`` and ``maps/`` removed) just before the tables, so a RESULTS
folder never mixes maps of two runs.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from degradebench.generators.core.files import atomic_write_bytes
from PIL import Image

from .metrics.order import severity_order
from .results import MAPS_DIR, OVERLAYS_DIR

__all__ = ["OVERLAYS_PER_LEVEL", "choose_overlays", "MapWriter", "map_file_name"]

OVERLAYS_PER_LEVEL = 3
_SAFE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")


def map_file_name(variant_id: str) -> str:
    """``<variant_id>.png``; an id that is not a plain file name gets a sha256-derived name."""
    vid = str(variant_id)
    if _SAFE.match(vid):
        return vid + ".png"
    return "v" + hashlib.sha256(vid.encode()).hexdigest()[:24] + ".png"


def _manipulated(frame: pd.DataFrame) -> np.ndarray:
    return frame["manipulated"].astype("boolean").to_numpy(dtype=bool, na_value=False)


def _kind_of(rows: pd.DataFrame) -> str:
    """The manipulation a source keeps on an axis: its largest mean mask, ties by name."""
    means = rows.groupby("manipulation", sort=True)["_frac"].mean()
    best = means.max()
    return str(min(k for k, v in means.items() if v == best))


def _pick(level_rows: pd.DataFrame, kind: str) -> pd.Series:
    same = level_rows[level_rows["manipulation"] == kind]
    if len(same):
        return same.sort_values("variant_id", kind="stable").iloc[0]
    ranked = level_rows.assign(_neg=-level_rows["_frac"])
    return ranked.sort_values(["_neg", "variant_id"], kind="stable").iloc[0]


def choose_overlays(frame: pd.DataFrame, per_level: int = OVERLAYS_PER_LEVEL) -> list[dict]:
    """The overlay entries of run.json for the rows of ``frame`` (see the module doc), without
    the ``map`` key (added once the map is written)."""
    if "manipulated" not in frame or not len(frame):
        return []
    m = frame[_manipulated(frame)]
    if not len(m):
        return []
    m = m.assign(
        _suite=m["suite"].astype(object).where(m["suite"].notna(), "").astype(str)
        if "suite" in m else "",
        _frac=pd.to_numeric(m["mask_fraction"], errors="coerce").fillna(0.0)
        if "mask_fraction" in m else 0.0,
        manipulation=m["manipulation"].astype(object).where(m["manipulation"].notna(), "")
        .astype(str) if "manipulation" in m else "",
        source_id=m["source_id"].astype(str), variant_id=m["variant_id"].astype(str),
        level=m["level"].astype(str), axis=m["axis"].astype(str),
    )  # fmt: skip
    out: list[dict] = []
    for (suite, axis), df in m.groupby(["_suite", "axis"], sort=True):
        # The sources whose edits are largest on this axis (visible in a thumbnail), ties by id.
        frac = df.groupby("source_id")["_frac"].mean()
        ranked = sorted(frac.items(), key=lambda kv: (-float(kv[1]), str(kv[0])))
        sources = [str(s) for s, _ in ranked[:per_level]]
        kinds = {s: _kind_of(df[df["source_id"] == s]) for s in sources}
        for level in severity_order(df):  # the order the axis's curve follows
            at = df[df["level"] == level]
            for src in sources:
                rows = at[at["source_id"] == src]
                if not len(rows):
                    continue
                r = _pick(rows, kinds[src])
                out.append({"variant_id": r["variant_id"], "suite": suite or None, "axis": axis,
                            "level": level, "manipulation": r["manipulation"] or None,
                            "image": str(r["path"]),
                            "mask": _text(r.get("mask_path"))})  # fmt: skip
    return out


def _text(v: object) -> str | None:
    return v if isinstance(v, str) and v else None


def _png(q: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(q, dtype=np.uint8), mode="L").save(buf, "PNG")
    return buf.getvalue()


class MapWriter:
    """The map sink of a localization run (``LocalizeSpec.sink``): writes the overlay variants'
    maps and, with ``save_maps``, every map, into staging folders under ``outp``."""

    def __init__(self, outp: Path, overlay_ids: set[str], save_maps: bool):
        self.outp = Path(outp)
        self.overlay_ids = set(overlay_ids)
        self.save_maps = save_maps
        self.written_overlays: set[str] = set()
        self._staging: dict[str, Path] = {}

    def _folder(self, name: str) -> Path:
        if name not in self._staging:
            tag = f"{os.getpid()}-{secrets.token_hex(4)}"
            self._staging[name] = self.outp / f".{name}.tmp-{tag}"
            self._staging[name].mkdir(parents=True)
        return self._staging[name]

    def __call__(self, variant_id: str, q: np.ndarray) -> str | None:
        """Write ``q`` (uint8 HxW) where it belongs; the ``map_path`` for predictions or None."""
        vid = str(variant_id)
        if vid not in self.overlay_ids and not self.save_maps:
            return None
        blob = _png(q)
        name = map_file_name(vid)
        if vid in self.overlay_ids:
            atomic_write_bytes(self._folder(OVERLAYS_DIR) / name, blob)
            self.written_overlays.add(vid)
        if not self.save_maps:
            return None
        atomic_write_bytes(self._folder(MAPS_DIR) / name, blob)
        return f"{MAPS_DIR}/{name}"

    def entries(self, chosen: list[dict]) -> list[dict]:
        """run.json ``overlays``: the chosen entries whose map was written, with ``map``."""
        return [{**e, "map": f"{OVERLAYS_DIR}/{map_file_name(e['variant_id'])}"}
                for e in chosen if e["variant_id"] in self.written_overlays]  # fmt: skip

    def staged(self) -> dict[str, Path | None]:
        """``{folder name: staging folder or None}`` for :func:`.results.write_results`."""
        return {name: self._staging.get(name) for name in (OVERLAYS_DIR, MAPS_DIR)}

    def discard(self) -> None:
        """Remove the staging folders (the run failed)."""
        for path in self._staging.values():
            shutil.rmtree(path, ignore_errors=True)
        self._staging.clear()
