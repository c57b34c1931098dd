"""Time peer tools doing the same nominal degradation, in their own virtual environment.

imagecorruptions pulls ``opencv-python``, which would overwrite our headless ``cv2``, so peers
live in ``.bench-peers/`` (git-ignored). ``python bench/peers.py --setup`` creates it;
``bench/run.py --peers`` runs this file inside it and merges the timings into the ratio table.

Run inside the peers venv: prints JSON ``{name: median_ms_per_image}`` on stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

VENV = Path(__file__).resolve().parent.parent / ".bench-peers"
PEERS = ["imagecorruptions==1.1.2", "albumentations==2.0.8", "scikit-image", "pillow"]


def setup() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", *PEERS], check=True)
    return py


def _median_ms(fn, img, repeat: int) -> float:
    fn(img)  # warm up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(img)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def measure(size: int, repeat: int) -> dict[str, float]:
    import numpy as np
    import skimage.data
    from PIL import Image

    img = np.asarray(
        Image.fromarray(skimage.data.astronaut()).resize((size, size), Image.Resampling.LANCZOS)
    )
    out: dict[str, float] = {}
    from imagecorruptions import corrupt

    # imagecorruptions severity 2 is quality 18 at ImageNet-C's ladder: same nominal work as one
    # JPEG encode + decode at that quality.
    out["imagecorruptions.jpeg_compression(sev=2)"] = _median_ms(
        lambda x: corrupt(x, corruption_name="jpeg_compression", severity=2), img, repeat
    )
    out["imagecorruptions.pixelate(sev=2)"] = _median_ms(
        lambda x: corrupt(x, corruption_name="pixelate", severity=2), img, repeat
    )
    import albumentations as A

    t = A.ImageCompression(quality_range=(18, 18), compression_type="jpeg", p=1.0)
    out["albumentations.ImageCompression(q=18)"] = _median_ms(
        lambda x: t(image=x)["image"], img, repeat
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--setup", action="store_true", help="create/refresh the peers venv and exit")
    ap.add_argument("--size", type=int, default=768)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    if args.setup:
        print(setup())
        return
    print(json.dumps(measure(args.size, args.repeat)))


if __name__ == "__main__":
    main()
