"""The SP Cup 2018 suites: eight manipulations plus the unaltered centre crop, all 512x512."""

from __future__ import annotations

import io
import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from degradebench.generators.config import load_config
from degradebench.generators.plan import plan_source
from PIL import Image

LEVELS = {
    "clean": {"clean"},
    "jpeg": {"70", "90"},
    "resize": {"x0.5", "x0.8", "x1.5", "x2"},
    "gamma": {"0.8", "1.2"},
}


def _big_photo() -> np.ndarray:
    """A 1040x1100 photograph (x0.5 must still cover 512x512), synthesised from a bundled one."""
    import skimage.data

    return np.asarray(Image.fromarray(skimage.data.astronaut()).resize((1100, 1040), Image.LANCZOS))


def _centre(img: np.ndarray, n: int = 512) -> np.ndarray:
    top, left = (img.shape[0] - n) // 2, (img.shape[1] - n) // 2
    return img[top : top + n, left : left + n]


@pytest.mark.parametrize("suite", ["spcup2018", "spcup2018-pillow"])
def test_suite_plans_nine_variants_with_the_scoring_axis_names(suite):
    plans = plan_source(load_config().suite(suite), "abc")
    got: dict[str, set] = {}
    for p in plans:
        got.setdefault(p.axis, set()).add(p.level)
        assert p.chain[-1].op == "png"
        assert p.chain[-2].op == "center_crop"
        assert (p.chain[-2].params.height, p.chain[-2].params.width) == (512, 512)
    assert got == LEVELS and len(plans) == 9
    resize = [p for p in plans if p.axis == "resize"]
    backend = "opencv" if suite == "spcup2018" else "pillow"
    assert {p.chain[0].backend for p in resize} == {backend}
    assert {p.chain[0].params.method for p in resize} == {"bicubic"}


@pytest.fixture()
def big_tree(tmp_path: Path) -> Path:
    root = tmp_path / "cams"
    (root / "cam").mkdir(parents=True)
    img = _big_photo()
    Image.fromarray(img).save(root / "cam" / "a.png")
    (root / "small").mkdir()
    Image.fromarray(img[:600, :640]).save(root / "small" / "b.png")
    return root


def test_generate_gives_nine_512px_outputs_per_source(big_tree: Path, tmp_path: Path):
    pytest.importorskip("degradebench.generators.decode")
    from degradebench.generators import generate

    out = tmp_path / "out"
    s = generate(dataset=str(big_tree), suite="spcup2018", out=out, psnr=False, progress=False)
    df = pd.read_parquet(out / "manifest")
    big = df[df.label == "cam"]
    assert len(big) == 9
    assert {(a, lv) for a, lv in zip(big.axis, big.level)} == {
        (a, lv) for a, levels in LEVELS.items() for lv in levels
    }
    assert (big.width == 512).all() and (big.height == 512).all() and (big.format == "png").all()
    src = _big_photo()

    def pixels(axis: str, level: str) -> np.ndarray:
        row = big[(big.axis == axis) & (big.level == level)].iloc[0]
        with Image.open(out / row.path) as im:
            arr = np.asarray(im)
        assert arr.shape == (512, 512, 3)
        return arr

    assert np.array_equal(pixels("clean", "clean"), _centre(src))
    lut = np.floor(255 * (np.arange(256) / 255) ** 0.8 + 0.5).astype(np.uint8)
    assert np.array_equal(pixels("gamma", "0.8"), _centre(lut[src]))
    up = cv2.resize(src, (2200, 2080), interpolation=cv2.INTER_CUBIC)
    assert np.array_equal(pixels("resize", "x2"), _centre(up))
    buf = io.BytesIO()
    Image.fromarray(src).save(buf, "JPEG", quality=70)
    with Image.open(buf) as im:
        assert np.array_equal(pixels("jpeg", "70"), _centre(np.asarray(im)))
    jrow = big[(big.axis == "jpeg") & (big.level == "70")].iloc[0]
    # the full-image JPEG grid after the centre crop (top 264, left 294): phase (0, 2)
    assert [list(g) for g in jrow.prior_grid] == [[0, 2]] and jrow.jpeg_passes == 1
    chain = json.loads(big[big.axis == "resize"].iloc[0].chain)
    step = next(s for s in chain if s["op"] == "resize")
    assert step["backend"] == "opencv" and step["params"]["version"] == cv2.__version__
    # A 600x640 source cannot give a 512x512 crop after x0.5 or x0.8: those two are recorded
    # errors that name the problem, the other seven are made.
    small = df[df.label == "small"]
    assert len(small) == 7 and s.failed_variants == 2
    errors = pd.read_parquet(out / "errors.parquet")
    assert set(errors.variant) == {"resize/x0.5", "resize/x0.8"}
    assert errors.message.str.contains("does not fit").all()


def test_pillow_sibling_differs_only_in_the_resize_backend(big_tree: Path, tmp_path: Path):
    pytest.importorskip("degradebench.generators.decode")
    from degradebench.generators import generate

    kw = {"dataset": str(big_tree), "psnr": False, "progress": False, "limit": 1}
    generate(suite="spcup2018", out=tmp_path / "a", **kw)
    generate(suite="spcup2018-pillow", out=tmp_path / "b", **kw)
    a = (
        pd.read_parquet(tmp_path / "a" / "manifest")
        .query("label == 'cam'")
        .set_index(["axis", "level"])
    )
    b = (
        pd.read_parquet(tmp_path / "b" / "manifest")
        .query("label == 'cam'")
        .set_index(["axis", "level"])
    )
    same = a.sha256 == b.sha256.reindex(a.index)
    assert not same[same.index.get_level_values(0) == "resize"].any()
    assert same[same.index.get_level_values(0) != "resize"].all()
    row = b.loc[("resize", "x0.5")]
    with Image.open(tmp_path / "b" / row.path) as im:
        got = np.asarray(im)
    ref = np.asarray(Image.fromarray(_big_photo()).resize((550, 520), Image.BICUBIC))
    assert np.array_equal(got, _centre(ref))
