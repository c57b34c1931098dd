"""Gaps an audit of issue 12 found: crop labels decided by the axis type (old OUTs relabelled on
read), one dataset per suite name in an OUT, readable double-JPEG series, CFA grouping for
virtual cameras given by path, report reuse, and no negative zero."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _evalfix import TINY_CONFIG, TinyNet, make_manifest
from degradebench.evaluators import evaluate, model_from_module
from degradebench.evaluators._manifest_in import relabel_old_crop_levels
from degradebench.evaluators.report import write_report
from degradebench.evaluators.report.build import axis_views
from degradebench.evaluators.report.figures import FIGURE_KINDS
from degradebench.evaluators.report.figures.curves import crop_groups
from degradebench.evaluators.report.runs import load_models
from degradebench.evaluators.report.view import (
    ReportOptions,
    display_level,
    fmt,
    no_negative_zero,
    series_label,
)
from degradebench.generators.core.errors import ConfigError

KW = {"device": "cpu", "workers": 0, "n_boot": 20, "progress": False}
DEFINITION = {"axes": {"jpeg": {"type": "jpeg"}, "crop": {"type": "crop"},
                       "double_jpeg": {"type": "double_jpeg"}, "resize": {"type": "resize"}}}  # fmt: skip


def _vid(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _old_style(out: Path, vc: Path | None, definition: bool = True) -> Path:
    """The tiny manifest rewritten as an OUT of an older degradebench would hold it: crop levels
    ``3x5``; plus a resize axis whose exact-size levels read ``112x96``, double JPEG levels
    aligned and shifted at the same q1, crop parameters with the CFA phase, and (``vc``) the
    sources inside a virtual-cameras folder."""
    part = out / "manifest" / "part-0.parquet"
    df = pd.read_parquet(part)
    crop = df["axis"] == "crop"
    params = [json.loads(a) for a in df.loc[crop, "axis_params"]]
    df.loc[crop, "level"] = [f"{p['dy']}x{p['dx']}" for p in params]
    df.loc[crop, "axis_params"] = [
        json.dumps({**p, "cfa_phase_kept": p["dy"] % 2 == 0 and p["dx"] % 2 == 0,
                    "grid_kept": p["dy"] % 8 == 0 and p["dx"] % 8 == 0}) for p in params
    ]  # fmt: skip
    new = []
    for r in df[df["axis"] == "jpeg"].to_dict("records"):  # files reused, labels new
        new.append({**r, "axis": "resize", "level": "112x96", "level_value": None,
                    "axis_params": json.dumps({"size": [112, 96], "mode": "exact"}),
                    "variant_id": _vid(r["source_id"], "resize", "112x96")})  # fmt: skip
    dj = df["axis"] == "double_jpeg"
    for r in df[dj].to_dict("records"):
        p = json.loads(r["axis_params"])
        for aligned, shift in ((True, "0x0"), (False, "random")):
            level = f"q1={p['q1']},q2={p['q2']},shift={shift}"
            new.append({**r, "level": level, "level_value": float(p["q1"]),
                        "axis_params": json.dumps({**p, "aligned": aligned}),
                        "variant_id": _vid(r["source_id"], "double_jpeg", level)})  # fmt: skip
    df = pd.concat([df[~dj], pd.DataFrame(new)], ignore_index=True)
    if vc is not None:
        df["source_path"] = [str(vc / lb / f"{s}.png") for lb, s in zip(df["label"], df["source_id"])]
    table = pa.Table.from_pandas(df, preserve_index=False)
    if definition:
        meta = {"suite": "default", "suite_definition": DEFINITION}
        table = table.replace_schema_metadata({b"degradebench": json.dumps(meta).encode()})
    pq.write_table(table, part)
    return out


@pytest.fixture(scope="module")
def old(tmp_path_factory):
    root = tmp_path_factory.mktemp("old")
    vc = root / "my-cams"  # virtual cameras given by path: named after their folder
    vc.mkdir()
    (vc / "metadata.json").write_text(json.dumps({"kind": "virtual-cameras", "classes": []}))
    m = _old_style(make_manifest(root / "m", per_class=(2, 2, 1), qualities=(50,),
                                 double=((50, 90), (90, 90))), vc)  # fmt: skip
    model = model_from_module(TinyNet(seed=1), name="tiny", input_config=TINY_CONFIG)
    res = evaluate(m, model, root / "r", **KW)
    return {"root": root, "res": res, "manifest": m}


def _views(results: list[Path]) -> dict:
    return {v.label: v for v in axis_views(load_models(results), ReportOptions())}


# ------------------------------------------------------------- 1. crop labels by axis type


def test_an_old_out_is_relabelled_on_read_and_resize_sizes_stay(old):
    s = old["res"].summary
    levels = lambda axis: set(s.loc[s["axis"] == axis, "level"])  # noqa: E731
    assert levels("crop") == {"dy=0,dx=0", "dy=3,dx=5"}  # summary.parquet has the new labels
    assert levels("resize") == {"112x96"}  # an exact resize size is no crop offset
    assert set(old["res"].predictions.query("axis == 'crop'")["level"]) == levels("crop")


def test_relabelling_follows_the_definition_else_the_rows_own_offsets():
    df = pd.DataFrame({
        "suite": ["s", "s", "s", "t", "t"],
        "axis": ["crop_q90", "resize", "crop", "crop", "resize"],
        "level": ["3x5", "224x224", "1x1", "2x4", "2x4"],
        "axis_params": ["{}", "{}", "{}", '{"dy": 2, "dx": 4}', '{"size": [2, 4]}'],
    })  # fmt: skip
    metas = [{"suite": "s", "suite_definition": {"axes": {"crop_q90": {"type": "crop"},
                                                          "resize": {}, "crop": {"type": "jpeg"}}}}]  # fmt: skip
    out = relabel_old_crop_levels(df, metas)
    # suite s by its definition (crop_q90 is a crop, 'crop' is not); suite t by dy/dx
    assert list(out["level"]) == ["dy=3,dx=5", "224x224", "1x1", "dy=2,dx=4", "2x4"]
    assert list(df["level"])[0] == "3x5"  # the input is not modified


def test_the_report_relabels_crop_levels_only(old):
    views = _views([old["res"].out])
    assert views["crop"].is_crop and not views["resize"].is_crop
    assert views["crop"].level_label("3x5") == "dy=3,dx=5"
    assert views["resize"].level_label("224x224") == "224x224"
    assert display_level("112x96") == "112x96" and display_level("3x5", crop=True) == "dy=3,dx=5"
    fig = FIGURE_KINDS.get("curve")(views["resize"])
    ticks = [t.get_text() for d in fig for t in d.fig.axes[0].get_xticklabels()]
    assert not any(t.startswith("dy=") for t in ticks)


# ----------------------------------------------- 4. readable double JPEG series, 5. CFA groups


def test_double_jpeg_series_read_aligned_and_shifted_grid(old, tmp_path):
    assert series_label("aligned=False") == "shifted grid"
    assert series_label("aligned=True") == "aligned grid"
    assert series_label("cfa_phase_kept=False,grid_kept=True") == "CFA phase moved, grid kept"
    drawn = FIGURE_KINDS.get("curve")(_views([old["res"].out])["double_jpeg"])
    labels = {t.get_text() for d in drawn for t in d.fig.legends[0].get_texts()}
    assert {"tiny: aligned grid", "tiny: shifted grid"} <= labels
    assert not any("aligned=" in lb for lb in labels)
    md = write_report([old["res"].out], tmp_path / "rep", sheets=False).markdown.read_text()
    section = md.split("## Axis `double_jpeg`", 1)[1].split("\n## ", 1)[0]
    assert "shifted grid" in section and "aligned grid" in section and "aligned=" not in section


def test_crop_groups_by_cfa_for_virtual_cameras_given_by_path(old, tmp_path):
    view = _views([old["res"].out])["crop"]
    order, labels = crop_groups(view, ["dy=3,dx=5", "dy=0,dx=0"])
    assert order == ["dy=0,dx=0", "dy=3,dx=5"]  # even first
    assert labels == {"dy=0,dx=0": "grid moved only (even)", "dy=3,dx=5": "grid and CFA moved (odd)"}
    # the same results without the dataset's metadata.json: parity only, no CFA claim
    (old["root"] / "my-cams" / "metadata.json").rename(tmp_path / "moved.json")
    try:
        from degradebench.evaluators.report import cfa

        cfa._folder_kind.cache_clear()
        _, plain = crop_groups(_views([old["res"].out])["crop"], ["dy=3,dx=5", "dy=0,dx=0"])
        assert plain == {"dy=0,dx=0": "even offsets", "dy=3,dx=5": "odd offsets"}
    finally:
        (tmp_path / "moved.json").rename(old["root"] / "my-cams" / "metadata.json")
        cfa._folder_kind.cache_clear()


# ------------------------------------------------------------------- 7. report reuse, 8. -0.0


def test_an_unchanged_report_is_reused_and_any_change_rebuilds_it(old, tmp_path, capsys):
    res = [old["res"].out]
    first = write_report(res, tmp_path / "rep", sheets=False)
    assert not first.reused and (tmp_path / "rep" / "report-key.json").is_file()
    capsys.readouterr()
    again = write_report(res, tmp_path / "rep", sheets=False)
    assert again.reused and "reusing it" in capsys.readouterr().err
    assert {p.name for p in again.figures} == {p.name for p in first.figures}
    assert again.html.read_text() == first.html.read_text()
    assert not write_report(res, tmp_path / "rep", sheets=False, min_count=3).reused  # option
    assert write_report(res, tmp_path / "rep", sheets=False, min_count=3).reused
    run = res[0] / "run.json"
    data = json.loads(run.read_text())
    run.write_text(json.dumps({**data, "key_sha256": "0" * 64}))  # another evaluation
    try:
        assert not write_report(res, tmp_path / "rep", sheets=False, min_count=3).reused
    finally:
        run.write_text(json.dumps(data))
    (tmp_path / "rep" / "report.tex").unlink()  # a file gone: rebuilt
    assert not write_report(res, tmp_path / "rep", sheets=False).reused
    assert not write_report(res, tmp_path / "rep", sheets=False, reuse=False).reused


def test_negative_zero_is_never_printed(old, tmp_path):
    assert fmt(-1e-12) == "0.0" and fmt(-0.0) == "0.0" and fmt(-0.004) == "-0.4"
    assert no_negative_zero("-0.0") == "0.0" and no_negative_zero("-0.1") == "-0.1"
    md = write_report([old["res"].out], tmp_path / "rep", sheets=False).markdown.read_text()
    assert "-0.0" not in md.replace("--", "")


# ------------------------------------------------------ 2. one dataset per suite name in OUT


def test_the_same_suite_of_a_second_dataset_is_refused_even_with_add_suite(tmp_path, tiny_tree):
    from conftest import TINY_CONFIG as CONFIG
    from degradebench.generators import generate, read_manifest

    cfg = tmp_path / "c.yaml"
    cfg.write_text(CONFIG.format(root=tiny_tree) + "  other:\n    axes:\n      jpeg:\n"
                   "        qualities: [70]\n")  # fmt: skip
    out = tmp_path / "o"
    generate(config=cfg, dataset="tiny", suite="other", out=out, limit=1, progress=False)
    with pytest.raises(ConfigError) as info:  # the same tree given by path is dataset 'data'
        generate(config=cfg, dataset=str(tiny_tree), suite="other", out=out, limit=1,
                 progress=False, add_suite=True)  # fmt: skip
    msg = str(info.value)
    assert "\n" not in msg and "suite 'other'" in msg and "'tiny'" in msg and "'data'" in msg
    assert "another --out" in msg
    # another suite of the same dataset is still allowed with --add-suite
    generate(config=cfg, dataset="tiny", suite="small", out=out, limit=1, progress=False,
             add_suite=True)  # fmt: skip
    assert set(read_manifest(out).suite) == {"other", "small"}


def test_report_n_cell_shows_variants_when_sources_have_several():
    """n counts sources; when a level holds several variants per source the cell says so."""
    import pandas as pd
    from degradebench.evaluators.report.tables import _n_cell

    assert _n_cell(pd.Series({"n": 12, "n_variants": 24})) == "12 (24 var.)"
    assert _n_cell(pd.Series({"n": 12, "n_variants": 12})) == "12"
    assert _n_cell(pd.Series({"n": 7})) == "7"
