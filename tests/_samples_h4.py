"""Contract samples of the ImageNet-C op and axis (issue 13, H4), merged into tests/_harness.py's
dicts."""

from __future__ import annotations

from typing import Any

from _harness import _gray, _state
from degradebench.generators.ops import make_step


def _step(**spec: Any):  # noqa: ANN202 - a step factory for every backend
    return lambda b: make_step({"op": "imagenet_c", **spec, "backend": b})


OP_SAMPLES: dict[str, list] = {
    "imagenet_c": [
        (_state, _step(corruption="fog", severity=3, seed=7)),
        (_state, _step(corruption="jpeg_compression", severity=2)),
        (_state, _step(corruption="glass_blur", severity=4, seed=1, rounding="half-up")),
        (_gray, _step(corruption="contrast", severity=5)),
    ]
}

AXIS_SAMPLES: dict[str, list[dict[str, Any]]] = {
    "imagenet_c": [
        {"corruption": "snow"},
        {"corruption": "pixelate", "severities": [1, 5], "save": "jpeg", "quality": 90},
        {"corruption": "shot_noise", "faithful": True, "preprocess": "imagenet"},
    ]
}
