"""Contract samples of the document forgery ops and the ``document_forgery`` axis (issue 17,
D3), merged into tests/_harness.py's dicts; their mask oracles join tests/_mask_harness.py's.

The oracles recompute the masks independently: a forgery's mask is the pixels that changed
(OR the incoming mask); print_scan's is the incoming mask carried by nearest neighbour through
the resampling to the printer's dpi (its own pixel-centre formula here) and the
virtual-scanners ``page_to_scan`` of the same print and scan.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from _docs_d3 import doc_window
from _harness import _gray, _state, sample_image
from _mask_harness import MASK_ORACLES
from degradebench.generators.core.records import to_plain
from degradebench.generators.ops import ImageState, Step, make_step
from degradebench.generators.ops.doc_forgery import TextField

__all__ = ["OP_SAMPLES", "AXIS_SAMPLES"]


def _field(layout: dict, name: str) -> dict:
    return next(f for f in layout["fields"] if f["name"] == name)


def _doc_state(
    kind: str = "invoice", seed: int = 7, name: str = "total", **meta: Any
) -> ImageState:
    img, _ = doc_window(kind, seed, name)
    return ImageState(pixels=img, grids=((3, 5),), passes=1, meta=meta)


def _doc_gray() -> ImageState:
    img, _ = doc_window("receipt", 3, "receipt_date")
    return ImageState(pixels=img[..., 1].copy(), grids=((3, 5),), passes=1)


def _replace_step(name: str, content: str, **kw: Any) -> Step:
    kind, seed = ("invoice", 7) if name == "total" else ("receipt", 3)
    _, layout = doc_window(kind, seed, name)
    target = to_plain(TextField.from_layout(_field(layout, name)))
    return make_step({"op": "text_replace", "target": target, "content": content, **kw})


def _donor() -> np.ndarray:
    img, _ = doc_window("form", 5, "amount")
    return img


def _changed_oracle(before: ImageState, out: ImageState, step: Step) -> np.ndarray:
    diff = np.asarray(before.pixels) != np.asarray(out.pixels)
    return (diff.any(axis=-1) if diff.ndim == 3 else diff) | before.mask


def _print_scan_oracle(before: ImageState, out: ImageState, step: Step) -> np.ndarray:
    from degradebench.generators.ops.print_scan import machines
    from degradebench.generators.virtual_scanners import print_scan

    p = step.params
    h, w = before.mask.shape
    oh, ow = (int(np.floor(n * p.print_dpi / p.page_dpi + 0.5)) for n in (h, w))
    sy, sx = oh / h, ow / w
    scale = np.array([[sx, 0, (sx - 1) / 2], [0, sy, (sy - 1) / 2], [0, 0, 1]])
    rgb = np.repeat(before.pixels[..., None], 3, 2) if before.pixels.ndim == 2 else before.pixels
    interp = cv2.INTER_LINEAR if oh * ow > h * w else cv2.INTER_AREA
    raster = cv2.resize(np.ascontiguousarray(rgb), (ow, oh), interpolation=interp)
    machine = machines(p.printer, p.scanner, p.device, p.design_seed, p.scan_dpis)
    _, info = print_scan(
        raster, *machine, seed=p.seed, scan_dpi=p.scan_dpi, print_dpi=p.print_dpi, encode=p.encode
    )
    affine = (np.asarray(info["page_to_scan"]) @ scale)[:2]
    sh, sw = out.pixels.shape[:2]
    mapped = cv2.warpAffine(before.mask.astype(np.uint8), affine, (sw, sh), flags=cv2.INTER_NEAREST)
    return mapped > 0


for _op in ("text_replace", "copy_move_text", "splice_document"):
    MASK_ORACLES[_op] = _changed_oracle
MASK_ORACLES["print_scan"] = _print_scan_oracle


OP_SAMPLES: dict[str, list] = {
    "text_replace": [
        (_doc_state, lambda b: _replace_step("total", "9,999.00")),
        (
            lambda: _doc_state(),
            lambda b: _replace_step("total", "1,111.10", family="serif", font_change="family"),
        ),
        (
            _doc_gray,
            lambda b: _replace_step("receipt_date", "01.01.1999", dx=1, font_change="kerning"),
        ),
    ],
    "copy_move_text": [
        (
            _doc_state,
            lambda b: make_step(
                {"op": "copy_move_text", "src": [22, 30, 20, 9], "dst_top": 22, "dst_left": 60}
            ),
        ),
        (
            _gray,
            lambda b: make_step(
                {"op": "copy_move_text", "src": [0, 0, 10, 12], "dst_top": 30, "dst_left": 44}
            ),
        ),
    ],
    "splice_document": [
        (
            lambda: _doc_state(donors={"d1": _donor()}),
            lambda b: make_step(
                {
                    "op": "splice_document",
                    "donor_source_id": "d1",
                    "box": [20, 20, 20, 60],
                    "donor_box": [18, 16, 24, 90],
                }
            ),
        ),
        (
            lambda: _gray(donors={"d1": sample_image(48, 64)}),
            lambda b: make_step(
                {
                    "op": "splice_document",
                    "donor_source_id": "d1",
                    "box": [30, 40, 10, 16],
                    "donor_box": [0, 0, 12, 20],
                }
            ),
        ),
    ],
    "print_scan": [
        (_state, lambda b: make_step({"op": "print_scan", "seed": 5, "page_dpi": 300})),
        (
            _gray,
            lambda b: make_step(
                {
                    "op": "print_scan",
                    "seed": 6,
                    "page_dpi": 150,
                    "printer": 1,
                    "scanner": 2,
                    "device": 1,
                    "encode": True,
                }
            ),
        ),
    ],
}

AXIS_SAMPLES: dict[str, list[dict[str, Any]]] = {
    "document_forgery": [
        {},
        {
            "ops": ["text_replace"],
            "per_op": 2,
            "font_changes": ["family", "size"],
            "twin": False,
            "then": [{"op": "jpeg", "quality": 90}],
        },
        {
            "ops": ["copy_move_text", "splice_document"],
            "ladder": {
                "none": [],
                "quality=80": [{"op": "jpeg", "quality": 80}],
                "print_scan": [{"op": "print_scan", "scanner": 1}],
                "hops=2": {"preset": "whatsapp-like", "hops": 2},
            },
        },
    ],
}
