"""decode_source: every bad-input kind raises the right SourceError; odd modes follow the policy.

All inputs are crafted here from real codecs (Pillow, OpenCV) and scikit-image photographs.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import cv2
import numpy as np
import pytest
import skimage.data
from degradebench.generators.core.errors import DegradebenchError, SourceError
from degradebench.generators.decode import (
    DECODE_ERROR_TYPES,
    ICC_POLICY,
    DecodedSource,
    decode_source,
    jpeg_grid_after_orientation,
)
from degradebench.generators.jpeginfo import blockiness_phase, estimate_quality
from PIL import Image, ImageCms, ImageFile


def photo(h: int = 64, w: int = 64, name: str = "chelsea") -> np.ndarray:
    return np.ascontiguousarray(getattr(skimage.data, name)()[40 : 40 + h, 60 : 60 + w, :3])


def save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_declaring(width: int, height: int) -> bytes:
    """A ~60-byte PNG whose header declares width x height gray pixels (a bomb if large)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00"))
        + png_chunk(b"IEND", b"")
    )


JPEG = save(Image.fromarray(photo()), "JPEG", quality=75)
PNG = save(Image.fromarray(photo()), "PNG")


def _bit_flipped_png() -> bytes:
    data = bytearray(PNG)
    start = data.index(b"IDAT") + 4
    for i in range(start + 10, start + 60, 7):
        data[i] ^= 0xFF
    return bytes(data)


def _garbage_scan_jpeg(seed: int = 3) -> bytes:
    data = bytearray(JPEG)
    start = data.index(b"\xff\xda") + 30
    data[start : start + 200] = np.random.default_rng(seed).bytes(200)
    return bytes(data)


def _second_soi_jpeg() -> bytes:
    start = JPEG.index(b"\xff\xda") + 30
    return JPEG[:start] + b"\xff\xd8" + JPEG[start + 2 :]


def _twelve_bit_jpeg() -> bytes:
    data = bytearray(JPEG)
    data[data.index(b"\xff\xc0") + 4] = 12  # SOF sample precision
    return bytes(data)


def _float_tiff() -> bytes:
    return save(Image.fromarray(np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)), "TIFF")


BAD_INPUTS = {
    "zero bytes": (b"", "empty"),
    "jpeg cut in half": (JPEG[: len(JPEG) // 2], "truncated"),
    "jpeg cut in its header": (JPEG[:100], "truncated"),
    "jpeg cut after 20 bytes": (JPEG[:20], "truncated"),
    "jpeg without EOI": (JPEG[:-2], "truncated"),
    "png cut in half": (PNG[: len(PNG) // 2], "truncated"),
    "png cut in its header": (PNG[:40], "truncated"),
    "png cut after 20 bytes": (PNG[:20], "truncated"),
    "png with flipped IDAT bytes": (_bit_flipped_png(), "corrupt"),
    "jpeg with garbage scan data": (_garbage_scan_jpeg(), "corrupt"),
    "jpeg with a second SOI in its scan": (_second_soi_jpeg(), "corrupt"),
    "text file named .jpg": (b"name,label\nimg1.jpg,cat\n", "not_an_image"),
    "random bytes": (np.random.default_rng(1).bytes(2000), "not_an_image"),
    "png declaring 20000x20000": (png_declaring(20000, 20000), "decompression_bomb"),
    "png declaring 12000x12000 (Pillow warning level)": (
        png_declaring(12000, 12000),
        "decompression_bomb",
    ),
    "12-bit jpeg": (_twelve_bit_jpeg(), "unsupported_mode"),
    "float tiff": (_float_tiff(), "unsupported_mode"),
    "eps (would run Ghostscript)": (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n%%EndComments\nshowpage\n",
        "unsupported_mode",
    ),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_raises_source_error(name):
    data, kind = BAD_INPUTS[name]
    path = f"/data/cam/{name.replace(' ', '_')}.jpg"
    with pytest.raises(SourceError) as info:
        decode_source(path, data)
    err = info.value
    assert (err.error_type, err.stage, err.path) == (kind, "decode", path)
    assert kind in DECODE_ERROR_TYPES
    assert str(err).startswith(f"{path}: decode: ") and len(err.message) > 20


def test_entropy_corruption_libjpeg_only_warns_about_is_not_seen():
    # Documented limit: libjpeg-turbo only warns about this damage and Pillow drops the
    # warning, so the file decodes (to damaged pixels). If this starts failing, Pillow began
    # reporting it: update the policy text in generators/decode.py.
    res = decode_source("g.jpg", _garbage_scan_jpeg(seed=0))
    assert not np.array_equal(res.pixels, decode_source("a.jpg", JPEG).pixels)


def test_bomb_message_and_max_pixels():
    with pytest.raises(SourceError, match="exceeds the limit of 1000") as info:
        decode_source("a.png", PNG, max_pixels=1000)
    assert info.value.error_type == "decompression_bomb"
    assert decode_source("a.png", PNG, max_pixels=64 * 64).width == 64
    # A caller's limit above Pillow's warning threshold is honoured (the declared size is
    # then accepted and the file fails later for its missing pixel data, not as a bomb).
    with pytest.raises(SourceError) as info:
        decode_source("b.png", png_declaring(12000, 12000), max_pixels=200_000_000)
    assert info.value.error_type != "decompression_bomb"


def test_warning_filters_untouched():
    import warnings

    before = list(warnings.filters)
    with pytest.raises(SourceError):
        decode_source("b.png", png_declaring(12000, 12000))
    assert warnings.filters == before
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_refuses_when_load_truncated_images_set_elsewhere(monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(DegradebenchError, match="LOAD_TRUNCATED_IMAGES"):
        decode_source("a.jpg", JPEG)


def test_reads_path_when_no_bytes_given(tmp_path):
    f = tmp_path / "a.jpg"
    f.write_bytes(JPEG)
    assert np.array_equal(decode_source(f).pixels, decode_source(str(f), JPEG).pixels)
    with pytest.raises(SourceError) as info:
        decode_source(tmp_path / "missing.jpg")
    assert (info.value.stage, info.value.error_type) == ("read", "unreadable")


# --- the documented result of each odd mode -------------------------------------------------


def check_output(res: DecodedSource, mode_out: str) -> None:
    px = res.pixels
    assert px.dtype == np.uint8 and px.flags.c_contiguous and not px.flags.writeable
    assert px.ndim == (2 if mode_out == "L" else 3)
    assert (res.height, res.width) == px.shape[:2]
    assert res.load_step["op"] == "load" and res.load_step["backend"] == "pillow"
    assert res.load_step["params"]["mode_out"] == mode_out


def over_white(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float64) / 255
    return np.round(c.astype(np.float64) * a + 255 * (1 - a)).astype(np.uint8)


def test_rgb_jpeg_plain():
    res = decode_source("a.jpg", JPEG)
    check_output(res, "RGB")
    p = res.load_step["params"]
    assert p == {
        "format": "JPEG",
        "mode_in": "RGB",
        "mode_out": "RGB",
        "bit_depth_in": 8,
        "exif_orientation": None,
        "alpha": None,
        "icc": None,
        "conversions": [],
    }
    assert res.is_jpeg and res.jpeg_grid == (0, 0) and not res.has_metadata
    assert estimate_quality(res.jpeg_probe) == 75
    assert np.array_equal(res.pixels, np.asarray(Image.open(io.BytesIO(JPEG))))


def test_cmyk_jpeg_to_rgb():
    cmyk = Image.new("CMYK", (32, 24), (0, 255, 255, 0))  # pure red in CMYK
    res = decode_source("c.jpg", save(cmyk, "JPEG", quality=95))
    check_output(res, "RGB")
    p = res.load_step["params"]
    assert p["mode_in"] == "CMYK" and p["conversions"] == ["CMYK->RGB (pillow, no ICC)"]
    assert "Adobe-inverted" in p["cmyk"]
    r, g, b = res.pixels[12, 16].astype(int)
    assert r > 240 and g < 15 and b < 15
    assert res.jpeg_probe.components == 4


def test_cmyk_tiff_to_rgb_formula():
    arr = np.array([[[100, 50, 0, 60], [0, 0, 0, 0], [0, 0, 0, 255]]], np.uint8)
    res = decode_source("c.tif", save(Image.fromarray(arr, "CMYK"), "TIFF"))
    check_output(res, "RGB")
    nc, nk = 255 - arr[..., :3].astype(float), 255 - arr[..., 3:].astype(float)
    assert np.abs(res.pixels.astype(float) - nc * nk / 255).max() <= 1
    assert not res.is_jpeg and res.jpeg_grid is None


def test_sixteen_bit_gray_png_rounds():
    v = np.array([[0, 128, 129, 25828, 32896, 65535, 300, 65280]], np.uint16)
    res = decode_source("g16.png", save(Image.fromarray(v), "PNG"))
    check_output(res, "L")
    want = np.round(v.astype(np.float64) * 255 / 65535).astype(np.uint8)
    assert np.array_equal(res.pixels, want)
    p = res.load_step["params"]
    assert (p["mode_in"], p["bit_depth_in"]) == ("I;16", 16)
    assert p["conversions"] == ["I;16->L: round(v*255/65535)"]


def test_sixteen_bit_rgb_png_keeps_high_byte():
    rgb16 = np.zeros((4, 5, 3), np.uint16)
    rgb16[0, 0] = (0x80FF, 0x0101, 0xFFFF)
    ok, enc = cv2.imencode(".png", rgb16[:, :, ::-1])
    res = decode_source("c16.png", enc.tobytes())
    check_output(res, "RGB")
    assert res.pixels[0, 0].tolist() == [0x80, 0x01, 0xFF]
    p = res.load_step["params"]
    assert p["bit_depth_in"] == 16 and "high byte" in p["depth_reduction"]


def test_palette_without_transparency():
    pal = Image.fromarray(photo()).quantize(16)
    res = decode_source("p.png", save(pal, "PNG"))
    check_output(res, "RGB")
    assert np.array_equal(res.pixels, np.asarray(pal.convert("RGB")))
    assert res.load_step["params"]["conversions"] == ["P->RGB"]
    assert res.load_step["params"]["alpha"] is None


def test_palette_with_transparency_composites_white():
    arr = np.zeros((8, 8), np.uint8)
    arr[:4] = 1
    pal = Image.fromarray(arr, "P")
    pal.putpalette([10, 20, 30, 200, 0, 0])
    res = decode_source("p.gif", save(pal, "GIF", transparency=0))
    check_output(res, "RGB")
    assert res.pixels[0, 0].tolist() == [200, 0, 0]
    assert res.pixels[7, 7].tolist() == [255, 255, 255]  # transparent index -> white
    p = res.load_step["params"]
    assert p["alpha"] == "composite-white" and p["mode_in"] == "P"
    assert p["conversions"][-1] == "RGBA->RGB: alpha composited over white"


def test_multi_frame_gif_uses_first_frame():
    frames = [Image.new("P", (8, 8), i) for i in range(3)]
    for f in frames:
        f.putpalette([0, 0, 0, 90, 90, 90, 200, 200, 200])
    data = save(frames[0], "GIF", save_all=True, append_images=frames[1:])
    res = decode_source("a.gif", data)
    assert res.load_step["params"]["frames"] == 3
    assert res.pixels[0, 0].tolist() == [0, 0, 0]


def test_mode_1_to_l():
    arr = np.zeros((8, 16), bool)
    arr[:, 8:] = True
    res = decode_source("b.png", save(Image.fromarray(arr), "PNG"))
    check_output(res, "L")
    assert set(np.unique(res.pixels)) == {0, 255} and res.pixels[0, 15] == 255
    assert res.load_step["params"]["conversions"] == ["1->L"]
    assert res.load_step["params"]["bit_depth_in"] == 1


def test_gray_stays_gray():
    gray = photo()[..., 1]
    res = decode_source("g.png", save(Image.fromarray(gray), "PNG"))
    check_output(res, "L")
    assert np.array_equal(res.pixels, gray) and res.load_step["params"]["conversions"] == []
    gj = decode_source("g.jpg", save(Image.fromarray(gray), "JPEG", quality=80))
    check_output(gj, "L")
    assert gj.jpeg_probe.subsampling == "gray" and gj.jpeg_grid == (0, 0)


def test_la_composited_over_white():
    lum = np.full((4, 4), 100, np.uint8)
    alpha = np.array([[0, 128, 255, 7]] * 4, np.uint8)
    res = decode_source("la.png", save(Image.fromarray(np.dstack([lum, alpha]), "LA"), "PNG"))
    check_output(res, "L")
    assert np.array_equal(res.pixels, over_white(lum, alpha))
    assert res.pixels[0].tolist() == [255, 177, 100, 251]
    assert res.load_step["params"]["alpha"] == "composite-white"
    assert res.load_step["params"]["conversions"] == ["LA->L: alpha composited over white"]


def test_rgba_composited_over_white():
    rgb = photo(16, 16)
    alpha = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (16, 1))
    res = decode_source("a.png", save(Image.fromarray(np.dstack([rgb, alpha])), "PNG"))
    check_output(res, "RGB")
    assert np.array_equal(res.pixels, over_white(rgb, alpha[..., None]))
    assert res.load_step["params"]["alpha"] == "composite-white"


def test_opaque_rgba_alpha_dropped():
    rgb = photo(16, 16)
    opaque = np.dstack([rgb, np.full((16, 16), 255, np.uint8)])
    res = decode_source("a.png", save(Image.fromarray(opaque), "PNG"))
    assert np.array_equal(res.pixels, rgb)
    assert res.load_step["params"]["alpha"] == "dropped"


def test_lab_tiff_to_rgb():
    lab = Image.new("LAB", (8, 8), (255, 128, 128))
    res = decode_source("lab.tif", save(lab, "TIFF"))
    check_output(res, "RGB")
    assert res.pixels[0, 0].tolist() == np.asarray(lab.convert("RGB"))[0, 0].tolist()
    assert res.load_step["params"]["conversions"] == ["LAB->RGB (pillow)"]
    assert not res.has_metadata  # a TIFF's structural tags are not camera metadata


def test_icc_profile_kept_not_applied():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    data = save(Image.fromarray(photo()), "JPEG", quality=75, icc_profile=icc)
    res = decode_source("icc.jpg", data)
    p = res.load_step["params"]
    assert p["icc"] == ICC_POLICY and p["icc_sha256"] == hashlib.sha256(icc).hexdigest()
    assert np.array_equal(res.pixels, decode_source("plain.jpg", JPEG).pixels)
    assert res.has_metadata and p["metadata"] == ["icc"] and res.jpeg_probe.has_icc


def test_exif_make_model():
    exif = Image.Exif()
    exif[0x010F] = "  Canon\x00"
    exif[0x0110] = "Canon EOS 5D"
    res = decode_source("e.jpg", save(Image.fromarray(photo()), "JPEG", exif=exif))
    assert (res.exif_make, res.exif_model) == ("Canon", "Canon EOS 5D")
    assert res.has_metadata and res.load_step["params"]["metadata"] == ["exif"]
    assert decode_source("p.jpg", JPEG).exif_make is None


# --- EXIF orientation and the JPEG grid -----------------------------------------------------

# What each EXIF orientation does to the stored array, written with numpy alone.
ORIENT = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def grid_phase_from_coordinates(orientation: int, h: int, w: int) -> tuple[int, int]:
    """Where stored 8x8 blocks start in display pixels, found by moving a coordinate map."""
    rows, cols = np.indices((h, w))
    coords = ORIENT[orientation](np.dstack([rows, cols]))  # stored (row, col) per display pixel
    phases = []
    for line in (coords[:, 0], coords[0, :]):  # down the first column, along the first row
        moving = line[:, 0] if np.ptp(line[:, 0]) else line[:, 1]
        block = moving // 8
        first_start = next(i for i in range(1, len(block)) if block[i] != block[i - 1])
        phases.append(first_start % 8)
    return phases[0], phases[1]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_pixels_and_grid(orientation):
    h, w = 141, 203  # not multiples of 8: H % 8 = 5, W % 8 = 3
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = save(Image.fromarray(photo(h, w)), "JPEG", quality=75, exif=exif)
    stored = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))  # orientation not applied
    res = decode_source("o.jpg", data)
    check_output(res, "RGB")
    assert np.array_equal(res.pixels, ORIENT[orientation](stored))
    expected = grid_phase_from_coordinates(orientation, h, w)
    assert res.jpeg_grid == expected == jpeg_grid_after_orientation(orientation, w, h)
    assert blockiness_phase(res.pixels) == expected
    p = res.load_step["params"]
    assert p["exif_orientation"] == orientation
    assert (len(p["conversions"]) == 1) == (orientation != 1)


def test_invalid_orientation_ignored():
    exif = Image.Exif()
    exif[0x0112] = 9
    res = decode_source("o.jpg", save(Image.fromarray(photo()), "JPEG", exif=exif))
    assert res.load_step["params"]["exif_orientation"] is None and res.jpeg_grid == (0, 0)


def test_png_has_no_jpeg_grid():
    res = decode_source("a.png", PNG)
    assert not res.is_jpeg and res.jpeg_grid is None and res.jpeg_probe is None
    assert res.load_step["params"]["format"] == "PNG"


def test_progressive_jpeg_decodes():
    data = save(Image.fromarray(photo(70, 90)), "JPEG", quality=60, progressive=True)
    res = decode_source("p.jpg", data)
    assert res.jpeg_probe.progressive and res.jpeg_grid == (0, 0)
    assert blockiness_phase(res.pixels[3:, 2:]) == (5, 6)


def test_mpo_counts_as_jpeg():
    a, b = Image.fromarray(photo(40, 56)), Image.fromarray(photo(40, 56, "astronaut"))
    res = decode_source("m.jpg", save(a, "MPO", save_all=True, append_images=[b], quality=85))
    p = res.load_step["params"]
    assert (p["format"], p["frames"]) == ("MPO", 2)
    assert res.is_jpeg and res.jpeg_grid == (0, 0) and estimate_quality(res.jpeg_probe) == 85
