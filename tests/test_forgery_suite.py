"""Issue 14, points 2 and 4: the ``forgery`` and ``forgery-osn`` suites and the manipulate axis'
ladder and splice planning: run on ``samples`` and on the virtual cameras, masks that verify and
follow every later op, twins that differ only inside the mask, donors that are deterministic,
stay inside the host's fold and fall back (with a note) or fail (with an error row) as stated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import photo, png_bytes
from degradebench.cli import main
from degradebench.generators import generate, read_errors, read_manifest, verify
from degradebench.generators.axes import AXES, Peer, PlanContext
from degradebench.generators.config import default_config_path, load_config
from degradebench.generators.core.provenance import derive_seed
from degradebench.generators.core.records import from_mapping, to_plain
from degradebench.generators.manifest import read_mask_png
from degradebench.generators.ops import canonical_chain
from degradebench.generators.ops.jpeg import decode_pillow
from degradebench.generators.ops.splice import SpliceParams, splice_placement
from degradebench.generators.plan import plan_all, plan_source, resolve_sources
from degradebench.generators.virtual_cameras import VirtualCamerasParams

SHIPPED = yaml.safe_load(default_config_path().read_text())
OPS = {"splice", "copy_move", "inpaint", "retouch"}
# The tiny set of tests/test_virtual_cameras.py (built once per session): 3 models x 2 devices
# x 4 scenes at 96 px; with 4 folds by scene, each fold holds one scene of all 6 devices.
VC = VirtualCamerasParams(models=3, devices_per_model=2, images_per_device=4, size=96, seed=3)
LEVELS = {
    "forgery-jpeg": ["none", "quality=90", "quality=70", "quality=50"],
    "forgery-double-jpeg": ["aligned", "shifted"],
    "forgery-crop": ["dy=1,dx=1", "dy=3,dx=5", "dy=4,dx=4", "dy=8,dx=8"],
    "forgery-resize": ["scale=0.75", "scale=0.5"],
    "forgery-social": ["hops=1", "hops=2", "hops=3"],
}
CROPS = {"dy=1,dx=1": (1, 1), "dy=3,dx=5": (3, 5), "dy=4,dx=4": (4, 4), "dy=8,dx=8": (8, 8)}


def _config(tmp: Path, datasets: dict, suites: dict | None = None) -> Path:
    cfg = {
        "version": 1,
        "presets": SHIPPED["presets"],
        "datasets": datasets,
        "suites": suites or {k: SHIPPED["suites"][k] for k in ("forgery", "forgery-osn")},
    }
    path = tmp / "datasets.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _vc_config(tmp: Path, root: Path) -> Path:
    return _config(tmp, {"vc": {"kind": "list", "path": str(root / "list.csv"), "folds": 4}})


@pytest.fixture(scope="module")
def samples_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """The shipped forgery suite on fold 0 of ``samples``: an RGB photo, a JPEG photo and a
    gray texture (three labels, 300-640 px)."""
    out = tmp_path_factory.mktemp("forgery-samples") / "o"
    s = generate(dataset="samples", suite="forgery", out=out, folds=[0], psnr=False,
                 progress=False)  # fmt: skip
    assert s.failed_variants == s.failed_sources == 0 and read_errors(out).empty
    return out, read_manifest(out)


@pytest.fixture(scope="module")
def vc_run(tmp_path_factory: pytest.TempPathFactory, virtual_cameras) -> tuple[Path, pd.DataFrame]:
    """The shipped forgery suite on fold 0 of the tiny virtual cameras (6 JPEG sources)."""
    tmp = tmp_path_factory.mktemp("forgery-vc")
    path = _vc_config(tmp, virtual_cameras(VC))
    out = tmp / "o"
    s = generate(config=path, dataset="vc", suite="forgery", out=out, folds=[0], psnr=False,
                 progress=False)  # fmt: skip
    assert s.failed_variants == s.failed_sources == 0 and read_errors(out).empty
    return out, read_manifest(out)


def _pixels(out: Path, rel: str) -> np.ndarray:
    return decode_pillow((out / rel).read_bytes())


def _mask(out: Path, rel: str) -> np.ndarray:
    return read_mask_png((out / rel).read_bytes())


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    diff = a != b
    return diff.any(axis=-1) if diff.ndim == 3 else diff


def _splice(row) -> dict:
    return next(s["params"] for s in json.loads(row.chain) if s["op"] == "splice")


def _by_name(df: pd.DataFrame) -> dict[tuple[str, str, str], object]:
    """(source, axis, variant name) -> row; a twin is also found under each name of its
    ``twin_of`` prefixed ``twin:``."""
    rows = {}
    for r in df[df.axis != "clean"].itertuples():
        params = json.loads(r.axis_params)
        if r.manipulated:
            rows[(r.source_id, r.axis, f"{r.level}/{r.manipulation}")] = r
        else:
            for name in params["twin_of"]:
                rows[(r.source_id, r.axis, f"twin:{name}")] = r
    return rows


# --- the shipped suites --------------------------------------------------------------------


def test_shipped_forgery_suites_have_the_named_axes_levels_and_sizes() -> None:
    cfg = load_config()
    peers = (Peer("a" * 16, "cam-b", 0), Peer("b" * 16, "cam-a", 0))
    counts = {}
    for name in ("forgery", "forgery-osn", "manipulations"):
        plans = plan_source(cfg.suite(name), "0" * 16, label="cam-a", fold=0, peers=peers)
        counts[name] = len(plans)
        if name != "forgery":
            continue
        levels: dict[str, list[str]] = {}
        for pl in plans:
            if pl.axis != "clean" and pl.level not in levels.setdefault(pl.axis, []):
                levels[pl.axis].append(pl.level)
        assert levels == LEVELS
        values = {pl.level: pl.level_value for pl in plans if pl.axis != "clean"}
        assert values["quality=70"] == 70 and values["hops=3"] == 3 and values["scale=0.5"] == 0.5
        assert values["none"] is None and values["dy=3,dx=5"] is None
        for pl in plans:
            if pl.axis_params.get("manipulation") == "splice":
                size = pl.axis_params["region"]
                assert 0.25 <= size["size_h"] <= 0.45 and 0.25 <= size["size_w"] <= 0.45
                assert pl.axis_params["donor_source_id"] == "a" * 16  # the other label
    assert counts == {"forgery": 70, "forgery-osn": 36, "manipulations": 11}
    osn = [a for a in cfg.suite("forgery-osn").axes if a.type == "manipulate"]
    assert [r.name for r in osn[0].params.rungs] == ["none", *SHIPPED["presets"]]
    desc = cfg.suite("forgery").description
    assert all(word in desc for word in ("aligned", "shifted", "whatsapp-like", "twin"))


# --- runs on samples and on the virtual cameras --------------------------------------------


def _check_run(out: Path, df: pd.DataFrame) -> None:
    """Every level holds the four edits (splices only on forgery-double-jpeg) and a twin; every
    manipulated variant has a mask the size of its output that verify accepts."""
    assert verify(out).ok
    work = df[df.axis != "clean"]
    for (_, axis, level), rows in work.groupby(["source_id", "axis", "level"]):
        made = set(rows[rows.manipulated].manipulation)
        assert made == ({"splice"} if axis == "forgery-double-jpeg" else OPS), (axis, level)
        assert (~rows.manipulated).sum() == 1, (axis, level)
    _check_grid_twins(out, work)
    twins = _by_name(work)
    for r in work[work.manipulated].itertuples():
        assert (r.source_id, r.axis, f"twin:{r.level}/{r.manipulation}") in twins
        mask = _mask(out, r.mask_path)
        assert mask.shape == (r.height, r.width) and mask.any()
        assert mask.mean() == pytest.approx(r.mask_fraction)
    assert work[~work.manipulated].mask_path.isna().all()


def _check_grid_twins(out: Path, work: pd.DataFrame) -> None:
    """The aligned and shifted twins of a source: one each, the same bytes, their own ids and
    files (the two levels differ only in the splice grid, which a twin lacks)."""
    twins = work[(work.axis == "forgery-double-jpeg") & ~work.manipulated]
    for sid, rows in twins.groupby("source_id"):
        assert sorted(rows.level) == ["aligned", "shifted"], sid
        assert rows.variant_id.nunique() == 2 and rows.path.nunique() == 2, sid
        first, second = ((out / p).read_bytes() for p in rows.path)
        assert first == second, f"{sid}: the aligned and shifted twins differ"


def _check_donors(df: pd.DataFrame, folds: dict[str, int], labels: dict[str, str]) -> None:
    splices = df[df.manipulation == "splice"]
    assert len(splices) and {_splice(r)["donor_note"] for r in splices.itertuples()} == {None}
    for r in splices.itertuples():
        donor = _splice(r)["donor_source_id"]
        assert folds[donor] == folds[r.source_id] and labels[donor] != labels[r.source_id]


def test_forgery_runs_on_samples(samples_run) -> None:
    out, df = samples_run
    _check_run(out, df)
    assert df.source_id.nunique() == 3 and len(df) == 3 * 70
    src = df.drop_duplicates("source_id").set_index("source_id")
    _check_donors(df, src.fold.to_dict(), src.label.to_dict())


def test_forgery_runs_on_virtual_cameras(vc_run) -> None:
    out, df = vc_run
    _check_run(out, df)
    assert df.source_id.nunique() == 6 and len(df) == 6 * 70
    src = df.drop_duplicates("source_id").set_index("source_id")
    _check_donors(df, src.fold.to_dict(), src.label.to_dict())


@pytest.mark.parametrize("run", ["samples_run", "vc_run"])
def test_twin_differs_only_inside_the_mask(run: str, request: pytest.FixtureRequest) -> None:
    """On the lossless levels (``none``, the crops) a variant and its twin (same host, same later
    chain) differ inside the mask, and nowhere else."""
    out, df = request.getfixturevalue(run)
    twins = _by_name(df)
    lossless = df[df.manipulated & df.level.isin(["none", *CROPS])]
    assert len(lossless) == df.source_id.nunique() * 4 * 5
    for r in lossless.itertuples():
        twin = twins[(r.source_id, r.axis, f"twin:{r.level}/{r.manipulation}")]
        changed = _changed(_pixels(out, r.path), _pixels(out, twin.path))
        mask = _mask(out, r.mask_path)
        assert not changed[~mask].any(), f"{r.path}: pixels outside the mask changed"
        assert changed[mask].any(), f"{r.path}: nothing changed inside the mask"


def _nearest(mask: np.ndarray, h: int, w: int) -> np.ndarray:
    """Nearest neighbour by pixel centres, computed here in floats: output pixel i takes the
    input pixel whose cell holds its centre, (i + 0.5) * n_in / n_out."""
    rows = np.minimum(
        np.floor((np.arange(h) + 0.5) * mask.shape[0] / h).astype(int), mask.shape[0] - 1
    )
    cols = np.minimum(
        np.floor((np.arange(w) + 0.5) * mask.shape[1] / w).astype(int), mask.shape[1] - 1
    )
    return mask[rows][:, cols]


@pytest.mark.parametrize("run", ["samples_run", "vc_run"])
def test_masks_follow_crop_resize_and_hops(run: str, request: pytest.FixtureRequest) -> None:
    """The same edit at every level (shared draws): each level's mask is the ``none`` level's
    mask shifted by (dy, dx), resized by nearest neighbour, or kept by whatsapp-like hops (no
    resize below 1600 px); the cropped pixels are the ``none`` pixels cut."""
    out, df = request.getfixturevalue(run)
    rows = _by_name(df)
    checked = 0
    for r in df[df.manipulated & (df.axis != "forgery-double-jpeg")].itertuples():
        base = rows[(r.source_id, "forgery-jpeg", f"none/{r.manipulation}")]
        before = _mask(out, base.mask_path)
        mask = _mask(out, r.mask_path)
        if r.level in CROPS:
            dy, dx = CROPS[r.level]
            assert np.array_equal(mask, before[dy:, dx:]), r.path
            assert np.array_equal(_pixels(out, r.path), _pixels(out, base.path)[dy:, dx:])
        elif r.axis == "forgery-resize":
            assert (r.height, r.width) != before.shape
            assert np.array_equal(mask, _nearest(before, r.height, r.width)), r.path
        else:
            assert np.array_equal(mask, before), r.path
        checked += 1
    assert checked == df.source_id.nunique() * 4 * 13


def test_targets_on_the_ladder_levels(vc_run) -> None:
    """Virtual-camera sources are JPEG files: a JPEG output makes them double-compressed, on the
    grid of the source (no geometric step between the passes); a PNG output does not. Social
    levels count their hops and name the platform; splices keep their planned grid."""
    out, df = vc_run
    for r in df[df.axis != "clean"].itertuples():
        jpeg_out = r.path.endswith(".jpg")
        assert jpeg_out == (r.axis in ("forgery-double-jpeg", "forgery-social")
                            or r.level.startswith("quality="))  # fmt: skip
        assert r.double_compressed == jpeg_out, r.path
        assert bool(r.aligned) if jpeg_out else pd.isna(r.aligned), r.path
        hops = int(r.level_value) if r.axis == "forgery-social" else 0
        platform = r.platform if isinstance(r.platform, str) else None
        assert r.hops == hops and platform == ("whatsapp-like" if hops else None), r.path
    size = df[df.axis == "clean"].set_index("source_id")[["height", "width"]]
    djpeg = df[df.axis == "forgery-double-jpeg"]
    for r in djpeg[djpeg.manipulated].itertuples():
        p = _splice(r)
        assert p["grid"] == r.level and p["donor_chain"][0]["params"]["quality"] == 70
        assert json.loads(r.axis_params)["twin"] == f"{r.level}/authentic"
        params = from_mapping(SpliceParams, p, "splice")
        host = tuple(size.loc[r.source_id])
        region, dtop, dleft = splice_placement(host, tuple(size.loc[p["donor_source_id"]]), params)
        phase = ((region.top - dtop) % 8, (region.left - dleft) % 8)
        assert phase == ((0, 0) if r.level == "aligned" else (4, 4)), r.path


# --- donors --------------------------------------------------------------------------------


def test_donor_choice_is_deterministic_and_never_crosses_folds(
    tmp_path: Path, virtual_cameras
) -> None:
    config = load_config(_vc_config(tmp_path, virtual_cameras(VC)))
    name, refs = resolve_sources(config, "vc", progress=False)
    suite = config.suite("forgery")

    def plans(out: Path) -> list:
        jobs, _, _ = plan_all(refs, suite, name, out, progress=False)
        return [(j.source_id, j.donors, [canonical_chain(p.chain) for p in j.plans]) for j in jobs]

    a = plans(tmp_path / "a")
    assert a == plans(tmp_path / "b") and len(a) == 24
    by_id = {j.source_id: j for j in plan_all(refs, suite, name, tmp_path / "c", False)[0]}
    for job in by_id.values():
        edits = {}
        for p in job.plans:
            if p.axis_params.get("manipulation") != "splice":
                continue
            donor = by_id[p.axis_params["donor_source_id"]].ref
            assert donor.fold == job.ref.fold and donor.label != job.ref.label
            drawn = {k: v for k, v in p.axis_params.items()
                     if k not in ("grid", "twin", "donor_chain")}  # fmt: skip
            edits.setdefault(json.dumps(drawn, sort_keys=True), []).append(p.axis)
        assert len(edits) == 1 and len(next(iter(edits.values()))) == 15  # one edit, every level
        assert [d[0] for d in job.donors] == [json.loads(next(iter(edits)))["donor_source_id"]]


def test_peers_of_another_fold_are_never_donors() -> None:
    p = from_mapping(AXES.get("manipulate").params_cls, {"ops": ["splice"]}, "m")
    rng = lambda name: np.random.default_rng(derive_seed(0, "h", name))  # noqa: E731
    for label in ("a", "b"):
        peers = (Peer("x1", "b", 1), Peer("x2", "b", 2), Peer("x3", label, 0))
        ctx = PlanContext("h", rng, "a", 0, peers, rng)
        step = AXES.get("manipulate").plan(p, ctx)[0].chain[0]
        assert step.params.donor_source_id == "x3"
        # Other labels exist only in other folds: the note names the fold, not the dataset.
        note = "every other source of fold 0 has the host's label 'a': donor other_label fell "
        assert step.params.donor_note == (None if label == "b" else note + "back to any")
    lonely = PlanContext("h", rng, "a", 0, (Peer("x1", "b", 1),), rng)
    step = AXES.get("manipulate").plan(p, lonely)[0].chain[0]
    assert (
        step.params.donor_source_id is None
        and "no other source in fold 0" in step.params.donor_note
    )


def _one_label_tree(tmp: Path, folds: int) -> Path:
    root = tmp / "data"
    (root / "cam").mkdir(parents=True)
    (root / "cam" / "a.png").write_bytes(png_bytes(photo("astronaut", 80)))
    (root / "cam" / "b.png").write_bytes(png_bytes(photo("coffee", 72, 10, 20)))
    axis = {"type": "manipulate", "ops": ["splice", "inpaint"], "size": [0.25, 0.45]}
    suites = {"s": {"seed": 0, "axes": {"m": axis}}}
    return _config(tmp, {"t": {"kind": "folder", "root": str(root), "folds": folds}}, suites)


def test_single_label_dataset_falls_back_to_any_donor_with_a_note(tmp_path: Path) -> None:
    path = _one_label_tree(tmp_path, folds=1)
    s = generate(config=path, dataset="t", suite="s", out=tmp_path / "o", psnr=False,
                 progress=False)  # fmt: skip
    df = read_manifest(tmp_path / "o")
    assert s.failed_variants == 0 and verify(tmp_path / "o").ok
    splices = df[df.manipulation == "splice"]
    assert len(splices) == 2
    for r in splices.itertuples():
        p = _splice(r)
        label = df[df.source_id == r.source_id].label.iloc[0]
        assert p["donor"] == "other_label" and p["donor_note"] == (
            f"every other source of fold 0 has the host's label {label!r}: donor other_label "
            f"fell back to any"
        )
        assert p["donor_source_id"] == (set(df.source_id) - {r.source_id}).pop()


def test_no_donor_in_the_fold_gives_an_error_row_and_exit_0(tmp_path: Path) -> None:
    path = _one_label_tree(tmp_path, folds=2)  # one source per fold: nobody to take from
    out = tmp_path / "o"
    argv = ["generate", "--config", str(path), "--dataset", "t", "--suite", "s", "--out", str(out)]
    assert main([*argv, "--quiet", "--no-psnr"]) == 0
    errors, df = read_errors(out), read_manifest(out)
    assert len(errors) == 2 and set(errors.stage) == {"variant"}
    assert all("no other source in fold" in m for m in errors.message)
    assert "splice" not in set(df.manipulation)
    assert sorted(df.level) == ["authentic", "authentic", "clean", "clean", "inpaint", "inpaint"]


# --- ladder planning -----------------------------------------------------------------------

JPEG = {"op": "jpeg", "quality": 90}


def _plan_ladder(mapping: dict, peers: tuple = ()) -> list:
    params = from_mapping(AXES.get("manipulate").params_cls, mapping, "axes.m")
    params = params.bind_presets(load_config().presets, "axes.m")
    rng = lambda name: np.random.default_rng(derive_seed(0, "h", name))  # noqa: E731
    return AXES.get("manipulate").plan(params, PlanContext("h", rng, "a", 0, peers, rng))


def test_ladder_levels_run_the_same_edit_before_their_later_chains() -> None:
    ladder = {
        "none": [],
        "quality=80": [{"op": "jpeg", "quality": 80}],
        "q80,hops=2": {"then": [{"op": "jpeg", "quality": 80}], "preset": "whatsapp-like",
                       "hops": 2},
    }  # fmt: skip
    levels = _plan_ladder({"ops": ["inpaint", "retouch"], "per_op": 2, "ladder": ladder})
    assert [(lv.level, lv.name) for lv in levels[:5]] == [
        ("none", "none/inpaint-1"), ("none", "none/inpaint-2"), ("none", "none/retouch-1"),
        ("none", "none/retouch-2"), ("none", "none/authentic"),
    ]  # fmt: skip
    assert [lv.level_value for lv in levels[::5]] == [None, 80.0, None]
    edits = {canonical_chain(lv.chain[:1]) for lv in levels if lv.name.endswith("inpaint-1")}
    assert len(edits) == 1  # the same drawn edit at every level
    twin = levels[-1]
    assert twin.axis_params == {
        "manipulation": "none",
        "twin_of": [
            f"q80,hops=2/{n}" for n in ("inpaint-1", "inpaint-2", "retouch-1", "retouch-2")
        ],
    }
    ops = [s.op for s in twin.chain]
    assert ops == [
        "jpeg",
        "decode",
        "strip_metadata",
        "exif_orientation",
        "resize_max",
        "jpeg",
        "decode",
        "strip_metadata",
        "exif_orientation",
        "resize_max",
        "jpeg",
    ]
    tagged = [s.preset for s in twin.chain]
    assert tagged == [None, None, *["whatsapp-like"] * 4, None, *["whatsapp-like"] * 4]
    assert [s.op for s in levels[0].chain] == ["inpaint", "png"]
    no_twin = _plan_ladder({"ops": ["inpaint"], "twin": False, "ladder": {"none": []}})
    assert [lv.name for lv in no_twin] == ["none/inpaint"]


def test_levels_differing_only_in_grid_each_hold_a_twin() -> None:
    ladder = {"aligned": {"grid": "aligned", "then": [JPEG]},
              "shifted": {"grid": "shifted", "then": [JPEG]}}  # fmt: skip
    peers = (Peer("d", "b", 0),)
    levels = _plan_ladder({"ops": ["splice"], "ladder": ladder, "shift": [3, 6]}, peers)
    names = ["aligned/splice", "aligned/authentic", "shifted/splice", "shifted/authentic"]
    assert [lv.name for lv in levels] == names
    assert [lv.axis_params.get("twin_of") for lv in levels[1::2]] == [names[:1], names[2:3]]
    assert [lv.axis_params["twin"] for lv in levels[::2]] == names[1::2]
    assert [lv.repeats_chain for lv in levels] == [False, False, False, True]
    assert canonical_chain(levels[1].chain) == canonical_chain(levels[3].chain)
    a, s = levels[0].chain[0].params, levels[2].chain[0].params
    assert (a.grid, s.grid, s.shift) == ("aligned", "shifted", (3, 6))
    assert {**to_plain(a), "grid": 0} == {**to_plain(s), "grid": 0} and a.donor_source_id == "d"
