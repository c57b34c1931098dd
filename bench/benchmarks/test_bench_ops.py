"""Each op against the bare library call doing the same work (one 768x768 RGB photo).

Groups pair ``ours`` with ``bare``; the workloads live in :mod:`.cases`, which
``python bench/run.py`` times interleaved for its ratio table."""

from __future__ import annotations

import io

import numpy as np
import pytest
from degradebench.generators.ops import ImageState
from PIL import Image

from .cases import bare_decode, bare_jpeg_opencv, bare_jpeg_pillow, bare_resize, op_ours
from .conftest import SIZE, _sources

RESIZES = [("pillow", "bicubic"), ("opencv", "bicubic"), ("opencv", "area")]


@pytest.fixture(scope="module")
def img() -> np.ndarray:
    return _sources(1, SIZE)[0]


@pytest.fixture(scope="module")
def jpeg_blob(img) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.mark.parametrize("q", [75, 95])
def test_jpeg_encode_bare_pillow(benchmark, img, q):
    benchmark.group = f"op-jpeg-encode-q{q}"
    benchmark(bare_jpeg_pillow(img, q))


@pytest.mark.parametrize("q", [75, 95])
def test_jpeg_encode_ours(benchmark, img, q):
    benchmark.group = f"op-jpeg-encode-q{q}"
    benchmark(op_ours([{"op": "jpeg", "quality": q}], ImageState(pixels=img)))


def test_jpeg_encode_bare_opencv(benchmark, img):
    benchmark.group = "op-jpeg-encode-opencv-q75"
    benchmark(bare_jpeg_opencv(img))


def test_jpeg_encode_ours_opencv(benchmark, img):
    benchmark.group = "op-jpeg-encode-opencv-q75"
    step = {"op": "jpeg", "backend": "opencv", "quality": 75}
    benchmark(op_ours([step], ImageState(pixels=img)))


def test_decode_bare(benchmark, jpeg_blob):
    benchmark.group = "op-jpeg-decode"
    benchmark(bare_decode(jpeg_blob))


def test_decode_ours(benchmark, jpeg_blob):
    benchmark.group = "op-jpeg-decode"
    benchmark(op_ours([{"op": "decode"}], ImageState(pixels=None, data=jpeg_blob, fmt="jpeg")))


@pytest.mark.parametrize(("backend", "method"), RESIZES)
def test_resize_bare(benchmark, img, backend, method):
    benchmark.group = f"op-resize-{backend}-{method}-x0.5"
    benchmark(bare_resize(img, backend, method))


@pytest.mark.parametrize(("backend", "method"), RESIZES)
def test_resize_ours(benchmark, img, backend, method):
    benchmark.group = f"op-resize-{backend}-{method}-x0.5"
    step = {"op": "resize", "backend": backend, "method": method, "scale": 0.5}
    benchmark(op_ours([step], ImageState(pixels=img)))
