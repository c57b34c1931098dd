"""Contract samples of the ``illumination`` op and the document axes ``dpi``, ``rescan`` and
``photo_of_document`` (issue 17, D5), merged into tests/_harness.py's dicts. The harness plans
without layout sidecars, so the axes get the sources' dpi from ``from_dpi``."""

from __future__ import annotations

from _harness import _gray, _state
from degradebench.generators.ops import make_step

__all__ = ["OP_SAMPLES", "AXIS_SAMPLES"]


def _step(**spec):  # noqa: ANN003, ANN202 - a factory of a step for a backend
    return lambda b: make_step({"backend": b, **spec})


OP_SAMPLES = {
    "illumination": [
        (_state, _step(op="illumination", seed=5)),
        (
            _state,
            _step(
                op="illumination",
                gradient=0.6,
                vignette=0.0,
                angle=90.0,
                center=[0.5, 0.5],
                tint=[1.0, 0.9, 0.8],
            ),
        ),  # fmt: skip
        (_gray, _step(op="illumination", gradient=0.2, vignette=0.5, seed=9)),
    ],
}

AXIS_SAMPLES = {
    "dpi": [
        {"from_dpi": 300},
        {
            "dpis": [150, 72],
            "backends": ["opencv"],
            "method": "area",
            "from_dpi": 200,
            "save": "jpeg",
            "quality": 90,
        },  # fmt: skip
    ],
    "rescan": [
        {"hops": [1, 2], "from_dpi": 150},
        {"hops": [2], "printer": 1, "scanner": 0, "device": 1, "encode": False, "from_dpi": 300},
    ],
    "photo_of_document": [
        {},
        {
            "levels": {
                "flat": {"perspective": 0.0, "blur": None, "gradient": 0.0, "vignette": 0.0},
                "shaky": {"motion": 4, "quality": 80},
            },
            "backend": "pillow",
        },  # fmt: skip
    ],
}
