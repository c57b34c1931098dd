"""Measure the reference scanner model on documents it never saw: clean, JPEG, 150 dpi, re-scan.

    python -m degradebench.measure_reference_scanner [--dataset-root DIR] [--fresh N]
        [--weights FILE] [--json OUT]

Held-out images: fold 0 of the virtual-scanners dataset (grouped by document, so its documents
are not in training folds 1-4); with ``--fresh N``, also N documents past the dataset's own
(the same seed and printer/scanner designs, ``documents`` raised by N: pages never rendered for
training), built under ``--data``. Conditions (the ladders here are for this check only; the
suites' live in datasets.yaml):

- ``jpeg90`` / ``jpeg70``: Pillow re-compression at 4:2:0 (its default);
- ``dpi150``: resampled from the scanner's resolution to 150 dpi (Pillow bicubic, antialiased;
  scans already at 150 dpi are left as they are);
- ``rescan-same``: printed again and scanned by the *same* scanner model's other device: the
  scan is brought to the printer grid (300 dpi, Pillow bicubic) and sent through the dataset's
  printers in turn and ``print_scan`` (encoded by the scanner), so the true label is unchanged;
- ``rescan-other``: the same through the *next* scanner model: accuracy against the original
  scanner (do its traces survive?) and how often the model names the re-scanning one instead.

``--localizer`` also measures ``reference-scanner-localizer`` on ``text_replace`` forgeries of
the held-out scans (a digital edit on a scan: the longest text field of the layout sidecar that
holds a digit, each digit shifted by one, in its own font), as they are and after the forged
scan is printed and scanned again by another unit of the same scanner model (the mask carried through the
geometry): pixel F1 at the map's fixed 0.5 threshold, pixel AUC, image AUC against the
untouched scans.
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

__all__ = ["measure", "main", "CONDITIONS"]

CONDITIONS = ("clean", "jpeg90", "jpeg70", "dpi150", "rescan-same", "rescan-other")
TARGET_DPI = 150


def _recompress(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


def _resample(img: np.ndarray, factor: float) -> np.ndarray:
    from degradebench.generators.ops.resize import resize_image

    if factor == 1:
        return img
    h, w = img.shape[:2]
    size = (max(1, round(h * factor)), max(1, round(w * factor)))
    return resize_image(img, size, backend="pillow", method="bicubic")


class _Rescanner:
    """Print and scan a held-out scan again, through the dataset's own printers and scanners."""

    def __init__(self, meta: dict):
        from degradebench.generators.virtual_scanners import (
            VirtualScannersParams,
            design_printers,
            design_scanners,
        )

        self.params = VirtualScannersParams.from_mapping(meta["params"], "metadata.json params")
        self.printers = design_printers(self.params)
        self.scanners = design_scanners(self.params)
        self.by_name = {m.name: i for i, (m, _) in enumerate(self.scanners)}

    def __call__(self, img: np.ndarray, row: tuple, index: int, shift: int, info: bool = False):
        """``row`` = (image, label, key) of the held-out scan ``img`` (or its forgery) came from;
        ``shift`` 0: the same scanner model (another unit than the key's), 1: the next model."""
        from degradebench.generators.core.provenance import derive_seed
        from degradebench.generators.virtual_scanners import print_scan

        _, label, key = row
        s = self.by_name[label]
        model, devices = self.scanners[(s + shift) % len(self.scanners)]
        unit = "-".join(Path(key).stem.split("-")[-2:])  # page_name: doc-printer-device
        others = [d for d in devices if d.name != unit] or devices
        device = others[index % len(others)]
        printer = self.printers[index % len(self.printers)]
        dpi = self.params.print_dpi
        page = _resample(img, dpi / self.scanners[s][0].dpi)
        seed = derive_seed(self.params.seed, f"held-out-{index}", f"rescan-{shift}") % 2**32
        out, meta = print_scan(page, printer, model, device, seed=seed, print_dpi=dpi, encode=True)
        return (out, meta) if info else out


def _items(root: Path, folds: tuple[int, ...], groups: set | None = None) -> list:
    from degradebench.evaluators._train_reference import load_split

    items, _ = load_split(root, folds)
    if groups is None:
        return items
    import csv

    with open(root / "list.csv", newline="", encoding="utf-8") as fh:
        group_of = {row["path"]: row["group"] for row in csv.DictReader(fh)}
    return [it for it in items if group_of[it[2]] not in groups]


def measure(dataset_root: Path, weights: Path | None = None, items: list | None = None) -> dict:
    """Image accuracy per condition on fold 0 (or on ``items``: (image, label, key) rows)."""
    from degradebench.evaluators.reference import predict_image
    from degradebench.evaluators.reference_scanner import load_reference_scanner

    model, config = load_reference_scanner(weights)
    classes = config["classes"]
    meta = json.loads((Path(dataset_root) / "metadata.json").read_text(encoding="utf-8"))
    items = _items(Path(dataset_root), (0,)) if items is None else items
    dpi = {s["name"]: s["dpi"] for s in meta["scanners"]}
    y = np.array([classes.index(lab) for _, lab, _ in items])
    rescan = _Rescanner(meta)

    res: dict = {"images": len(items), "classes": classes, "per_class": {}}
    res["documents"] = len({key.split("-")[0].rsplit("/", 1)[-1] for _, _, key in items})

    def score(name: str, imgs: list[np.ndarray]) -> np.ndarray:
        pred = predict_image(model, config, imgs).argmax(1)
        res[name] = float((pred == y).mean())
        res["per_class"][name] = {c: float((pred[y == k] == k).mean()) for k, c in
                                  enumerate(classes) if (y == k).any()}  # fmt: skip
        return pred

    images = [img for img, _, _ in items]
    score("clean", images)
    for q in (90, 70):
        score(f"jpeg{q}", [_recompress(i, q) for i in images])
    score("dpi150", [_resample(img, TARGET_DPI / dpi[lab]) for img, lab, _ in items])
    score("rescan-same", [rescan(row[0], row, i, 0) for i, row in enumerate(items)])
    pred = score("rescan-other", [rescan(row[0], row, i, 1) for i, row in enumerate(items)])
    new = np.array([(v + 1) % len(rescan.scanners) for v in y])  # names sorted = model order
    res["rescan-other_names_the_new_scanner"] = float((pred == new).mean())
    return res


def _forge(img: np.ndarray, layout: dict) -> tuple[np.ndarray, np.ndarray] | None:
    """``text_replace`` of the longest field with a digit (digits + 1 mod 10); None if none."""
    from degradebench.generators.ops.doc_forgery import (
        TextField,
        TextReplaceParams,
        text_replace_pillow,
    )

    h, w = img.shape[:2]

    def usable(f: dict) -> bool:
        top, left, bh, bw = f["box"]
        digit = any(c.isdigit() for c in f["content"])
        return bool(f.get("font")) and digit and top + bh <= h and left + bw <= w

    fits = [f for f in layout.get("fields", []) if usable(f)]
    if not fits:
        return None
    f = max(fits, key=lambda f: f["box"][2] * f["box"][3])
    new = "".join(str((int(c) + 1) % 10) if c.isdigit() else c for c in f["content"])
    out, mask = text_replace_pillow(img, TextReplaceParams(TextField.from_layout(f), new))
    return out, mask.astype(bool)


def _locate(loc, imgs: list[np.ndarray]) -> list[tuple[np.ndarray, float]]:
    import torch

    out = []
    for img in imgs:
        x = (torch.from_numpy(np.array(img)).permute(2, 0, 1)[None].float() / 255 - 0.5) / 0.25
        with torch.inference_mode():
            r = loc(x)
        out.append((r["map"][0, 0].numpy(), float(r["score"][0])))
    return out


def measure_localizer(dataset_root: Path, weights: Path | None = None, items=None) -> dict:
    """Pixel F1 / pixel AUC / image AUC of the localizer on text_replace, before and after a
    print-scan by the same scanner model (see the module docstring)."""
    from degradebench.evaluators.metrics.forensic_detect import auc as roc_auc
    from degradebench.evaluators.metrics.forensic_pixel import pixel_auc, pixel_f1
    from degradebench.evaluators.reference_scanner import load_reference_scanner_localizer
    from degradebench.generators.virtual_scanners import map_mask

    loc, _ = load_reference_scanner_localizer(weights)
    root = Path(dataset_root)
    meta = json.loads((root / "metadata.json").read_text(encoding="utf-8"))
    rescan = _Rescanner(meta)
    items = _items(root, (0,)) if items is None else items
    cases: dict[str, list] = {"digital": [], "print-scan": []}
    for i, (img, lab, key) in enumerate(items):
        layout = json.loads((root / key).with_suffix(".json").read_text(encoding="utf-8"))
        forged = _forge(img, layout)
        if forged is None or not forged[1].any():
            continue
        fake, mask = forged
        cases["digital"].append((fake, mask, img))
        s = rescan.by_name[lab]
        page_factor = rescan.params.print_dpi / rescan.scanners[s][0].dpi
        pair = [rescan(x, (img, lab, key), i, 0, info=True) for x in (fake, img)]
        big = _resample(mask.astype(np.uint8) * 255, page_factor) > 127
        cases["print-scan"].append((pair[0][0], map_mask(big, pair[0][1]), pair[1][0]))
    res: dict = {}
    for name, rows in cases.items():
        fakes = _locate(loc, [r[0] for r in rows])
        reals = _locate(loc, [r[2] for r in rows])
        f1 = [pixel_f1(m, r[1]) for (m, _), r in zip(fakes, rows) if r[1].any()]
        auc = [pixel_auc(m, r[1]) for (m, _), r in zip(fakes, rows) if r[1].any()]
        scores = [s for _, s in fakes] + [s for _, s in reals]
        truth = [1] * len(fakes) + [0] * len(reals)
        res[name] = {"forgeries": len(rows), "pixel_f1": float(np.mean(f1)),
                     "pixel_auc": float(np.mean(auc)),
                     "image_auc": float(roc_auc(np.array(scores), np.array(truth))),
                     "mask_fraction": float(np.mean([r[1].mean() for r in rows]))}  # fmt: skip
    return res


def _fresh_items(root: Path, data: Path, fresh: int, jobs: int) -> tuple[Path, list]:
    """The fresh build and the scans of its ``fresh`` documents past the dataset's own."""
    from degradebench.generators.virtual_scanners import (
        VirtualScannersParams,
        build_virtual_scanners,
    )

    meta = json.loads((root / "metadata.json").read_text(encoding="utf-8"))
    params = VirtualScannersParams.from_mapping(meta["params"], "metadata.json params")
    more = VirtualScannersParams.from_mapping(
        {**meta["params"], "documents": params.documents + fresh}, "fresh"
    )
    fresh_root = Path(build_virtual_scanners(more, data, jobs=jobs)).parent
    seen = {f"doc-{d:04d}" for d in range(params.documents)}
    return fresh_root, _items(fresh_root, tuple(range(5)), groups=seen)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m degradebench.measure_reference_scanner",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--dataset-root", type=Path, help="a virtual-scanners build (default: build)")
    ap.add_argument("--data", type=Path, default=Path("data/virtual-scanners"),
                    help="where to build the default (and the --fresh) dataset")  # fmt: skip
    ap.add_argument("--fresh", type=int, default=0, help="also N documents never rendered")
    ap.add_argument("--weights", type=Path, help="weights file (default: the shipped ones)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    ap.add_argument("--localizer", action="store_true", help="also the localizer on text_replace")
    args = ap.parse_args(argv)
    root = args.dataset_root
    if root is None:
        from degradebench.generators.virtual_scanners import (
            VirtualScannersParams,
            build_virtual_scanners,
        )

        t0 = time.perf_counter()
        root = Path(build_virtual_scanners(VirtualScannersParams(), args.data, jobs=args.jobs))
        root = root.parent
        print(f"dataset: {root} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    out = {"fold0": measure(root, args.weights)}
    if args.fresh:
        fresh_root, items = _fresh_items(
            root, args.data.with_name(args.data.name + "-fresh"), args.fresh, args.jobs
        )
        out["fresh"] = measure(fresh_root, args.weights, items)
    print(f"{'held-out set':<14} {'images':>6} " + " ".join(f"{c:>12}" for c in CONDITIONS))
    for name, res in out.items():
        cells = " ".join(f"{res[c]:>12.3f}" for c in CONDITIONS)
        print(f"{name:<14} {res['images']:>6} {cells}")
        print(f"{'':<14} rescan-other names the re-scanning scanner: "
              f"{res['rescan-other_names_the_new_scanner']:.3f}")  # fmt: skip
        for c in res["classes"]:
            cells = " ".join(
                f"{res['per_class'][k].get(c, float('nan')):>12.3f}" for k in CONDITIONS
            )
            print(f"{'  ' + c:<14} {'':>6} {cells}")
    if args.localizer:
        out["localizer"] = measure_localizer(root, args.weights)
        for name, r in out["localizer"].items():
            print(f"localizer text_replace {name}: {r}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
