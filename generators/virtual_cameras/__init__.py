"""Synthetic camera-model identification data: virtual cameras that differ only in-camera.

K camera models, each a fixed pipeline (CFA pattern, demosaicing, noise, colour matrix, tone
curve, sharpening, its own JPEG tables and chroma subsampling), with devices that differ by their
PRNU. All devices photograph one shared scene pool, with per-shot exposure and white balance
drawn from one range, so only the camera traces separate the classes.

    from degradebench.generators.virtual_cameras import VirtualCamerasParams, build_virtual_cameras
    table = build_virtual_cameras(VirtualCamerasParams(), Path("data/virtual-cameras"), jobs=2)
    # table = data/virtual-cameras/list.csv (path,label,group); images in <model>/ beside it
"""

from __future__ import annotations

from ._build import build_virtual_cameras
from ._cameras import CameraModel, Device, design_cameras
from ._debug import debug_capture
from ._demosaic import CFA_PATTERNS, DEMOSAIC
from ._params import VirtualCamerasParams, params_hash

__all__ = [
    "VirtualCamerasParams",
    "build_virtual_cameras",
    "design_cameras",
    "debug_capture",
    "params_hash",
    "CameraModel",
    "Device",
    "CFA_PATTERNS",
    "DEMOSAIC",
]
