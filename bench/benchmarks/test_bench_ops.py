"""Each op against the bare library call doing the same work (one 768x768 RGB photo).

Groups pair ``ours`` with ``bare``; bench/run.py reports ours / bare."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from degradebench.generators.ops import ImageState, make_step, run_chain
from PIL import Image

from .conftest import SIZE, _sources


@pytest.fixture(scope="module")
def img() -> np.ndarray:
    return _sources(1, SIZE)[0]


@pytest.fixture(scope="module")
def jpeg_blob(img) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _ours(steps, state):
    chain = [make_step(s) for s in steps]
    return lambda: run_chain(state, chain)


@pytest.mark.parametrize("q", [75, 95])
def test_jpeg_encode_bare_pillow(benchmark, img, q):
    benchmark.group = f"op-jpeg-encode-q{q}"

    def bare():
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=q, subsampling="4:2:0")
        return buf.getvalue()

    benchmark(bare)


@pytest.mark.parametrize("q", [75, 95])
def test_jpeg_encode_ours(benchmark, img, q):
    benchmark.group = f"op-jpeg-encode-q{q}"
    benchmark(_ours([{"op": "jpeg", "quality": q}], ImageState(pixels=img)))


def test_jpeg_encode_bare_opencv(benchmark, img):
    benchmark.group = "op-jpeg-encode-opencv-q75"
    bgr_flags = [cv2.IMWRITE_JPEG_QUALITY, 75]
    benchmark(
        lambda: cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), bgr_flags)[1].tobytes()
    )


def test_jpeg_encode_ours_opencv(benchmark, img):
    benchmark.group = "op-jpeg-encode-opencv-q75"
    benchmark(_ours([{"op": "jpeg", "backend": "opencv", "quality": 75}], ImageState(pixels=img)))


def test_decode_bare(benchmark, jpeg_blob):
    benchmark.group = "op-jpeg-decode"
    benchmark(lambda: np.asarray(Image.open(io.BytesIO(jpeg_blob)).convert("RGB")))


def test_decode_ours(benchmark, jpeg_blob):
    benchmark.group = "op-jpeg-decode"
    benchmark(_ours([{"op": "decode"}], ImageState(pixels=None, data=jpeg_blob, fmt="jpeg")))


@pytest.mark.parametrize(
    ("backend", "method"), [("pillow", "bicubic"), ("opencv", "bicubic"), ("opencv", "area")]
)
def test_resize_bare(benchmark, img, backend, method):
    benchmark.group = f"op-resize-{backend}-{method}-x0.5"
    h, w = img.shape[0] // 2, img.shape[1] // 2
    if backend == "pillow":
        flt = {"bicubic": Image.Resampling.BICUBIC}[method]
        benchmark(lambda: np.asarray(Image.fromarray(img).resize((w, h), flt)))
    else:
        flag = {"bicubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA}[method]
        benchmark(lambda: cv2.resize(img, (w, h), interpolation=flag))


@pytest.mark.parametrize(
    ("backend", "method"), [("pillow", "bicubic"), ("opencv", "bicubic"), ("opencv", "area")]
)
def test_resize_ours(benchmark, img, backend, method):
    benchmark.group = f"op-resize-{backend}-{method}-x0.5"
    step = {"op": "resize", "backend": backend, "method": method, "scale": 0.5}
    benchmark(_ours([step], ImageState(pixels=img)))


def test_peer_equivalent_ours_jpeg_q18_roundtrip(benchmark, img):
    """What imagecorruptions' jpeg_compression and albumentations' ImageCompression do: encode at
    one quality and decode back to pixels (bench/run.py --peers times them on the same image)."""
    benchmark.group = "peer-jpeg-q18-roundtrip"
    benchmark(_ours([{"op": "jpeg", "quality": 18}, {"op": "decode"}], ImageState(pixels=img)))


def test_peer_equivalent_ours_pixelate(benchmark, img):
    """imagecorruptions pixelate severity 2: box down to 0.5, box (nearest) up."""
    benchmark.group = "peer-pixelate"
    h, w = img.shape[:2]
    steps = [
        {"op": "resize", "backend": "pillow", "method": "area", "scale": 0.5},
        {"op": "resize", "backend": "pillow", "method": "area", "size": [h, w], "mode": "exact"},
    ]
    benchmark(_ours(steps, ImageState(pixels=img)))
