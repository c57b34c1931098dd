"""``print_scan``: a digital page through one virtual printer and one scanner device, and the
helpers that carry page coordinates (layout boxes, masks) through the same geometry."""

from __future__ import annotations

import copy
import io

import cv2
import numpy as np
from PIL import Image

from ._devices import Printer, ScanDevice, ScannerModel
from ._print import print_page
from ._scan import encode_scan, scan_page

__all__ = ["print_scan", "map_points", "map_box", "map_layout", "map_mask", "crop_layout"]


def print_scan(
    image: np.ndarray,
    printer: Printer,
    scanner: ScannerModel,
    device: ScanDevice,
    *,
    seed: int,
    scan_dpi: int | None = None,
    print_dpi: int = 300,
    encode: bool = False,
) -> tuple[np.ndarray, dict]:
    """Print ``image`` (uint8 HxWx3 RGB, the page rasterized at ``print_dpi``) and scan it.

    Args:
        seed: every per-print and per-scan draw (paper tint, banding phase, skew, placement,
            sensor noise) comes from it; the printer/scanner/device designs are fixed records.
        scan_dpi: None: the scanner model's resolution.
        encode: also run the scanner's encoder (its own JPEG tables, or PNG) and return the
            decoded pixels of that file.

    Returns:
        The uint8 RGB scan and a JSON-able info dict: ``printer``, ``scanner``, ``device``,
        ``print_dpi``, ``scan_dpi``, ``size`` [h, w], ``page_to_scan`` (3x3: page pixel
        (x, y, 1) -> scan pixel; its first two rows are the 2x3 affine that
        ``cv2.warpAffine`` takes), ``print`` and ``scan`` (what each stage drew).
    """
    sheet, pinfo = print_page(image, printer, print_dpi=print_dpi, seed=seed)
    scan, sinfo = scan_page(
        sheet, scanner, device, print_dpi=print_dpi, scan_dpi=scan_dpi, seed=seed
    )
    page_to_scan = np.asarray(sinfo["sheet_to_scan"]) @ np.asarray(pinfo["page_to_sheet"])
    info = {
        "printer": printer.name,
        "scanner": scanner.name,
        "device": device.name,
        "print_dpi": int(print_dpi),
        "scan_dpi": sinfo["scan_dpi"],
        "size": [int(scan.shape[0]), int(scan.shape[1])],
        "page_to_scan": page_to_scan.tolist(),
        "output": scanner.output,
        "print": pinfo,
        "scan": sinfo,
    }
    if encode:
        data, _ = encode_scan(scan, scanner)
        with Image.open(io.BytesIO(data)) as im:
            scan = np.asarray(im.convert("RGB"))
    return scan, info


def map_points(points: np.ndarray, matrix) -> np.ndarray:
    """(N, 2) page points (x, y) through a 3x3 ``page_to_scan`` -> (N, 2) scan points."""
    m = np.asarray(matrix, float)
    pts = np.asarray(points, float)
    return pts @ m[:2, :2].T + m[:2, 2]


def map_box(box, matrix, size: tuple[int, int]) -> list[int] | None:
    """A ``[top, left, height, width]`` page box -> the scan box that holds its mapped corners
    (rounded outwards), or None when any part falls outside the ``size`` [h, w] scan."""
    top, left, height, width = box
    corners = np.array(
        [[left, top], [left + width, top], [left, top + height], [left + width, top + height]],
        float,
    )
    mapped = map_points(corners, matrix)
    x0, y0 = np.floor(mapped.min(axis=0)).astype(int)
    x1, y1 = np.ceil(mapped.max(axis=0)).astype(int)
    if x0 < 0 or y0 < 0 or x1 > size[1] or y1 > size[0]:
        return None
    return [int(y0), int(x0), int(y1 - y0), int(x1 - x0)]


def crop_layout(layout: dict, top: int, left: int, size: tuple[int, int]) -> dict:
    """A page layout cut to the window at (``top``, ``left``) of ``size`` [h, w]: boxes shifted
    into the window; fields not wholly inside it are dropped (counted in ``dropped_fields``)."""
    shift = np.array([[1.0, 0.0, -left], [0.0, 1.0, -top], [0.0, 0.0, 1.0]])
    out = map_layout(layout, {"page_to_scan": shift.tolist(), "size": list(size)})
    out["window"] = [int(top), int(left), int(size[0]), int(size[1])]
    return out


def map_layout(layout: dict, info: dict) -> dict:
    """D1's layout with every field box mapped through ``info['page_to_scan']`` into the scan.

    Fields whose box leaves the scan are dropped (``dropped_fields`` counts them); each kept
    field keeps its page box as ``page_box`` (``origin`` -> ``page_origin``, a font's
    ``size_px`` -> ``page_size_px``, both mapped to scan pixels; after a scan ``ink`` ->
    ``page_ink``, as the scanned ink differs); ``size`` becomes the scan's,
    ``page_to_scan`` composes, and with ``info['scan_dpi']`` the layout's ``dpi`` becomes the
    scan's (the page's kept as ``page_dpi``). The input is not modified.
    """
    out = copy.deepcopy(layout)
    size = tuple(info["size"])
    matrix = np.asarray(info["page_to_scan"], float)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:2, :2]))))
    scanned = "scan_dpi" in info
    kept, dropped = [], 0
    for f in out.get("fields", []):
        box = map_box(f["box"], matrix, size)
        if box is None:
            dropped += 1
            continue
        f.setdefault("page_box", list(f["box"]))
        f["box"] = box
        if f.get("origin") is not None:  # D1's text anchor point, (y, x)
            f.setdefault("page_origin", list(f["origin"]))
            x, y = map_points([f["origin"][::-1]], matrix)[0]
            f["origin"] = [int(round(y)), int(round(x))]
        if scanned and "ink" in f:  # the printed ink looks different: draw_field reads it off
            f["page_ink"] = f.pop("ink")
        if isinstance(f.get("font"), dict) and f["font"].get("size_px") and scale != 1.0:
            f["font"].setdefault("page_size_px", f["font"]["size_px"])
            f["font"]["size_px"] = max(1, round(f["font"]["page_size_px"] * scale))
        kept.append(f)
    out["fields"] = kept
    out["dropped_fields"] = int(layout.get("dropped_fields", 0)) + dropped
    out["size"] = [int(size[0]), int(size[1])]
    prior = np.asarray(layout.get("page_to_scan", np.eye(3)), float)
    out["page_to_scan"] = (np.asarray(info["page_to_scan"], float) @ prior).tolist()
    if "scan_dpi" in info:  # the raster is now the scan: ``dpi`` is its resolution
        out.setdefault("page_dpi", layout.get("dpi"))
        out["dpi"] = out["scan_dpi"] = info["scan_dpi"]
    return out


def map_mask(mask: np.ndarray, info: dict) -> np.ndarray:
    """A page mask (bool or uint8 HxW) carried into the scan by nearest-neighbour sampling."""
    h, w = info["size"]
    m = np.asarray(info["page_to_scan"], float)[:2]
    src = mask.astype(np.uint8)
    out = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    return out.astype(mask.dtype) if mask.dtype == bool else out
