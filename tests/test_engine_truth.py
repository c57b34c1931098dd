"""What the manifest says happened, happened (issue 12, engine part): groups and folds of a dataset
given by path, one suite per OUT, skipped steps and the metadata policy of a pass-through, per-kind
metadata survival read back from the bytes, the last JPEG quality, JPEG history of lossless
sources, and the messages a user meets. Each check reads outputs with an independent reader
where one exists (exiftool)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import TINY_CONFIG, jpeg_bytes, photo, png_bytes
from degradebench.cli import main
from degradebench.generators import generate, read_errors, read_manifest, verify
from degradebench.generators.config import default_config_path
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.datasets import list_folder, list_samples, sources_from_path
from degradebench.generators.decode import decode_source, with_jpeg_history
from degradebench.generators.jpeginfo import jpeg_history
from degradebench.generators.ops.jpeg import decode_pillow
from degradebench.generators.plan import plan_source, resolve_sources
from PIL import Image, ImageCms, features

SHIPPED = yaml.safe_load(default_config_path().read_text())
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="image/'
    b'jpeg"/></rdf:RDF></x:xmpmeta>'
)


def _write_config(tmp_path: Path, root: Path | None, suites: dict, name: str = "c.yaml") -> Path:
    cfg = {"version": 1, "suites": suites, "presets": SHIPPED["presets"], "datasets": {}}
    if root is not None:
        cfg["datasets"]["t"] = {"kind": "folder", "root": str(root), "folds": 2}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _exif_block() -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "EOS 5D"
    return exif.tobytes()


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _metadata_jpeg(path: Path, arr: np.ndarray, quality: int = 90) -> bytes:
    data = jpeg_bytes(arr, quality, exif=_exif_block(), icc_profile=_srgb_icc(), xmp=XMP)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def _png_kinds(data: bytes) -> set[str]:
    """Which of exif/icc/xmp a PNG carries, by the chunk parser of test_png_xmp (not the
    project's): eXIf, iCCP, and an iTXt ``XML:com.adobe.xmp``."""
    from test_png_xmp import _chunks, _itxt

    found = set()
    for kind, body in _chunks(data):
        found |= {"exif"} if kind == b"eXIf" else set()
        found |= {"icc"} if kind == b"iCCP" else set()
        found |= {"xmp"} if kind == b"iTXt" and _itxt(body)[0] == "XML:com.adobe.xmp" else set()
    return found


def _kinds_outside(data: bytes, suffix: str, tmp_path: Path) -> set[str]:
    """Which of exif/icc/xmp a file carries, by exiftool (an independent reader) when installed,
    else by a PNG chunk parser or a JPEG marker walk written in the tests (not the project's)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and not shutil.which("exiftool"):
        return _png_kinds(data)
    if shutil.which("exiftool"):
        f = tmp_path / f"probe.{suffix}"
        f.write_bytes(data)
        out = subprocess.run(["exiftool", "-j", "-G", "-a", str(f)], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
        groups = {k.split(":")[0] for k in json.loads(out)[0]}
        return {kind for kind, g in (("exif", "EXIF"), ("icc", "ICC_Profile"), ("xmp", "XMP"))
                if g in groups}  # fmt: skip
    found, pos = set(), 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] not in (0xDA, 0xD9):
        n = int.from_bytes(data[pos + 2 : pos + 4], "big")
        body = data[pos + 4 : pos + 2 + n]
        found |= {"exif"} if body.startswith(b"Exif") else set()
        found |= {"icc"} if body.startswith(b"ICC_PROFILE") else set()
        found |= {"xmp"} if body.startswith(b"http://ns.adobe.com/xap") else set()
        pos += 2 + n
    return found


# ------------------------------------------------------------------ 12.3 folds honour groups


def test_virtual_cameras_given_by_path_keep_every_group_in_one_fold(tmp_path: Path) -> None:
    from degradebench.generators.virtual_cameras import VirtualCamerasParams, build_virtual_cameras

    params = VirtualCamerasParams(models=2, devices_per_model=2, images_per_device=5, size=64)
    root = tmp_path / "vc"
    table = build_virtual_cameras(params, root, jobs=1, progress=False)
    assert table == root / "list.csv"
    for spelling in (str(root), str(root) + "/"):
        name, refs = sources_from_path(spelling, k=5)
        assert name == "vc" and len(refs) == 20
        groups: dict[str, set[int]] = {}
        for r in refs:
            groups.setdefault(r.group, set()).add(r.fold)
        assert len(groups) < len(refs)  # scenes are shared by devices: groups really group
        assert all(len(f) == 1 for f in groups.values()), groups  # no group spans two folds
        assert {r.label for r in refs} == {p.name for p in root.iterdir() if p.is_dir()}
    # through the engine's resolver too (what `generate --dataset DIR` uses)
    cfg = _write_config(tmp_path, None, {"s": {"axes": {"jpeg": {"qualities": [90]}}}})
    from degradebench.generators.config import load_config

    _, refs2 = resolve_sources(load_config(cfg), str(root), progress=False)
    assert [(r.path, r.fold, r.group) for r in refs2] == [(r.path, r.fold, r.group) for r in refs]


# ------------------------------------------------------------------ 12.4 one suite per OUT


def test_a_second_suite_or_dataset_in_one_out_is_refused(tmp_path: Path, tiny_tree, capsys) -> None:
    text = (
        TINY_CONFIG.format(root=tiny_tree)
        + "  other:\n    axes:\n      jpeg:\n        qualities: [70]\n"
    )
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    out = tmp_path / "o"
    generate(config=cfg, dataset="tiny", suite="other", out=out, limit=1, progress=False)
    with pytest.raises(ConfigError) as info:
        generate(config=cfg, dataset="tiny", suite="small", out=out, limit=1, progress=False)
    msg = str(info.value)
    assert "\n" not in msg and "'other'" in msg and "'small'" in msg
    assert "another --out" in msg and "--add-suite" in msg
    # the same through the CLI: one line, exit 2
    argv = ["generate", "--config", str(cfg), "--dataset", "tiny", "--suite", "small", "--out",
            str(out), "--limit", "1", "--quiet", "--jobs", "1"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "one suite of one dataset per OUT" in err[0]
    # a different dataset (the same tree given by path) is refused too
    with pytest.raises(ConfigError, match=r"not dataset 'data'"):
        generate(
            config=cfg, dataset=str(tiny_tree), suite="other", out=out, limit=1, progress=False
        )
    # --add-suite allows it; a rerun of a held suite needs nothing
    assert main([*argv, "--add-suite"]) == 0
    generate(config=cfg, dataset="tiny", suite="other", out=out, limit=1, progress=False)
    assert set(read_manifest(out).suite) == {"other", "small"}


# ------------------------------------------------- 12.5 skipped steps and the metadata policy


@pytest.fixture()
def twitter_run(tmp_path: Path):
    root = tmp_path / "data"
    src = _metadata_jpeg(root / "cam" / "small.jpg", photo("astronaut", 96), 92)
    cfg = _write_config(tmp_path, root, {
        "s": {"seed": 1, "axes": {"tw": {"type": "social", "presets": ["twitter-like"], "hops": [1, 2]}}}
    })  # fmt: skip
    out = tmp_path / "o"
    generate(config=cfg, dataset="t", suite="s", out=out, progress=False)
    return read_manifest(out), out, src


def test_twitter_like_passthrough_strips_metadata_losslessly(twitter_run, tmp_path: Path) -> None:
    df, out, src = twitter_run
    assert _kinds_outside(src, "jpg", tmp_path) == {"exif", "icc", "xmp"}  # the reader sees them
    rows = df[df.axis == "tw"]
    assert len(rows) == 2
    for row in rows.itertuples():
        data = (out / row.path).read_bytes()
        assert list(row.reencode_skipped) == [True] * int(row.level)
        assert _kinds_outside(data, "jpg", tmp_path) == set(), row.level  # stripped
        assert np.array_equal(decode_pillow(data), decode_pillow(src))  # no pixel changed
        assert len(data) < len(src) and data[-2:] == b"\xff\xd9"
        assert row.exif_survived is False and row.icc_survived is False
        assert row.xmp_survived is False and not row.metadata_survived


def test_steps_after_a_fired_skip_rule_are_marked_skipped(twitter_run) -> None:
    df, _, _ = twitter_run
    suite = SHIPPED["presets"]["twitter-like"]["chain"]
    for row in df[df.axis == "tw"].itertuples():
        steps = json.loads(row.chain)[1:]  # after the load step
        ops = [s["op"] for s in steps]
        flags = [bool(s.get("skipped")) for s in steps]
        hops = int(row.level)
        assert ops.count("skip_if_small") == hops
        for s, skipped in zip(steps, flags):
            if s["op"] in ("skip_if_small", "strip_metadata", "keep_metadata"):
                assert not skipped, s["op"]  # these ran: the rule fired, the policy applied
            else:
                assert skipped and s["skipped"] is True, s["op"]  # resize, decode, jpeg...
        assert all(set(s) <= {"op", "backend", "params", "preset", "skipped"} for s in steps)
        assert ops.count("jpeg") == hops and len(steps) == hops * len(suite) + (hops - 1)
    # the variant ids hash the planned chain, unchanged by what ran
    from degradebench.generators.config import load_config

    cfg = load_config(default_config_path())
    assert cfg.presets["twitter-like"].note.count("strip") >= 1
    assert "blog; unconfirmed" in cfg.presets["twitter-like"].source
    ids = {p.variant_id for p in plan_source(_suite(), df.source_id.iloc[0])}
    assert ids == set(df.variant_id)


def _suite():
    from degradebench.generators.config import parse_config

    meta_suite = {"s": {"seed": 1, "axes": {"tw": {"type": "social", "presets": ["twitter-like"],
                                                   "hops": [1, 2]}}}}  # fmt: skip
    text = yaml.safe_dump({"version": 1, "suites": meta_suite, "presets": SHIPPED["presets"]})
    return parse_config(text).suites["s"]


# --------------------------------------------- 12.6 per-kind metadata and the last JPEG pass


def test_per_kind_survival_is_read_from_the_output_bytes(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _metadata_jpeg(root / "cam" / "meta.jpg", photo("coffee", 96), 92)
    (root / "cam").mkdir(parents=True, exist_ok=True)
    (root / "cam" / "bare.png").write_bytes(png_bytes(photo("astronaut", 96)))
    keep_exif_icc = {"source": "t", "note": "keeps exif and icc only",
                     "chain": [{"op": "keep_metadata", "kinds": ["exif", "icc"]},
                               {"op": "jpeg", "quality": 80}]}  # fmt: skip
    cfg = yaml.safe_load(_write_config(tmp_path, root, {"s": {"axes": {
        "keep": {"type": "social", "presets": ["keeper"], "hops": [1]},
        "shot": {"type": "social", "mode": "sequence", "presets": ["whatsapp-like", "facebook-like",
                                                                      "screenshot"], "hops": [3]},
    }}}).read_text())  # fmt: skip
    cfg["presets"]["keeper"] = keep_exif_icc
    cfg["presets"]["png-keeper"] = {"source": "t", "note": "keeps xmp and exif in a PNG",
                                    "chain": [{"op": "keep_metadata", "kinds": ["xmp", "exif"]},
                                              {"op": "png"}]}  # fmt: skip
    cfg["suites"]["s"]["axes"]["png"] = {"type": "social", "presets": ["png-keeper"], "hops": [1]}
    webp = features.check("webp")
    if webp:  # a WebP made after a JPEG pass carries that pass's quality too
        cfg["presets"]["webp-out"] = {"source": "t", "note": "re-saved as WebP",
                                      "chain": [{"op": "strip_metadata"},
                                                {"op": "webp", "quality": 75}]}  # fmt: skip
        cfg["suites"]["s"]["axes"]["webp"] = {"type": "social", "mode": "sequence", "hops": [2],
                                              "presets": ["whatsapp-like", "webp-out"]}  # fmt: skip
    path = tmp_path / "c2.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    out = tmp_path / "o"
    generate(config=path, dataset="t", suite="s", out=out, progress=False)
    df = read_manifest(out)
    for row in df[df.axis != "webp"].itertuples():
        data = (out / row.path).read_bytes()
        seen = _kinds_outside(data, "png" if row.format == "png" else "jpg", tmp_path)
        if row.source_path.endswith("bare.png"):  # the source had none: null, not false
            assert row.exif_survived is None and row.icc_survived is None
            assert row.xmp_survived is None and not row.metadata_survived
            continue
        for kind in ("exif", "icc", "xmp"):
            assert getattr(row, f"{kind}_survived") == (kind in seen), (row.axis, kind)
        if row.axis == "keep":
            assert seen == {"exif", "icc"} and row.metadata_survived  # every kept kind survived
        if row.axis == "png":  # XMP in a PNG (an iTXt chunk), seen from outside
            assert {"xmp", "exif"} <= seen and row.xmp_survived and row.metadata_survived
    # a PNG screenshot after two JPEG hops has the second hop's quality
    shot = df[(df.axis == "shot") & (df.format == "png")]
    fb = [s for s in SHIPPED["presets"]["facebook-like"]["chain"] if s["op"] == "jpeg"][0]
    assert len(shot) == 2 and (shot.jpeg_quality == fb["quality"]).all()
    assert shot.estimated_quality.isna().all()  # no JPEG tables in a PNG
    if webp:
        wa = [s for s in SHIPPED["presets"]["whatsapp-like"]["chain"] if s["op"] == "jpeg"][0]
        w = df[df.axis == "webp"]
        assert len(w) == 2 and (w.format == "webp").all()
        assert (w.jpeg_quality == wa["quality"]).all() and w.estimated_quality.isna().all()


def test_chelsea_and_grass_are_jpeg_history_sources(tmp_path: Path) -> None:
    names = {Path(r.path).name for r in list_samples()}
    assert {"chelsea.png", "grass.png"} <= names
    cfg = _write_config(tmp_path, None, {"s": {"seed": 0, "axes": {"jpeg": {"qualities": [90]}}}})
    text = cfg.read_text().replace("datasets: {}", "datasets:\n  samples:\n    kind: samples")
    cfg.write_text(text)
    out = tmp_path / "o"
    generate(config=cfg, dataset="samples", suite="s", out=out, limit=2, psnr=False, progress=False)
    df = read_manifest(out)
    by_name = df.assign(name=df.source_path.map(lambda p: Path(p).name))
    for name in ("chelsea.png", "grass.png"):
        rows = by_name[by_name.name == name]
        assert len(rows) == 2, name
        for row in rows.itertuples():
            hist = json.loads(row.source_jpeg_history)
            assert (
                hist["phase"] == [0, 0] and hist["estimate"] is True and hist["confidence"] > 0.05
            )
            load = json.loads(row.chain)[0]
            assert load["op"] == "load" and load["params"]["source_jpeg_history"] == hist
            if row.format == "jpeg":  # counted: the q90 variant is an aligned double JPEG
                assert row.jpeg_passes == 2 and [list(g) for g in row.prior_grid] == [[0, 0]]
            else:
                assert row.jpeg_passes == 1
    others = by_name[
        ~by_name.name.isin(["chelsea.png", "grass.png"]) & by_name.name.str.endswith(".png")
    ]
    assert len(others) and others.source_jpeg_history.isna().all()


def test_a_truly_lossless_png_has_no_jpeg_history(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:128, 0:128]
    smooth = np.sin(x / 9.0) * 50 + np.cos(y / 13.0) * 50 + 128 + rng.normal(0, 3, (128, 128))
    synthetic = np.stack([smooth, smooth[::-1], smooth.T], -1).clip(0, 255).astype(np.uint8)
    for arr in (synthetic, photo("astronaut", 128), photo("coffee", 128)):
        found = jpeg_history(arr)
        assert found is None or not found.confident, found
        path = tmp_path / "s.png"
        path.write_bytes(png_bytes(arr))
        src = with_jpeg_history(decode_source(path))
        assert src.jpeg_history is None and "source_jpeg_history" not in src.load_step["params"]
    # while the same pixels through one JPEG pass (shifted) are found, with their phase
    once = decode_pillow(jpeg_bytes(photo("astronaut", 160), 90))[3:, 5:]
    found = jpeg_history(once)
    assert found.confident and found.phase == (5, 3)


# ------------------------------------------------------------------ verify's error counts


def test_verify_counts_source_and_variant_errors_apart_and_names_orphans(
    tmp_path: Path, capsys
) -> None:
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    (root / "a" / "tiny.png").write_bytes(png_bytes(photo("astronaut", 4)))  # too small to crop
    (root / "a" / "ok.jpg").write_bytes(jpeg_bytes(photo("astronaut", 64)))
    (root / "a" / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    cfg = _write_config(
        tmp_path, root, {"s": {"axes": {"crop": {"offsets": [[0, 0], [3, 5]], "size": [32, 32]}}}}
    )
    out = tmp_path / "o"
    s = generate(config=cfg, dataset="t", suite="s", out=out, progress=False)
    errs = read_errors(out)
    assert s.failed_sources == 1 and s.failed_variants == (errs.stage == "variant").sum() >= 1
    assert set(errs[errs.stage == "variant"].error_type) == {"OpError"}
    (out / "variants" / "stray.png").write_bytes(b"x")
    rep = verify(out)
    assert (rep.source_errors, rep.variant_errors) == (1, s.failed_variants)
    assert f"1 recorded source errors, {s.failed_variants} recorded variant errors" in rep.line()
    assert rep.orphans == ["variants/stray.png"]
    assert main(["verify", str(out)]) == 0
    assert "orphan: variants/stray.png" in capsys.readouterr().err


# ------------------------------------------------------------------ 12.9 the messages


def test_folds_that_select_nothing_name_the_folds_that_exist(tiny_config: Path, tmp_path) -> None:
    with pytest.raises(
        ConfigError, match=r"--folds: no source is in fold 7; this dataset has folds 0, 1"
    ):
        generate(config=tiny_config, dataset="tiny", suite="small", out=tmp_path / "o",
                 folds=[7], progress=False)  # fmt: skip


def test_a_dataset_path_that_does_not_exist_says_no_such_folder(tmp_path: Path, capsys) -> None:
    for spelling in ("./nope", str(tmp_path / "nope"), "data/nope"):
        with pytest.raises(ConfigError, match="no such folder") as info:
            generate(dataset=spelling, suite="default", out=tmp_path / "o", progress=False)
        assert "unknown dataset" not in str(info.value)
    assert main(["generate", "--dataset", "./nope", "--out", str(tmp_path / "o2"), "--quiet"]) == 2
    assert "no such folder" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="unknown dataset 'nope'"):  # a bare name stays a name
        generate(dataset="nope", suite="default", out=tmp_path / "o3", progress=False)


def test_images_without_class_folders_show_the_expected_layout(tmp_path: Path) -> None:
    root = tmp_path / "flat"
    root.mkdir()
    for i in range(3):
        (root / f"{i}.png").write_bytes(png_bytes(photo("astronaut", 16, i, i)))
    with pytest.raises(ConfigError) as info:
        list_folder(root, yaml_path="--dataset")
    msg = str(info.value)
    assert "holds 3 images but no class sub-folders" in msg and "/<label>/<image>" in msg
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no images under .*expected layout"):
        list_folder(tmp_path / "empty")


def test_generate_jobs_defaults_to_all_cores() -> None:
    import argparse
    import os

    from degradebench import _cmd_generate
    from degradebench.generators.runner import default_jobs

    parser = argparse.ArgumentParser()
    _cmd_generate.add_parser(parser.add_subparsers())
    args = parser.parse_args(["generate", "--dataset", "x", "--out", "o"])
    assert args.jobs is None  # generate(jobs=None) uses default_jobs()
    assert parser.parse_args(["generate", "--dataset", "x", "--out", "o", "--jobs", "3"]).jobs == 3
    assert default_jobs() == len(os.sched_getaffinity(0))


def _formats() -> dict[str, str]:
    fmts = {"tga": "TGA", "sgi": "SGI", "pcx": "PCX", "qoi": "QOI", "dib": "DIB"}
    if features.check("jpg_2000"):
        fmts["jp2"] = "JPEG2000"
    if features.check("avif"):
        fmts["avif"] = "AVIF"
    return fmts


def test_pillow_readable_formats_are_sources(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    arr = photo("astronaut", 48)
    for ext, fmt in _formats().items():
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, fmt)
        (root / "a" / f"x.{ext}").write_bytes(buf.getvalue())
    refs = list_folder(root)
    assert {Path(r.path).suffix[1:] for r in refs} == set(_formats())
    cfg = _write_config(tmp_path, root, {"s": {"axes": {"jpeg": {"qualities": [80]}}}})
    out = tmp_path / "o"
    s = generate(config=cfg, dataset="t", suite="s", out=out, progress=False)
    assert s.failed_sources == 0 and read_errors(out).empty, read_errors(out).to_dict("records")
    assert s.variants == 2 * len(_formats())
