"""The ImageNet-C op, axis and suites (issue 13, H4): published values, formulas on tiny arrays,
seeding, the faithful re-save, and ``imagenet-c`` generated on ``samples`` and verified."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from degradebench.generators import generate, read_errors, read_manifest, verify
from degradebench.generators.axes import AXES, PlanContext
from degradebench.generators.config import load_config
from degradebench.generators.core.errors import ConfigError, OpError
from degradebench.generators.core.records import from_mapping
from degradebench.generators.ops import ImageState, make_step, run_chain
from degradebench.generators.ops._ic_digital import hsv2rgb, rgb2hsv
from degradebench.generators.ops._ic_noise_blur import glass_shuffle
from degradebench.generators.ops._ic_weather import FROST_MEAN, frost_texture
from degradebench.generators.ops.imagenet_c import (
    CORRUPTIONS,
    RANDOM_CORRUPTIONS,
    published_values,
)
from PIL import Image

RNG = np.random.default_rng(7)
IMG = RNG.integers(0, 256, (48, 64, 3), dtype=np.uint8)


def run(img: np.ndarray = IMG, **spec: object) -> np.ndarray:
    return run_chain(ImageState(pixels=img), [make_step({"op": "imagenet_c", **spec})]).pixels


def _spec(name: str, severity: int = 3, seed: int = 5) -> dict:
    return {
        "corruption": name,
        "severity": severity,
        **({"seed": seed} if name in RANDOM_CORRUPTIONS else {}),
    }


# --- the published table and the params record ---------------------------------------------------


def test_the_15_corruptions_with_the_published_ladders() -> None:
    assert len(CORRUPTIONS) == 15
    jpeg = [published_values("jpeg_compression", s)["quality"] for s in range(1, 6)]
    assert jpeg == [25, 18, 15, 10, 7]  # FACTS.md: ImageNet-C's JPEG ladder
    pixelate = [published_values("pixelate", s)["factor"] for s in range(1, 6)]
    assert pixelate == [0.6, 0.5, 0.4, 0.3, 0.25]
    assert published_values("gaussian_noise", 5) == {"scale": 0.38}
    assert published_values("elastic_transform", 1)["alpha"] == pytest.approx(12.5)
    step = make_step({"op": "imagenet_c", "corruption": "snow", "severity": 2, "seed": 1})
    assert step.to_json()["params"]["published"].startswith("loc=0.2, scale=0.3, zoom=2")


def test_seed_and_published_are_checked_with_the_fix() -> None:
    with pytest.raises(OpError, match="needs a seed; give one"):
        make_step({"op": "imagenet_c", "corruption": "fog", "severity": 1})
    with pytest.raises(OpError, match="deterministic and takes no seed.*drop it"):
        make_step({"op": "imagenet_c", "corruption": "contrast", "severity": 1, "seed": 3})
    with pytest.raises(OpError, match="means 'factor=0.4'"):
        make_step({"op": "imagenet_c", "corruption": "contrast", "severity": 1, "published": "x"})
    with pytest.raises(ConfigError, match="severity"):
        make_step({"op": "imagenet_c", "corruption": "contrast", "severity": 6})
    with pytest.raises(OpError, match="at least 32x32.*resize it up"):
        run(IMG[:20], **_spec("contrast"))


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_every_corruption_runs_seeded_and_changes_the_image(name: str) -> None:
    a, b = run(**_spec(name)), run(**_spec(name))
    assert a.dtype == np.uint8 and a.shape == IMG.shape and np.array_equal(a, b)
    assert not np.array_equal(a, IMG)
    if name in RANDOM_CORRUPTIONS:
        assert not np.array_equal(a, run(**_spec(name, seed=6))), "the seed must matter"
    lo, hi = run(**_spec(name, severity=1)), run(**_spec(name, severity=5))
    assert np.abs(hi.astype(int) - IMG).mean() > np.abs(lo.astype(int) - IMG).mean() * 0.9


# --- formulas on tiny arrays ------------------------------------------------------------------------


def test_contrast_pixelate_and_jpeg_are_their_formulas() -> None:
    x = IMG / 255.0
    m = x.mean(axis=(0, 1), keepdims=True)
    want = (np.clip((x - m) * 0.1 + m, 0, 1) * 255).astype(np.uint8)
    assert np.array_equal(run(**_spec("contrast", 4)), want)
    im = Image.fromarray(IMG)
    small = im.resize((int(64 * 0.3), int(48 * 0.3)), Image.Resampling.BOX)
    want = np.asarray(small.resize((64, 48), Image.Resampling.NEAREST))
    assert np.array_equal(run(**_spec("pixelate", 4)), want)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=10)
    assert np.array_equal(run(**_spec("jpeg_compression", 4)), np.asarray(Image.open(buf)))


def test_brightness_goes_through_scikit_image_hsv_exactly() -> None:
    import skimage.color

    x = IMG / 255.0
    assert np.array_equal(rgb2hsv(x), skimage.color.rgb2hsv(x))
    hsv = skimage.color.rgb2hsv(x)
    hsv[..., 2] = np.clip(hsv[..., 2] + 0.3, 0, 1)
    assert np.array_equal(hsv2rgb(hsv), skimage.color.hsv2rgb(hsv))
    want = (np.clip(skimage.color.hsv2rgb(hsv), 0, 1) * 255).astype(np.uint8)
    assert np.array_equal(run(**_spec("brightness", 3)), want)


def test_gaussian_noise_std_and_rounding_rule() -> None:
    grey = np.full((64, 64, 3), 128, np.uint8)
    out = run(grey, **_spec("gaussian_noise", 1, seed=3)).astype(float)
    assert out.std() == pytest.approx(0.08 * 255, rel=0.05)
    noise = np.random.default_rng(3).normal(0.0, 0.08, grey.shape)
    exact = np.clip(grey / 255.0 + noise, 0, 1) * 255
    assert np.array_equal(out, np.floor(exact))  # truncate: np.uint8 as the peer
    half = run(grey, rounding="half-up", **_spec("gaussian_noise", 1, seed=3))
    assert np.array_equal(half, np.floor(exact + 0.5))


def test_glass_shuffle_is_the_peers_sequential_copy() -> None:
    def naive(h: int, w: int, d: int, iters: int, rng: np.random.Generator) -> np.ndarray:
        a = np.arange(h * w).reshape(h, w)
        for _ in range(iters):
            for hh in range(h - d, d, -1):
                for ww in range(w - d, d, -1):
                    dx, dy = rng.integers(-d, d, size=(2,))
                    a[hh, ww] = a[hh + dy, ww + dx]  # the peer's "swap" on views: a copy
        return a

    for d, iters in ((1, 2), (2, 1), (4, 2)):
        fast = glass_shuffle(30, 41, d, iters, np.random.default_rng(d))
        assert np.array_equal(fast, naive(30, 41, d, iters, np.random.default_rng(d)))


def test_frost_texture_matches_the_peer_photographs_colour() -> None:
    tex = frost_texture(96, 128, np.random.default_rng(0))
    assert np.allclose(tex.mean(axis=(0, 1)), FROST_MEAN, atol=4)
    assert not np.array_equal(tex, frost_texture(96, 128, np.random.default_rng(1)))


def test_grey_input_is_corrupted_as_rgb_like_the_peer() -> None:
    grey = IMG[..., 1].copy()
    out = run(grey, **_spec("contrast", 2))
    assert out.shape == (*grey.shape, 3)
    assert np.array_equal(out, run(np.stack([grey] * 3, -1), **_spec("contrast", 2)))


def test_grids_follow_what_each_corruption_does() -> None:
    state = ImageState(pixels=IMG, grids=((3, 5),), passes=1)

    def after(name: str) -> ImageState:
        return run_chain(state, [make_step({"op": "imagenet_c", **_spec(name)})])

    assert after("contrast").grids == ((3, 5),) and after("contrast").region == (0, 0)
    jpeg = after("jpeg_compression")
    assert jpeg.grids == ((3, 5), (0, 0)) and jpeg.passes == 2
    assert after("elastic_transform").grids == () and after("elastic_transform").region is None


# --- the axis ------------------------------------------------------------------------------------


def _plan(mapping: dict, source: str = "a.png") -> list:
    axis = AXES.get("imagenet_c")
    params = from_mapping(axis.params_cls, mapping, "axes.x")

    def rng_for(name: str) -> np.random.Generator:
        return np.random.default_rng(abs(hash((source, name))) % 2**32)

    return axis.plan(params, PlanContext(source, rng_for))


def test_axis_levels_seeds_and_output() -> None:
    levels = _plan({"corruption": "fog"})
    assert [lv.level for lv in levels] == ["1", "2", "3", "4", "5"]
    seeds = [lv.axis_params["seed"] for lv in levels]
    assert len(set(seeds)) == 5
    assert [s.op for s in levels[0].chain] == ["imagenet_c", "png"]
    assert levels[2].axis_params["published"] == "strength=2.5, wibbledecay=1.7"
    det = _plan({"corruption": "pixelate", "severities": [2]})
    assert "seed" not in det[0].axis_params and det[0].chain[0].params.seed is None


def test_faithful_resaves_as_jpeg_q85_after_the_imagenet_preparation() -> None:
    lv = _plan({"corruption": "contrast", "faithful": True, "preprocess": "imagenet"})[0]
    assert [s.op for s in lv.chain] == ["resize", "center_crop", "imagenet_c", "jpeg"]
    last = lv.chain[-1]
    got = (last.backend, last.params.quality, last.params.subsampling, last.params.optimize)
    assert got == ("pillow", 85, "4:2:0", True)
    with pytest.raises(ConfigError, match="faithful writes ImageNet-C's JPEG q85"):
        _plan({"corruption": "contrast", "faithful": True, "save": "jpeg", "quality": 90})


# --- the suites on samples ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def samples_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """The shipped ``imagenet-c`` on ``samples`` split in 11 folds: fold 0 is chelsea.png alone
    (451x300 RGB), so the 76 variants stay quick."""
    tmp = tmp_path_factory.mktemp("imagenet-c")
    cfg = yaml.safe_load(Path(load_config().path).read_text())
    cfg["datasets"]["samples"]["folds"] = 11
    (tmp / "c.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp / "o"
    s = generate(config=tmp / "c.yaml", dataset="samples", suite="imagenet-c", out=out,
                 folds=[0], psnr=False, progress=False)  # fmt: skip
    assert s.failed_variants == s.failed_sources == 0 and read_errors(out).empty
    return out, read_manifest(out)


def test_imagenet_c_runs_on_samples_and_verifies(samples_run) -> None:
    out, df = samples_run
    assert verify(out).ok and {Path(p).name for p in df.source_path} == {"chelsea.png"}
    assert set(df.axis) == {"clean", *CORRUPTIONS}
    corrupted = df[df.axis != "clean"]
    assert len(corrupted) == 15 * 5 * df.source_id.nunique()
    assert set(corrupted.level) == {"1", "2", "3", "4", "5"} and set(corrupted.format) == {"png"}
    for _, row in corrupted.iterrows():
        step = json.loads(row.chain)[-2]
        assert step["op"] == "imagenet_c" and str(step["params"]["severity"]) == row.level
        assert (step["params"]["seed"] is not None) == (row.axis in RANDOM_CORRUPTIONS)


def test_imagenet_c_faithful_writes_q85_jpegs_at_224(tmp_path: Path) -> None:
    out = tmp_path / "o"
    s = generate(dataset="samples", suite="imagenet-c-faithful", out=out, folds=[0], limit=1,
                 psnr=False, progress=False)  # fmt: skip
    assert s.failed_variants == 0 and verify(out).ok
    df = read_manifest(out)
    clean = df[df.axis == "clean"]  # the same 224 px preparation, lossless: like with like
    assert set(clean.format) == {"png"} and set(clean.width) == {224} == set(clean.height)
    df = df[df.axis != "clean"]
    assert set(df.format) == {"jpeg"} and set(df.jpeg_quality) == {85}
    assert set(df.width) == {224} and set(df.height) == {224}
    jpeg = df[df.axis == "jpeg_compression"]
    assert set(jpeg.jpeg_passes) == {df[df.axis == "contrast"].jpeg_passes.iloc[0] + 1}
