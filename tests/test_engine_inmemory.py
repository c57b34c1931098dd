"""The in-memory API: ``apply_chain`` replays a manifest chain and ``variants`` makes a suite's
variants of one image with the same bytes and records that ``generate`` writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_CONFIG, photo
from degradebench.generators import generate, read_manifest
from degradebench.generators.config import load_config
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.inmemory import apply_chain, variants
from degradebench.generators.ops.jpeg import decode_pillow


@pytest.fixture()
def made(tmp_path: Path, tiny_tree: Path):
    """A generated OUT of the tiny suite: (config, OUT, manifest)."""
    cfg = tmp_path / "d.yaml"
    cfg.write_text(TINY_CONFIG.format(root=tiny_tree))
    out = tmp_path / "out"
    generate(config=cfg, dataset="tiny", suite="small", out=out, progress=False)
    return load_config(cfg), out, read_manifest(out)


def test_variants_give_the_bytes_and_records_generate_wrote(made) -> None:
    cfg, out, df = made
    for source_id, rows in df.groupby("source_id"):
        path = rows.source_path.iloc[0]
        got = {rec["variant_id"]: (level, data, rec) for level, data, rec in
               variants(path, suite="small", source_id=source_id, config=cfg)}  # fmt: skip
        assert set(got) == set(rows.variant_id)
        for row in rows.itertuples(index=False):
            level, data, rec = got[row.variant_id]
            assert level == row.level
            assert data == (out / row.path).read_bytes()  # the same bytes, byte for byte
            for col in ("sha256", "chain", "axis_params", "jpeg_passes", "format", "width", "seed"):
                assert rec[col] == getattr(row, col), col
            assert rec["psnr"] == pytest.approx(row.psnr, nan_ok=True)


def test_default_source_id_is_the_file_hash_generate_uses(made) -> None:
    cfg, _, df = made
    row = df.iloc[0]
    recs = [rec for _, _, rec in variants(row.source_path, suite="small", config=cfg)]
    assert {r["source_id"] for r in recs} == {row.source_id}
    other = [r for _, _, r in variants(row.source_path, suite="small", config=cfg, seed=99)]
    assert [r["seed"] for r in recs] != [r["seed"] for r in other]  # seed= replaces the suite's


def test_apply_chain_replays_every_manifest_chain(made) -> None:
    _, out, df = made
    for row in df.itertuples(index=False):
        data = apply_chain(row.source_path, row.chain)
        assert isinstance(data, bytes) and data == (out / row.path).read_bytes(), row.level
        steps = json.loads(row.chain)
        assert apply_chain(row.source_path, steps) == data  # a list works like its text


def test_apply_chain_on_an_array_returns_an_array_without_encoder() -> None:
    img = photo("astronaut", 64)
    out = apply_chain(img, [{"op": "crop", "params": {"top": 3, "left": 5, "height": 32, "width": 40}}])
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == (32, 40, 3)
    assert np.array_equal(out, img[3:35, 5:45])
    jpeg = apply_chain(img, [{"op": "jpeg", "backend": "pillow", "params": {"quality": 80}}])
    assert isinstance(jpeg, bytes) and jpeg[:2] == b"\xff\xd8"
    assert decode_pillow(jpeg).shape == img.shape


def test_a_load_step_is_checked_for_an_array(made) -> None:
    _, _, df = made
    chain = json.loads(df.chain.iloc[0])
    assert chain[0]["op"] == "load"
    gray = photo("astronaut", 64)[..., 0].copy()
    if chain[0]["params"]["mode_out"] == "RGB":
        with pytest.raises(ConfigError, match="does not describe the array: mode_out"):
            apply_chain(gray, chain)
    rgb = photo("astronaut", 64)
    assert isinstance(apply_chain(rgb, chain), bytes)


def test_malformed_chains_are_one_line_errors() -> None:
    img = photo("astronaut", 32)
    with pytest.raises(ConfigError, match="not JSON"):
        apply_chain(img, "[{")
    with pytest.raises(ConfigError, match=r"unknown keys \['colour'\]"):
        apply_chain(img, [{"op": "jpeg", "params": {"quality": 80}, "colour": 1}])
    with pytest.raises(ConfigError, match="uint8 HxWx3"):
        apply_chain(img.astype(np.float32), [{"op": "jpeg", "params": {"quality": 80}}])
    with pytest.raises(ConfigError, match="did you mean|unknown op"):
        apply_chain(img, [{"op": "jepg", "params": {"quality": 80}}])


def test_social_journeys_in_memory_match_generate(tmp_path: Path) -> None:
    """Hops decode between presets and skip rules pass files through: the shipped social suite."""
    (tmp_path / "d" / "a").mkdir(parents=True)
    from conftest import jpeg_bytes

    src = tmp_path / "d" / "a" / "x.jpg"
    src.write_bytes(jpeg_bytes(photo("chelsea", 96), 92))
    out = tmp_path / "o"
    generate(dataset=str(tmp_path / "d"), suite="social", out=out, progress=False)
    df = read_manifest(out)
    got = {r["variant_id"]: d for _, d, r in variants(src, suite="social")}
    assert len(df) > 5 and set(got) == set(df.variant_id)
    for row in df.itertuples(index=False):
        assert got[row.variant_id] == (out / row.path).read_bytes(), row.level
        assert apply_chain(src, row.chain) == got[row.variant_id]  # skipped steps included
    assert any('"skipped":true' in c for c in df.chain)  # twitter-like let the small JPEG through
