"""Synthetic document scans: virtual printers and scanners for printer/scanner identification.

P printer models (halftoning: a clustered-dot screen with its own frequency and angle, or error
diffusion; dot gain, toner banding, paper-feed distortion) and S scanner models (optics, sensor
noise, illumination falloff, skew, colour response, resolution, their own JPEG tables or PNG),
each with devices that differ by their fixed pattern (column gains and offsets, stepper wobble).
Every document is printed by every printer and each print scanned by every scanner device.

    from degradebench.generators.virtual_scanners import VirtualScannersParams, build_virtual_scanners
    table = build_virtual_scanners(VirtualScannersParams(), Path("data/virtual-scanners"), jobs=2)
    # table = data/virtual-scanners/list.csv (path,label,group); scans in <label>/ beside it,
    # each with a layout sidecar <page>.json (field boxes in scan pixels)

One page through one printer and scanner: ``print_scan(page, printer, scanner, device, seed=7)``
with ``design_printers(params)[i]`` and ``design_scanners(params)[j] = (model, devices)``.
"""

from __future__ import annotations

from ._build import build_virtual_scanners, page_name
from ._devices import Printer, ScanDevice, ScannerModel, design_printers, design_scanners
from ._params import VirtualScannersParams, params_hash
from ._pipeline import crop_layout, map_box, map_layout, map_mask, map_points, print_scan
from ._print import print_page, screen_thresholds
from ._scan import column_pattern, encode_scan, scan_page

__all__ = [
    "VirtualScannersParams",
    "build_virtual_scanners",
    "design_printers",
    "design_scanners",
    "print_scan",
    "print_page",
    "scan_page",
    "encode_scan",
    "map_points",
    "map_box",
    "map_layout",
    "map_mask",
    "crop_layout",
    "column_pattern",
    "screen_thresholds",
    "page_name",
    "params_hash",
    "Printer",
    "ScannerModel",
    "ScanDevice",
]
