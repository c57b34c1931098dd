"""Hand-written loops doing exactly the codec work of a suite: the floor our engine is held to,
and the naive pipeline (re-decode the source for every variant) it must beat."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    import cv2

    sse = cv2.norm(a, b, cv2.NORM_L2SQR)  # the same PSNR kernel the engine uses
    return float("inf") if sse == 0 else 10 * np.log10(255.0**2 * a.size / sse)


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def _sources(root: Path) -> list[Path]:
    return sorted(root.rglob("*.jpg"))


def floor_ladder(
    root: Path, out: Path, qualities: list[int], psnr: bool, naive: bool = False
) -> int:
    """Decode each source once (or per variant when ``naive``), write a PNG clean copy, then one
    JPEG per quality: encode, write, hash (and decode + PSNR when ``psnr``)."""
    n = 0
    for src in _sources(root):
        data = src.read_bytes()
        hashlib.sha256(data).hexdigest()
        arr = _decode(data)
        d = out / src.stem
        os.makedirs(d, exist_ok=True)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, "PNG", compress_level=1)
        _write(d / "clean.png", buf.getvalue())
        n += 1
        for q in qualities:
            if naive:
                arr = _decode(src.read_bytes())
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, "JPEG", quality=q, subsampling="4:2:0")
            blob = buf.getvalue()
            _write(d / f"q{q}.jpg", blob)
            if psnr:
                _psnr(_decode(blob), arr)
            n += 1
    return n


def naive_ladder(root: Path, out: Path, qualities: list[int], psnr: bool) -> int:
    """The hand-rolled script (ImageNet-C style): every variant starts from the file on disk.
    Per variant: open and decode the source, encode and save to a path, read the file back to
    hash it, and for PSNR load both images from disk again. Same outputs as the floor."""
    n = 0
    for src in _sources(root):
        hashlib.sha256(src.read_bytes()).hexdigest()
        d = out / src.stem
        os.makedirs(d, exist_ok=True)
        Image.open(src).convert("RGB").save(d / "clean.png", compress_level=1)
        hashlib.sha256((d / "clean.png").read_bytes()).hexdigest()
        n += 1
        for q in qualities:
            path = d / f"q{q}.jpg"
            Image.open(src).convert("RGB").save(path, quality=q, subsampling="4:2:0")
            hashlib.sha256(path.read_bytes()).hexdigest()
            if psnr:
                _psnr(
                    np.asarray(Image.open(path).convert("RGB")),
                    np.asarray(Image.open(src).convert("RGB")),
                )
            n += 1
    return n


def floor_crops(
    root: Path, out: Path, offsets: list[tuple[int, int]], quality: int, psnr: bool
) -> int:
    n = 0
    for src in _sources(root):
        data = src.read_bytes()
        hashlib.sha256(data).hexdigest()
        arr = _decode(data)
        d = out / src.stem
        os.makedirs(d, exist_ok=True)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, "PNG", compress_level=1)
        _write(d / "clean.png", buf.getvalue())
        n += 1
        for dy, dx in offsets:
            crop = arr[dy:, dx:]
            buf = io.BytesIO()
            Image.fromarray(crop).save(buf, "JPEG", quality=quality, subsampling="4:2:0")
            blob = buf.getvalue()
            _write(d / f"c{dy}{dx}.jpg", blob)
            if psnr:
                _psnr(_decode(blob), crop)
            n += 1
    return n


def floor_hops(root: Path, out: Path, hops: int, quality: int, psnr: bool) -> int:
    """A messenger-like journey (sources within the size cap, so no resize): JPEG (optimized
    Huffman) at ``quality``, decode, again, up to ``hops`` times; each hop's output is a variant."""
    n = 0
    for src in _sources(root):
        data = src.read_bytes()
        hashlib.sha256(data).hexdigest()
        arr = _decode(data)
        d = out / src.stem
        os.makedirs(d, exist_ok=True)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, "PNG", compress_level=1)
        _write(d / "clean.png", buf.getvalue())
        n += 1
        cur = arr
        for k in range(1, hops + 1):
            buf = io.BytesIO()
            Image.fromarray(cur).save(
                buf, "JPEG", quality=quality, subsampling="4:2:0", optimize=True
            )
            blob = buf.getvalue()
            _write(d / f"hop{k}.jpg", blob)
            cur = _decode(blob)
            if psnr:
                _psnr(cur, arr)
            n += 1
    return n
