"""Contract samples of the noise and filter ops and axes (issue 13, H1), merged into
tests/_harness.py's dicts."""

from __future__ import annotations

from typing import Any

from _harness import _gray, _state
from degradebench.generators.ops import make_step
from degradebench.generators.ops.filters import filter_step


def _step(**spec: Any):  # noqa: ANN202 - a step factory for every backend
    return lambda b: make_step({**spec, "backend": b})


def _resolved(op: str, **params: Any):  # noqa: ANN202 - with the backend's rules filled in
    return lambda b: filter_step(op, b, **params)


OP_SAMPLES: dict[str, list] = {
    "gaussian_noise": [
        (_state, _step(op="gaussian_noise", sigma=8.0, seed=11)),
        (_gray, _step(op="gaussian_noise", sigma=3.0, seed=12, rounding="truncate")),
    ],
    "poisson_noise": [
        (_state, _step(op="poisson_noise", photons=20.0, seed=5)),
        (_gray, _step(op="poisson_noise", photons=3.0, seed=6, rounding="half-even")),
    ],
    "salt_pepper": [
        (_state, _step(op="salt_pepper", amount=0.05, seed=7)),
        (_state, _step(op="salt_pepper", amount=0.1, seed=8, unit="sample", salt_ratio=0.2)),
        (_gray, _step(op="salt_pepper", amount=0.2, seed=9)),
    ],
    "speckle": [
        (_state, _step(op="speckle", sigma=0.15, seed=3)),
        (_gray, _step(op="speckle", sigma=0.3, seed=4)),
    ],
    "gaussian_blur": [
        (_state, _resolved("gaussian_blur", sigma=1.5)),
        (_gray, _step(op="gaussian_blur", sigma=0.8)),
        (_state, _step(op="gaussian_blur", sigma=2.0, border="replicate")),
    ],
    "median_filter": [
        (_state, _step(op="median_filter", size=3)),
        (_gray, _step(op="median_filter", size=7)),
    ],
    "box_blur": [
        (_state, _resolved("box_blur", size=5)),
        (_gray, _step(op="box_blur", size=3)),
    ],
    "motion_blur": [
        (_state, _step(op="motion_blur", length=7, angle=30.0)),
        (_gray, _step(op="motion_blur", length=4, angle=90.0, border="replicate")),
    ],
    "unsharp_mask": [
        (_state, _resolved("unsharp_mask", radius=1.5, amount=1.2, threshold=2)),
        (_gray, _step(op="unsharp_mask")),
    ],
}

AXIS_SAMPLES: dict[str, list[dict[str, Any]]] = {
    "gaussian_noise": [
        {"sigmas": [2, 4.5, 8]},
        {"sigmas": [5], "rounding": "half-even", "save": "jpeg", "quality": 90},
    ],
    "poisson_noise": [{"photons": [60, 12, 3]}],
    "salt_pepper": [{"amounts": [0.01, 0.05], "unit": "sample", "salt_ratio": 0.3}],
    "speckle": [{"sigmas": [0.05, 0.2], "center_crop": [16, 16]}],
    "gaussian_blur": [
        {"ksizes": [3, 7, 11]},
        {"sigmas": [0.5, 2.0], "backend": "pillow"},
        {"sigmas": [1.0], "border": "reflect", "save": "jpeg", "quality": 95},
    ],
    "median_filter": [{"sizes": [3, 5, 7]}, {"sizes": [3], "backend": "pillow"}],
    "box_blur": [{"sizes": [3, 5]}, {"sizes": [5], "backend": "pillow"}],
    "motion_blur": [{"lengths": [5, 9], "angle": 45}, {"lengths": [4], "backend": "numpy"}],
    "unsharp_mask": [
        {"amounts": [0.5, 1.5]},
        {"amounts": [1.0], "radius": 1.0, "threshold": 0, "backend": "opencv"},
    ],
}
