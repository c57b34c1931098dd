"""Noise and filter ops (issue 13, H1): each doc formula checked on tiny arrays, the backends'
real differences, the region helper, and seeded noise identical across ``--jobs``."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
import yaml
from degradebench.generators import generate, read_manifest, verify
from degradebench.generators.core.errors import ConfigError, OpError
from degradebench.generators.ops import ImageState, make_step, run_chain
from degradebench.generators.ops.filters import filter_step, opencv_ksize, opencv_sigma
from degradebench.generators.ops.filters_sharp import motion_kernel
from degradebench.generators.ops.regional import apply_on_region
from PIL import Image, ImageFilter

RNG = np.random.default_rng(2024)
IMG = RNG.integers(0, 256, (40, 48, 3), dtype=np.uint8)
GREY = np.full((64, 64, 3), 128, np.uint8)


def run(spec: dict, img: np.ndarray = IMG) -> np.ndarray:
    return run_chain(ImageState(pixels=img), [make_step(spec)]).pixels


# --- noise -------------------------------------------------------------------------------------


def test_gaussian_noise_is_the_recorded_formula() -> None:
    out = run({"op": "gaussian_noise", "sigma": 6.0, "seed": 5})
    noise = np.random.default_rng(5).normal(0.0, 6.0, IMG.shape)
    assert np.array_equal(out, np.clip(np.floor(IMG + noise + 0.5), 0, 255).astype(np.uint8))
    trunc = run({"op": "gaussian_noise", "sigma": 6.0, "seed": 5, "rounding": "truncate"})
    assert np.array_equal(trunc, np.clip(np.floor(IMG + noise), 0, 255).astype(np.uint8))
    assert not np.array_equal(out, trunc)
    flat = run({"op": "gaussian_noise", "sigma": 10.0, "seed": 1}, GREY).astype(float)
    assert abs(flat.std() - 10.0) < 0.5 and abs(flat.mean() - 128) < 0.5


def test_noise_depends_on_the_seed_only() -> None:
    a = run({"op": "speckle", "sigma": 0.2, "seed": 9})
    assert np.array_equal(a, run({"op": "speckle", "sigma": 0.2, "seed": 9}))
    assert not np.array_equal(a, run({"op": "speckle", "sigma": 0.2, "seed": 10}))


def test_poisson_noise_variance_is_255_in_over_photons() -> None:
    out = run({"op": "poisson_noise", "photons": 50.0, "seed": 3}, GREY).astype(float)
    assert abs(out.mean() - 128) < 1.5
    assert abs(out.var() / (255 * 128 / 50) - 1) < 0.1  # var = 255 * in / photons
    counts = np.random.default_rng(3).poisson(GREY / 255 * 50, GREY.shape)
    assert np.array_equal(out, np.clip(np.floor(counts * 255 / 50 + 0.5), 0, 255))


def test_salt_pepper_hits_whole_pixels_or_samples() -> None:
    out = run({"op": "salt_pepper", "amount": 0.2, "seed": 4, "salt_ratio": 0.25}, GREY)
    hit = (out != 128).any(axis=-1)
    assert abs(hit.mean() - 0.2) < 0.03
    assert ((out[hit] == 0).all(axis=-1) | (out[hit] == 255).all(axis=-1)).all()  # whole pixels
    assert abs((out[hit][:, 0] == 255).mean() - 0.25) < 0.07
    per = run({"op": "salt_pepper", "amount": 0.2, "seed": 4, "unit": "sample"}, GREY)
    hits = per != 128
    assert abs(hits.mean() - 0.2) < 0.03 and (hits.sum(axis=-1) == 1).any()
    assert set(np.unique(per)) <= {0, 128, 255}


def test_speckle_is_multiplicative() -> None:
    img = np.zeros((32, 32, 3), np.uint8)
    img[:16] = 200
    out = run({"op": "speckle", "sigma": 0.1, "seed": 2}, img).astype(float)
    assert (out[16:] == 0).all()  # black stays black
    assert abs(out[:16].std() / 20.0 - 1) < 0.1  # std = sigma * in


# --- filters -----------------------------------------------------------------------------------


def test_gaussian_kernel_rule_is_opencvs() -> None:
    assert [opencv_ksize(s) for s in (0.5, 1.0, 2.0, 3.0)] == [5, 7, 13, 19]
    assert [round(opencv_sigma(k), 6) for k in (3, 5, 7, 23)] == [0.8, 1.1, 1.4, 3.8]
    step = filter_step("gaussian_blur", "opencv", sigma=2.0)
    assert (step.params.ksize, step.params.border) == (13, "reflect101")
    # sigma alone: the very kernel OpenCV picks for ksize=0
    out = run_chain(ImageState(pixels=IMG), [step]).pixels
    assert np.array_equal(out, cv2.GaussianBlur(IMG, (0, 0), 2.0))
    by_k = make_step({"op": "gaussian_blur", "ksize": 5})
    assert by_k.params.sigma == pytest.approx(1.1)
    # ksize alone: the true Gaussian of the recorded sigma (+-1, OpenCV's fixed point), not
    # OpenCV's sigma=0 table
    g = cv2.getGaussianKernel(5, 1.1)[:, 0]
    pad = np.pad(IMG.astype(float), ((2, 2), (2, 2), (0, 0)), mode="reflect")
    ref = sum(g[i] * g[j] * pad[i : i + 40, j : j + 48] for i in range(5) for j in range(5))
    got = run({"op": "gaussian_blur", "ksize": 5})
    assert np.abs(got - np.floor(ref + 0.5)).max() <= 1
    k3 = run({"op": "gaussian_blur", "ksize": 3})
    assert not np.array_equal(k3, cv2.GaussianBlur(IMG, (3, 3), 0))


def test_pillow_gaussian_refuses_ksize_and_other_borders() -> None:
    with pytest.raises(OpError, match="has no kernel size.*backend: opencv"):
        run({"op": "gaussian_blur", "backend": "pillow", "ksize": 5})
    with pytest.raises(OpError, match="replicate"):
        run({"op": "box_blur", "backend": "pillow", "size": 3, "border": "reflect101"})
    with pytest.raises(ConfigError, match="has no kernel size"):
        filter_step("gaussian_blur", "pillow", ksize=5)
    assert filter_step("gaussian_blur", "pillow", sigma=1.0).params.border == "replicate"
    with pytest.raises(OpError, match="must be odd.*got 6; use 7"):
        make_step({"op": "median_filter", "size": 6})


def test_pillow_and_opencv_gaussians_differ_and_both_are_recorded() -> None:
    cv = run({"op": "gaussian_blur", "sigma": 1.0})
    pil = run({"op": "gaussian_blur", "sigma": 1.0, "backend": "pillow"})
    assert (cv != pil).mean() > 0.3  # Pillow's three box passes are not OpenCV's Gaussian
    ref = np.asarray(Image.fromarray(IMG).filter(ImageFilter.GaussianBlur(1.0)))
    assert np.array_equal(pil, ref)


def test_median_is_the_window_median_on_both_backends() -> None:
    patch = np.array([[9, 1, 7], [3, 250, 5], [2, 8, 4]], np.uint8)
    img = np.pad(patch, 3, mode="edge")
    for backend in ("opencv", "pillow"):
        out = run({"op": "median_filter", "size": 3, "backend": backend}, img)
        assert out[4, 4] == np.median(patch) == 5
    for size in (3, 5, 7):
        cv = run({"op": "median_filter", "size": size})
        pil = run({"op": "median_filter", "size": size, "backend": "pillow"})
        ref = ndi.median_filter(IMG, size=(size, size, 1), mode="nearest")  # edge repeated
        assert np.array_equal(cv, ref) and np.array_equal(pil, ref)


def test_box_blur_is_the_window_mean() -> None:
    pad = np.pad(IMG.astype(float), ((2, 2), (2, 2), (0, 0)), mode="reflect")  # reflect101
    mean = sum(pad[i : i + 40, j : j + 48] for i in range(5) for j in range(5)) / 25
    assert np.array_equal(run({"op": "box_blur", "size": 5}), np.floor(mean + 0.5))
    edge = np.pad(IMG.astype(float), ((2, 2), (2, 2), (0, 0)), mode="edge")
    exact = np.floor(
        sum(edge[i : i + 40, j : j + 48] for i in range(5) for j in range(5)) / 25 + 0.5
    )
    pil = run({"op": "box_blur", "size": 5, "backend": "pillow"})
    diff = np.abs(pil - exact)
    assert diff.max() == 1 and diff.any()  # Pillow rounds between its two passes


def test_motion_kernel_and_backends() -> None:
    k = motion_kernel(5, 0.0)
    assert k.shape == (5, 5) and np.allclose(k[2], 0.2) and k.sum() == pytest.approx(1.0)
    assert np.allclose(motion_kernel(5, 90.0), k.T)
    assert np.allclose(motion_kernel(7, 30.0), motion_kernel(7, 30.0)[::-1, ::-1])
    assert motion_kernel(4, 0.0).shape == (5, 5) and np.allclose(
        motion_kernel(4, 0.0)[2, [0, 4]], 0.125
    )
    img = np.zeros((21, 21), np.uint8)
    img[10, 10] = 250
    out = run({"op": "motion_blur", "length": 5, "angle": 90.0}, img)
    assert (out[8:13, 10] == 50).all() and out.sum() == 250  # a vertical streak
    cv = run({"op": "motion_blur", "length": 9, "angle": 30.0})
    npy = run({"op": "motion_blur", "length": 9, "angle": 30.0, "backend": "numpy"})
    assert np.abs(cv.astype(int) - npy).max() <= 1


def test_unsharp_mask_formulas() -> None:
    pil = run({"op": "unsharp_mask", "radius": 2.0, "amount": 1.5, "threshold": 3})
    blur = np.asarray(Image.fromarray(IMG).filter(ImageFilter.GaussianBlur(2.0))).astype(int)
    d = IMG.astype(int) - blur
    want = np.where(np.abs(d) > 3, np.clip(IMG + np.trunc(d * 150 / 100), 0, 255), IMG)
    assert np.array_equal(pil, want)
    cv = run(
        {"op": "unsharp_mask", "radius": 2.0, "amount": 1.5, "threshold": 3, "backend": "opencv"}
    )
    x = IMG.astype(float)
    soft = cv2.GaussianBlur(x, (0, 0), 2.0, borderType=cv2.BORDER_REFLECT_101)
    sharp = np.where(np.abs(x - soft) > 3, x + 1.5 * (x - soft), x)
    assert np.array_equal(cv, np.clip(np.floor(sharp + 0.5), 0, 255))
    assert (cv != pil).any()
    with pytest.raises(OpError, match="multiple of 0.01"):
        make_step({"op": "unsharp_mask", "amount": 1.234})


# --- region helper -----------------------------------------------------------------------------


def test_apply_on_region_changes_only_the_region() -> None:
    mask = np.zeros(IMG.shape[:2], bool)
    mask[8:24, 10:30] = True
    before = IMG.copy()
    for spec in (
        {"op": "median_filter", "size": 5},
        {"op": "gaussian_noise", "sigma": 9.0, "seed": 1},
        {"op": "gamma", "gamma": 0.6},
    ):
        out = apply_on_region(spec, IMG, mask)
        assert np.array_equal(IMG, before)  # input untouched
        assert np.array_equal(out[~mask], IMG[~mask])
        assert np.array_equal(out[mask], run(spec)[mask])
    soft = apply_on_region({"op": "median_filter", "size": 5}, IMG, mask, feather=3)
    full = run({"op": "median_filter", "size": 5})
    assert np.array_equal(soft[~mask], IMG[~mask])
    assert np.array_equal(soft[16, 20], full[16, 20])  # deep inside: the op's pixels
    edge = (soft[8] != IMG[8]) & (soft[8] != full[8])
    assert edge.any()  # the ramp mixes both on the border row


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"op": "jpeg", "quality": 80}, "encoder"),
        ({"op": "resize", "backend": "pillow", "method": "bilinear", "scale": 0.5}, "geometric"),
        ({"op": "crop", "top": 1, "left": 1}, "geometric"),
        (
            {
                "op": "retouch",
                "region": {"shape": "rect", "top": 1, "left": 1, "height": 9, "width": 9},
                "effect": "median",
                "ksize": 3,
            },
            "'sets'",
        ),  # fmt: skip
    ],
)
def test_apply_on_region_refuses_encoders_and_geometry(spec: dict, message: str) -> None:
    with pytest.raises(OpError, match=message):
        apply_on_region(spec, IMG, np.ones(IMG.shape[:2], bool))


def test_apply_on_region_checks_the_mask() -> None:
    with pytest.raises(OpError, match="size of the image"):
        apply_on_region({"op": "gamma", "gamma": 2.0}, IMG, np.ones((4, 4), bool))


# --- generation --------------------------------------------------------------------------------


def _config(tmp: Path, root: Path) -> Path:
    axes = {
        "gaussian_noise": {"sigmas": [3, 12]},
        "poisson_noise": {"photons": [20]},
        "salt_pepper": {"amounts": [0.05]},
        "speckle": {"sigmas": [0.1]},
        "gaussian_blur": {"sigmas": [1.5]},
        "gaussian_blur_pillow": {"type": "gaussian_blur", "sigmas": [1.5], "backend": "pillow"},
    }
    cfg = {"version": 1, "datasets": {"tiny": {"kind": "folder", "root": str(root), "folds": 2}},
           "suites": {"n": {"seed": 7, "axes": axes}}}  # fmt: skip
    path = tmp / "c.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _step_of(chain: str, op: str) -> dict:
    (step,) = [s for s in json.loads(chain) if s["op"] == op]
    return step


def test_noise_bytes_identical_across_jobs(tmp_path: Path, tiny_tree: Path) -> None:
    cfg = _config(tmp_path, tiny_tree)
    kw = {"config": cfg, "dataset": "tiny", "suite": "n", "psnr": False, "progress": False}
    generate(out=tmp_path / "a", jobs=1, **kw)
    generate(out=tmp_path / "b", jobs=2, **kw)
    a, b = read_manifest(tmp_path / "a"), read_manifest(tmp_path / "b")
    assert len(a) == 6 * 8 and verify(tmp_path / "b").ok
    assert set(zip(a.variant_id, a.sha256)) == set(zip(b.variant_id, b.sha256))
    noisy = a[a.axis == "gaussian_noise"]
    seeds = {_step_of(c, "gaussian_noise")["params"]["seed"] for c in noisy.chain}
    assert len(seeds) == len(noisy)  # a seed per (source, level), recorded
    blur = a[a.axis.str.startswith("gaussian_blur")]
    steps = {r.axis: _step_of(r.chain, "gaussian_blur") for r in blur.itertuples()}
    assert steps["gaussian_blur"]["backend"] == "opencv"
    assert steps["gaussian_blur"]["params"] == {"sigma": 1.5, "ksize": 11, "border": "reflect101"}
    assert steps["gaussian_blur_pillow"]["backend"] == "pillow"
    assert steps["gaussian_blur_pillow"]["params"]["border"] == "replicate"
    one = blur[blur.source_id == blur.source_id.iloc[0]].sort_values("axis")
    assert one.sha256.nunique() == 2  # the two libraries' blurs differ


def test_shipped_noise_and_filters_suites_plan_concrete_chains() -> None:
    from degradebench.generators.config import load_config
    from degradebench.generators.plan import plan_source

    cfg = load_config()
    for suite, n in (("noise", 14), ("filters", 21)):
        levels = plan_source(cfg.suite(suite), "0" * 16)
        assert len(levels) == n, suite
        for lv in levels:
            chain = json.loads(json.dumps([s.to_json() for s in lv.chain]))
            assert chain[-1]["op"] == "png"
            for s in chain:  # every rule concrete; Pillow's Gaussian alone has no kernel size
                nulls = {k for k, v in s["params"].items() if v is None}
                pillow_gauss = (s["op"], s["backend"]) == ("gaussian_blur", "pillow")
                assert nulls == ({"ksize"} if pillow_gauss else set()), s


def test_shared_ladder_planner_fills_filter_rules() -> None:
    from degradebench.generators.axes import PlanContext
    from degradebench.generators.axes._op_ladder import op_level

    ctx = PlanContext("s", lambda name: np.random.default_rng(0))
    step = op_level("gaussian_blur", "opencv", {"sigma": 1.0}, ctx, "1", "first")
    assert (step.params.ksize, step.params.border) == (7, "reflect101")
    assert op_level("unsharp_mask", "pillow", {}, ctx, "1").params.border == "replicate"
    with pytest.raises(ConfigError, match=r"^first\.ksize: .*backend: opencv"):
        op_level("gaussian_blur", "pillow", {"ksize": 3}, ctx, "3", "first")
