"""Hostile and odd source images: each produces variants under the decode policy or lands in
errors.parquet with a clear reason; none crashes or hangs a run.

The corpus (tests/_hostile.py) is crafted in memory; property tests mutate good files of every
container (bit flips, cuts, insertions) and run ``decode_source`` and whole ``generate`` runs."""

from __future__ import annotations

import json
import os
import time
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _hostile import corpus, seed_images
from conftest import TINY_CONFIG
from degradebench.generators import generate, read_errors, read_manifest, verify
from degradebench.generators.core.errors import SourceError
from degradebench.generators.decode import DECODE_ERROR_TYPES, DecodedSource, decode_source
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("DEGRADEBENCH_FUZZ_EXAMPLES", "0")) or None
# Crops up to (7, 7) and a shifted double JPEG: larger than a 1x1 or 7x7 image on purpose.
SUITE = TINY_CONFIG.replace("[[0, 0], [2, 4], [3, 5]]", "[[0, 0], [3, 5], [7, 7]]")
VARIANTS_PER_SOURCE = 9  # clean + 2 jpeg + 3 double_jpeg + 3 crop


def check_decoded(res: DecodedSource) -> None:
    px = res.pixels
    assert px.dtype == np.uint8 and px.flags.c_contiguous and not px.flags.writeable
    assert px.ndim == 2 or (px.ndim == 3 and px.shape[2] == 3)
    assert (res.height, res.width) == px.shape[:2] and res.width >= 1 and res.height >= 1
    json.dumps(res.load_step)  # the chain's load step must be plain JSON


@pytest.mark.parametrize("name", sorted(corpus()))
def test_corpus_file_decodes_under_the_policy(name: str) -> None:
    data, expected = corpus()[name]
    path = f"/data/cam/{name}"
    try:
        res = decode_source(path, data)
    except SourceError as exc:
        assert exc.error_type in expected.split("|"), (exc.error_type, exc.message)
        assert exc.error_type in DECODE_ERROR_TYPES and exc.stage == "decode"
        assert str(exc).startswith(f"{path}: decode: ") and len(exc.message) > 20
        assert "\n" not in str(exc) and "0x7f" not in str(exc)  # no memory addresses
        return
    assert "ok" in expected.split("|"), f"decoded, expected {expected}"
    check_decoded(res)


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for i, (name, data) in enumerate(sorted(files.items())):
        d = root / ("cam-a" if i % 2 else "cam-b")
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)
    return root


def _config(tmp_path: Path, root: Path) -> Path:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(SUITE.format(root=root))
    return cfg


def _no_temp_files(out: Path) -> list[str]:
    return [str(p) for p in out.rglob("*") if ".tmp-" in p.name]


def test_generate_over_the_whole_corpus(tmp_path: Path) -> None:
    """Every file: variants (all of them, or variant errors for crops larger than the image) or
    one decode error row with the corpus's expected type; the run completes and verifies."""
    files = {name: data for name, (data, _) in corpus().items()}
    root = _tree(tmp_path / "data", files)
    out = tmp_path / "o"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = generate(config=_config(tmp_path, root), dataset="tiny", suite="small", out=out,
                     jobs=2, progress=False)  # fmt: skip
    assert not [w for w in caught if issubclass(w.category, UserWarning)], [
        str(w.message) for w in caught
    ]
    df, err = read_manifest(out), read_errors(out)
    err["file"] = err.source_path.map(lambda p: Path(p).name)
    df["file"] = df.source_path.map(lambda p: Path(p).name)
    decode_errors = err[err.stage != "variant"].set_index("file")
    for name, (_, expected) in corpus().items():
        if name in decode_errors.index:
            row = decode_errors.loc[name]
            if row.error_type == "duplicate":  # same bytes as an earlier file: named there
                assert row.message.startswith("same bytes as ")
                continue
            assert row.error_type in expected.split("|"), (name, row.error_type, row.message)
            assert len(row.message) > 20 and name not in set(df.file)
        else:
            assert "ok" in expected.split("|"), (name, expected)
            made = int((df.file == name).sum())
            failed = err[(err.file == name) & (err.stage == "variant")]
            assert made + len(failed) == VARIANTS_PER_SOURCE, name
            assert failed.message.str.contains("does not fit an image of").all(), name
    assert s.variants == len(df) and s.failed_sources == int((err.stage == "decode").sum())
    # the image sizes the policy promises: EXIF orientations 5..8 swap width and height
    clean = df[df.axis == "clean"].set_index("file")
    for o in range(1, 9):
        w, h = clean.loc[f"exif-orientation-{o}.jpg", ["width", "height"]]
        assert (w, h) == ((48, 40) if o >= 5 else (40, 48)), o
    assert tuple(clean.loc["1x1.jpg", ["width", "height"]]) == (1, 1)
    rep = verify(out)
    assert rep.ok and rep.orphans == [] and _no_temp_files(out) == []


def test_duplicate_files_are_made_once_and_listed(tmp_path: Path) -> None:
    data = seed_images()["seed.jpg"]
    root = tmp_path / "data"
    for label, name in [("cam-a", "x.jpg"), ("cam-b", "copy.jpg"), ("cam-b", "y.png")]:
        (root / label).mkdir(parents=True, exist_ok=True)
        (root / label / name).write_bytes(data if name != "y.png" else seed_images()["seed.png"])
    cfg = _config(tmp_path, root)
    outs = {}
    for jobs in (1, 2):
        out = tmp_path / f"o{jobs}"
        s = generate(config=cfg, dataset="tiny", suite="small", out=out, jobs=jobs, progress=False)
        assert (s.sources, s.duplicates, s.variants) == (2, 1, 2 * VARIANTS_PER_SOURCE)
        assert "1 duplicate files skipped" in s.line()
        outs[jobs] = read_manifest(out)
        err = read_errors(out)
        assert list(err.error_type) == ["duplicate"] and list(err.stage) == ["plan"]
        assert err.source_path.iloc[0].endswith("cam-b/copy.jpg")
        msg = err.message.iloc[0]
        assert "cam-a/x.jpg" in msg and "this copy is labelled 'cam-b': the labels disagree" in msg
        assert verify(out).ok
    # deterministic: the same rows whatever the worker count (was: whichever copy finished last)
    pd.testing.assert_frame_equal(outs[1], outs[2])
    assert set(outs[1].source_path.map(lambda p: Path(p).name)) == {"x.jpg", "y.png"}


def test_a_hanging_decode_is_stopped_by_the_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import degradebench.generators.decode as dec

    real = dec.decode_source

    def hang_on_one(path, *a, **k):
        if str(path).endswith("hang.png"):
            time.sleep(60)  # a pathological file: the alarm interrupts it
        return real(path, *a, **k)

    monkeypatch.setattr(dec, "decode_source", hang_on_one)
    seeds = seed_images()
    root = _tree(tmp_path / "data", {"hang.png": seeds["seed.png"], "ok.jpg": seeds["seed.jpg"]})
    t0 = time.monotonic()
    s = generate(config=_config(tmp_path, root), dataset="tiny", suite="small",
                 out=tmp_path / "o", progress=False, source_timeout=1.0)  # fmt: skip
    assert time.monotonic() - t0 < 30
    err = read_errors(tmp_path / "o")
    assert list(err.error_type) == ["timeout"] and err.source_path.iloc[0].endswith("hang.png")
    assert s.variants == VARIANTS_PER_SOURCE and verify(tmp_path / "o").ok


def test_time_limit_never_removes_files_a_written_part_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: the alarm used to stay armed while the manifest part was renamed into place;
    firing just after, it removed the source's files and left the part naming them."""
    import degradebench.generators.manifest.writer as mf

    real = mf.write_table_atomic

    def slow_after_part(table, path):
        real(table, path)
        if path.parent.name == "manifest":
            time.sleep(1.5)  # the alarm (1 s) fires here if still armed

    monkeypatch.setattr(mf, "write_table_atomic", slow_after_part)
    root = _tree(tmp_path / "data", {"a.jpg": seed_images()["seed.jpg"]})
    out = tmp_path / "o"
    s = generate(config=_config(tmp_path, root), dataset="tiny", suite="small", out=out,
                 progress=False, source_timeout=1.0)  # fmt: skip
    assert s.failed_sources == 0 and read_errors(out).empty
    rep = verify(out)
    assert rep.ok and rep.checked == VARIANTS_PER_SOURCE


# --- property tests: mutations of good files of every container ---------------------------------

SEEDS = seed_images()


@st.composite
def mutant(draw) -> bytes:
    data = bytearray(SEEDS[draw(st.sampled_from(sorted(SEEDS)))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "flip", "cut", "insert", "delete", "zero", "dup"]))
        n = len(data)
        if n == 0:
            break
        at = draw(st.integers(0, n - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "zero":
            data[at : at + 32] = bytes(len(data[at : at + 32]))
        else:  # repeat a slice (duplicated markers, chunks)
            data[at:at] = data[at : at + draw(st.integers(1, 200))]
    return bytes(data)


@settings(
    max_examples=EXAMPLES or 1000,
    deadline=timedelta(seconds=20),  # generous: a shared CI box varies (a decode takes ms)
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(mutant())
def test_decode_source_on_mutated_files(data: bytes) -> None:
    t0 = time.perf_counter()
    try:
        res = decode_source("/data/cam/mutant.jpg", data)
    except SourceError as exc:
        assert exc.error_type in DECODE_ERROR_TYPES and exc.stage == "decode"
        assert exc.message and "\n" not in exc.message
    else:
        check_decoded(res)
    assert time.perf_counter() - t0 < 20


@settings(
    max_examples=EXAMPLES or 25,
    deadline=timedelta(seconds=60),  # a whole generate run per example
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(mutant(), min_size=2, max_size=6))
def test_generate_on_a_tree_of_mutated_files(tmp_path_factory, files: list[bytes]) -> None:
    tmp = tmp_path_factory.mktemp("gen")
    names = {f"f{i}.{['jpg', 'png', 'gif'][i % 3]}": d for i, d in enumerate(files)}
    names["good.jpg"] = SEEDS["seed.jpg"]
    root = _tree(tmp / "data", names)
    out = tmp / "o"
    s = generate(config=_config(tmp, root), dataset="tiny", suite="small", out=out,
                 progress=False, source_timeout=60)  # fmt: skip
    df, err = read_manifest(out), read_errors(out)
    made = set(df.source_path)
    failed = set(err[err.stage != "variant"].source_path)
    listed = {str(p.resolve()) for p in root.rglob("*") if p.is_file()}
    assert made | failed == listed and not made & failed  # every file accounted for, once
    assert err.message.str.len().gt(10).all()
    assert set(err.error_type) <= {*DECODE_ERROR_TYPES, "duplicate", "OpError"}
    assert s.variants == len(df)
    rep = verify(out)
    assert rep.ok and rep.orphans == [] and _no_temp_files(out) == []
