"""The virtual-cameras dataset: determinism, atomic builds, and the traces each camera claims."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from degradebench.cli import main
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.datasets import assign_folds
from degradebench.generators.virtual_cameras import (
    CFA_PATTERNS,
    DEMOSAIC,
    VirtualCamerasParams,
    _build,
    build_virtual_cameras,
    debug_capture,
    design_cameras,
)
from degradebench.generators.virtual_cameras._demosaic import demosaic, mosaic
from PIL import Image, JpegImagePlugin

TINY = VirtualCamerasParams(models=3, devices_per_model=2, images_per_device=4, size=96, seed=3)


def _digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny_root(virtual_cameras) -> Path:
    root = virtual_cameras(TINY)
    assert (root / "list.csv").is_file()
    return root


def test_layout_list_and_metadata(tiny_root):
    with open(tiny_root / "list.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["path", "label", "group"]
    assert len(rows) == TINY.images == 24
    for r in rows:
        assert r["path"].split("/")[0] == r["label"]
        assert (tiny_root / r["path"]).is_file()
    # Every device shoots every scene: each group holds every class, so content cannot separate them.
    per_group: dict[str, set] = {}
    for r in rows:
        per_group.setdefault(r["group"], set()).add(r["label"])
    assert len(per_group) == TINY.images_per_device
    assert all(labels == {"vcam01", "vcam02", "vcam03"} for labels in per_group.values())
    folds = assign_folds([r["group"] for r in rows], [r["label"] for r in rows], k=2)
    assert set(folds) == {0, 1}
    meta = json.loads((tiny_root / "metadata.json").read_text())
    assert meta["params"]["size"] == 96 and meta["classes"] == ["vcam01", "vcam02", "vcam03"]
    assert len(meta["cameras"]) == 3 and all(len(c["devices"]) == 2 for c in meta["cameras"])
    assert {"cfa", "demosaic", "luma_table", "subsampling"} <= set(meta["cameras"][0])
    assert {"prnu_strength"} <= set(meta["cameras"][0]["devices"][0])
    assert len(meta["shots"]) == 24 and {"pillow", "numpy"} <= set(meta["versions"])
    with Image.open(tiny_root / rows[0]["path"]) as im:
        assert im.size == (96, 96) and im.format == "JPEG"


def test_same_seed_byte_identical_and_independent_of_jobs(tiny_root, tmp_path):
    again = build_virtual_cameras(TINY, tmp_path / "again", jobs=2, progress=False).parent
    assert _digests(again) == _digests(tiny_root)
    other = build_virtual_cameras(
        VirtualCamerasParams(**{**TINY.__dict__, "seed": 4}), tmp_path / "other", progress=False
    ).parent
    a, b = _digests(tiny_root), _digests(other)
    assert a.keys() == b.keys()
    assert a["vcam01/vcam01-d1-0000.jpg"] != b["vcam01/vcam01-d1-0000.jpg"]


def test_rerun_is_noop_and_other_params_refused(tiny_root):
    before = {p: p.stat().st_mtime_ns for p in tiny_root.rglob("*")}
    assert build_virtual_cameras(TINY, tiny_root, progress=False) == tiny_root / "list.csv"
    assert {p: p.stat().st_mtime_ns for p in tiny_root.rglob("*")} == before
    with pytest.raises(ConfigError, match="other params"):
        build_virtual_cameras(VirtualCamerasParams(models=2, size=64), tiny_root, progress=False)


def test_killed_build_leaves_nothing(tmp_path, monkeypatch):
    real = _build._write_tree

    def dies(params, tmp, jobs, progress):
        real(params, tmp, jobs, progress)
        raise KeyboardInterrupt  # killed after writing everything but before the rename

    monkeypatch.setattr(_build, "_write_tree", dies)
    root = tmp_path / "ds"
    with pytest.raises(KeyboardInterrupt):
        build_virtual_cameras(TINY, root, progress=False)
    assert not root.exists()
    assert not list(tmp_path.glob(".ds.tmp-*"))
    monkeypatch.setattr(_build, "_write_tree", real)
    assert (build_virtual_cameras(TINY, root, progress=False).parent / ".complete").is_file()


def test_nonempty_folder_refused(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "mine.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not a complete virtual-cameras dataset"):
        build_virtual_cameras(TINY, tmp_path / "x", progress=False)


def test_params_validate_with_paths():
    with pytest.raises(
        ConfigError, match=r"^datasets.vc.size: must be an integer 64..4096, got 32"
    ):
        VirtualCamerasParams.from_mapping({"size": 32}, "datasets.vc")
    with pytest.raises(
        ConfigError, match=r"datasets.vc.modles: unknown key; did you mean 'models'"
    ):
        VirtualCamerasParams.from_mapping({"modles": 3}, "datasets.vc")
    with pytest.raises(ConfigError, match="models"):
        VirtualCamerasParams(models=13)
    with pytest.raises(ValueError, match="exposure_ev"):
        VirtualCamerasParams(exposure_ev=(1.0, -1.0))
    p = VirtualCamerasParams.from_mapping({"models": 4, "exposure_ev": [-1, 0]}, "d")
    assert p.models == 4 and p.exposure_ev == (-1.0, 0.0)


def test_models_have_distinct_pipelines():
    cams = design_cameras(VirtualCamerasParams(models=12, devices_per_model=1))
    assert len({(m.cfa, m.demosaic) for m, _ in cams}) == 12
    assert {m.cfa for m, _ in cams} == set(CFA_PATTERNS)
    assert {m.demosaic for m, _ in cams} == set(DEMOSAIC)
    # A model's design does not depend on how many models were asked for.
    assert design_cameras(VirtualCamerasParams(models=2))[1][0] == cams[1][0]


def test_quant_tables_read_back_differ_per_model(tiny_root):
    tables, samplings = {}, {}
    for model, _ in design_cameras(TINY):
        with Image.open(tiny_root / model.name / f"{model.name}-d2-0001.jpg") as im:
            q = im.quantization
            samplings[model.name] = JpegImagePlugin.get_sampling(im)
        assert tuple(q[0]) == model.luma_table and tuple(q[1]) == model.chroma_table
        tables[model.name] = (tuple(q[0]), tuple(q[1]))
        want = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}[model.subsampling]
        assert samplings[model.name] == want
    assert len(set(tables.values())) == len(tables)


def _cfa_from_flat_raw(raw: np.ndarray) -> str:
    """Blind read of the CFA: under a red-orange light, R sites are brightest, B darkest."""
    means = [raw[dy::2, dx::2].mean() for dy in (0, 1) for dx in (0, 1)]
    order = np.argsort(means)
    out = ["G"] * 4
    out[order[-1]], out[order[0]] = "R", "B"
    return "".join(out)


def test_cfa_pattern_recoverable_from_raw_mosaic():
    params = VirtualCamerasParams(models=12, devices_per_model=1, images_per_device=1, size=64)
    side = params.size + 8
    flat = np.empty((side, side, 3), np.float32)
    flat[:] = (0.8, 0.3, 0.05)
    for m, (model, _) in enumerate(design_cameras(params)):
        shot = debug_capture(params, m, 0, 0, scene=flat)
        assert shot["raw"].shape == (64, 64)
        assert _cfa_from_flat_raw(shot["raw"]) == model.cfa


def test_demosaic_keeps_samples_and_reconstructs_smooth_images():
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.random((48, 48, 3)).astype(np.float32), (0, 0), 2.5)
    for pattern in CFA_PATTERNS:
        raw = mosaic(img, pattern)
        for algo in DEMOSAIC:
            out = demosaic(raw, pattern, algo)
            for k, ch in enumerate(pattern):
                dy, dx = divmod(k, 2)
                c = "RGB".index(ch)
                np.testing.assert_allclose(out[dy::2, dx::2, c], raw[dy::2, dx::2], atol=1e-6)
            assert np.abs(out - img)[4:-4, 4:-4].mean() < 0.01, (pattern, algo)
    with pytest.raises(ValueError, match="demosaic"):
        demosaic(raw, "RGGB", "nearest")


def _residual(raw: np.ndarray) -> np.ndarray:
    """Noise residual of a flat-field mosaic, per CFA phase, relative to its level."""
    out = np.empty_like(raw)
    for dy in (0, 1):
        for dx in (0, 1):
            sub = raw[dy::2, dx::2]
            out[dy::2, dx::2] = sub / cv2.GaussianBlur(sub, (0, 0), 3) - 1
    return out


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def test_devices_of_one_model_differ_in_prnu():
    n = 24
    params = VirtualCamerasParams(models=2, devices_per_model=2, images_per_device=n, size=128)
    side = params.size + 8
    flat = np.full((side, side, 3), 0.5, np.float32)
    for m in range(params.models):
        res = {
            d: [_residual(debug_capture(params, m, d, i, scene=flat)["raw"]) for i in range(n)]
            for d in (0, 1)
        }
        # Fingerprints (mean residuals) from disjoint shots: device 0 matches itself, not device 1.
        a1, a2 = np.mean(res[0][: n // 2], axis=0), np.mean(res[0][n // 2 :], axis=0)
        b1 = np.mean(res[1][: n // 2], axis=0)
        same, other = _corr(a1, a2), _corr(a1, b1)
        assert same > 0.08 and abs(other) < 0.03 and same > 4 * abs(other), (m, same, other)
        p0 = debug_capture(params, m, 0, 0)["prnu"]
        p1 = debug_capture(params, m, 1, 0)["prnu"]
        assert abs(_corr(p0, p1)) < 0.05


def test_debug_capture_matches_dataset_file(tiny_root):
    shot = debug_capture(TINY, 1, 1, 2)
    assert shot["jpeg"] == (tiny_root / "vcam02" / "vcam02-d2-0002.jpg").read_bytes()
    with Image.open(io.BytesIO(shot["jpeg"])) as im:
        assert im.size == (96, 96)
    assert shot["image"].dtype == np.uint8 and shot["image"].shape == (96, 96, 3)


def test_shots_share_one_exposure_and_white_balance_range(tiny_root):
    meta = json.loads((tiny_root / "metadata.json").read_text())
    lo, hi = TINY.exposure_ev
    s = TINY.illuminant_spread
    for shot in meta["shots"]:
        assert lo <= shot["ev"] <= hi
        r, g, b = shot["illuminant"]
        assert g == 1.0 and 2**-s <= r <= 2**s and 2**-s <= b <= 2**s


def test_cli_build_dataset(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = [
        "build-dataset",
        "virtual-cameras",
        "--out",
        str(out),
        "--models",
        "2",
        "--devices",
        "1",
        "--images",
        "2",
        "--size",
        "64",
        "--quiet",
    ]
    assert main(argv) == 0
    assert len(list(out.glob("vcam0*/*.jpg"))) == 4
    assert main(argv) == 0  # no-op rerun
    assert (
        main(
            [
                "build-dataset",
                "virtual-cameras",
                "--out",
                str(tmp_path / "bad"),
                "--size",
                "10",
                "--quiet",
            ]
        )
        == 2
    )
    assert "build-dataset virtual-cameras.size: must be an integer 64..4096, got 10" in (
        capsys.readouterr().err
    )


def test_config_kind_virtual_cameras_resolves_to_sources(tmp_path):
    from degradebench.generators.config import parse_config
    from degradebench.generators.plan import resolve_sources

    text = f"""
version: 1
datasets:
  vc:
    kind: virtual-cameras
    root: {tmp_path / "vc"}
    models: 2
    devices_per_model: 1
    images_per_device: 5
    size: 64
suites: {{}}
"""
    name, refs = resolve_sources(parse_config(text), "vc", progress=False)
    assert name == "vc" and len(refs) == 10
    assert {r.label for r in refs} == {"vcam01", "vcam02"}
    # Folds never split a scene: both cameras' shots of one scene share a fold.
    fold_of_scene = {}
    for r in refs:
        assert fold_of_scene.setdefault(r.group, r.fold) == r.fold
    assert 0 in fold_of_scene.values()
