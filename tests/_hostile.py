"""A corpus of hostile and odd source images, crafted in memory from real codecs (Pillow, OpenCV)
and scikit-image photographs; nothing binary is committed.

``corpus()`` maps a file name to ``(bytes, expected)``: ``expected`` is ``"ok"`` for a usable image
(it must produce variants under the decode policy), an ``error_type`` from the decode policy for a
bad one, or ``"ok|<type>"`` when either is acceptable (damage libjpeg-turbo may only warn about).
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache

import cv2
import numpy as np
import skimage.data
from PIL import Image, ImageCms

__all__ = ["corpus", "photo", "encode", "png_declaring", "jpeg_declaring", "seed_images"]


def photo(h: int = 48, w: int = 40, name: str = "chelsea", top: int = 40, left: int = 60):
    """A real photograph crop, uint8 RGB, C-contiguous."""
    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[top : top + h, left : left + w, :3])


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _cv2_jpeg(arr: np.ndarray, *params: int) -> bytes:
    ok, enc = cv2.imencode(".jpg", cv2.cvtColor(arr, cv2.COLOR_RGB2BGR), list(params))
    assert ok
    return enc.tobytes()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_declaring(width: int, height: int, colour_type: int = 0) -> bytes:
    """A ~60-byte PNG whose header declares width x height pixels (a bomb when large)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00"))
        + _png_chunk(b"IEND", b"")
    )


def _png_with_chunk(png: bytes, kind: bytes, payload: bytes) -> bytes:
    """Insert a chunk right after IHDR."""
    at = 8 + 25  # signature + IHDR chunk
    return png[:at] + _png_chunk(kind, payload) + png[at:]


def jpeg_declaring(data: bytes, width: int, height: int) -> bytes:
    """Rewrite a baseline JPEG's SOF0 size fields (tiny file, huge declared frame)."""
    b = bytearray(data)
    at = b.index(b"\xff\xc0")
    b[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(b)


def _flip(data: bytes, positions: list[int]) -> bytes:
    b = bytearray(data)
    for p in positions:
        b[p % len(b)] ^= 0xFF
    return bytes(b)


def _exif(orientation) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "HostileCam"
    exif[0x0110] = "Model 9"
    return exif


def _raw_exif_ascii_orientation() -> bytes:
    """An EXIF block whose Orientation tag is the text 'six' (type ASCII) instead of a number."""
    entry = struct.pack("<HHI4s", 0x0112, 2, 4, b"six\x00")
    return b"Exif\x00\x00II*\x00" + struct.pack("<IH", 8, 1) + entry + struct.pack("<I", 0)


@cache
def seed_images() -> dict[str, bytes]:
    """Small good files of every container, the seeds the property tests mutate."""
    arr = photo()
    rgb = Image.fromarray(arr)
    return {
        "seed.jpg": encode(rgb, "JPEG", quality=85),
        "seed-progressive.jpg": encode(rgb, "JPEG", quality=85, progressive=True),
        "seed.png": encode(rgb, "PNG"),
        "seed-palette.png": encode(rgb.convert("P"), "PNG"),
        "seed.gif": encode(rgb.convert("P"), "GIF"),
        "seed.tif": encode(rgb, "TIFF"),
        "seed.webp": encode(rgb, "WEBP", quality=80),
        "seed.bmp": encode(rgb, "BMP"),
    }


@cache
def corpus() -> dict[str, tuple[bytes, str]]:
    arr = photo()  # 48 x 40: not a multiple of 16, so partial MCUs everywhere
    rgb = Image.fromarray(arr)
    gray = rgb.convert("L")
    jpg = encode(rgb, "JPEG", quality=85)
    png = encode(rgb, "PNG")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgb.size))
    sixteen = (arr.astype(np.uint16) * 257 + 3).astype(np.uint16)
    ok16, png16 = cv2.imencode(".png", cv2.cvtColor(sixteen, cv2.COLOR_RGB2BGR))
    assert ok16
    frames = [Image.fromarray(photo(name=n)).convert("P") for n in ("chelsea", "coffee")]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    c: dict[str, tuple[bytes, str]] = {
        # --- usable odd images: variants under the decode policy
        "rgb-420.jpg": (encode(rgb, "JPEG", quality=85, subsampling="4:2:0"), "ok"),
        "rgb-422.jpg": (encode(rgb, "JPEG", quality=85, subsampling="4:2:2"), "ok"),
        "rgb-444.jpg": (encode(rgb, "JPEG", quality=85, subsampling="4:4:4"), "ok"),
        "rgb-411.jpg": (_cv2_jpeg(arr, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, 0x411111), "ok"),
        "rgb-440.jpg": (_cv2_jpeg(arr, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, 0x121111), "ok"),
        "progressive.jpg": (encode(rgb, "JPEG", quality=85, progressive=True), "ok"),
        "optimized.jpg": (encode(rgb, "JPEG", quality=85, optimize=True), "ok"),
        "restart-markers.jpg": (encode(rgb, "JPEG", quality=85, restart_marker_blocks=1), "ok"),
        "restart-rows.jpg": (_cv2_jpeg(arr, cv2.IMWRITE_JPEG_RST_INTERVAL, 2), "ok"),
        "quality-1.jpg": (encode(rgb, "JPEG", quality=1), "ok"),
        "quality-100.jpg": (encode(rgb, "JPEG", quality=100, subsampling=0), "ok"),
        "gray.jpg": (encode(gray, "JPEG", quality=85), "ok"),
        "cmyk.jpg": (encode(rgb.convert("CMYK"), "JPEG", quality=85), "ok"),
        "cmyk.tif": (encode(rgb.convert("CMYK"), "TIFF"), "ok"),
        "icc.jpg": (encode(rgb, "JPEG", quality=85, icc_profile=srgb), "ok"),
        "icc.png": (encode(rgb, "PNG", icc_profile=srgb), "ok"),
        "gray.png": (encode(gray, "PNG"), "ok"),
        "bilevel.png": (encode(gray.convert("1"), "PNG"), "ok"),
        "palette.png": (encode(rgb.convert("P"), "PNG"), "ok"),
        "palette-transparent.png": (encode(rgb.convert("P"), "PNG", transparency=0), "ok"),
        "la.png": (encode(rgba.convert("LA"), "PNG"), "ok"),
        "rgba.png": (encode(rgba, "PNG"), "ok"),
        "rgba-opaque.png": (encode(rgb.convert("RGBA"), "PNG"), "ok"),
        "gray16.png": (encode(Image.fromarray(sixteen[..., 0]), "PNG"), "ok"),
        "rgb16.png": (png16.tobytes(), "ok"),
        "animated.gif": (gif.getvalue(), "ok"),
        "rgb.bmp": (encode(rgb, "BMP"), "ok"),
        "rgb.tif": (encode(rgb, "TIFF", compression="tiff_deflate"), "ok"),
        "rgb.webp": (encode(rgb, "WEBP", quality=80), "ok"),
        "lossless.webp": (encode(rgb, "WEBP", lossless=True), "ok"),
        "1x1.jpg": (encode(Image.fromarray(arr[:1, :1]), "JPEG", quality=90), "ok"),
        "1x1.png": (encode(Image.fromarray(arr[:1, :1]), "PNG"), "ok"),
        "7x7.jpg": (encode(Image.fromarray(arr[:7, :7]), "JPEG", quality=90), "ok"),
        "7x7.png": (encode(Image.fromarray(arr[:7, :7]), "PNG"), "ok"),
        "1x40.png": (encode(Image.fromarray(arr[:1]), "PNG"), "ok"),
        "48x1.jpg": (encode(Image.fromarray(np.ascontiguousarray(arr[:, :1])), "JPEG"), "ok"),
        "exif-bad-orientation.jpg": (encode(rgb, "JPEG", exif=_exif(9)), "ok"),
        "exif-text-orientation.jpg": (
            encode(rgb, "JPEG", exif=_raw_exif_ascii_orientation()),
            "ok",
        ),
        "exif-garbage.jpg": (
            encode(rgb, "JPEG", exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f"),
            "ok",
        ),
        "jpeg-in-png-name.png": (jpg, "ok"),  # extension lies; content decides
        # --- bad files: errors.parquet with a reason
        "empty.jpg": (b"", "empty"),
        "empty.png": (b"", "empty"),
        "text.jpg": (b"camera,label\nimg1.jpg,a\n" * 4, "not_an_image"),
        "html.png": (b"<!doctype html><html><body>404 Not Found</body></html>", "not_an_image"),
        "svg.png": (
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
            "not_an_image",
        ),
        "zip.jpg": (b"PK\x03\x04" + bytes(60), "not_an_image"),
        "random.jpg": (np.random.default_rng(7).bytes(3000), "not_an_image"),
        "jpeg-cut-20.jpg": (jpg[:20], "truncated"),
        "jpeg-cut-header.jpg": (jpg[:200], "truncated"),
        "jpeg-cut-half.jpg": (jpg[: len(jpg) // 2], "truncated"),
        "jpeg-no-eoi.jpg": (jpg[:-2], "truncated"),
        "progressive-cut.jpg": (
            encode(rgb, "JPEG", quality=85, progressive=True)[:-200],
            "truncated",
        ),
        "png-cut-20.png": (png[:20], "truncated"),
        "png-cut-half.png": (png[: len(png) // 2], "truncated"),
        "png-flipped-idat.png": (
            _flip(png, list(range(png.index(b"IDAT") + 14, png.index(b"IDAT") + 60, 5))),
            "corrupt",
        ),
        "png-flipped-ihdr.png": (_flip(png, [18]), "corrupt"),
        "jpeg-flipped-sof.jpg": (_flip(jpg, [jpg.index(b"\xff\xc0") + 1]), "ok|corrupt|truncated"),
        "jpeg-flipped-dqt.jpg": (_flip(jpg, [jpg.index(b"\xff\xdb") + 3]), "ok|corrupt|truncated"),
        "jpeg-flipped-scan.jpg": (_flip(jpg, [len(jpg) - 100, len(jpg) - 60]), "ok|corrupt"),
        "png-bomb.png": (png_declaring(30000, 30000), "decompression_bomb"),
        "png-bomb-rgb.png": (png_declaring(20000, 20000, 2), "decompression_bomb"),
        "jpeg-bomb.jpg": (jpeg_declaring(jpg, 65000, 65000), "decompression_bomb"),
        "gif-bomb.gif": (
            b"GIF89a"
            + struct.pack("<HH", 65000, 65000)
            + b"\x00\x00\x00"
            + b",\x00\x00\x00\x00"
            + struct.pack("<HH", 65000, 65000)
            + b"\x00\x02\x02D\x01\x00;",
            "decompression_bomb",
        ),  # fmt: skip
        "png-ztxt-bomb.png": (
            _png_with_chunk(png, b"zTXt", b"Comment\x00\x00" + zlib.compress(b"A" * 50_000_000)),
            "decompression_bomb",
        ),
        "png-iccp-bomb.png": (
            _png_with_chunk(png, b"iCCP", b"icc\x00\x00" + zlib.compress(b"\x00" * 50_000_000)),
            "decompression_bomb",
        ),
        "twelve-bit.jpg": (
            jpg[: jpg.index(b"\xff\xc0") + 4] + b"\x0c" + jpg[jpg.index(b"\xff\xc0") + 5 :],
            "unsupported_mode",
        ),
        "float.tif": (
            encode(Image.fromarray(np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)), "TIFF"),
            "unsupported_mode",
        ),
        "eps.jpg": (
            b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
            "unsupported_mode",
        ),
    }
    for o in range(1, 9):  # EXIF orientations on a non-square image, JPEG and PNG
        c[f"exif-orientation-{o}.jpg"] = (encode(rgb, "JPEG", quality=85, exif=_exif(o)), "ok")
    c["exif-orientation-6.png"] = (encode(rgb, "PNG", exif=_exif(6)), "ok")
    return c
