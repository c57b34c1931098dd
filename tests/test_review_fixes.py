"""Fixes from the review of the restructured engine and evaluators: each test failed before."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import jpeg_bytes, photo
from PIL import Image


def _exif_icc_jpeg(path: Path) -> Path:
    exif = Image.Exif()
    exif[0x010F] = "Maker"
    buf = io.BytesIO()
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(photo("astronaut", 96)).save(buf, "JPEG", quality=92, exif=exif.tobytes(),
                                                 icc_profile=icc)  # fmt: skip
    path.write_bytes(buf.getvalue())
    return path


@pytest.mark.parametrize("op", ["decode", "jpeg_decode"])
def test_no_decoder_brings_back_metadata_an_earlier_encode_stripped(tmp_path, op):
    from degradebench.generators.inmemory import apply_chain
    from degradebench.generators.ops.codec import bundled_implementation

    params = {"implementation": bundled_implementation("pillow")} if op == "jpeg_decode" else {}
    decoder = {"op": op, "backend": "pillow", "params": params}

    chain = [
        {"op": "strip_metadata", "backend": "pillow", "params": {}},
        {"op": "jpeg", "backend": "pillow", "params": {"quality": 80}},
        decoder,
        {"op": "keep_metadata", "backend": "pillow", "params": {}},
        {"op": "png", "backend": "pillow", "params": {}},
    ]
    src = _exif_icc_jpeg(tmp_path / "src.jpg")
    assert Image.open(src).info.get("exif")  # the source does carry EXIF
    info = Image.open(io.BytesIO(apply_chain(src, chain))).info
    assert not info.get("exif") and not info.get("icc_profile")


def _grid_image(phase: tuple[int, int], h: int = 120, w: int = 160) -> np.ndarray:
    """A decompressed JPEG whose 8x8 grid sits at ``phase`` (cropped after decoding)."""
    r, c = (8 - phase[0]) % 8, (8 - phase[1]) % 8
    big = photo("coffee", 200, 30, 60)
    dec = np.asarray(Image.open(io.BytesIO(jpeg_bytes(big, 40))).convert("RGB"))
    return np.ascontiguousarray(dec[r : r + h, c : c + w])


@pytest.mark.parametrize("tag", [2, 3, 4, 5, 6, 7, 8])
def test_orientation_ignore_maps_an_estimated_grid_exactly(tag):
    """``exif_orientation mode: ignore`` moves every earlier grid with the pixels: the grid it
    records is where a blind estimator finds it in the output (an estimated history grid can
    sit at any phase; only a JPEG file's own grid lands at (0, 0))."""
    from degradebench.generators.jpeginfo import blockiness_phase
    from degradebench.generators.ops import ImageState, make_step, run_chain
    from degradebench.generators.ops.orientation import with_orientation

    img = _grid_image((3, 5))
    assert blockiness_phase(img) == (3, 5)
    exif = with_orientation(Image.Exif().tobytes(), tag)
    from degradebench.generators.ops.skip import source_file_meta

    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    meta = {"exif": exif, **source_file_meta(buf.getvalue(), {"format": "PNG"}, img)}
    state = ImageState(img, grids=((3, 5),), region=(0, 0), meta=meta)
    step = make_step({"op": "exif_orientation", "backend": "pillow", "mode": "ignore"}, "t")
    out = run_chain(state, [step])
    assert out.grids == (blockiness_phase(out.pixels),)


def test_tiny_noise_is_never_a_confident_jpeg_history():
    from degradebench.generators.jpeginfo.history import MIN_SIDE, jpeg_history

    rng = np.random.default_rng(0)
    for side in (16, 20, 24, MIN_SIDE - 1):
        for _ in range(50):
            assert jpeg_history(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)) is None


class _Net(torch.nn.Module):
    def __init__(self, sign: float = 1.0):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        torch.nn.init.constant_(self.fc.weight, 0.1)
        torch.nn.init.constant_(self.fc.bias, 0.0)
        self.sign = sign

    def forward(self, x):
        return self.sign * self.fc(x.mean((2, 3)))


def test_a_torchscript_file_replaced_in_place_is_not_reused(tmp_path):
    """Same tensors, another graph: the file's bytes are in the key."""
    from degradebench.evaluators._reuse import weights_sha256
    from degradebench.evaluators.models import load_model

    extra = {"input_config.json": json.dumps({"input_size": [32, 32], "classes": ["a", "b"]})}
    path = tmp_path / "model.pt"
    torch.jit.save(torch.jit.script(_Net(1.0)), str(path), _extra_files=extra)
    first = weights_sha256(load_model(str(path)))
    torch.jit.save(torch.jit.script(_Net(-1.0)), str(path), _extra_files=extra)
    assert weights_sha256(load_model(str(path))) != first


def test_editing_a_module_the_factory_imports_changes_the_key(tmp_path, monkeypatch):
    from degradebench.evaluators._reuse import _code_sha256
    from degradebench.evaluators.models import load_model

    net = tmp_path / "net_rv.py"
    body = ("import torch\nSIGN = {}\nclass Net(torch.nn.Module):\n"
            "    def __init__(self):\n        super().__init__(); self.fc = torch.nn.Linear(3, 2)\n"
            "    def forward(self, x):\n        return SIGN * self.fc(x.mean((2, 3)))\n")  # fmt: skip
    net.write_text(body.format(1))
    (tmp_path / "factory_rv.py").write_text(
        "import torch, net_rv\n"
        "def build():\n    return net_rv.Net(), {'input_size': [32, 32], 'classes': ['a', 'b']}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    first = _code_sha256(load_model(f"{tmp_path / 'factory_rv.py'}:build"))
    net.write_text(body.format(-1))
    for name in ("net_rv", "factory_rv"):
        sys.modules.pop(name, None)
    assert _code_sha256(load_model(f"{tmp_path / 'factory_rv.py'}:build")) != first


def test_an_out_with_one_suite_over_two_datasets_is_refused_on_read(tmp_path):
    """An OUT written before generate refused it (one suite name, two datasets) is not
    pooled by evaluate: one line names the suite, the datasets and the fix."""
    import pandas as pd
    from degradebench.evaluators._manifest_in import _one_dataset_per_suite
    from degradebench.generators.core.errors import ConfigError

    df = pd.DataFrame({"suite": ["s", "s", "t"], "dataset": ["a", "b", "a"]})
    with pytest.raises(ConfigError, match=r"suite 's' holds variants of 2 datasets \('a', 'b'\)"):
        _one_dataset_per_suite(df, tmp_path)
    _one_dataset_per_suite(df[df.dataset == "a"], tmp_path)  # one dataset per suite: fine
