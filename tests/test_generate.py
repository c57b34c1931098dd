"""End-to-end generation on tiny real images: manifest contract, codec truth, grids, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from degradebench.generators import MANIFEST_SCHEMA, generate, read_errors, read_manifest, verify
from PIL import Image

# Annex K base tables (natural order), typed here so the test does not trust our own copy.
LUMA = [
    16,
    11,
    10,
    16,
    24,
    40,
    51,
    61,
    12,
    12,
    14,
    19,
    26,
    58,
    60,
    55,
    14,
    13,
    16,
    24,
    40,
    57,
    69,
    56,
    14,
    17,
    22,
    29,
    51,
    87,
    80,
    62,
    18,
    22,
    37,
    56,
    68,
    109,
    103,
    77,
    24,
    35,
    55,
    64,
    81,
    104,
    113,
    92,
    49,
    64,
    78,
    87,
    103,
    121,
    120,
    101,
    72,
    92,
    95,
    98,
    112,
    100,
    103,
    99,
]
CHROMA = [
    17,
    18,
    24,
    47,
    99,
    99,
    99,
    99,
    18,
    21,
    26,
    66,
    99,
    99,
    99,
    99,
    24,
    26,
    56,
    99,
    99,
    99,
    99,
    99,
    47,
    66,
    99,
    99,
    99,
    99,
    99,
    99,
] + [99] * 32


def ijg(base: list[int], q: int) -> list[int]:
    s = 5000 // q if q < 50 else 200 - 2 * q
    return [min(max((b * s + 50) // 100, 1), 255) for b in base]


@pytest.fixture()
def small_run(tiny_config: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    generate(config=tiny_config, dataset="tiny", suite="small", out=out, progress=False)
    return out


def test_manifest_has_contract_columns_and_types(small_run: Path) -> None:
    import pyarrow.parquet as pq

    part = next((small_run / "manifest").glob("*.parquet"))
    schema = pq.read_schema(part)
    for f in MANIFEST_SCHEMA:
        assert schema.field(f.name).type == f.type, f.name
    df = pd.read_parquet(small_run / "manifest")
    # 6 sources x (clean + 2 jpeg + 3 double (2 listed shifts + 1 random) + 3 crops)
    assert len(df) == 6 * 9
    assert df.variant_id.is_unique
    assert set(df.axis) == {"clean", "jpeg", "double_jpeg", "crop"}
    assert (df.groupby("source_id").axis.apply(lambda a: (a == "clean").sum()) == 1).all()
    meta = json.loads(pq.read_schema(part).metadata[b"degradebench"])
    assert (
        meta["versions"]["pillow_libjpeg_turbo"]
        and meta["config_sha256"]
        and meta["suite"] == "small"
    )


def test_jpeg_tables_are_the_ijg_tables_of_the_requested_quality(small_run: Path) -> None:
    df = read_manifest(small_run)
    jp = df[df.axis == "jpeg"]
    assert len(jp) == 12
    for row in jp.itertuples():
        q = int(row.level)
        assert row.jpeg_quality == q and row.estimated_quality == q
        tables = [list(t) for t in row.quant_tables]
        assert tables[0] == ijg(LUMA, q)
        assert tables[1] == ijg(CHROMA, q)
        with Image.open(small_run / row.path) as im:  # Pillow's own reading agrees
            assert im.format == "JPEG" and im.size == (row.width, row.height)
        assert row.subsampling == "4:2:0"


def test_passes_and_prior_grid(small_run: Path) -> None:
    df = read_manifest(small_run)
    jpeg_src = df.source_path.str.endswith(".jpg")
    for row in df.itertuples():
        src_grid = [[0, 0]] if row.source_path.endswith(".jpg") else []
        src_pass = 1 if row.source_path.endswith(".jpg") else 0
        grids = [list(g) for g in row.prior_grid]
        params = json.loads(row.axis_params)
        if row.axis == "clean":
            assert grids == src_grid and row.jpeg_passes == src_pass and row.psnr == np.inf
        elif row.axis == "jpeg":
            assert grids == src_grid and row.jpeg_passes == src_pass + 1
        elif row.axis == "crop":
            dy, dx = params["dy"], params["dx"]
            want = [[(8 - dy) % 8, (8 - dx) % 8]] if src_grid else []
            assert grids == want and row.jpeg_passes == src_pass
            assert row.psnr == np.inf  # lossless crop equals the source region
        elif row.axis == "double_jpeg":
            r, c = params["shift"]
            shifted = [[(g0 - r) % 8, (g1 - c) % 8] for g0, g1 in src_grid + [[0, 0]]]
            assert grids == shifted and row.jpeg_passes == src_pass + 2
            listed = [r, c] in ([0, 0], [3, 5])  # a drawn shift is planned as "shift=random"
            assert row.level == f"q1=60,q2=90,shift={f'{r}x{c}' if listed else 'random'}"
    assert jpeg_src.any() and (~jpeg_src).any()


def test_jobs_1_and_2_give_identical_variants(tiny_config: Path, tmp_path: Path) -> None:
    a = generate(
        config=tiny_config,
        dataset="tiny",
        suite="small",
        out=tmp_path / "a",
        jobs=1,
        progress=False,
    )
    b = generate(
        config=tiny_config,
        dataset="tiny",
        suite="small",
        out=tmp_path / "b",
        jobs=2,
        progress=False,
    )
    assert a.variants == b.variants == 54
    da, db = read_manifest(tmp_path / "a"), read_manifest(tmp_path / "b")
    assert set(zip(da.variant_id, da.sha256)) == set(zip(db.variant_id, db.sha256))
    cols = [c for c in da.columns if c not in ("source_path",)]
    pd.testing.assert_frame_equal(da[cols], db[cols])


def test_rerun_is_a_noop_and_verify_catches_tampering(small_run: Path, tiny_config: Path) -> None:
    again = generate(
        config=tiny_config, dataset="tiny", suite="small", out=small_run, progress=False
    )
    assert again.variants == 0 and again.sources_skipped == 6
    assert verify(small_run).ok
    df = read_manifest(small_run)
    flipped = small_run / df.path[3]
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0x01
    flipped.write_bytes(bytes(data))
    (small_run / df.path[7]).unlink()
    rep = verify(small_run)
    assert not rep.ok and len(rep.problems) == 2
    assert any("sha256" in p and df.path[3] in p for p in rep.problems)
    assert any("missing" in p and df.path[7] in p for p in rep.problems)


def test_limit_and_folds_select_sources(tiny_config: Path, tmp_path: Path) -> None:
    generate(
        config=tiny_config,
        dataset="tiny",
        suite="small",
        out=tmp_path / "l",
        limit=1,
        progress=False,
    )
    df = read_manifest(tmp_path / "l")
    assert df.groupby("label").source_id.nunique().to_dict() == {"cam-a": 1, "cam-b": 1}
    generate(
        config=tiny_config,
        dataset="tiny",
        suite="small",
        out=tmp_path / "f",
        folds=[0],
        progress=False,
    )
    df0 = read_manifest(tmp_path / "f")
    assert set(df0.fold) == {0} and df0.source_id.nunique() == 3  # stratified: folds of 3 each


def test_dataset_given_as_a_folder_path(tiny_tree: Path, tmp_path: Path) -> None:
    s = generate(
        dataset=str(tiny_tree), suite="default", out=tmp_path / "o", limit=1, progress=False
    )
    df = read_manifest(tmp_path / "o")
    assert s.variants == len(df) == 2 * 31
    assert set(df.label) == {"cam-a", "cam-b"}
    assert read_errors(tmp_path / "o").empty


def test_random_shift_is_seeded_per_source(tiny_config: Path, tmp_path: Path) -> None:
    generate(config=tiny_config, dataset="tiny", suite="small", out=tmp_path / "a", progress=False)
    df = read_manifest(tmp_path / "a")
    shifts = {}
    for row in df[df.axis == "double_jpeg"].itertuples():
        s = tuple(json.loads(row.axis_params)["shift"])
        if s not in [(0, 0), (3, 5)]:
            shifts[row.source_id] = s
    assert len(shifts) == 6  # one random shift per source, concrete in the manifest
    assert len(set(shifts.values())) > 1  # differs across sources


GOLDEN_VERSIONS = {"pillow": "13.0.0", "pillow_libjpeg_turbo": "3.2.0"}
GOLDEN = {"75": "3c84f24b151d6e6c", "95": "e1c4fd4a261c9882", "q1=60,q2=90,shift=3x5": "75f8b89e0e91c269"}


def test_golden_bytes_for_pinned_codec_versions(tmp_path: Path) -> None:
    """Same config, same bytes: sha256 of outputs pinned for the codec versions they hold for."""
    from degradebench.generators.core.provenance import library_versions

    v = library_versions()
    if any(v.get(k) != want for k, want in GOLDEN_VERSIONS.items()):
        pytest.skip(f"golden hashes hold for {GOLDEN_VERSIONS}; installed {v}")
    from conftest import photo, png_bytes

    root = tmp_path / "d" / "x"
    root.mkdir(parents=True)
    (root / "a.png").write_bytes(png_bytes(photo("astronaut", 64)))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"""
version: 1
datasets: {{d: {{kind: folder, root: {tmp_path / "d"}}}}}
suites:
  g:
    axes:
      jpeg: {{qualities: [75, 95]}}
      double_jpeg: {{q1: [60], q2: [90], shifts: [[3, 5]]}}
""")
    generate(config=cfg, dataset="d", suite="g", out=tmp_path / "o", progress=False)
    got = {r.level: r.sha256[:16] for r in read_manifest(tmp_path / "o").itertuples() if r.axis != "clean"}
    assert got == GOLDEN
