"""JPEG facts read back from real bytes: IJG tables, quality, subsampling, grid phase.

Expected tables are recomputed here from the IJG formula and the Annex K tables typed below,
never taken from the module under test. Codec versions these byte-level facts hold for:
Pillow 13.0.0 with libjpeg-turbo 3.2.0, OpenCV 5.0.0 with libjpeg-turbo 3.1.2.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json

import cv2
import numpy as np
import pytest
import skimage.data
from degradebench.generators.jpeginfo import (
    JpegProbe,
    blockiness_phase,
    blockiness_scores,
    estimate_quality,
    ijg_quant_tables,
    probe_jpeg,
    tables_sha256,
)
from PIL import Image, JpegImagePlugin, features

# ITU-T T.81 Annex K, tables K.1 (luminance) and K.2 (chrominance), row-major.
K1 = [
    [16, 11, 10, 16, 24, 40, 51, 61],
    [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77],
    [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101],
    [72, 92, 95, 98, 112, 100, 103, 99],
]
K2 = [
    [17, 18, 24, 47, 99, 99, 99, 99],
    [18, 21, 26, 66, 99, 99, 99, 99],
    [24, 26, 56, 99, 99, 99, 99, 99],
    [47, 66, 99, 99, 99, 99, 99, 99],
] + [[99] * 8] * 4


def ijg_expected(base: list[list[int]], q: int, cap: int = 255) -> list[int]:
    """libjpeg jcparam.c, written out independently: integer division, +50 rounding, clamp."""
    s = 5000 // q if q < 50 else 200 - 2 * q
    return [min(max((b * s + 50) // 100, 1), cap) for row in base for b in row]


def photo(name: str = "chelsea", h: int = 128, w: int = 128, top: int = 40, left: int = 60):
    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[top : top + h, left : left + w, :3])


def pillow_jpeg(arr: np.ndarray, quality: int | None, **kw) -> bytes:
    """quality=None with qtables: Pillow writes the tables unscaled (a quality rescales them)."""
    buf = io.BytesIO()
    if quality is not None:
        kw["quality"] = quality
    Image.fromarray(arr).save(buf, "JPEG", **kw)
    return buf.getvalue()


def opencv_jpeg(rgb: np.ndarray, quality: int, sampling: int | None = None) -> bytes:
    flags = [cv2.IMWRITE_JPEG_QUALITY, quality]
    if sampling is not None:
        flags += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, sampling]
    ok, enc = cv2.imencode(".jpg", np.ascontiguousarray(rgb[:, :, ::-1]), flags)
    assert ok
    return enc.tobytes()


def pillow_tables(data: bytes) -> list[list[int]]:
    q = Image.open(io.BytesIO(data)).quantization
    return [list(q[k]) for k in sorted(q)]


SMALL = photo(h=64, w=64)
SAMPLE_QUALITIES = [1, 2, 3, 10, 24, 25, 49, 50, 51, 75, 90, 95, 99, 100]
OPENCV_SAMPLING = {
    "4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
    "4:2:2": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
    "4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
    "4:4:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_440,
    "4:1:1": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411,
}


# --- IJG tables -----------------------------------------------------------------------------


@pytest.mark.parametrize("q", SAMPLE_QUALITIES)
def test_pillow_file_holds_ijg_tables_from_formula(q):
    data = pillow_jpeg(SMALL, q)
    held = pillow_tables(data)
    assert held == [ijg_expected(K1, q), ijg_expected(K2, q)]
    luma, chroma = ijg_quant_tables(q)
    assert luma.tolist() == ijg_expected(K1, q) and chroma.tolist() == ijg_expected(K2, q)
    assert probe_jpeg(data).quant_tables == held


def test_ijg_tables_all_qualities_and_unclamped():
    for q in range(1, 101):
        luma, chroma = ijg_quant_tables(q, force_baseline=False)
        assert luma.tolist() == ijg_expected(K1, q, cap=32767)
        assert chroma.tolist() == ijg_expected(K2, q, cap=32767)
        assert luma.shape == (64,) and not luma.flags.writeable
    assert (
        ijg_quant_tables(1, force_baseline=False)[0].max() == 121 * 5000 // 100
    )  # largest Annex K entry
    assert ijg_quant_tables(1)[0].tolist() == [255] * 64
    assert ijg_quant_tables(100)[1].tolist() == [1] * 64


def test_qf75_and_qf90_facts():
    luma, chroma = ijg_quant_tables(75)
    assert luma[0] == 8 and luma.sum() == 1858 and chroma.sum() == 2780
    assert ijg_quant_tables(90)[0][0] == 3
    held = pillow_tables(pillow_jpeg(SMALL, 75))
    assert held[0][0] == 8 and sum(held[0]) == 1858 and sum(held[1]) == 2780


def test_all_100_luma_tables_distinct():
    assert len({ijg_quant_tables(q)[0].tobytes() for q in range(1, 101)}) == 100


@pytest.mark.parametrize("bad", [0, 101, -5])
def test_quality_out_of_range(bad):
    with pytest.raises(ValueError, match=f"quality must be an integer from 1 to 100, got {bad}"):
        ijg_quant_tables(bad)


@pytest.mark.parametrize("bad", [75.0, "75", True, None])
def test_quality_wrong_type(bad):
    with pytest.raises(TypeError, match="quality must be an integer from 1 to 100"):
        ijg_quant_tables(bad)


# --- estimate_quality -----------------------------------------------------------------------


def test_estimate_quality_every_quality_pillow_and_opencv():
    tiny = SMALL[:16, :16]
    for q in range(1, 101):
        pil = pillow_jpeg(tiny, q)
        ocv = opencv_jpeg(tiny, q)
        assert estimate_quality(probe_jpeg(pil).quant_tables) == q, f"pillow q={q}"
        assert estimate_quality(probe_jpeg(ocv)) == q, f"opencv q={q}"
        # Pillow's own reading (natural order, dict) gives the same answer.
        assert estimate_quality(Image.open(io.BytesIO(ocv)).quantization) == q


def test_estimate_quality_gray_jpeg_has_luma_only():
    data = pillow_jpeg(SMALL[..., 1], 60)
    probe = probe_jpeg(data)
    assert len(probe.quant_tables) == 1 and probe.subsampling == "gray"
    assert estimate_quality(probe.quant_tables) == 60


def test_custom_tables_give_none():
    custom = [[q for q in range(1, 65)], [40] * 64]
    data = pillow_jpeg(SMALL, None, qtables=custom)
    probe = probe_jpeg(data)
    assert probe.quant_tables == custom == pillow_tables(data)
    assert estimate_quality(probe.quant_tables) is None


def test_libjpeg9_style_chroma_dc_gives_none():
    # libjpeg 9e/9f changed the chroma DC base from 17 to 16: Q75 chroma DC 9 -> 8.
    luma, chroma = ijg_expected(K1, 75), ijg_expected(K2, 75)
    chroma9 = [8] + chroma[1:]
    assert estimate_quality([luma, chroma]) == 75
    assert estimate_quality([luma, chroma9]) is None
    data = pillow_jpeg(SMALL, None, qtables=[luma, chroma9])
    assert estimate_quality(probe_jpeg(data)) is None


def test_estimate_quality_luma_of_one_quality_chroma_of_another():
    assert estimate_quality([ijg_expected(K1, 80), ijg_expected(K2, 81)]) is None
    assert estimate_quality([]) is None


def test_estimate_quality_rejects_bad_shapes():
    with pytest.raises(ValueError, match="64 entries"):
        estimate_quality([[1] * 63])
    with pytest.raises(TypeError):
        estimate_quality("abc")


# --- Pillow vs OpenCV byte identity ----------------------------------------------------------


@pytest.mark.parametrize("sub", ["4:4:4", "4:2:2", "4:2:0"])
@pytest.mark.parametrize("q", [10, 50, 75, 90, 95, 100])
def test_pillow_and_opencv_write_identical_bytes(sub, q):
    rgb = photo("astronaut", 96, 120)
    pil = pillow_jpeg(rgb, q, subsampling=sub)
    ocv = opencv_jpeg(rgb, q, OPENCV_SAMPLING[sub])
    versions = f"Pillow {Image.__version__} / OpenCV {cv2.__version__}"
    assert pil == ocv, f"Pillow and OpenCV JPEG bytes differ ({versions})"


def test_opencv_default_subsampling_is_420_and_identical_to_pillow_default():
    rgb = photo("coffee", 80, 112)
    ocv = opencv_jpeg(rgb, 75)
    assert probe_jpeg(ocv).subsampling == "4:2:0"
    assert ocv == pillow_jpeg(rgb, 75)


def test_golden_sha256_pillow_q75():
    if features.version("libjpeg_turbo") != "3.2.0":
        pytest.skip(
            f"golden bytes pinned for libjpeg-turbo 3.2.0, have {features.version('libjpeg_turbo')}"
        )
    data = pillow_jpeg(photo("chelsea", 64, 64), 75)
    assert hashlib.sha256(data).hexdigest() == GOLDEN_Q75


GOLDEN_Q75 = "4c5172018f0055f5faed3823b93e15b4399b6bf6da8cd6daf618f09a99f87afb"


# --- probe_jpeg -----------------------------------------------------------------------------

PILLOW_SAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


@pytest.mark.parametrize("sub", ["4:4:4", "4:2:2", "4:2:0"])
def test_subsampling_read_back_pillow(sub):
    data = pillow_jpeg(SMALL, 80, subsampling=sub)
    probe = probe_jpeg(data)
    assert probe.subsampling == sub
    assert JpegImagePlugin.get_sampling(Image.open(io.BytesIO(data))) == PILLOW_SAMPLING[sub]
    assert (probe.width, probe.height, probe.components) == (64, 64, 3)


@pytest.mark.parametrize("sub", list(OPENCV_SAMPLING))
def test_subsampling_read_back_opencv(sub):
    probe = probe_jpeg(opencv_jpeg(photo(h=40, w=72), 85, OPENCV_SAMPLING[sub]))
    assert probe.subsampling == sub
    assert (probe.width, probe.height) == (72, 40)


def test_probe_gray_and_flags():
    data = pillow_jpeg(SMALL[..., 0], 90)
    p = probe_jpeg(data)
    assert (p.subsampling, p.components, p.progressive, p.restart_interval) == ("gray", 1, False, 0)
    assert not p.has_exif and not p.has_icc and p.precision == 8


def test_probe_progressive_restart_exif_icc():
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    data = pillow_jpeg(
        SMALL, 70, progressive=True, restart_marker_blocks=4, exif=exif, icc_profile=icc
    )
    p = probe_jpeg(data)
    assert p.progressive and p.has_exif and p.has_icc
    assert p.restart_interval == 4
    assert Image.open(io.BytesIO(data)).info.get("progressive") == 1
    assert estimate_quality(p) == 70


def test_probe_sixteen_bit_table():
    table = [300] + [2] * 63
    data = pillow_jpeg(SMALL[..., 0], None, qtables=[table])
    p = probe_jpeg(data)
    assert p.quant_tables == [table] == pillow_tables(data)
    assert data[data.index(b"\xff\xdb") + 4] >> 4 == 1  # Pq = 1: 16-bit entries in the file


def test_natural_order_matches_pillow_zigzag_index():
    # A table whose value is its natural position tells the order apart.
    natural = list(range(1, 65))
    data = pillow_jpeg(SMALL[..., 0], None, qtables=[natural])
    assert probe_jpeg(data).quant_tables == [natural]
    raw = data[data.index(b"\xff\xdb") + 5 :][:64]  # DQT payload, file (zigzag) order
    assert list(raw) != natural
    assert [raw[JpegImagePlugin.zigzag_index[k]] for k in range(64)] == natural


@pytest.mark.parametrize(
    "data,start",
    [
        (b"", "not a JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 30, "not a JPEG"),
        (b"hello world", "not a JPEG"),
    ],
)
def test_probe_not_a_jpeg(data, start):
    with pytest.raises(ValueError, match=f"^{start}"):
        probe_jpeg(data)


@pytest.mark.parametrize("cut", [3, 20, 100, 300])
def test_probe_truncated_header(cut):
    data = pillow_jpeg(SMALL, 75)
    assert cut < data.index(b"\xff\xda")
    with pytest.raises(ValueError, match="^truncated JPEG header"):
        probe_jpeg(data[:cut])


def test_probe_reads_header_of_truncated_scan():
    data = pillow_jpeg(SMALL, 75)
    p = probe_jpeg(data[: data.index(b"\xff\xda") + 40])
    assert isinstance(p, JpegProbe) and estimate_quality(p) == 75


def test_probe_corrupt_marker():
    data = bytearray(pillow_jpeg(SMALL, 75))
    data[2] = 0x00  # the first marker's 0xFF
    with pytest.raises(ValueError, match="^corrupt JPEG header"):
        probe_jpeg(bytes(data))


# --- tables_sha256 --------------------------------------------------------------------------


def test_tables_sha256_canonical_form():
    tables = pillow_tables(pillow_jpeg(SMALL, 75))
    text = "[" + ",".join("[" + ",".join(str(v) for v in t) + "]" for t in tables) + "]"
    assert text == json.dumps(tables, separators=(",", ":"))
    want = hashlib.sha256(text.encode()).hexdigest()
    assert tables_sha256(tables) == want
    assert tables_sha256(Image.open(io.BytesIO(pillow_jpeg(SMALL, 75))).quantization) == want
    assert tables_sha256([np.array(t) for t in tables]) == want
    assert tables_sha256(pillow_tables(pillow_jpeg(SMALL, 76))) != want


# --- blockiness_phase -----------------------------------------------------------------------


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_blockiness_phase_all_64_crops_q75():
    dec = decode(pillow_jpeg(photo("chelsea", 136, 136, top=20, left=40), 75))
    assert blockiness_phase(dec) == (0, 0)
    for r, c in itertools.product(range(8), range(8)):
        crop = dec[r : r + 128, c : c + 128]
        assert blockiness_phase(crop) == ((8 - r) % 8, (8 - c) % 8), (r, c)


@pytest.mark.parametrize(
    "name,q,sub", [("astronaut", 90, "4:2:0"), ("coffee", 50, "4:4:4"), ("camera", 85, "4:2:2")]
)
def test_blockiness_phase_other_photos(name, q, sub):
    dec = decode(pillow_jpeg(photo(name, 208, 176, top=100, left=120), q, subsampling=sub))
    for r, c in [(0, 0), (1, 7), (3, 5), (6, 2), (7, 7)]:
        crop = dec[r : r + 197, c : c + 163]
        assert blockiness_phase(crop) == ((8 - r) % 8, (8 - c) % 8), (r, c)
        gray = crop.astype(np.float64) @ [0.299, 0.587, 0.114]
        assert blockiness_phase(gray) == ((8 - r) % 8, (8 - c) % 8)


def test_blockiness_large_image_window_keeps_phase():
    big = np.asarray(
        Image.fromarray(skimage.data.astronaut()).resize((560, 540), Image.Resampling.BICUBIC)
    )
    dec = decode(pillow_jpeg(big, 80))
    assert blockiness_phase(dec[3:, 6:]) == (5, 2)


def test_blockiness_scores_and_small_input():
    scores = blockiness_scores(decode(pillow_jpeg(photo(), 75)))
    assert scores.shape == (8, 8) and np.argmax(scores) == 0
    with pytest.raises(ValueError, match="at least 16x16"):
        blockiness_phase(np.zeros((15, 40), np.uint8))
    with pytest.raises(ValueError, match="HxW or HxWx3"):
        blockiness_phase(np.zeros((20, 20, 2), np.uint8))


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def test_probe_finds_table_defined_after_first_scan():
    luma, chroma = ijg_expected(K1, 60), ijg_expected(K2, 60)
    zz = JpegImagePlugin.zigzag_index  # natural position -> zigzag index
    to_file = lambda t: bytes(t[zz.index(k)] for k in range(64))  # noqa: E731
    sof = bytes([8, 0, 16, 0, 24, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
    data = (
        b"\xff\xd8"
        + _segment(0xDB, b"\x00" + to_file(luma))
        + _segment(0xC0, sof)
        + _segment(0xDA, bytes([1, 1, 0, 0, 63, 0]))
        + b"\x12\xff\x00\x34\xff\xd0\x56"  # entropy data with a stuffed 0xFF and a RST marker
        + _segment(0xDB, b"\x01" + to_file(chroma))
        + _segment(0xDA, bytes([2, 2, 0, 3, 0, 0, 63, 0]))
        + b"\x00\xff\xd9"
    )
    p = probe_jpeg(data)
    assert p.quant_tables == [luma, chroma]
    assert estimate_quality(p) == 60
    assert (p.width, p.height, p.subsampling) == (24, 16, "4:2:0")


@pytest.mark.parametrize(
    "factors,name",
    [
        ((0x41, 0x11, 0x11), "4:1:1"),
        ((0x12, 0x11, 0x11), "4:4:0"),
        ((0x22, 0x22, 0x22), "4:4:4"),
        ((0x42, 0x11, 0x11), "h4v2,h1v1,h1v1"),
        ((0x22, 0x11, 0x21), "h2v2,h1v1,h2v1"),
    ],
)
def test_probe_subsampling_names_from_sof(factors, name):
    data = bytearray(pillow_jpeg(SMALL, 75))
    sof = data.index(b"\xff\xc0")
    for i, f in enumerate(factors):
        data[sof + 11 + 3 * i] = f  # component i's H/V byte
    assert probe_jpeg(bytes(data)).subsampling == name
