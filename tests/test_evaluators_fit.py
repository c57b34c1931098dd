"""Fitting images to a model's input: crop, pad, resize, tile; channel order and normalisation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from degradebench.evaluators._fit import fit_image, normalise, tile_origins
from degradebench.evaluators._input_config import resolve_input_config


def cfg(**kw):
    return resolve_input_config(None, ("test", kw))


def ramp(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([y % 256, x % 256, (y + x) % 256], axis=-1).astype(np.uint8)


def test_center_crop_takes_the_middle():
    img = ramp(20, 30)
    out = fit_image(img, cfg(input_size=[10, 10]))
    assert out.shape == (1, 3, 10, 10) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0].transpose(1, 2, 0), img[5:15, 10:20])


def test_center_crop_pads_small_images_by_reflection():
    img = ramp(6, 6)
    out = fit_image(img, cfg(input_size=[10, 10]))[0].transpose(1, 2, 0)
    np.testing.assert_array_equal(out[2:8, 2:8], img)
    np.testing.assert_array_equal(out[1, 2:8], img[1])  # reflect: row -1 mirrors row 1
    out_c = fit_image(img, cfg(input_size=[10, 10], pad_mode="constant"))[0]
    assert out_c[:, 0, 0].tolist() == [0, 0, 0]


def test_pad_anchors_top_left_so_grids_keep_their_phase():
    img = ramp(20, 12)
    out = fit_image(img, cfg(input_size=[16, 16], fit="pad", pad_mode="constant"))[0]
    out = out.transpose(1, 2, 0)
    np.testing.assert_array_equal(out[:16, :12], img[:16])
    assert not out[:, 12:].any()


@pytest.mark.parametrize("backend", ["pillow", "opencv", "torch"])
def test_resize_backends_agree_roughly(backend):
    img = ramp(40, 40)
    out = fit_image(img, cfg(input_size=[20, 20], fit="resize", resize_backend=backend))
    ref = fit_image(img, cfg(input_size=[20, 20], fit="resize", resize_backend="pillow"))
    assert out.shape == (1, 3, 20, 20)
    assert np.abs(out.astype(int) - ref.astype(int)).mean() < 4


def test_torch_lanczos_is_rejected():
    from degradebench.generators.core.errors import ConfigError

    with pytest.raises(ConfigError, match="lanczos.*not available.*torch"):
        cfg(resize_backend="torch", resize_method="lanczos")


def test_tiles_start_top_left_and_respect_stride_and_max():
    c = cfg(input_size=[8, 8], fit="tile")
    assert tile_origins(20, 17, c) == [(0, 0), (0, 8), (8, 0), (8, 8)]
    c2 = cfg(input_size=[8, 8], fit="tile", tile_stride=4, max_tiles=3)
    assert tile_origins(16, 16, c2) == [(0, 0), (0, 4), (0, 8)]
    img = ramp(20, 17)
    tiles = fit_image(img, c)
    assert tiles.shape == (4, 3, 8, 8)
    np.testing.assert_array_equal(tiles[3].transpose(1, 2, 0), img[8:16, 8:16])


def test_tile_pads_images_smaller_than_a_tile():
    tiles = fit_image(ramp(5, 5), cfg(input_size=[8, 8], fit="tile"))
    assert tiles.shape == (1, 3, 8, 8)


def test_bgr_reverses_channels():
    img = ramp(8, 8)
    rgb = fit_image(img, cfg(input_size=[8, 8]))
    bgr = fit_image(img, cfg(input_size=[8, 8], channel_order="BGR"))
    np.testing.assert_array_equal(bgr[:, ::-1], rgb)


def test_normalise_value_range_mean_std():
    x = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    assert torch.allclose(normalise(x, cfg()), torch.ones(1, 3, 2, 2))
    raw = normalise(x, cfg(value_range=255.0, mean=[5, 5, 5], std=[2, 2, 2]))
    assert torch.allclose(raw, torch.full((1, 3, 2, 2), 125.0))
