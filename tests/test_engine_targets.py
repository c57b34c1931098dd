"""Issue 14, points 1 and 3 (manifest side): task targets derived from the recipe on hand-built
chains through ``generate``, and masks written beside the variants as 1-bit PNGs that ``verify``
re-hashes."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import jpeg_bytes, photo, png_bytes
from degradebench.generators import generate, read_manifest, verify
from degradebench.generators.axes import AXES
from degradebench.generators.axes._base import AxisDef, Level
from degradebench.generators.config import default_config_path
from degradebench.generators.core.errors import OpError
from degradebench.generators.core.records import record
from degradebench.generators.inmemory import apply_chain
from degradebench.generators.manifest import (
    MANIFEST_SCHEMA,
    mask_files,
    mask_path,
    read_mask_png,
)
from degradebench.generators.manifest.targets import TARGET_COLUMNS
from degradebench.generators.ops import OPS, OpDef, Step
from degradebench.generators.ops.crop import CropParams
from degradebench.generators.ops.jpeg import JpegParams
from degradebench.generators.ops.png import PngParams
from PIL import Image

SHIPPED = yaml.safe_load(default_config_path().read_text())
NEW = ("manipulated", "manipulation", "double_compressed", "aligned", "primary_quality", "hops",
       "platform", "mask_path", "mask_sha256", "mask_fraction", "source_mask_path")  # fmt: skip


def _run(tmp_path: Path, axes: dict, sources: dict[str, bytes]) -> tuple[Path, object]:
    root = tmp_path / "data"
    (root / "cam").mkdir(parents=True)
    for name, data in sources.items():
        (root / "cam" / name).write_bytes(data)
    cfg = {
        "version": 1,
        "presets": SHIPPED["presets"],
        "datasets": {"t": {"kind": "folder", "root": str(root), "folds": 1}},
        "suites": {"s": {"seed": 0, "axes": axes}},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = tmp_path / "o"
    generate(config=path, dataset="t", suite="s", out=out, psnr=False, progress=False)
    df = read_manifest(out)
    return out, df.assign(name=df.source_path.map(lambda p: Path(p).name))


def _one(df, name: str, axis: str, **params):
    rows = df[(df.name == name) & (df.axis == axis)]
    rows = [r for r in rows.itertuples() if all(json.loads(r.axis_params).get(k) == v
                                                  for k, v in params.items())]  # fmt: skip
    assert len(rows) == 1, (name, axis, params, len(rows))
    return rows[0]


def test_new_columns_are_appended_after_every_old_one() -> None:
    names = MANIFEST_SCHEMA.names
    later = ("codec_info",)  # issue 13's addition comes after issue 14's block
    assert tuple(names[-len(later) :]) == later
    names = names[: -len(later)]
    assert (
        tuple(names[-len(NEW) :]) == NEW and names.index("source_jpeg_history") == len(names) - 12
    )
    assert set(TARGET_COLUMNS) <= set(NEW)


def test_targets_of_hand_built_chains(tmp_path: Path) -> None:
    axes = {
        "clean": {},
        "jpeg": {"qualities": [80]},
        "double_jpeg": {"q1": [70], "q2": [90], "shifts": [[0, 0], [3, 5]]},
        "social": {"type": "social", "presets": ["whatsapp-like", "twitter-like"], "hops": [1, 2]},
    }
    sources = {
        "p.png": png_bytes(photo("astronaut", 96)),
        "j.jpg": jpeg_bytes(photo("coffee", 96), 92),
    }
    out, df = _run(tmp_path, axes, sources)
    assert not df.manipulated.any() and (df.manipulation == "none").all()
    assert df.mask_path.isna().all() and df.source_mask_path.isna().all()
    assert df.mask_sha256.isna().all() and df.mask_fraction.isna().all()
    clean = _one(df, "p.png", "clean")  # no JPEG anywhere
    assert (clean.double_compressed, clean.hops) == (False, 0)
    assert pd_null(clean.aligned) and pd_null(clean.primary_quality) and pd_null(clean.platform)
    single = _one(df, "p.png", "jpeg")
    assert (single.jpeg_passes, single.double_compressed, single.primary_quality) == (1, False, 80)
    assert pd_null(single.aligned) and single.hops == 0 and pd_null(single.platform)
    rows = df[(df.name == "p.png") & (df.axis == "double_jpeg")]
    by_shift = {tuple(json.loads(r.axis_params)["shift"]): r for r in rows.itertuples()}
    assert set(by_shift) == {(0, 0), (3, 5)}
    assert (by_shift[0, 0].double_compressed, by_shift[0, 0].aligned) == (True, True)
    assert (by_shift[3, 5].double_compressed, by_shift[3, 5].aligned) == (True, False)
    assert {r.primary_quality for r in by_shift.values()} == {70}
    # a JPEG source at Q92: its own pass counts, and is the primary quality
    rej = _one(df, "j.jpg", "jpeg")
    assert (rej.double_compressed, rej.aligned, rej.primary_quality) == (True, True, 92)
    jclean = _one(df, "j.jpg", "clean")
    assert (jclean.double_compressed, jclean.primary_quality) == (False, 92)
    social = df[(df.name == "p.png") & (df.axis == "social")]
    got = sorted((r.platform, r.hops) for r in social.itertuples())
    want = sorted((p, h) for p in ("twitter-like", "whatsapp-like") for h in (1, 2))
    assert got == want
    for r in social.itertuples():  # a hop is a preset's encoder in the chain, skipped or not
        steps = json.loads(r.chain)
        assert sum(s["op"] == "jpeg" and s.get("preset") == r.platform for s in steps) == r.hops
    assert verify(out).ok


def pd_null(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


# --- masks ------------------------------------------------------------------------------------


@record
class _MarkParams:
    top: int = 8
    source: bool = True  # also a copied-from region (run_chain moves it with geometric ops)


@record
class _MarkedAxis:
    save: str = "png"


def _mark(state, p, backend):
    h, w = state.pixels.shape[:2]
    mask = np.zeros((h, w), bool)
    mask[p.top : p.top + 20, 10:40] = True
    source = np.zeros((h, w), bool)
    source[50:70, 40:70] = True
    if not p.source:
        return state.replace(mask=mask)
    return state.replace(mask=mask, meta={**state.meta, "source_mask": source})


class _ManipulationOp(OpDef):
    manipulation = True  # what a manipulation op outside MANIPULATION_OPS declares


def _plan_marked(p, ctx) -> list[Level]:
    mark = Step("test_mark", "numpy", _MarkParams(8, False))
    crop = Step("crop", "numpy", CropParams(top=3, left=5))
    levels = [Level("png", None, {}, (mark, crop, Step("png", "pillow", PngParams())), "png")]
    jpeg = Step("jpeg", "pillow", JpegParams(quality=90))
    mark = Step("test_mark", "numpy", _MarkParams(8))
    levels.append(Level("jpeg", None, {}, (mark, jpeg), "jpeg"))
    return levels


@pytest.fixture()
def masked_run(tmp_path: Path, monkeypatch):
    op = _ManipulationOp("test_mark", _MarkParams, ("numpy",), _mark, mask="geometric")
    monkeypatch.setitem(OPS._items, "test_mark", op)
    monkeypatch.setitem(AXES._items, "marked", AxisDef("marked", _MarkedAxis, _plan_marked))
    axes = {"marked": {}, "clean": {}}
    return _run(tmp_path, axes, {"p.png": png_bytes(photo("astronaut", 96))})


def test_masks_are_written_as_1bit_pngs_the_size_of_the_output(masked_run) -> None:
    out, df = masked_run
    full = np.zeros((96, 96), bool)
    full[8:28, 10:40] = True
    source = np.zeros((96, 96), bool)
    source[50:70, 40:70] = True
    expected = {"png": (full[3:, 5:], None), "jpeg": (full, source)}
    for level, (mask, src_mask) in expected.items():
        row = df[df.level == level].iloc[0]
        assert row.manipulated and row.manipulation == "test_mark"
        assert row.mask_path == mask_path(row.path) and row.mask_path.startswith("masks/")
        data = (out / row.mask_path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row.mask_sha256
        with Image.open(io.BytesIO(data)) as im:
            assert im.format == "PNG" and im.mode == "1" and im.size == (row.width, row.height)
        np.testing.assert_array_equal(read_mask_png(data), mask)
        assert row.mask_fraction == pytest.approx(mask.mean())
        if src_mask is None:
            assert pd_null(row.source_mask_path)
            continue
        assert row.source_mask_path == mask_path(row.path, "_source")
        np.testing.assert_array_equal(
            read_mask_png((out / row.source_mask_path).read_bytes()), src_mask
        )
    clean = df[df.axis == "clean"].iloc[0]
    assert not clean.manipulated and clean.manipulation == "none" and pd_null(clean.mask_path)
    report = verify(out)
    assert report.ok and report.orphans == [], report.problems


def test_verify_fails_on_a_corrupted_mask_and_lists_orphan_masks(masked_run) -> None:
    out, df = masked_run
    row = df[df.level == "jpeg"].iloc[0]
    target = out / row.mask_path
    flipped = ~read_mask_png(target.read_bytes())
    buf = io.BytesIO()
    Image.fromarray(flipped).save(buf, "PNG")
    target.write_bytes(buf.getvalue())
    (out / "masks" / "stray.png").write_bytes(buf.getvalue())
    (out / row.source_mask_path).unlink()
    report = verify(out)
    assert not report.ok
    assert any("mask_path" in p and "sha256" in p for p in report.problems), report.problems
    assert any("source_mask_path" in p and "missing" in p for p in report.problems)
    assert report.orphans == ["masks/stray.png"]


def test_a_mask_changes_no_variant_byte(masked_run) -> None:
    out, df = masked_run
    row = df[df.level == "jpeg"].iloc[0]
    # the mark op moves no pixel: the variant is the plain JPEG of the source, byte for byte
    plain = apply_chain(row.source_path, [{"op": "jpeg", "params": {"quality": 90}}])
    assert hashlib.sha256(plain).hexdigest() == row.sha256


def test_a_source_mask_left_at_another_size_is_not_written() -> None:
    from degradebench.generators.ops import ImageState

    mask = np.zeros((6, 9), bool)
    mask[1:3, 2:5] = True
    meta = {"source_mask": np.ones((8, 9), bool)}
    state = ImageState(pixels=None, mask=mask, meta=meta)
    cols, files = mask_files("variants/s/a/l.jpg", state, (6, 9), "v")
    assert cols["source_mask_path"] is None and list(files) == ["masks/s/a/l.png"]
    assert cols["mask_fraction"] == pytest.approx(6 / 54)
    np.testing.assert_array_equal(read_mask_png(files["masks/s/a/l.png"]), mask)
    with pytest.raises(OpError, match="6x9"):
        mask_files("variants/s/a/l.jpg", state, (9, 6), "v")
