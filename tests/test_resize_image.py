"""resize_image: the public one-shot resize goes through the recorded resize kernels."""

from __future__ import annotations

import numpy as np
import pytest
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.ops import ImageState, run_chain
from degradebench.generators.ops.resize import resize_image, resize_step


def _img(h: int = 48, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("backend", "method"),
    [("pillow", "bicubic"), ("opencv", "area"), ("pillow", "lanczos"), ("opencv", "bilinear")],
)
def test_resize_image_equals_resize_op(backend: str, method: str) -> None:
    img = _img()
    before = img.copy()
    out = resize_image(img, (24, 40), backend=backend, method=method)
    assert out.dtype == np.uint8 and out.shape == (24, 40, 3)
    np.testing.assert_array_equal(img, before)
    step = resize_step(backend, method, mode="exact", size=(24, 40))
    state = run_chain(ImageState(pixels=img), [step])
    np.testing.assert_array_equal(out, state.pixels)


def test_resize_image_rejects_impossible_combo() -> None:
    with pytest.raises(ConfigError, match="opencv bicubic cannot do antialias=true"):
        resize_image(_img(), (8, 8), backend="opencv", method="bicubic", antialias=True)
