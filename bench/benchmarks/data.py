"""The benchmarks' data: a small camera-like dataset (JPEG sources, 768x768) made from the
photographs scikit-image ships, and a config with the suites the benchmarks run. Plain functions
(no pytest), shared by the pytest-benchmark tests and the interleaved runner (bench/run.py)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 768
N_SOURCES = 12

BENCH_CONFIG = """
version: 1
datasets:
  bench:
    kind: folder
    root: {root}
suites:
  ladder13:
    seed: 0
    axes:
      jpeg:
        qualities: [100, 95, 90, 85, 80, 75, 70, 60, 50, 40, 30, 20, 10]
  social:
    seed: 0
    axes:
      whatsapp-like: {{type: social, presets: [whatsapp-like], hops: [1, 2, 3]}}
  cropgrid:
    seed: 0
    axes:
      crop:
        offsets: [[0, 0], [0, 4], [4, 0], [4, 4], [1, 1], [3, 5], [5, 3], [7, 7]]
        save: jpeg
        quality: 90
presets:
  whatsapp-like:
    source: bench copy of the shipped preset
    note: approximates WhatsApp
    chain:
      - {{op: strip_metadata}}
      - {{op: exif_orientation, mode: apply}}
      - {{op: resize_max, max_side: 1600, side: long, backend: pillow, method: bilinear}}
      - {{op: jpeg, backend: pillow, quality: 75, subsampling: "4:2:0", optimize: true, progressive: false}}
"""


def _sources(n: int, size: int) -> list[np.ndarray]:
    import skimage.data

    names = ["astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "retina"]
    out = []
    for i in range(n):
        img = getattr(skimage.data, names[i % len(names)])()
        im = Image.fromarray(img[..., :3]).resize((size, size), Image.Resampling.LANCZOS)
        arr = np.asarray(im)
        out.append(
            np.ascontiguousarray(np.roll(arr, 37 * i, axis=1))
        )  # distinct content per source
    return out


def make_bench_tree(root: Path, n: int = N_SOURCES, size: int = SIZE) -> Path:
    for i, arr in enumerate(_sources(n, size)):
        d = root / f"cam{i % 2}"
        d.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        Image.fromarray(arr).save(buf, "JPEG", quality=92)
        (d / f"src{i:03d}.jpg").write_bytes(buf.getvalue())
    return root


def write_bench_config(root: Path, dest: Path) -> Path:
    """The benchmarks' datasets.yaml for the folder ``root``, plus the shipped ``imagenet-c-jpeg``
    suite copied verbatim (the peers' job: ImageNet-C's JPEG severities 1-5)."""
    from importlib import resources

    import yaml

    shipped = resources.files("degradebench.generators") / "datasets.yaml"
    suite = yaml.safe_load(shipped.read_text(encoding="utf-8"))["suites"]["imagenet-c-jpeg"]
    cfg = yaml.safe_load(BENCH_CONFIG.format(root=root))
    cfg["suites"]["imagenet-c-jpeg"] = suite
    dest.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return dest
