"""Shared fixtures: tiny real images (64-256 px) cut from scikit-image's bundled photographs,
the ``slow``/``gpu`` markers (one hook), and the virtual cameras built once per session."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def photo(name: str = "astronaut", size: int = 128, top: int = 40, left: int = 60) -> np.ndarray:
    """A real photograph crop (uint8 RGB), small enough to keep tests fast."""
    import skimage.data

    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return np.ascontiguousarray(img[top : top + size, left : left + size, :3])


def jpeg_bytes(arr: np.ndarray, quality: int = 90, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=quality, **kw)
    return buf.getvalue()


def png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


TINY_CONFIG = """
version: 1
datasets:
  tiny:
    kind: folder
    root: {root}
    folds: 2
suites:
  small:
    seed: 3
    axes:
      jpeg:
        qualities: [90, 50]
      double_jpeg:
        q1: [60]
        q2: [90]
        shifts: [[0, 0], [3, 5]]
        random_shifts: 1
      crop:
        offsets: [[0, 0], [2, 4], [3, 5]]
        save: png
"""


@pytest.fixture()
def tiny_tree(tmp_path: Path) -> Path:
    """root/<label>/* with 2 labels x 3 images: JPEG and PNG sources, 96-128 px."""
    root = tmp_path / "data"
    specs = {
        "cam-a": [
            ("astronaut", 0, 0, "jpg"),
            ("coffee", 50, 100, "png"),
            ("chelsea", 30, 90, "jpg"),
        ],
        "cam-b": [
            ("astronaut", 200, 180, "png"),
            ("chelsea", 100, 200, "jpg"),
            ("coffee", 150, 250, "jpg"),
        ],
    }
    for label, items in specs.items():
        (root / label).mkdir(parents=True)
        for i, (name, top, left, ext) in enumerate(items):
            arr = photo(name, 96 + 16 * i, top, left)
            data = jpeg_bytes(arr, 92) if ext == "jpg" else png_bytes(arr)
            (root / label / f"img{i}.{ext}").write_bytes(data)
    return root


@pytest.fixture()
def tiny_config(tmp_path: Path, tiny_tree: Path) -> Path:
    cfg = tmp_path / "datasets.yaml"
    cfg.write_text(TINY_CONFIG.format(root=tiny_tree))
    return cfg


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runslow",
        action="store_true",
        default=False,
        help="also run the long modes: the full demo, 100-trial crash harness (or DEGRADEBENCH_SLOW=1)",
    )


def slow_enabled(config: pytest.Config) -> bool:
    """``--runslow`` or DEGRADEBENCH_SLOW set to anything but empty/0/false/no."""
    env = os.environ.get("DEGRADEBENCH_SLOW", "").strip().lower()
    return bool(config.getoption("--runslow")) or env not in ("", "0", "false", "no")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The one place the markers act: ``slow`` runs only with --runslow / DEGRADEBENCH_SLOW=1,
    ``gpu`` only where CUDA is available."""
    slow = slow_enabled(config)
    cuda: bool | None = None
    for item in items:
        if "slow" in item.keywords and not slow:
            item.add_marker(
                pytest.mark.skip(reason="slow: run with --runslow or DEGRADEBENCH_SLOW=1")
            )
        if "gpu" in item.keywords:
            cuda = _cuda_available() if cuda is None else cuda
            if not cuda:
                item.add_marker(pytest.mark.skip(reason="gpu: needs CUDA"))


@pytest.fixture(scope="session")
def runslow(request: pytest.FixtureRequest) -> bool:
    """True when the long modes are on (for tests that scale their work instead of skipping)."""
    return slow_enabled(request.config)


@pytest.fixture(scope="session")
def virtual_cameras(tmp_path_factory: pytest.TempPathFactory):
    """``virtual_cameras(params, jobs=1) -> root``: each parameter set is built once per session
    (the default dataset takes most of a minute), into a session folder; tests must not write
    into the returned folder."""
    built: dict[str, Path] = {}

    def build(params, jobs: int = 1) -> Path:
        from degradebench.generators.virtual_cameras import build_virtual_cameras

        key = repr(params)
        if key not in built:
            out = tmp_path_factory.mktemp("virtual-cameras") / "data"
            built[key] = build_virtual_cameras(params, out, jobs=jobs, progress=False).parent
        return built[key]

    return build
