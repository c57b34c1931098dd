"""The modern-codec ops and axes (issue 13, H3): each codec's file read back by an independent
decoder with its recorded settings matching, the header facts the manifest records, the
``modern-codecs`` suite generated and verified, and the install hint at planning."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from _harness import sample_image
from degradebench.generators.codecinfo import codec_facts
from degradebench.generators.core import plugins
from degradebench.generators.core.errors import ConfigError, OpError
from degradebench.generators.ops import ImageState, make_step, run_chain
from PIL import Image

pillow_heif = pytest.importorskip("pillow_heif")
pillow_jxl = pytest.importorskip("pillow_jxl")

ROOT = Path(__file__).resolve().parents[1]


def _encode(spec: dict, pixels: np.ndarray | None = None) -> ImageState:
    img = sample_image(64, 72) if pixels is None else pixels
    return run_chain(ImageState(pixels=img), [make_step(spec)])


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


@pytest.mark.parametrize("sub", ["4:2:0", "4:2:2", "4:4:4"])
def test_avif_chroma_read_back_and_decoded_by_pillow(sub):
    out = _encode({"op": "avif", "quality": 70, "subsampling": sub})
    assert out.fmt == "avif" and out.pixels is None
    assert codec_facts("avif", out.data)["subsampling"] == sub
    with Image.open(io.BytesIO(out.data)) as im:  # Pillow's own libavif/dav1d decoder
        assert im.format == "AVIF" and im.size == (72, 64)
        assert _psnr(np.asarray(im.convert("RGB")), sample_image(64, 72)) > 25


def test_avif_bytes_are_pinned_by_max_threads():
    """libaom's bytes depend on the thread count: the op pins it, so two runs agree."""
    spec = {"op": "avif", "quality": 60, "max_threads": 1}
    assert _encode(spec).data == _encode(spec).data
    assert make_step({"op": "avif"}).params.max_threads == 1


@pytest.mark.parametrize("chroma", ["4:2:0", "4:2:2", "4:4:4"])
def test_heic_chroma_agrees_with_pillow_heif(chroma):
    out = _encode({"op": "heic", "quality": 60, "chroma": chroma})
    heif = pillow_heif.open_heif(io.BytesIO(out.data))  # the independent reader
    assert heif.info["chroma"] == int(chroma.replace(":", "")) and heif.size == (72, 64)
    assert codec_facts("heic", out.data)["subsampling"] == chroma
    assert _psnr(np.asarray(heif), sample_image(64, 72)) > 25


def test_heic_quality_ladder_is_monotone_in_size():
    sizes = [len(_encode({"op": "heic", "quality": q}).data) for q in (10, 50, 90)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_jxl_lossless_is_exact_and_lossy_is_xyb():
    img = sample_image(64, 72)
    lossless = _encode({"op": "jxl", "quality": 100, "lossless": True}, img)
    lossy = _encode({"op": "jxl", "quality": 50})
    decoder = pillow_jxl.Decoder()  # the plugin's own decoder, outside Pillow
    _, info, raw, _, _ = decoder(lossless.data)
    got = np.frombuffer(raw, np.uint8).reshape(info.height, info.width, -1)
    assert np.array_equal(got, img) and lossless.lossless_pixels and lossless.pixels is img
    assert codec_facts("jxl", lossless.data) == {"xyb_encoded": False, "bit_depth": 8}
    assert codec_facts("jxl", lossy.data) == {"xyb_encoded": True, "bit_depth": 8}
    assert lossy.pixels is None and len(lossy.data) < len(lossless.data)


def test_jxl_records_libjxl_distance_of_its_quality():
    assert [make_step({"op": "jxl", "quality": q}).params.distance for q in (90, 30, 0)] == [
        1.0,
        6.4,
        25.0,
    ]
    with pytest.raises(OpError, match="quality 90 means distance 1 .*got 2.0"):
        make_step({"op": "jxl", "quality": 90, "distance": 2.0})


def test_jxl_refuses_quality_100_without_lossless():
    with pytest.raises(OpError, match="quality: 100 means distance 0.*set lossless true"):
        make_step({"op": "jxl", "quality": 100})
    with pytest.raises(OpError, match="lossless JPEG XL ignores quality, got 80"):
        make_step({"op": "jxl", "quality": 80, "lossless": True})


@pytest.mark.parametrize("target", [30.0, 38.0])
def test_jpeg2000_reaches_its_target_psnr_and_records_its_header(target):
    img = sample_image(64, 72)
    out = _encode({"op": "jpeg2000", "quality": target, "num_resolutions": 4}, img)
    with Image.open(io.BytesIO(out.data)) as im:  # Pillow's OpenJPEG decoder
        got = _psnr(np.asarray(im), img)
    assert abs(got - target) < 1.5, got  # OpenJPEG's dB mode aims at the layer's PSNR
    facts = codec_facts("jpeg2000", out.data)
    assert facts == {"container": "jp2", "components": 3, "bit_depth": 8, "progression": "LRCP",
                     "layers": 1, "mct": True, "resolutions": 4, "irreversible": True}  # fmt: skip


def test_jpeg2000_rates_reversible_and_the_size_rule():
    out = _encode({"op": "jpeg2000", "quality": 20, "quality_mode": "rates", "irreversible": False})
    facts = codec_facts("jpeg2000", out.data)
    assert facts["irreversible"] is False and facts["resolutions"] == 6
    assert 64 * 72 * 3 / len(out.data) > 10  # about 20:1 (the container adds a little)
    with pytest.raises(OpError, match="num_resolutions 6 needs both sides >= 32 px, got 40x20"):
        _encode({"op": "jpeg2000"}, sample_image(20, 40))


def test_webp_header_facts():
    assert codec_facts("webp", _encode({"op": "webp", "quality": 50}).data) == {
        "lossless": False,
        "subsampling": "4:2:0",
    }
    assert codec_facts("webp", _encode({"op": "webp", "lossless": True}).data)["lossless"]
    assert codec_facts("jpeg", b"\xff\xd8") == {} and codec_facts("avif", b"junk") == {}


def test_jpeg2000_refuses_kept_metadata():
    exif = Image.Exif()
    exif[0x010F] = "Phone"  # Make
    state = ImageState(pixels=sample_image(), meta={"keep": ("exif",), "exif": exif.tobytes()})
    with pytest.raises(OpError, match=r"cannot carry the kept metadata \(exif\)"):
        run_chain(state, [make_step({"op": "jpeg2000", "num_resolutions": 3})])


def test_heic_and_jxl_sources_decode_like_any(tmp_path):
    from degradebench.generators.decode import decode_source

    img = sample_image(64, 72)
    for spec, fmt in (({"op": "heic", "quality": 80}, "HEIF"), ({"op": "jxl", "quality": 100,
                                                                 "lossless": True}, "JXL")):  # fmt: skip
        src = decode_source(f"x.{fmt.lower()}", data=_encode(spec, img).data)
        assert src.load_step["params"]["format"] == fmt and src.pixels.shape == img.shape


def _tiny_tree(tmp_path: Path) -> Path:
    root = tmp_path / "d"
    for label, img in (("rgb", sample_image(64, 72)), ("grey", sample_image(48, 64)[..., 1])):
        (root / label).mkdir(parents=True)
        Image.fromarray(img).save(root / label / f"{label}.png")
    return root


@pytest.fixture()
def codec_run(tmp_path) -> Path:
    from degradebench.generators import generate

    out = tmp_path / "out"
    generate(config=ROOT / "datasets.yaml", dataset=str(_tiny_tree(tmp_path)),
             suite="modern-codecs", out=out, progress=False)  # fmt: skip
    return out


def test_modern_codecs_suite_generates_verifies_and_records(codec_run):
    from degradebench.generators import read_errors, read_manifest, verify

    report = verify(codec_run)
    assert report.ok and not report.orphans, report.problems
    assert read_errors(codec_run).empty
    df = read_manifest(codec_run)
    assert len(df) == 2 * 24
    ext = {"webp": ".webp", "avif": ".avif", "heic": ".heic", "jxl": ".jxl", "jpeg2000": ".jp2"}
    for row in df.itertuples():
        if row.axis in ext:
            assert row.format == row.axis and row.path.endswith(ext[row.axis])
            facts = json.loads(row.codec_info)
            data = (codec_run / row.path).read_bytes()
            assert facts == codec_facts(row.format, data)
            sub = row.subsampling if isinstance(row.subsampling, str) else None
            assert sub == facts.get("subsampling")
            chain = json.loads(row.chain)
            assert chain[-1]["op"] == row.axis
            assert chain[-1]["params"]["quality"] == json.loads(row.axis_params)["quality"]
    tc = df[df.axis == "transcode"]
    assert set(tc.format) == {"jpeg"} and set(tc.jpeg_quality) == {95, 85, 75}
    assert all([s["op"] for s in json.loads(c)][1:] == ["heic", "decode", "jpeg"] for c in tc.chain)


def test_verify_catches_a_codec_header_that_differs(codec_run):
    import pyarrow.parquet as pq
    from degradebench.generators import verify

    files = sorted((codec_run / "manifest").glob("*.parquet"))
    table = pq.read_table(files[0])
    info = table.column("codec_info").to_pylist()
    at = next(i for i, v in enumerate(info) if v and "xyb_encoded" in v)
    info[at] = json.dumps({"bit_depth": 8, "xyb_encoded": False})
    idx = table.schema.get_field_index("codec_info")
    pq.write_table(table.set_column(idx, "codec_info", [info]), files[0])
    report = verify(codec_run)
    assert not report.ok and "codec header" in report.problems[0]


def test_reference_model_evaluates_the_new_formats(codec_run, tmp_path):
    """Every variant (AVIF, HEIC, JXL, JP2, WebP, JPEG) is decoded by the evaluators' loader."""
    from degradebench.evaluators import evaluate
    from degradebench.generators import read_manifest

    res = evaluate(codec_run, "reference", tmp_path / "r", device="cpu", workers=0,
                   progress=False, n_boot=20)  # fmt: skip
    assert res.errors.empty
    assert set(res.predictions.variant_id) == set(read_manifest(codec_run).variant_id)
    assert res.predictions.flipped.notna().all()


@pytest.mark.parametrize("axis, package", [("heic", "pillow-heif"), ("jxl", "pillow-jxl-plugin")])
def test_missing_codec_library_fails_at_planning(monkeypatch, tmp_path, axis, package):
    from degradebench.generators import generate

    real = plugins._import
    monkeypatch.setattr(plugins, "_import", lambda m: None if m != "PIL" and m.startswith("pillow_") else real(m))  # fmt: skip
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"version: 1\nsuites:\n  s:\n    axes:\n      {axis}:\n        qualities: [50]\n"
    )
    with pytest.raises(ConfigError) as info:
        generate(config=cfg, dataset=str(_tiny_tree(tmp_path)), suite="s", out=tmp_path / "o",
                 progress=False)  # fmt: skip
    msg = str(info.value)
    assert f"axis type {axis!r}" in msg and package in msg, msg
    assert 'pip install "degradebench[codecs]"' in msg and "\n" not in msg
    assert "suites.s.axes." in msg  # the YAML path of the axis
    assert not (tmp_path / "o").exists()  # checked before OUT is made: nothing written


@pytest.mark.slow
def test_modern_codecs_on_samples(tmp_path):
    from degradebench.generators import generate, read_manifest, verify

    out = tmp_path / "out"
    generate(config=ROOT / "datasets.yaml", dataset="samples", suite="modern-codecs", out=out,
             progress=False, limit=1)  # fmt: skip
    assert verify(out).ok and len(read_manifest(out)) == 4 * 24


def test_a_pillow_without_avif_fails_at_planning_with_the_upgrade_hint(monkeypatch):
    from degradebench.generators.axes import AXES, PlanContext
    from degradebench.generators.core.records import from_mapping
    from PIL import features

    real = features.check
    monkeypatch.setattr(features, "check", lambda f: False if f == "avif" else real(f))
    axis = AXES.get("avif")
    ctx = PlanContext("s", lambda name: np.random.default_rng(0))
    with pytest.raises(ConfigError, match=r"^axis type 'avif': needs AVIF \(libavif\).*11\.3"):
        axis.plan(from_mapping(axis.params_cls, {"qualities": [50]}, "avif"), ctx)
