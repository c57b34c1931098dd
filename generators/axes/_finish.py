"""The common tail of a chain: an optional centre crop, then the output encoder."""

from __future__ import annotations

from ..ops import Step
from ..ops.center_crop import CenterCropParams
from ._base import output_step

__all__ = ["finish_chain"]


def finish_chain(
    center_crop: tuple[int, int] | None,
    save: str,
    quality: int | None,
    subsampling: str,
    backend: str,
) -> tuple[Step, ...]:
    """An optional ``center_crop`` [h, w] step, then the output encoder (``output_step``)."""
    steps: list[Step] = []
    if center_crop is not None:
        steps.append(Step("center_crop", "numpy", CenterCropParams(*center_crop)))
    steps.append(output_step(save, quality, subsampling, backend))
    return tuple(steps)
