"""Issue 14, point 2: the ``splice`` op (a donor's region pasted into the host, exact mask,
donor_chain and grid snapping), donor delivery by plan_all / execute (fold peers only, a bad or
missing donor fails only its variants) and the in-memory ``donors=``."""

from __future__ import annotations

import dataclasses
import io
import json
import pickle
from pathlib import Path

import cv2
import degradebench as db
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import photo, png_bytes
from degradebench.generators import generate, read_manifest, verify
from degradebench.generators.axes import AXES, AxisDef, Level, PlanContext
from degradebench.generators.axes._base import output_step
from degradebench.generators.config import load_config
from degradebench.generators.core.errors import OpError, ParamError
from degradebench.generators.core.records import record
from degradebench.generators.datasets import SourceRef
from degradebench.generators.execute import execute_source
from degradebench.generators.inmemory import apply_chain
from degradebench.generators.manifest import read_mask_png
from degradebench.generators.ops import ImageState, Step, make_step, run_chain
from degradebench.generators.ops.jpeg import decode_pillow
from degradebench.generators.ops.regions import Region, RelRegion
from degradebench.generators.ops.splice import SpliceParams, splice_opencv, splice_placement
from degradebench.generators.plan import plan_all, source_digest
from PIL import Image

RECT = Region("rect", 10, 12, 20, 24)


def _noise(h: int, w: int, seed: int, gray: bool = False) -> np.ndarray:
    shape = (h, w) if gray else (h, w, 3)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _params(**kw) -> SpliceParams:
    base = {"region": RECT, "donor_source_id": "d", "donor_top": 30, "donor_left": 40}
    return SpliceParams(**{**base, **kw})


# --- the op: exact mask, untouched outside, donor pixels inside -------------------------------


def test_mask_marks_exactly_the_pasted_pixels_and_nothing_else_changes() -> None:
    host, donor = _noise(64, 80, 1), _noise(96, 96, 2)
    out, mask = splice_opencv(host, donor, _params())
    expected = np.zeros((64, 80), bool)
    expected[10:30, 12:36] = True
    assert np.array_equal(mask, expected)
    assert np.array_equal(out[10:30, 12:36], donor[30:50, 40:64])  # the donor box, exactly
    assert np.array_equal(out[~mask], host[~mask])
    assert host.flags.writeable and not np.shares_memory(out, host)


def test_ellipse_with_feather_changes_only_inside_its_shape() -> None:
    host, donor = _noise(64, 64, 3), _noise(64, 64, 4)
    region = Region("ellipse", 8, 6, 30, 40, feather=3.0)
    out, mask = splice_opencv(host, donor, _params(region=region, donor_top=2, donor_left=5))
    ys, xs = np.mgrid[0:64, 0:64] + 0.5  # pixel centres inside the inscribed ellipse
    inside = ((ys - 8 - 15) / 15) ** 2 + ((xs - 6 - 20) / 20) ** 2 <= 1
    assert np.array_equal(mask, inside)
    assert np.array_equal(out[~mask], host[~mask])
    core = np.zeros_like(mask)
    core[8 + 15, 6 + 20] = True  # the centre is further than feather + 1 from the border
    assert np.array_equal(out[core], donor[2 + 15, 5 + 20][None])


def test_relative_region_and_positions_resolve_on_host_and_donor() -> None:
    host, donor = _noise(60, 100, 5), _noise(90, 70, 6)
    p = SpliceParams(
        RelRegion("rect", 0.0, 0.0, 0.5, 0.4), donor_source_id="d", donor_y=1.0, donor_x=0.5,
        dst_y=0.5, dst_x=1.0,
    )  # fmt: skip
    region, dtop, dleft = splice_placement((60, 100), (90, 70), p)
    # sides on the host's shorter side (60): 30 x 24; free ranges host 30 x 76, donor 60 x 46
    assert (region.height, region.width, region.top, region.left) == (30, 24, 15, 76)
    assert (dtop, dleft) == (60, 23)
    out, mask = splice_opencv(host, donor, p)
    assert np.array_equal(out[15:45, 76:100], donor[60:90, 23:47]) and mask.sum() == 30 * 24


def test_gray_host_takes_a_gray_donor_and_rgb_host_a_gray_one() -> None:
    gray_host, rgb_donor = _noise(48, 48, 7, gray=True), _noise(48, 48, 8)
    p = _params(region=Region("rect", 0, 0, 16, 16), donor_top=0, donor_left=0)
    out, _ = splice_opencv(gray_host, rgb_donor, p)
    luma = np.asarray(Image.fromarray(rgb_donor).convert("L"))
    assert out.ndim == 2 and np.array_equal(out[:16, :16], luma[:16, :16])
    out, _ = splice_opencv(rgb_donor, gray_host, p)
    assert out.shape == (48, 48, 3) and np.array_equal(out[:16, :16, 2], gray_host[:16, :16])


def test_splice_is_deterministic_and_leaves_its_inputs_alone() -> None:
    host, donor = _noise(64, 64, 9), _noise(64, 64, 10)
    host.setflags(write=False)
    donor.setflags(write=False)
    p = _params(region=Region("blob", 4, 4, 40, 40, harmonics=((0.3, 10.0),)), donor_top=3,
                donor_left=9, donor_chain=({"op": "jpeg", "quality": 60},), grid="shifted")  # fmt: skip
    a, b = splice_opencv(host, donor, p), splice_opencv(host.copy(), donor.copy(), p)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


# --- donor_chain and the grid -------------------------------------------------------------------


def _phase(gray: np.ndarray) -> tuple[int, int]:
    """The 8x8 phase at which the block DCT of ``gray`` has the most zero AC coefficients (a
    JPEG's grid: its quantised coefficients are exactly there)."""
    scores = {}
    for r in range(8):
        for c in range(8):
            h, w = (gray.shape[0] - r) // 8 * 8, (gray.shape[1] - c) // 8 * 8
            blocks = gray[r : r + h, c : c + w].reshape(h // 8, 8, w // 8, 8).swapaxes(1, 2)
            zeros = [np.abs(cv2.dct(b - 128.0).ravel()[1:]) < 0.5 for row in blocks for b in row]
            scores[(r, c)] = float(np.mean(zeros))
    return max(scores, key=scores.get)


@pytest.mark.parametrize(("grid", "shift"), [("aligned", (4, 4)), ("shifted", (3, 5))])
def test_donor_chain_jpeg_grid_lands_where_grid_says(grid: str, shift: tuple[int, int]) -> None:
    donor = photo("astronaut", 96)
    host = np.full((128, 128, 3), 128, np.uint8)
    p = _params(region=Region("rect", 37, 21, 64, 64), donor_top=13, donor_left=6, grid=grid,
                shift=shift, donor_chain=({"op": "jpeg", "quality": 50, "subsampling": "4:4:4"},))  # fmt: skip
    out, mask = splice_opencv(host, donor, p)
    ys, xs = np.nonzero(mask)
    top, left = int(ys.min()), int(xs.min())
    want = (0, 0) if grid == "aligned" else shift
    assert ((top - 13) % 8, (left - 6) % 8) == want
    assert abs(top - 37) <= 4 and abs(left - 21) <= 4  # the nearest such place
    # the JPEG'd donor's own grid, found in the host's pixels, sits at the requested phase
    buf = io.BytesIO()
    Image.fromarray(donor).save(buf, "JPEG", quality=50, subsampling=0)
    jpeg_donor = decode_pillow(buf.getvalue())
    assert np.array_equal(out[top : top + 64, left : left + 64], jpeg_donor[13:77, 6:70])
    y = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float32)
    r, c = _phase(y[top : top + 64, left : left + 64])
    assert ((top + r) % 8, (left + c) % 8) == want


@pytest.mark.parametrize("grid", ["aligned", "shifted"])
def test_grid_snap_picks_the_nearest_valid_position(grid: str) -> None:
    shift = (2, 7)
    for dst_top in range(0, 41, 3):
        for donor_top in (0, 5, 11):
            p = _params(region=Region("rect", 0, 0, 24, 24), donor_top=donor_top, donor_left=3,
                        dst_top=dst_top, dst_left=17, grid=grid, shift=shift)  # fmt: skip
            region, _, _ = splice_placement((64, 70), (40, 40), p)
            phase = (0, 0) if grid == "aligned" else shift
            rows = [t for t in range(64 - 24 + 1) if (t - donor_top) % 8 == phase[0]]
            cols = [t for t in range(70 - 24 + 1) if (t - 3) % 8 == phase[1]]
            assert region.top == min(rows, key=lambda t: (abs(t - dst_top), t))
            assert region.left == min(cols, key=lambda t: (abs(t - 17), t))


# --- errors name the thing and the fix ------------------------------------------------------------


def test_errors_name_the_donor_sizes_and_fix() -> None:
    host = _noise(64, 64, 11)
    with pytest.raises(
        OpError, match=r"donor 'd' is 15x30 \(after donor_chain\), smaller than the 20x24"
    ):
        splice_opencv(host, _noise(15, 30, 12), _params(donor_top=0, donor_left=0))
    with pytest.raises(OpError, match="free range is under 8 px"):
        splice_opencv(host, _noise(80, 64, 13),
                      _params(region=Region("rect", 0, 0, 60, 20), donor_top=6, donor_left=0,
                              grid="aligned"))  # fmt: skip
    state = ImageState(pixels=host, meta={"donors": {"other": host}})
    with pytest.raises(
        OpError, match=r"donor 'd' was not delivered.*donors=\{'d': array or path\}"
    ):
        run_chain(state, [Step("splice", "opencv", _params())])
    note = "no other source with another label in fold 2"
    none = SpliceParams(RECT, donor_note=note)
    with pytest.raises(OpError, match=f"no donor: {note}"):
        run_chain(state, [Step("splice", "opencv", none)])
    with pytest.raises(ParamError, match="shift: .0, 0. is the aligned grid"):
        _params(shift=(0, 0))
    with pytest.raises(ParamError, match="give donor_top and donor_left"):
        SpliceParams(RECT, donor_source_id="d", donor_top=3)
    with pytest.raises(ParamError, match="give dst_top and dst_left"):
        _params(dst_y=0.5)
    with pytest.raises(ParamError, match=r"donor_chain\[0\]\.op: unknown op"):
        _params(donor_chain=({"op": "jepg"},))


# --- in memory: apply_chain(donors=) ----------------------------------------------------------


def test_apply_chain_takes_donors_as_arrays_or_paths(tmp_path: Path) -> None:
    host, donor = photo("astronaut", 64), photo("coffee", 80, 10, 20)
    step = make_step({"op": "splice", "region": {"shape": "rect", "top": 8, "left": 8,
                      "height": 24, "width": 24}, "donor_source_id": "abc", "donor_top": 4,
                      "donor_left": 4})  # fmt: skip
    chain = json.dumps([step.to_json(), {"op": "png", "params": {}}])
    got = db.apply_chain(host, chain, donors={"abc": donor})
    (tmp_path / "d.png").write_bytes(png_bytes(donor))
    assert got == db.apply_chain(host, chain, donors={"abc": tmp_path / "d.png"})
    px = decode_pillow(got)
    assert np.array_equal(px[8:32, 8:32], donor[4:28, 4:28])
    with pytest.raises(OpError, match=r"donor 'abc' was not delivered.*donors="):
        apply_chain(host, chain)


# --- planning: peers are the host's fold, sorted; jobs carry their donors ------------------------


@record
class _ProbeParams:
    """A test-only axis: one splice from the first fold peer with another label."""

    grid: str = "any"


def _plan_probe(p: _ProbeParams, ctx: PlanContext) -> list[Level]:
    others = [q for q in ctx.peers if q.label != ctx.label or q.label is None]  # None: unknown
    donor = others[0].source_id if others else None
    note = None if others else f"no other source with another label in fold {ctx.fold}"
    params = SpliceParams(
        RelRegion("ellipse", 0.3, 0.6, 0.45, 0.4), donor_source_id=donor, donor_y=0.2,
        donor_x=0.7, donor_chain=(make_step({"op": "jpeg", "quality": 70}),), grid=p.grid,
        donor_note=note,
    )  # fmt: skip
    axis_params = {"fold": ctx.fold, "label": ctx.label,
                   "peers": [[q.source_id, q.label, q.fold] for q in ctx.peers]}  # fmt: skip
    chain = (Step("splice", "opencv", params), output_step("png", None, "4:2:0", "pillow"))
    return [Level("splice", None, axis_params, chain, "splice")]


@pytest.fixture
def probe_axis(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(
        AXES._items, "splice_probe", AxisDef("splice_probe", _ProbeParams, _plan_probe)
    )
    return "splice_probe"


def _images(root: Path) -> dict[str, Path]:
    """Five distinct small photos: cam_a/a1..a3 and cam_b/b1, b2 (PNG)."""
    crops = {"cam_a/a1": ("astronaut", 0, 0), "cam_a/a2": ("astronaut", 90, 150),
             "cam_a/a3": ("coffee", 30, 40), "cam_b/b1": ("chelsea", 20, 30),
             "cam_b/b2": ("coffee", 150, 200)}  # fmt: skip
    paths = {}
    for name, (img, top, left) in crops.items():
        path = root / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(photo(img, 72, top, left)))
        paths[name] = path
    return paths


def _config(tmp_path: Path, root: Path, folds: int = 2, grid: str = "aligned") -> Path:
    cfg = {
        "version": 1,
        "datasets": {"t": {"kind": "folder", "root": str(root), "folds": folds}},
        "suites": {"s": {"seed": 5, "axes": {"splice": {"type": "splice_probe", "grid": grid}}}},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _refs(paths: dict[str, Path], folds: dict[str, int]) -> list[SourceRef]:
    return [SourceRef(str(paths[n]), n.split("/")[0], n, n, folds[n]) for n in sorted(folds)]


# fold 0: a1 (cam_a), b1 (cam_b); fold 1: a2, a3 (cam_a only: no donor), b2 alone in fold 2.
FOLDS = {"cam_a/a1": 0, "cam_b/b1": 0, "cam_a/a2": 1, "cam_a/a3": 1, "cam_b/b2": 2}


def test_plan_all_passes_fold_peers_only_and_jobs_carry_their_donors(
    tmp_path: Path, probe_axis: str
) -> None:
    paths = _images(tmp_path / "data")
    suite = load_config(_config(tmp_path, tmp_path / "data")).suite("s")
    refs = _refs(paths, FOLDS)
    jobs, skipped, dups = plan_all(refs, suite, "t", tmp_path / "out", progress=False)
    assert (len(jobs), skipped, dups) == (5, 0, 0)
    sid = {r.key: source_digest(r)[:16] for r in refs}
    by_id = {j.source_id: j for j in jobs}
    for ref in refs:
        job = by_id[sid[ref.key]]
        (plan,) = [p for p in job.plans if p.axis == "splice"]
        peers = plan.axis_params["peers"]
        want = sorted((sid[r.key], r.label, r.fold) for r in refs
                      if r.fold == ref.fold and r.key != ref.key)  # fmt: skip
        assert [tuple(q) for q in peers] == want  # same fold, self excluded, sorted by id
        assert (plan.axis_params["fold"], plan.axis_params["label"]) == (ref.fold, ref.label)
        donor = plan.chain[0].params.donor_source_id
        if donor is None:
            assert job.donors == () and ref.fold in (1, 2)
        else:
            donor_ref = next(r for r in refs if sid[r.key] == donor)
            assert donor_ref.fold == ref.fold and donor_ref.label != ref.label
            assert job.donors == ((donor, donor_ref.path, source_digest(donor_ref)),)
        assert pickle.loads(pickle.dumps(job)) == job  # jobs travel to joblib / Dask workers
    # the same listing plans the same chains (donor choice is deterministic)
    again, _, _ = plan_all(list(reversed(refs)), suite, "t", tmp_path / "out", progress=False)
    assert sorted((j.source_id, j.plans, j.donors) for j in again) == sorted(
        (j.source_id, j.plans, j.donors) for j in jobs
    )


def test_execute_fails_only_the_variants_without_a_usable_donor(
    tmp_path: Path, probe_axis: str
) -> None:
    paths = _images(tmp_path / "data")
    suite = load_config(_config(tmp_path, tmp_path / "data")).suite("s")
    refs = _refs(paths, FOLDS)
    out = tmp_path / "out"
    jobs, _, _ = plan_all(refs, suite, "t", out, progress=False)
    by_key = {j.ref.key: j for j in jobs}
    # a1's donor is b1; b1's file changes after planning: a1's splice fails, a1 itself does not
    paths["cam_b/b1"].write_bytes(png_bytes(photo("chelsea", 72, 21, 30)))
    n, errors, planned = execute_source(by_key["cam_a/a1"], str(out), False, {})
    assert (n, planned) == (1, 2)  # the clean reference is made, the splice is not
    (err,) = errors
    donor = by_key["cam_a/a1"].donors[0][0]
    assert err["stage"] == "variant" and err["variant"] == "splice/splice"
    assert donor in err["message"] and str(paths["cam_b/b1"]) in err["message"]
    assert "changed since it was hashed" in err["message"]
    # a2 has no donor in its fold: the note is the reason, the host's other variants are made
    n, errors, planned = execute_source(by_key["cam_a/a2"], str(out), False, {})
    assert (n, planned) == (1, 2)
    assert "no donor: no other source with another label in fold 1" in errors[0]["message"]


def _check_run(out: Path, summary: object) -> int:
    """Every host with another-label source in its fold has a splice from one of them (mask
    exact, pixels outside it untouched), every other host an error row; returns the errors."""
    df = read_manifest(out)
    src = df[df.axis == "clean"].set_index("source_id")
    spl = df[df.axis == "splice"].set_index("source_id")
    errs = pd.read_parquet(out / "errors.parquet").set_index("source_id")
    assert summary.failed_variants == len(errs) and len(spl) + len(errs) == len(src)
    for sid, host in src.iterrows():
        has_donor = ((src.fold == host.fold) & (src.label != host.label)).any()
        if not has_donor:
            e = errs.loc[sid]
            assert e.stage == "variant" and e.variant == "splice/splice"
            assert f"no donor: no other source with another label in fold {host.fold}" in e.message
            continue
        r = spl.loc[sid]
        assert r.manipulated and r.manipulation == "splice"
        (step,) = [st for st in json.loads(r.chain) if st["op"] == "splice"]
        prm = step["params"]
        assert set(prm) >= {"donor_source_id", "region", "donor_chain", "grid", "donor_y"}
        assert prm["grid"] == "aligned" and prm["donor_chain"][0]["op"] == "jpeg"
        donor = src.loc[prm["donor_source_id"]]
        assert donor.fold == host.fold and donor.label != host.label  # never another fold
        mask = read_mask_png((out / r.mask_path).read_bytes())
        assert mask.mean() == pytest.approx(r.mask_fraction) and 0 < r.mask_fraction < 0.5
        diff = np.any(decode_pillow((out / r.path).read_bytes())
                      != decode_pillow((out / host.path).read_bytes()), axis=-1)  # fmt: skip
        assert not diff[~mask].any() and diff[mask].mean() > 0.5
    assert verify(out).ok
    return len(errs)


def test_generate_writes_splices_with_masks_and_records_missing_donors(
    tmp_path: Path, probe_axis: str
) -> None:
    paths = _images(tmp_path / "data")
    paths.pop("cam_a/a3").unlink()  # 2 labels x 2 images
    cfg = _config(tmp_path, tmp_path / "data")
    out = tmp_path / "o"
    s = generate(config=cfg, dataset="t", suite="s", out=out, psnr=False, progress=False, jobs=2)
    _check_run(out, s)
    # one image less: the folds change, a host may be left alone with its label (an error row)
    paths.pop("cam_b/b2").unlink()
    out = tmp_path / "o3"
    s = generate(config=cfg, dataset="t", suite="s", out=out, psnr=False, progress=False, jobs=1)
    assert _check_run(out, s) == 1  # (with today's fold assignment: a1 alone in fold 1)


def test_variants_in_memory_without_donors_names_the_fix(probe_axis: str, tmp_path: Path) -> None:
    spec = load_config(_config(tmp_path, tmp_path)).suite("s")
    host = photo("astronaut", 64)
    with pytest.raises(OpError, match=r"no donor: .*pass donors=\{source_id: array or path\}"):
        list(db.variants(host, suite=spec, source_id="h"))
    got = {lv: rec for lv, _, rec in db.variants(host, suite=spec, source_id="h",
                                                  donors={"d9": photo("coffee", 64)})}  # fmt: skip
    step = json.loads(got["splice"]["chain"])[1]
    assert step["op"] == "splice" and step["params"]["donor_source_id"] == "d9"
    assert got["splice"]["manipulation"] == "splice"


def test_chain_json_round_trips_the_donor_chain() -> None:
    p = _params(donor_chain=({"op": "jpeg", "quality": 70}, {"op": "decode"},
                             {"op": "resize", "scale": 0.9, "method": "bilinear"}))  # fmt: skip
    step = Step("splice", "opencv", p)
    back = make_step(json.loads(json.dumps(step.to_json())))
    assert back == step and hash(back) == hash(step)
    assert dataclasses.replace(p, grid="aligned") != p


def test_relative_region_is_sized_to_fit_a_smaller_donor() -> None:
    """A RelRegion is sized on the shorter side of host and donor: 0.8 of a 60 px donor is 48 px,
    not 0.8 of the 100 px host (which would not fit the donor)."""
    p = SpliceParams(
        RelRegion("rect", 0.5, 0.5, 0.8, 0.8), donor_source_id="d", donor_y=0.0, donor_x=0.0,
    )  # fmt: skip
    region, dtop, dleft = splice_placement((100, 100), (60, 60), p)
    assert (region.height, region.width) == (48, 48)
    assert (region.top, region.left) == (26, 26)  # floor(0.5 * (100 - 48))
    assert (dtop, dleft) == (0, 0)
    out, mask = splice_opencv(_noise(100, 100, 1), _noise(60, 60, 2), p)
    assert int(mask.sum()) == 48 * 48
