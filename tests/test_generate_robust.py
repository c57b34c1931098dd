"""Bad sources, odd-but-usable sources, kill-and-resume, and the output lock."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CONFIG, jpeg_bytes, photo, png_bytes
from degradebench.generators import generate, read_errors, read_manifest, verify
from degradebench.generators.core.errors import LockedError
from PIL import Image


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def test_bad_sources_go_to_errors_and_odd_sources_make_variants(tmp_path: Path) -> None:
    root = tmp_path / "data"
    good, odd, bad = root / "good", root / "odd", root / "bad"
    for d in (good, odd, bad):
        d.mkdir(parents=True)
    arr = photo("coffee", 96)
    (good / "a.jpg").write_bytes(jpeg_bytes(arr, 90))
    (good / "b.png").write_bytes(png_bytes(photo("chelsea", 80)))
    rgb = Image.fromarray(arr)
    (odd / "cmyk.jpg").write_bytes(_save(rgb.convert("CMYK"), "JPEG", quality=90))
    (odd / "gray.png").write_bytes(_save(rgb.convert("L"), "PNG"))
    (odd / "palette.png").write_bytes(_save(rgb.convert("P"), "PNG"))
    rgba = rgb.convert("RGBA")
    rgba.putalpha(128)
    (odd / "rgba.png").write_bytes(_save(rgba, "PNG"))
    (odd / "la.png").write_bytes(_save(rgba.convert("LA"), "PNG"))
    (odd / "i16.png").write_bytes(
        _save(Image.fromarray(arr[..., 0].astype(np.uint16) * 257), "PNG")
    )
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    (odd / "rotated.jpg").write_bytes(
        _save(Image.fromarray(photo("astronaut", 64)[:40]), "JPEG", exif=exif)
    )
    full = jpeg_bytes(arr, 90)
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "truncated.jpg").write_bytes(full[: len(full) // 2])
    (bad / "text.jpg").write_bytes(b"this is not an image at all\n" * 10)
    (bad / "garbage.png").write_bytes(png_bytes(arr)[:40] + os.urandom(300))
    bomb = Image.new("L", (12000, 12000))  # 144 MP > Pillow's 89 MP limit, tiny as PNG
    (bad / "bomb.png").write_bytes(_save(bomb, "PNG", compress_level=9))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(TINY_CONFIG.format(root=root))
    s = generate(config=cfg, dataset="tiny", suite="small", out=tmp_path / "o", progress=False)
    errors = read_errors(tmp_path / "o")
    by_file = dict(zip(errors.source_path.map(lambda p: Path(p).name), errors.error_type))
    assert by_file == {
        "empty.jpg": "empty",
        "truncated.jpg": "truncated",
        "text.jpg": "not_an_image",
        "garbage.png": by_file.get("garbage.png"),
        "bomb.png": "decompression_bomb",
    }
    assert by_file["garbage.png"] in ("corrupt", "truncated")
    assert (errors.stage == "decode").all() and errors.message.str.len().gt(10).all()
    assert s.failed_sources == 5
    df = read_manifest(tmp_path / "o")
    made = set(df.source_path.map(lambda p: Path(p).name))
    assert made == {
        "a.jpg",
        "b.png",
        "cmyk.jpg",
        "gray.png",
        "palette.png",
        "rgba.png",
        "la.png",
        "i16.png",
        "rotated.jpg",
    }
    assert len(df) == 9 * 9
    import json

    loads = {
        Path(r.source_path).name: json.loads(r.chain)[0]
        for r in df[df.axis == "clean"].itertuples()
    }
    assert all(v["op"] == "load" for v in loads.values())
    rot = df[(df.axis == "clean") & df.source_path.str.endswith("rotated.jpg")].iloc[0]
    assert (rot.width, rot.height) == (40, 64)  # EXIF orientation 6 applied
    gray = df[(df.axis == "clean") & df.source_path.str.endswith("gray.png")].iloc[0]
    with Image.open(tmp_path / "o" / gray.path) as im:
        assert im.mode == "L"
    assert verify(tmp_path / "o").ok


def _kill_run(cfg: Path, out: Path, delay: float) -> None:
    cmd = [
        sys.executable,
        "-m",
        "degradebench",
        "generate",
        "--config",
        str(cfg),
        "--dataset",
        "tiny",
        "--suite",
        "small",
        "--out",
        str(out),
        "--quiet",
        "--jobs",
        "2",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    mdir = out / "manifest"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if mdir.is_dir() and len(list(mdir.glob("*.parquet"))) >= 1:
            break
        time.sleep(0.005)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole group: workers die too
    proc.wait()


@pytest.mark.parametrize("delay", [0.0, 0.05])
def test_killed_run_resumes_to_the_uninterrupted_manifest(
    tiny_config: Path, tmp_path: Path, delay: float
) -> None:
    ref_out = tmp_path / "ref"
    generate(config=tiny_config, dataset="tiny", suite="small", out=ref_out, progress=False)
    out = tmp_path / "killed"
    _kill_run(tiny_config, out, delay)
    partial = len(list((out / "manifest").glob("*.parquet"))) if (out / "manifest").is_dir() else 0
    assert partial < 6, "the run finished before it could be killed; nothing was tested"
    s = generate(config=tiny_config, dataset="tiny", suite="small", out=out, progress=False)
    assert s.sources_skipped == partial
    a, b = read_manifest(ref_out), read_manifest(out)
    pd.testing.assert_frame_equal(a.drop(columns=["source_path"]), b.drop(columns=["source_path"]))
    rep = verify(out)
    assert rep.ok and rep.orphans == []
    leftovers = [p for p in out.rglob("*") if ".tmp-" in p.name]
    assert leftovers == []


def test_second_concurrent_run_is_refused(tiny_config: Path, tmp_path: Path) -> None:
    from filelock import FileLock

    out = tmp_path / "o"
    out.mkdir()
    held = FileLock(str(out / ".lock"))
    held.acquire()
    try:
        with pytest.raises(LockedError, match="being written by another degradebench run"):
            generate(config=tiny_config, dataset="tiny", suite="small", out=out, progress=False)
    finally:
        held.release()
    # a lock whose holder died is no obstacle: a killed process's flock is released by the OS
    lock = repr(str(out / ".lock"))
    code = f"from filelock import FileLock; import os; l=FileLock({lock}); l.acquire(); os._exit(0)"
    subprocess.run([sys.executable, "-c", code], check=True)
    s = generate(config=tiny_config, dataset="tiny", suite="small", out=out, progress=False)
    assert s.variants == 54


def test_changed_suite_definition_is_refused(tiny_config: Path, tmp_path: Path) -> None:
    from degradebench.generators import ConfigError

    out = tmp_path / "o"
    generate(config=tiny_config, dataset="tiny", suite="small", out=out, limit=1, progress=False)
    tiny_config.write_text(tiny_config.read_text().replace("[90, 50]", "[90, 40]"))
    with pytest.raises(ConfigError, match="different definition"):
        generate(config=tiny_config, dataset="tiny", suite="small", out=out, progress=False)


def test_source_over_the_time_limit_is_recorded_and_leaves_no_files(tmp_path: Path) -> None:
    root = tmp_path / "data" / "x"
    root.mkdir(parents=True)
    noise = np.random.default_rng(0).integers(0, 256, (2400, 2400, 3), dtype=np.uint8)
    (root / "big.png").write_bytes(png_bytes(noise))  # 10 JPEG encodes of 5.8 MP: seconds
    (root / "small.jpg").write_bytes(jpeg_bytes(photo("coffee", 64), 90))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(TINY_CONFIG.format(root=tmp_path / "data").replace(
        "qualities: [90, 50]", "qualities: [90, 50, 40, 30, 20, 10, 95, 85, 75, 65]"))
    out = tmp_path / "o"
    s = generate(config=cfg, dataset="tiny", suite="small", out=out, progress=False, source_timeout=0.5)
    errs = read_errors(out)
    assert s.failed_sources == 1 and list(errs.error_type) == ["timeout"]
    assert errs.source_path.iloc[0].endswith("big.png") and "per-source limit" in errs.message.iloc[0]
    df = read_manifest(out)
    assert set(df.source_path.map(lambda p: Path(p).name)) == {"small.jpg"}
    rep = verify(out)
    assert rep.ok and rep.orphans == []  # the timed-out source's files were removed


def test_symlink_out_of_the_output_folder_is_refused(tiny_config: Path, tmp_path: Path) -> None:
    from degradebench.generators import DegradebenchError
    from degradebench.generators.plan import plan_source  # noqa: F401

    out = tmp_path / "o"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "variants").mkdir(parents=True)
    # plant a symlink where the first source's variants would go
    generate(config=tiny_config, dataset="tiny", suite="small", out=tmp_path / "probe", limit=1, progress=False)
    sid = read_manifest(tmp_path / "probe").source_id.iloc[0]
    (out / "variants" / sid).symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(DegradebenchError, match="outside"):
        generate(config=tiny_config, dataset="tiny", suite="small", out=out, limit=1, progress=False)
    assert list(elsewhere.iterdir()) == []
