"""The codec-implementation ops and axis: the same JPEG quality written and read by different
libjpeg builds. jpeglib-backed tests skip cleanly when the optional ``codecs`` extra is absent."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
from conftest import photo
from degradebench.generators.axes.codec import parse_decoder
from degradebench.generators.config import parse_config
from degradebench.generators.core.errors import ConfigError, OpError
from degradebench.generators.ops import ImageState, Step, make_step, run_chain
from degradebench.generators.ops.codec import (
    JpegCodecParams,
    JpegDecodeParams,
    bundled_implementation,
    wrapper_version,
)
from degradebench.generators.ops.jpeg import JpegParams
from degradebench.generators.plan import plan_source
from PIL import Image

IMG = photo("chelsea", 128, 30, 90)


def _enc(backend: str, impl: str | None = None, **kw) -> Step:
    kw.setdefault("quality", 75)
    p = JpegCodecParams(
        implementation=impl or bundled_implementation(backend),
        version=wrapper_version(backend),
        **kw,
    )
    return Step("jpeg_codec", backend, p)


def _dec(backend: str, impl: str | None = None, **kw) -> Step:
    p = JpegDecodeParams(
        implementation=impl or bundled_implementation(backend),
        version=wrapper_version(backend),
        **kw,
    )
    return Step("jpeg_decode", backend, p)


def _bytes(step: Step, img=IMG) -> bytes:
    return run_chain(ImageState(img), [step]).data


def test_pillow_and_opencv_write_identical_jpegs_and_record_their_libjpeg():
    """Both bundle libjpeg-turbo: byte-identical for the same RGB input and settings."""
    for sub in ("4:2:0", "4:4:4"):
        a = _bytes(_enc("pillow", subsampling=sub))
        b = _bytes(_enc("opencv", subsampling=sub))
        assert a == b, sub
    assert bundled_implementation("pillow").startswith("libjpeg-turbo-")
    assert bundled_implementation("opencv").startswith("libjpeg-turbo-")
    # and the codec op writes what the existing jpeg op writes (same kernel, same bytes)
    old = run_chain(ImageState(IMG), [Step("jpeg", "pillow", JpegParams(75))]).data
    assert _bytes(_enc("pillow")) == old


# libjpeg-turbo's integer encoder is portable: its bytes are pinned per libjpeg-turbo minor.
TURBO_GOLDEN = {"3.": "0022e277ad883e3245c5201680c38f0d40200742a2b68191b2fb15a36fcc56b8"}


def test_libjpeg_turbo_bytes_are_pinned():
    impl = bundled_implementation("pillow")
    key = next((k for k in TURBO_GOLDEN if impl.startswith("libjpeg-turbo-" + k)), None)
    if key is None:
        pytest.skip(f"pinned for libjpeg-turbo {sorted(TURBO_GOLDEN)}, this is {impl}")
    digest = hashlib.sha256(_bytes(_enc("pillow", quality=90))).hexdigest()
    assert digest == TURBO_GOLDEN[key], digest


def test_decode_records_a_grid_and_needs_jpeg_bytes():
    state = run_chain(ImageState(IMG), [_enc("pillow"), _dec("pillow")])
    assert state.grids == ((0, 0),) and state.passes == 1 and state.jpeg_quality == 75
    with Image.open(io.BytesIO(_bytes(_enc("pillow")))) as im:
        assert np.array_equal(state.pixels, np.asarray(im))
    with pytest.raises(OpError, match="needs JPEG bytes"):
        run_chain(ImageState(IMG), [_dec("pillow")])
    with pytest.raises(OpError, match="islow and fancy upsampling only"):
        run_chain(ImageState(IMG), [_enc("pillow"), _dec("pillow", idct="ifast")])
    with pytest.raises(OpError, match="bundles"):
        run_chain(ImageState(IMG), [_enc("pillow", impl="libjpeg-6b")])


def test_codec_steps_round_trip_through_json():
    for step in (_enc("pillow"), _dec("opencv")):
        assert make_step(json.loads(json.dumps(step.to_json()))) == step
    with pytest.raises(OpError, match="mozjpeg"):
        JpegCodecParams(quality=75, implementation="mozjpeg-4.0.3")


def test_codec_axis_plans_and_validates():
    text = """
version: 1
suites:
  s:
    axes:
      codec:
        qualities: [75, 90]
        encoders: [pillow, opencv]
      dec:
        type: codec
        qualities: [70]
        encoders: [pillow]
        decoders: [pillow]
        center_crop: [64, 64]
"""
    plans = plan_source(parse_config(text).suite("s"), "x")
    codec = [p for p in plans if p.axis == "codec"]
    assert [p.level for p in codec] == [
        "q=75,enc=pillow",
        "q=75,enc=opencv",
        "q=90,enc=pillow",
        "q=90,enc=opencv",
    ]
    assert [s.op for s in codec[0].chain] == ["jpeg_codec"]
    dec = [p for p in plans if p.axis == "dec"]
    assert [p.level for p in dec] == ["70"]  # only the quality varies: a plain tick label
    assert [s.op for s in dec[0].chain] == ["jpeg_codec", "jpeg_decode", "center_crop", "png"]
    assert dec[0].axis_params["decoder"] == "pillow/islow/fancy"
    for bad, msg in [
        (
            "encoders: [libjpeg-6c]",
            r"encoders\[0\]: unknown implementation 'libjpeg-6c'; did you mean",
        ),
        ("decoders: [pillow/ifast]", r"decoders\[0\]: pillow decodes with islow"),
        ("decoders: [libjpeg-6b/fast]", r"unknown option 'fast'"),
        ("center_crop: [8, 8]", r"center_crop: needs at least one decoder"),
    ]:
        text = f"version: 1\nsuites:\n  s:\n    axes:\n      codec:\n        qualities: [75]\n        {bad}\n"
        with pytest.raises(ConfigError, match=msg):
            parse_config(text)
    assert parse_decoder("libjpeg-9e/nofancy/float") == ("libjpeg-9e", "float", False)


# ----------------------------------------------------------------------------- jpeglib


@pytest.fixture()
def jpeglib():
    return pytest.importorskip("jpeglib", reason="optional extra 'codecs' (jpeglib) not installed")


def test_jpeglib_encoder_equals_a_direct_jpeglib_call(jpeglib, tmp_path):
    for impl, token in (("libjpeg-6b", "6b"), ("libjpeg-9e", "9e")):
        for sub, factors in (
            ("4:2:0", [[2, 2], [1, 1], [1, 1]]),
            ("4:2:2", [[1, 2], [1, 1], [1, 1]]),
        ):
            ours = _bytes(_enc("jpeglib", impl, subsampling=sub))
            jpeglib.version.set(token)
            im = jpeglib.from_spatial(np.ascontiguousarray(IMG))
            im.samp_factor = factors
            path = tmp_path / f"{token}.jpg"
            im.write_spatial(
                str(path),
                qt=75,
                dct_method=jpeglib.JDCT_ISLOW,
                flags=["-OPTIMIZE_CODING", "-PROGRESSIVE_MODE"],
            )
            assert ours == path.read_bytes(), (impl, sub)


def test_implementations_differ_where_the_literature_says(jpeglib):
    turbo = _bytes(_enc("pillow"))
    six_b = _bytes(_enc("jpeglib", "libjpeg-6b"))
    nine_e = _bytes(_enc("jpeglib", "libjpeg-9e"))
    moz = run_chain(
        ImageState(IMG), [_enc("jpeglib", "mozjpeg-4.0.3", optimize=True, progressive=True)]
    )
    assert six_b == turbo  # libjpeg-turbo keeps 6b's integer encoder and IJG tables
    assert nine_e != six_b
    with Image.open(io.BytesIO(six_b)) as a, Image.open(io.BytesIO(nine_e)) as b:
        assert a.quantization[0] == b.quantization[0]  # same luma table at Q75
        assert a.quantization[1] != b.quantization[1]  # 9e changed the chroma base table
    assert moz.jpeg_quality is None  # mozjpeg's tables are not IJG-scaled
    with Image.open(io.BytesIO(moz.data)) as m, Image.open(io.BytesIO(turbo)) as t:
        assert m.quantization[0] != t.quantization[0]
        assert m.info.get("progressive") or m.info.get("progression")


def test_decoders_differ_by_idct_and_upsampling(jpeglib, tmp_path):
    data = _bytes(_enc("pillow", quality=90))
    state = run_chain(ImageState(IMG), [_enc("pillow", quality=90)])

    def decode(impl, **kw):
        return run_chain(state, [_dec("jpeglib", impl, **kw)]).pixels

    with Image.open(io.BytesIO(data)) as im:
        ref = np.asarray(im)
    islow = decode("libjpeg-6b")
    assert np.array_equal(islow, ref)  # libjpeg-turbo decodes 4:2:0 like 6b
    ifast = decode("libjpeg-6b", idct="ifast")
    flt = decode("libjpeg-6b", idct="float")
    plain = decode("libjpeg-6b", fancy_upsampling=False)
    nine = decode("libjpeg-9e")
    for name, other in (("ifast", ifast), ("float", flt), ("nofancy", plain), ("9e", nine)):
        assert not np.array_equal(other, ref), name
    assert (ifast != ref).mean() > 0.2  # "about half of the samples" (Benes et al. 2022)
    # ... and equal to jpeglib called by hand
    path = tmp_path / "in.jpg"
    path.write_bytes(data)
    jpeglib.version.set("6b")
    direct = jpeglib.read_spatial(
        str(path), dct_method=jpeglib.JDCT_IFAST, flags=["+DO_FANCY_UPSAMPLING"]
    ).spatial
    assert np.array_equal(ifast, direct)


def test_codec_suite_in_datasets_yaml_plans_every_implementation(jpeglib):
    from degradebench.generators.config import load_config

    cfg = load_config()  # ./datasets.yaml, else the shipped copy
    plans = plan_source(cfg.suite("codec-implementations"), "x")
    encs = {json.loads(json.dumps(p.axis_params))["encoder"] for p in plans if p.axis == "codec"}
    assert encs == {"pillow", "opencv", "libjpeg-6b", "libjpeg-9e", "mozjpeg-4.0.3"}
    for p in plans:
        for s in p.chain:
            if s.op in ("jpeg_codec", "jpeg_decode"):
                assert s.params.implementation and s.params.version
