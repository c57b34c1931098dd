"""Contract samples of the modern-codec ops and axes (issue 13, H3), merged into
tests/_harness.py's dicts."""

from __future__ import annotations

from typing import Any

from _harness import _gray, _state
from degradebench.generators.ops import make_step


def _step(**spec: Any):  # noqa: ANN202 - a step factory for every backend
    return lambda b: make_step({**spec, "backend": b})


OP_SAMPLES: dict[str, list] = {
    "avif": [
        (_state, _step(op="avif", quality=60)),
        (_state, _step(op="avif", quality=90, speed=8, subsampling="4:4:4", range="limited")),
        (_gray, _step(op="avif", quality=50, subsampling="4:0:0")),
    ],
    "heic": [
        (_state, _step(op="heic", quality=60)),
        (_gray, _step(op="heic", quality=30, chroma="4:4:4")),
    ],
    "jxl": [
        (_state, _step(op="jxl", quality=70, effort=3)),
        (_state, _step(op="jxl", quality=100, lossless=True)),
        (_gray, _step(op="jxl", quality=40)),
    ],
    "jpeg2000": [
        (_state, _step(op="jpeg2000", quality=35.0)),
        (_state, _step(op="jpeg2000", quality=20, quality_mode="rates", irreversible=False)),
        (_gray, _step(op="jpeg2000", quality=30.0, num_resolutions=3, progression="RPCL")),
    ],
}

AXIS_SAMPLES: dict[str, list[dict[str, Any]]] = {
    "webp": [{"qualities": [90, 50]}, {"qualities": [75], "method": 6}],
    "avif": [{"qualities": [80, 40], "speed": 8, "subsampling": "4:4:4"}],
    "heic": [{"qualities": [90, 50]}, {"qualities": [70], "chroma": "4:4:4"}],
    "jxl": [{"qualities": [90, 50], "effort": 3}],
    "jpeg2000": [{"qualities": [40, 32.5]}, {"qualities": [10, 50], "quality_mode": "rates"}],
    "transcode": [
        {"qualities": [95, 75], "original_quality": 90},
        {"qualities": [80], "original": "jxl", "original_quality": 60, "jpeg_backend": "opencv"},
    ],
}
