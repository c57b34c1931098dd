"""Issue 14, points 2 and 4: the ``manipulate`` axis (copy-move, inpaint, retouch with drawn
regions, plus an authentic twin) planned and run through ``generate`` on tiny sources."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from _harness import check_axis
from conftest import photo, png_bytes
from degradebench.generators import generate, read_manifest, verify
from degradebench.generators import plan as plan_mod
from degradebench.generators.axes import AXES, PlanContext
from degradebench.generators.axes.manipulate import ManipulateParams
from degradebench.generators.config import default_config_path, load_config, parse_config
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.core.provenance import derive_seed, short_hash
from degradebench.generators.core.records import from_mapping
from degradebench.generators.manifest import read_mask_png
from degradebench.generators.ops import canonical_chain, run_chain
from degradebench.generators.ops._base import ImageState
from degradebench.generators.ops.jpeg import decode_pillow
from degradebench.generators.ops.regions import RelRegion, region_mask, resolve_region
from degradebench.generators.plan import plan_source
from PIL import Image

SHIPPED = yaml.safe_load(default_config_path().read_text())
OPS3 = ["copy_move", "inpaint", "retouch"]


def _generate(tmp_path: Path, axis: dict) -> tuple[Path, object]:
    root = tmp_path / "data" / "cam"
    root.mkdir(parents=True)
    (root / "a.png").write_bytes(png_bytes(photo("astronaut", 96)))
    (root / "b.png").write_bytes(png_bytes(photo("coffee", 80, 10, 20)[:, :72]))
    cfg = {
        "version": 1,
        "presets": SHIPPED["presets"],
        "datasets": {"t": {"kind": "folder", "root": str(root.parent), "folds": 1}},
        "suites": {"s": {"seed": 3, "axes": {"manipulate": axis}}},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = tmp_path / "o"
    generate(config=path, dataset="t", suite="s", out=out, psnr=False, progress=False)
    return out, read_manifest(out)


def _pixels(out: Path, rel: str) -> np.ndarray:
    return decode_pillow((out / rel).read_bytes())


def test_generate_manipulated_variants_and_their_twins(tmp_path: Path) -> None:
    out, df = _generate(tmp_path, {"ops": OPS3, "per_op": 2, "save": "png"})
    df = df[df.axis == "manipulate"]  # the suite's clean reference rows aside
    assert len(df) == 2 * (3 * 2 + 1)
    for _, rows in df.groupby("source_id"):
        twin = rows[rows.level == "authentic"]
        assert len(twin) == 1
        t = twin.iloc[0]
        assert not t.manipulated and t.manipulation == "none"
        assert pd.isna(t.mask_path)
        base = _pixels(out, t.path)
        for r in rows[rows.level != "authentic"].itertuples():
            assert r.manipulated and r.manipulation == r.level
            assert json.loads(r.axis_params)["manipulation"] == r.level
            assert r.mask_fraction > 0
            mask = read_mask_png((out / r.mask_path).read_bytes())
            assert mask.shape == base.shape[:2] and mask.mean() == pytest.approx(r.mask_fraction)
            diff = np.any(_pixels(out, r.path) != base, axis=-1)
            assert not diff[~mask].any(), f"{r.level}: pixels outside the mask changed"
            assert diff[mask].any(), f"{r.level}: nothing changed inside the mask"
    assert verify(out).ok


def test_then_runs_on_the_variant_and_its_twin(tmp_path: Path) -> None:
    axis = {"ops": ["inpaint"], "then": [{"op": "jpeg", "quality": 90}]}
    out, df = _generate(tmp_path, axis)
    df = df[df.axis == "manipulate"]
    assert sorted(df.level.unique()) == ["authentic", "inpaint"]
    assert all(p.endswith(".jpg") for p in df.path)
    assert df.groupby("level").manipulated.all().to_dict() == {"authentic": False, "inpaint": True}
    assert verify(out).ok


def _plan(params: ManipulateParams, source_id: str, seed: int = 0) -> list:
    def rng_for(name: str) -> np.random.Generator:
        return np.random.default_rng(derive_seed(seed, source_id, f"manipulate/{name}"))

    def shared_rng(name: str) -> np.random.Generator:  # as plan_source seeds shared draws
        return np.random.default_rng(derive_seed(seed, source_id, name))

    return AXES.get("manipulate").plan(
        params, PlanContext(source_id, rng_for, shared_rng=shared_rng)
    )


def _key(levels: list) -> list:
    return [(lv.level, lv.name, json.dumps(lv.axis_params), canonical_chain(lv.chain))
            for lv in levels]  # fmt: skip


def test_plans_are_seeded_per_source_and_concrete() -> None:
    p = from_mapping(ManipulateParams, {"ops": OPS3, "per_op": 3}, "axes.manipulate")
    a, b = _plan(p, "src-a"), _plan(p, "src-b")
    assert _key(a) == _key(_plan(p, "src-a"))
    assert _key(a) != _key(b) and _key(a) != _key(_plan(p, "src-a", seed=1))
    assert [lv.level for lv in a] == ["copy_move"] * 3 + ["inpaint"] * 3 + ["retouch"] * 3 + [
        "authentic"
    ]
    edits = [lv for lv in a if lv.level != "authentic"]
    assert len({canonical_chain(lv.chain) for lv in edits}) == len(edits)
    for lv in edits:
        region = lv.axis_params["region"]
        assert 0.1 <= region["size_h"] <= 0.3 and 0.1 <= region["size_w"] <= 0.3
        assert region == json.loads(json.dumps(region))  # concrete, JSON-plain values
    assert check_axis("manipulate") > 0


def test_shipped_manipulations_suite_plans_edits_and_twins() -> None:
    suite = load_config().suite("manipulations")
    plans = plan_source(suite, "0123456789abcdef")
    by_axis = {}
    for pl in plans:
        by_axis.setdefault(pl.axis, []).append(pl.level)
    assert sorted(by_axis["manipulate"]) == ["authentic", *sorted([*OPS3, "splice"])]
    assert sorted(by_axis["manipulate-jpeg90"]) == ["authentic", *sorted([*OPS3, "splice"])]
    assert all(pl.path.endswith(".jpg") for pl in plans if pl.axis == "manipulate-jpeg90")


def test_a_twin_repeating_a_chain_gets_its_own_id_and_file(monkeypatch) -> None:
    """Ladder levels differing only in grid: each twin has the same chain, its own variant id
    (from its name; the first keeps the plain source/axis/chain id) and path. A repeat that is
    not flagged ``repeats_chain`` is still refused."""
    jpeg = [{"op": "jpeg", "quality": 90}]
    axis = {"type": "manipulate", "ops": ["splice"],
            "ladder": {"aligned": {"grid": "aligned", "then": jpeg},
                       "shifted": {"grid": "shifted", "then": jpeg}}}  # fmt: skip
    cfg = {"version": 1, "suites": {"s": {"seed": 0, "axes": {"m": axis}}}}
    suite = parse_config(yaml.safe_dump(cfg)).suite("s")
    plans = [pl for pl in plan_source(suite, "src") if pl.axis == "m"]
    twins = [pl for pl in plans if pl.axis_params["manipulation"] == "none"]
    assert [pl.level for pl in twins] == ["aligned", "shifted"]
    chain = canonical_chain(twins[0].chain)
    assert chain == canonical_chain(twins[1].chain)
    assert [pl.variant_id for pl in twins] == [
        short_hash(f"src\nm\n{chain}"), short_hash(f"src\nm\nshifted/authentic\n{chain}")
    ]  # fmt: skip
    assert twins[0].path != twins[1].path
    real = AXES.get("manipulate")

    def unflagged(p: object, ctx: PlanContext) -> list:
        return [dataclasses.replace(lv, repeats_chain=False) for lv in real.plan(p, ctx)]

    fake = dataclasses.replace(real, plan=unflagged)
    axes = {name: AXES.get(name) for name in AXES.names()} | {"manipulate": fake}
    monkeypatch.setattr(plan_mod, "AXES", type("R", (), {"get": lambda self, name: axes[name]})())
    with pytest.raises(ConfigError, match="same variant .*'shifted/authentic'.*different steps"):
        plan_source(suite, "src")


def test_relative_regions_resolve_inside_the_image() -> None:
    r = RelRegion("ellipse", y=1.0, x=0.0, size_h=0.5, size_w=0.25)
    px = resolve_region(r, 40, 60)
    assert (px.top, px.left, px.height, px.width) == (20, 0, 20, 10)
    assert region_mask(40, 60, r).sum() == region_mask(40, 60, px).sum() > 0


def test_copy_move_with_drawn_placement_marks_only_changed_pixels() -> None:
    p = from_mapping(ManipulateParams, {"ops": ["copy_move"], "shapes": ["rect"]}, "m")
    lv = _plan(p, "x")[0]
    img = photo("astronaut", 64)
    out = run_chain(ImageState(pixels=img), lv.chain[:1])
    assert out.mask.any() and not np.any(out.pixels[~out.mask] != img[~out.mask])
    assert Image.fromarray(out.pixels).size == (64, 64)


@pytest.mark.parametrize(
    ("mapping", "where", "what"),
    [
        ({"ops": ["copy-move"]}, "ops[0]", "splice, copy_move, inpaint, retouch"),
        ({"ops": ["inpaint"], "grid": "aligned"}, "grid", "only used by splice"),
        ({"ops": ["inpaint"], "donor_chain": [{"op": "jpeg", "quality": 70}]}, "donor_chain",
         "add splice to ops"),
        ({"ops": ["splice"], "donor": "same_label"}, "donor", "other_label"),
        ({"ops": ["splice"], "shift": [0, 0]}, "shift", "got [0, 0]"),
        ({"ops": ["inpaint"], "ladder": {}}, "ladder", "at least one level"),
        ({"ops": ["inpaint"], "ladder": {"a/b": []}}, "ladder", "without '/'"),
        ({"ops": ["inpaint"], "ladder": {"q": [{"op": "jepg"}]}}, "ladder.q.then[0].op", "jpeg"),
        ({"ops": ["inpaint"], "ladder": {"q": {"hops": 2}}}, "ladder.q.hops", "add preset"),
        ({"ops": ["inpaint"], "ladder": {"q": {"grid": "aligned"}}}, "ladder.q.grid", "splice"),
        ({"ops": ["splice"], "ladder": {"q": {"grid": "diagonal"}}}, "ladder.q.grid", "aligned"),
        ({"ops": ["splice"], "ladder": {"q": {"then": [], "color": 1}}}, "ladder.q.color",
         "unknown key"),
        ({"ops": ["inpaint"], "ladder": {"q": 5}}, "ladder.q", "list of steps or a mapping"),
        ({"ops": ["inpaint"], "ladder": {"a": [], "b": []}}, "ladder.b", "same steps and grid"),
        ({"ops": ["splice", "inpaint"],
          "ladder": {"a": {"grid": "aligned"}, "b": {"grid": "shifted"}}}, "ladder.b",
         "inpaint would be made twice"),
        ({"ops": ["inpaint"], "shapes": ["star"]}, "shapes[0]", "star"),
        ({"ops": ["inpaint"], "size": [0.3, 0.1]}, "size", "min must not exceed max"),
        ({"ops": ["inpaint"], "size": [0.1, 0.9]}, "size[1]", "0.9"),
        ({"ops": ["inpaint"], "save": "jpeg"}, "quality", "required"),
        ({"ops": ["inpaint"], "then": [{"op": "jepg"}]}, "then[0].op", "jpeg"),
        ({"ops": ["inpaint"], "then": [{"op": "jpeg", "quality": 90}], "save": "png"}, "save",
         "leave save"),
        ({"ops": ["inpaint"], "twin": "yes"}, "twin", "true or false"),
    ],
)  # fmt: skip
def test_yaml_errors_are_one_line_naming_the_path(mapping: dict, where: str, what: str) -> None:
    with pytest.raises(ConfigError) as exc:
        from_mapping(ManipulateParams, mapping, "suites.s.axes.manipulate")
    msg = str(exc.value)
    assert "\n" not in msg and what in msg
    assert msg.startswith(f"suites.s.axes.manipulate.{where}"), msg
