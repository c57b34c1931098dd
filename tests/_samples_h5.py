"""Contract samples of the ``mixed`` axis (issue 13, H5), merged into tests/_harness.py's dicts."""

from __future__ import annotations

from typing import Any

OP_SAMPLES: dict[str, list] = {}

AXIS_SAMPLES: dict[str, list[dict[str, Any]]] = {
    "mixed": [
        {
            "first": {"op": "gamma", "gamma": [0.8, 1.2]},
            "then": {"op": "jpeg", "quality": [50, 90]},
        },
        {
            "first": {"op": "jpeg", "backend": "opencv", "quality": [60, 80]},
            "then": {
                "op": "resize",
                "backend": "opencv",
                "method": "bilinear",
                "scale": [0.5, 1.5],
            },
            "save": "jpeg",
            "quality": 95,
            "center_crop": [16, 16],
        },
        {  # one op twice: a double-JPEG grid named quality1 x quality2
            "first": {"op": "jpeg", "quality": [70, 90]},
            "then": {"op": "jpeg", "quality": [75, 95], "subsampling": "4:4:4"},
            "center_crop": [24, 24],
        },
    ],
}
