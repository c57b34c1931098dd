"""Measure the reference model on the held-out fold: clean, JPEG re-compression and grid-moving crops.

    python -m degradebench.measure_reference [--dataset-root DIR] [--weights FILE] [--json OUT]

JPEG re-compression uses Pillow at 4:2:0 (its default; ``jpeg70``) and at 4:4:4 (``jpeg70-444``).
Without ``--dataset-root`` the default virtual-cameras dataset is built (or reused) under
``--data``. Crops remove ``dy`` rows and ``dx`` columns at the top-left and keep a fixed
``size - 16`` square, so every crop has the same number of tiles as the aligned control (0, 0):
even offsets that are not multiples of 8 move only the 8x8 JPEG grid (the 2x2 CFA phase stays),
odd offsets move both. The ladders here are for this check only; the suite's live in datasets.yaml.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["measure", "main"]

# (quality, subsampling): Pillow's default 4:2:0, and 4:4:4 to separate the chroma loss.
JPEG_CONDITIONS = (
    (95, "4:2:0"),
    (90, "4:2:0"),
    (70, "4:2:0"),
    (95, "4:4:4"),
    (90, "4:4:4"),
    (70, "4:4:4"),
)
CROPS = ((0, 0), (8, 8), (16, 16), (2, 4), (4, 6), (6, 2), (3, 5), (1, 1), (5, 3))


def _recompress(img: np.ndarray, quality: int, subsampling: str) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality, subsampling=subsampling)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


def _crop(img: np.ndarray, dy: int, dx: int, margin: int = 16) -> np.ndarray:
    h, w = img.shape[:2]
    return img[dy : dy + h - margin, dx : dx + w - margin]


def measure(dataset_root: Path, weights: Path | None = None, fold: int = 0) -> dict:
    """Image-level accuracy on ``fold`` for each condition, and its drop from clean (points)."""
    from degradebench.evaluators._train_reference import load_split
    from degradebench.evaluators.reference import load_reference, predict_image

    model, config = load_reference(weights)
    items, classes = load_split(dataset_root, (fold,))
    if classes != config["classes"]:
        raise SystemExit(f"dataset classes {classes} differ from the model's {config['classes']}")
    y = np.array([classes.index(lab) for _, lab, _ in items])
    images = [img for img, _, _ in items]

    def acc(imgs: list[np.ndarray]) -> float:
        return float((predict_image(model, config, imgs).argmax(1) == y).mean())

    res: dict = {"images": len(items), "classes": len(classes), "fold": fold}
    res["clean"] = acc(images)
    for q, sub in JPEG_CONDITIONS:
        name = f"jpeg{q}" + ("" if sub == "4:2:0" else "-" + sub.replace(":", ""))
        res[name] = acc([_recompress(i, q, sub) for i in images])
    for dy, dx in CROPS:
        res[f"crop{dy},{dx}"] = acc([_crop(i, dy, dx) for i in images])
    base_crop = res["crop0,0"]
    res["drops_points"] = {
        k: round(100 * ((base_crop if k.startswith("crop") else res["clean"]) - v), 1)
        for k, v in res.items()
        if k.startswith(("jpeg", "crop"))
    }
    even = [f"crop{dy},{dx}" for dy, dx in CROPS if dy % 2 == 0 and dx % 2 == 0 and dy % 8 + dx % 8]
    odd = [f"crop{dy},{dx}" for dy, dx in CROPS if dy % 2 and dx % 2]
    res["even_crop_mean"] = float(np.mean([res[k] for k in even]))
    res["odd_crop_mean"] = float(np.mean([res[k] for k in odd]))
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m degradebench.measure_reference",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--dataset-root", type=Path, help="a virtual-cameras dataset (default: build it)"
    )
    ap.add_argument(
        "--data",
        type=Path,
        default=Path("data/virtual-cameras"),
        help="where to build the default dataset when --dataset-root is not given",
    )
    ap.add_argument("--weights", type=Path, help="weights file (default: the shipped ones)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    args = ap.parse_args(argv)
    root = args.dataset_root
    if root is None:
        from degradebench.generators.virtual_cameras import (
            VirtualCamerasParams,
            build_virtual_cameras,
        )

        t0 = time.perf_counter()
        root = build_virtual_cameras(VirtualCamerasParams(), args.data, jobs=args.jobs).parent
        print(f"dataset: {root} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    res = measure(root, args.weights)
    print(f"fold 0: {res['images']} images, {res['classes']} classes")
    print(f"{'condition':<12} {'accuracy':>8} {'drop (points)':>14}")
    print(f"{'clean':<12} {res['clean']:>8.3f} {'':>14}")
    for k, d in res["drops_points"].items():
        print(f"{k:<12} {res[k]:>8.3f} {d:>14.1f}")
    print(
        f"even crops (JPEG grid moves, CFA phase kept): mean accuracy {res['even_crop_mean']:.3f}"
    )
    print(f"odd crops (both grids move): mean accuracy {res['odd_crop_mean']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
