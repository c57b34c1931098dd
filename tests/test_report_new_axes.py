"""The reference model's curves for the issue-13 axes appear in a report (issue 13, "Done when"):
a tiny suite of new axes (noise, filters, tone, geometry, ImageNet-C, codecs) and a mixed
grid generated on ``samples``, the shipped reference model evaluated on it, and the report holding
a curve per new axis and a heat map (with n per cell) for the mixed axis, and none for the
seeded one-op ladders (a drawn seed is no second parameter)."""

from __future__ import annotations

import re

import pytest
import yaml
from degradebench.evaluators import evaluate, write_report
from degradebench.evaluators.models import load_model
from degradebench.generators import generate, read_manifest

CROP = [128, 128]  # two 64 px tiles a side for the reference model: small and fast
ONE_OP = {
    "gaussian_noise": {"sigmas": [2.0, 8.0], "center_crop": CROP},
    "median_filter": {"sizes": [3, 7], "center_crop": CROP},
    "gaussian_blur": {"sigmas": [1.0, 3.0], "center_crop": CROP},
    "contrast": {"factors": [0.5, 2.0], "center_crop": CROP},
    "rotate": {"angles": [5.0, 30.0], "center_crop": CROP},
    "pixelate": {"factors": [2.0, 8.0], "center_crop": CROP},
    "ic_fog": {"type": "imagenet_c", "corruption": "fog", "severities": [1, 5],
               "center_crop": CROP},
    "webp": {"qualities": [90, 30]},
    "jpeg2000": {"qualities": [40, 30]},
    "avif": {"qualities": [90, 30]},
}  # one axis per family (noise, filters, tone, geometry, ImageNet-C, codecs)
MIXED = {
    "type": "mixed",
    "first": {"op": "median_filter", "size": [3, 7]},
    "then": {"op": "jpeg", "quality": [50, 90]},
    "center_crop": CROP,
}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("newaxes")
    axes = {**ONE_OP, "median_x_jpeg": MIXED}
    cfg = {"version": 1, "datasets": {"samples": {"kind": "samples", "folds": 4}},
           "suites": {"new": {"seed": 0, "axes": {"clean": {"center_crop": CROP}, **axes}}}}  # fmt: skip
    (tmp / "c.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = tmp / "variants"
    generate(config=tmp / "c.yaml", dataset="samples", suite="new", out=out, limit=1,
             progress=False)  # fmt: skip
    model = load_model("reference")
    res = evaluate(out, model, tmp / "results", device="cpu", workers=0, n_boot=50,
                   progress=False)  # fmt: skip
    files = write_report([res.out], tmp / "report", sheets=False, min_count=2, jobs=1)
    return {"files": files, "axes": axes, "manifest": read_manifest(out)}


def test_a_curve_per_new_axis_and_a_heat_map_for_the_mixed_one(report):
    names = {p.name for p in report["files"].figures}
    for axis in report["axes"]:
        assert f"{axis}.png" in names, (axis, sorted(names))
    assert "median_x_jpeg_heatmap.png" in names
    for axis in ONE_OP:  # one-parameter ladders: the drawn seed makes no heat map
        assert f"{axis}_heatmap.png" not in names
    md = report["files"].markdown.read_text()
    for axis in report["axes"]:
        assert f"](figures/{axis}.png)" in md, axis
    assert "](figures/median_x_jpeg_heatmap.png)" in md


def test_the_heat_map_is_the_grid_of_both_parameters_with_n(report):
    md = report["files"].markdown.read_text()
    cap = re.search(r"median_x_jpeg: flip rate over (\w+) \(rows\) x (\w+) \(columns\)", md)
    assert cap and set(cap.groups()) == {"size", "quality"}, "heat map over size x quality"
    assert "n = sources per cell" in md
    m = report["manifest"]
    grid = m[m["axis"] == "median_x_jpeg"]
    n = grid["source_id"].nunique()
    assert n >= 4 and len(grid) == 4 * n
    assert set(grid["level"]) == {f"size={s},quality={q}" for s in (3, 7) for q in (50, 90)}
    # each level's row in the tables says how many sources it holds
    rows = [ln for ln in md.splitlines() if "size=7,quality=50" in ln and "|" in ln]
    assert rows and any(re.search(rf"\|\s*{n}\s*\|", r) for r in rows), rows[:3]
