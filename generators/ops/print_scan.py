"""``print_scan``: a page through a virtual printer and a virtual scanner device (issue 17).

The printer, scanner model and device are those of a ``virtual-scanners`` build with seed
``design_seed`` (``virtual_scanners.design_printers`` / ``design_scanners``: printer
``printer``, scanner model ``scanner``, its device ``device``; scanner resolutions cycle through
``scan_dpis`` as in that build), so the same indices and seed name the same machines as the
dataset's labels. ``seed`` seeds every per-print and per-scan draw (paper tint, banding phase,
skew, placement, sensor noise). ``page_dpi`` is the resolution the incoming page is rasterized
at; the printer rasterizes it at ``print_dpi`` (its dot grid: OpenCV ``resize``, INTER_LINEAR
when enlarging, INTER_AREA when reducing, to ``round(side * print_dpi / page_dpi)``) and
``scan_dpi`` is the scan's (None: the scanner model's own, filled in the chain). ``encode``: the scanner also writes its own output (its JPEG tables, or
PNG) and the scan is that file decoded.

``seed`` and ``page_dpi`` have no defaults: a planner draws the seed and takes the dpi from the
source's layout sidecar (:func:`fill_print_scan`); a step without them refuses to run.

Geometry: the scan's pixels relate to the page's by an affine map: the resampling to
``print_dpi`` (pixel centres: ``x' = (x + 0.5) s - 0.5``) followed by ``page_to_scan`` of the
virtual-scanners pipeline (paper feed, placement and skew, resampling to ``scan_dpi``), so the
mask (kind ``geometric``) is carried through it by nearest neighbour
(``virtual_scanners.map_mask``); earlier JPEG grids are destroyed (``grids`` = (), or the scan's
own grid at phase (0, 0) when ``encode`` wrote a JPEG) and the pixel correspondence with the
source is lost (``region`` None). A gray page is printed as RGB and the scan converted back with
Pillow's ``convert("L")``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import field
from typing import Any

import cv2
import numpy as np
from PIL import Image

from ..backends import get_backend, register_kernel
from ..core.errors import ConfigError, OpError
from ..core.records import record, spec
from ._base import ImageState, OpDef, Step, register_op

__all__ = ["PrintScanParams", "print_scan_numpy", "machines", "fill_print_scan", "DEFAULT_DPI"]

DEFAULT_DPI = 300  # the printer raster, and page_dpi when a layout sidecar records no dpi


@record
class PrintScanParams:
    """Printer ``printer``, scanner model ``scanner`` and its ``device`` of the virtual-scanners
    designs of ``design_seed``; ``seed`` for the print and scan draws; the page's ``page_dpi``,
    the printer's ``print_dpi`` and the ``scan_dpi`` (None: the scanner's own); ``encode``: the
    scan is written by the scanner's encoder and decoded."""

    printer: int = field(default=0, metadata=spec(lo=0, hi=11))
    scanner: int = field(default=0, metadata=spec(lo=0, hi=11))
    device: int = field(default=0, metadata=spec(lo=0, hi=15))
    design_seed: int = field(default=0, metadata=spec(lo=0, hi=2**32 - 1))
    scan_dpis: tuple[int, ...] = field(
        default=(150, 200, 300), metadata=spec(lo=50, hi=1200, nonempty=True)
    )
    seed: int | None = field(default=None, metadata=spec(lo=0))
    page_dpi: int | None = field(default=None, metadata=spec(lo=50, hi=1200))
    print_dpi: int = field(default=DEFAULT_DPI, metadata=spec(lo=150, hi=1200))
    scan_dpi: int | None = field(default=None, metadata=spec(lo=50, hi=1200))
    encode: bool = False


@functools.lru_cache(maxsize=32)
def machines(
    printer: int, scanner: int, device: int, design_seed: int, scan_dpis: tuple[int, ...]
) -> tuple[Any, Any, Any]:
    """(Printer, ScannerModel, ScanDevice) of a virtual-scanners build (module doc)."""
    from ..virtual_scanners import VirtualScannersParams, design_printers, design_scanners

    vp = VirtualScannersParams(
        printers=printer + 1,
        scanners=scanner + 1,
        devices_per_scanner=device + 1,
        scan_dpis=scan_dpis,
        seed=design_seed,
    )
    model, devices = design_scanners(vp)[scanner]
    return design_printers(vp)[printer], model, devices[device]


def _concrete(p: PrintScanParams, backend: str) -> PrintScanParams:
    """``scan_dpi`` None -> the scanner model's own resolution (recorded in the chain)."""
    if p.scan_dpi is not None:
        return p
    _, model, _ = machines(p.printer, p.scanner, p.device, p.design_seed, p.scan_dpis)
    return dataclasses.replace(p, scan_dpi=int(model.dpi))


def fill_print_scan(step: Step, layout: Mapping | None, seed: int) -> Step:
    """``step`` (any op) with a print_scan's missing ``seed`` (``seed``) and ``page_dpi`` (the
    layout sidecar's ``scan_dpi`` or ``dpi``, else DEFAULT_DPI) filled; other steps unchanged."""
    if step.op != "print_scan":
        return step
    p = step.params
    changes: dict[str, Any] = {}
    if p.seed is None:
        changes["seed"] = int(seed)
    if p.page_dpi is None:
        layout = layout or {}
        dpi = layout.get("scan_dpi") or layout.get("dpi") or DEFAULT_DPI
        changes["page_dpi"] = int(dpi)
    if not changes:
        return step
    return dataclasses.replace(step, params=dataclasses.replace(p, **changes))


def _to_print_dpi(img: np.ndarray, p: PrintScanParams) -> tuple[np.ndarray, np.ndarray]:
    """(the page at ``print_dpi``, the 3x3 page -> printer-raster map of pixel centres)."""
    h, w = img.shape[:2]
    oh = max(1, int(np.floor(h * p.print_dpi / p.page_dpi + 0.5)))
    ow = max(1, int(np.floor(w * p.print_dpi / p.page_dpi + 0.5)))
    if (oh, ow) == (h, w):
        return img, np.eye(3)
    interp = cv2.INTER_LINEAR if oh * ow > h * w else cv2.INTER_AREA
    out = cv2.resize(img, (ow, oh), interpolation=interp)
    sy, sx = oh / h, ow / w
    return out, np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0, 0, 1.0]])


@register_kernel
def print_scan_numpy(img: np.ndarray, p: PrintScanParams) -> tuple[np.ndarray, dict]:
    """(scan, D2's info dict; its ``page_to_scan`` maps the incoming page's pixels) of ``img``
    (RGB or L; the input untouched)."""
    from ..virtual_scanners import print_scan

    if p.seed is None or p.page_dpi is None:
        raise OpError(
            f"print_scan: seed={p.seed} page_dpi={p.page_dpi}: both must be given (a planner "
            f"draws the seed and takes the dpi from the layout sidecar: fill_print_scan); write "
            f"them in the step"
        )
    printer, model, device = machines(p.printer, p.scanner, p.device, p.design_seed, p.scan_dpis)
    rgb = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else np.ascontiguousarray(img)
    raster, to_raster = _to_print_dpi(rgb, p)
    try:
        scan, info = print_scan(
            raster,
            printer,
            model,
            device,
            seed=int(p.seed),
            scan_dpi=p.scan_dpi,
            print_dpi=int(p.print_dpi),
            encode=p.encode,
        )
    except ConfigError as exc:
        raise OpError(f"print_scan: printer {p.printer} scanner {p.scanner}: {exc}") from None
    info = {**info, "page_to_scan": (np.asarray(info["page_to_scan"]) @ to_raster).tolist()}
    scan = np.asarray(scan, dtype=np.uint8)
    if img.ndim == 2:
        scan = np.asarray(Image.fromarray(scan).convert("L"))
    return scan, info


def _apply_print_scan(state: ImageState, p: PrintScanParams, backend: str) -> ImageState:
    from ..virtual_scanners import map_mask

    img = state.require_pixels("print_scan")
    scan, info = get_backend(backend).kernel("print_scan")(img, p)
    mask = None if state.mask is None else map_mask(state.mask, info)
    jpeg = p.encode and info.get("output") == "jpeg"
    return state.replace(
        pixels=scan,
        data=None,
        fmt=None,
        lossless_pixels=False,
        grids=((0, 0),) if jpeg else (),
        passes=state.passes + 1 if jpeg else state.passes,
        region=None,
        mask=mask,
    )


register_op(
    OpDef(
        "print_scan",
        PrintScanParams,
        ("numpy",),
        _apply_print_scan,
        mask="geometric",
        doc="print the page on a virtual printer and scan it on a virtual scanner device",
        concrete=_concrete,
    )
)
