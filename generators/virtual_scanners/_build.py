"""Build a virtual-scanners dataset on disk: atomically, deterministically, in parallel.

One task per document: the page is rendered once, printed by every printer, and each print is
scanned by every scanner device; each worker writes its own files. The tree is built in a
temporary sibling folder and renamed into place with a completion marker holding the params
hash: a rerun with the same params is a no-op and a killed build never leaves a half dataset.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np

from ..core.errors import ConfigError
from ..core.files import build_dataset_once
from ..core.provenance import derive_seed, library_version
from ..core.records import to_plain
from ._devices import TAG_DOC, design_printers, design_scanners, rng_for
from ._params import PIPELINE_VERSION, VirtualScannersParams, params_hash
from ._pipeline import crop_layout, map_layout
from ._print import print_page
from ._scan import encode_scan, scan_page

__all__ = ["build_virtual_scanners", "MARKER", "page_name", "document_group", "render_page"]

MARKER = ".complete"


def document_group(doc: int) -> str:
    return f"doc-{doc:04d}"


def page_name(doc: int, printer: str, device: str) -> str:
    """The file stem of one scan: document, printer and scanner device."""
    return f"doc{doc:04d}-{printer}-{device}"


def render_page(params: VirtualScannersParams, doc: int) -> tuple[np.ndarray, dict, dict]:
    """Document ``doc`` rasterized at the printer grid and cut to its window.

    Returns (page window uint8 RGB, its layout with boxes in window pixels, document info).
    """
    from ..documents import render_document  # lazy: keeps `--help` fast

    kind = params.kinds[doc % len(params.kinds)]
    seed = derive_seed(params.seed, document_group(doc), "render") % 2**32
    page = render_document(kind, seed, dpi=params.print_dpi)
    image, layout = page.image, page.layout
    h, w = image.shape[:2]
    top, left, wh, ww = 0, 0, h, w
    if params.size_mm is not None:
        wh = min(h, round(params.size_mm[0] * params.print_dpi / 25.4))
        ww = min(w, round(params.size_mm[1] * params.print_dpi / 25.4))
        top, left = _window(params, doc, layout, (h, w), (wh, ww))
    window = np.ascontiguousarray(image[top : top + wh, left : left + ww])
    cut = crop_layout(layout, top, left, (wh, ww))
    info = {
        "document": doc,
        "group": document_group(doc),
        "kind": kind,
        "seed": seed,
        "page_size": [h, w],
        "window": [top, left, wh, ww],
    }
    return window, cut, info


def _window(params, doc, layout, page, win) -> tuple[int, int]:
    """Top-left of the window: centred (with jitter) on a field drawn from the layout, clamped to
    the page; uniform when the layout has no field that fits."""
    rng = rng_for(params.seed, TAG_DOC, doc)
    (h, w), (wh, ww) = page, win
    fields = [f for f in layout.get("fields", []) if f["box"][2] <= wh and f["box"][3] <= ww]
    if fields:
        t, left, bh, bw = fields[int(rng.integers(len(fields)))]["box"]
        cy = t + bh / 2 + rng.uniform(-0.25, 0.25) * wh
        cx = left + bw / 2 + rng.uniform(-0.25, 0.25) * ww
        top, left = round(cy - wh / 2), round(cx - ww / 2)
    else:
        top, left = int(rng.integers(0, h - wh + 1)), int(rng.integers(0, w - ww + 1))
    return int(np.clip(top, 0, h - wh)), int(np.clip(left, 0, w - ww))


def _scan_document(params, printers, scanners, doc, out_dir, single_thread) -> tuple[dict, list]:
    """Render document ``doc``, print it with every printer, scan each print with every device."""
    if single_thread:  # inside a worker process: one core each, no oversubscription
        import cv2

        cv2.setNumThreads(1)
    window, layout, doc_info = render_page(params, doc)
    scans = []
    for printer in printers:
        seed = derive_seed(params.seed, doc_info["group"], f"print/{printer.name}")
        sheet, pinfo = print_page(window, printer, print_dpi=params.print_dpi, seed=seed)
        for model, devices in scanners:
            for device in devices:
                scans.append(
                    _scan_print(params, doc, layout, printer, sheet, pinfo, model, device, out_dir)
                )
    return doc_info, scans


def _scan_print(params, doc, layout, printer, sheet, pinfo, model, device, out_dir) -> dict:
    """One scan of one print: write the scanner's file and its layout sidecar; return its row."""
    group = document_group(doc)
    seed = derive_seed(params.seed, group, f"scan/{printer.name}/{device.name}")
    image, sinfo = scan_page(sheet, model, device, print_dpi=params.print_dpi, seed=seed)
    data, suffix = encode_scan(image, model)
    label = model.name if params.label == "scanner" else printer.name
    stem = f"{label}/{page_name(doc, printer.name, device.name)}"
    geometry = np.asarray(sinfo["sheet_to_scan"]) @ np.asarray(pinfo["page_to_sheet"])
    size = [int(image.shape[0]), int(image.shape[1])]
    side = map_layout(layout, {"page_to_scan": geometry.tolist(), "size": size, **sinfo})
    ids = {"printer": printer.name, "scanner": model.name, "device": device.name}
    side.update(
        document=doc,
        group=group,
        print_dpi=params.print_dpi,
        skew_deg=sinfo["skew_deg"],
        offset_px=sinfo["offset_px"],
        **ids,
    )
    with open(os.path.join(out_dir, stem + suffix), "wb") as fh:
        fh.write(data)
    with open(os.path.join(out_dir, stem + ".json"), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(side, indent=1, sort_keys=True) + "\n")
    row = {"path": stem + suffix, "label": label, "group": group, **ids}
    return {**row, "size": size, "print": pinfo, "scan": sinfo}


def _versions() -> dict:
    names = {"numpy": "numpy", "pillow": "pillow", "opencv": "opencv"}
    out = {"degradebench": library_version("degradebench")}
    out.update({k: library_version(v) for k, v in names.items()})
    out["libjpeg_turbo"] = library_version("pillow_libjpeg_turbo")
    return out


def _write_tree(params: VirtualScannersParams, tmp: Path, jobs: int, progress: bool) -> None:
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    printers, scanners = design_printers(params), design_scanners(params)
    classes = (
        [m.name for m, _ in scanners] if params.label == "scanner" else [p.name for p in printers]
    )
    for name in classes:
        (tmp / name).mkdir()
    n = params.documents
    args = (params, printers, scanners)
    if jobs == 1:
        results = (_scan_document(*args, d, str(tmp), False) for d in range(n))
    else:
        results = Parallel(n_jobs=jobs, return_as="generator")(
            delayed(_scan_document)(*args, d, str(tmp), True) for d in range(n)
        )
    docs, scans = [], []
    with tqdm(total=n, desc="virtual-scanners", unit="doc", disable=not progress) as bar:
        for doc_info, doc_scans in results:
            docs.append(doc_info)
            scans.extend(doc_scans)
            bar.update(1)
    scans.sort(key=lambda s: s["path"])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "label", "group"])
    for s in scans:
        writer.writerow([s["path"], s["label"], s["group"]])
    (tmp / "list.csv").write_text(buf.getvalue(), encoding="utf-8")
    meta = {
        "kind": "virtual-scanners",
        "pipeline_version": PIPELINE_VERSION,
        "params": to_plain(params),
        "params_hash": params_hash(params),
        "label": f"{params.label} model (folder name); group = the document",
        "classes": classes,
        "printers": [p.to_dict() for p in printers],
        "scanners": [{**m.to_dict(), "devices": [d.to_dict() for d in ds]} for m, ds in scanners],
        "documents": docs,
        "scans": scans,
        "versions": _versions(),
    }
    (tmp / "metadata.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    (tmp / MARKER).write_text(params_hash(params) + "\n", encoding="utf-8")


def build_virtual_scanners(
    params: VirtualScannersParams, root: Path, jobs: int = 1, progress: bool = False
) -> Path:
    """Write the dataset to ``root``: ``root/<label>/<page>.jpg|.png`` with a layout sidecar
    ``<page>.json`` (field boxes in scan pixels), ``list.csv`` and ``metadata.json``.

    Deterministic from ``params.seed`` and independent of ``jobs``. A no-op when ``root`` already
    holds the dataset of these params.

    Returns:
        ``root/list.csv`` (``path,label,group``, paths relative to ``root``, group = document).

    Raises:
        ConfigError: ``root`` exists and is not this dataset (other params, or other files).
    """
    root = Path(root).expanduser().absolute()

    def fill(tmp: Path) -> None:  # only when the dataset is not there yet
        if jobs is None or jobs == 0 or jobs < -1:
            raise ConfigError(f"jobs: must be a positive integer or -1 (all cores), got {jobs!r}")
        _write_tree(params, tmp, jobs, progress)

    build_dataset_once(root, "virtual-scanners", params_hash(params), MARKER, fill)
    return root / "list.csv"
