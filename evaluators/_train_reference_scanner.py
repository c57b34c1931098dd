"""Train the reference scanner-model classifier on patches of a document-scan dataset.

The camera reference's training loop (:mod:`._train_reference`: seeded initialisation and patch
draws, deterministic kernels, a fixed batch order, patches cut at multiples of 16 px) with the
scanner network (:class:`~.reference_scanner.ScannerNet`) and the scanner recipe
(``reference_scanner_recipe.json``). The dataset is any ``list.csv`` (``path,label,group``)
or folder-per-class tree: by default the virtual-scanners build (label = scanner model, group =
the document, so fold 0 holds documents never seen in training).

The same dataset, seed and thread count give the same weights, bit for bit; the training json
records the weights' sha256, the dataset digest, the recipe and the time.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.core.provenance import library_version

from ._recipe import DEFAULTS as CAMERA_DEFAULTS
from ._recipe import load_recipe
from ._train_reference import (
    _check_args,
    _dataset_digest,
    _deterministic_torch,
    _fit,
    _policy_record,
    _training_items,
    load_split,
)
from .reference_scanner import CONFIG_NAME, build_scanner_model, load_reference_scanner

__all__ = [
    "train_reference_scanner",
    "held_out_accuracy",
    "load_scanner_recipe",
    "SCANNER_DEFAULTS",
    "SCANNER_RECIPE_FILE",
    "WEIGHTS_NAME",
    "TRAINING_NAME",
]

SCANNER_RECIPE_FILE = Path(__file__).with_name("reference_scanner_recipe.json")
WEIGHTS_NAME = "reference_scanner_weights.pt"
TRAINING_NAME = "reference_scanner_training.json"
# The shared loop reads these from the camera recipe: the scanner recipe must agree.
_SHARED = ("align", "weight_decay", "pct_start", "folds")


def load_scanner_recipe(path: Path = SCANNER_RECIPE_FILE) -> dict:
    """The scanner recipe: the camera recipe's keys (checked) plus ``width`` and ``raw``."""
    recipe = load_recipe(path)
    extra = json.loads(Path(path).read_text(encoding="utf-8"))
    width, raw = extra.get("width"), extra.get("raw")
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise ConfigError(f"{path}: width: must be an integer >= 1, got {width!r}")
    if not isinstance(raw, bool):
        raise ConfigError(f"{path}: raw: must be true or false, got {raw!r}")
    differ = [k for k in _SHARED if recipe[k] != CAMERA_DEFAULTS[k]]
    if differ:
        got = {k: recipe[k] for k in differ}
        want = {k: CAMERA_DEFAULTS[k] for k in differ}
        raise ConfigError(
            f"{path}: {got} must equal the camera recipe's {want}: the shared training loop "
            "reads them from reference_recipe.json"
        )
    return {**recipe, "width": width, "raw": raw}


SCANNER_DEFAULTS = load_scanner_recipe()


def _input_config(patch: int, classes: list[str], recipe: dict) -> dict:
    """The input config ``load_reference_scanner`` reads beside the weights."""
    return {"input_size": [patch, patch], "fit": "tile", "tile_stride": None, "max_tiles": None,
            "channel_order": "RGB", "value_range": 1.0, "mean": list(recipe["mean"]),
            "std": list(recipe["std"]), "output": "logits", "classes": classes}  # fmt: skip


def _dataset_record(root: Path) -> dict:
    """What the dataset's ``metadata.json`` says of its build (kind, params hash, pipeline
    version, params), when it has one: the default weights name the build they came from."""
    try:
        meta = json.loads((root / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"name": root.name}
    keys = ("kind", "pipeline_version", "params_hash", "params")
    return {"name": root.name, **{k: meta[k] for k in keys if k in meta}}


def train_reference_scanner(
    dataset_root: Path,
    out_dir: Path,
    *,
    epochs: int = SCANNER_DEFAULTS["epochs"],
    seed: int = 0,
    folds_train: Sequence[int] = tuple(SCANNER_DEFAULTS["folds_train"]),
    patch: int = SCANNER_DEFAULTS["patch"],
    threads: int | None = None,
    progress: bool = True,
    patches_per_image: int = SCANNER_DEFAULTS["patches_per_image"],
    batch_size: int = SCANNER_DEFAULTS["batch_size"],
    lr: float = SCANNER_DEFAULTS["lr"],
    width: int = SCANNER_DEFAULTS["width"],
    raw: bool = SCANNER_DEFAULTS["raw"],
    degrade=None,
) -> Path:
    """Train on grid-aligned patches of ``folds_train``; write weights, config and record.

    Writes ``out_dir/reference_scanner_weights.pt`` (a state dict of tensors),
    ``reference_scanner_config.json`` (the input config) and ``reference_scanner_training.json``
    (recipe, dataset digest, weights sha256, seconds, library versions). ``threads`` (default
    1) fixes the float reductions and so the weights. ``degrade``: as in
    :func:`~._train_reference.train_reference` (a ``Degrade`` applied per epoch and image).

    Raises:
        ConfigError: a bad argument, fewer than 2 classes or images smaller than the patch.
    """
    threads = _check_args(epochs, patch, threads, patches_per_image, batch_size, folds_train)
    recipe = {**SCANNER_DEFAULTS, "width": width, "raw": bool(raw)}
    build = partial(build_scanner_model, width=width, raw=bool(raw))
    items, classes = _training_items(Path(dataset_root), folds_train, patch)
    out_dir = Path(out_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    stats: dict = {"chains": {}, "seconds": 0.0}
    with _deterministic_torch(threads):
        state, correct, seen = _fit(
            items, classes, seed=seed, epochs=epochs, patch=patch,
            patches_per_image=patches_per_image, batch_size=batch_size, lr=lr,
            progress=progress, degrade=degrade, stats=stats, build=build,
        )  # fmt: skip
    seconds = time.perf_counter() - start

    import torch

    weights = out_dir / WEIGHTS_NAME
    torch.save(state, weights)
    config = _input_config(patch, classes, recipe)
    (out_dir / CONFIG_NAME).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    record = {
        "recipe": {
            **recipe, "epochs": epochs, "seed": seed, "folds_train": list(folds_train),
            "patch": patch, "patches_per_image": patches_per_image, "batch_size": batch_size,
            "lr": lr, "threads": threads,
        },
        "dataset": _dataset_record(Path(dataset_root)),
        "classes": classes,
        "train_images": len(items),
        "train_patch_accuracy_last_epoch": round(correct / max(seen, 1), 4),
        "dataset_digest": _dataset_digest(items),
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "seconds": round(seconds, 1),
        "versions": {"torch": library_version("torch"), "numpy": library_version("numpy")},
    }  # fmt: skip
    if degrade is not None:
        chains = dict(sorted(stats["chains"].items()))
        record["policy"] = {**_policy_record(degrade), "chains": chains,
                            "degrade_seconds": round(stats["seconds"], 1)}  # fmt: skip
    (out_dir / TRAINING_NAME).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return weights


def held_out_accuracy(
    weights: Path | None, dataset_root: Path, folds: Sequence[int] = (0,)
) -> tuple[float | None, int]:
    """Image accuracy of the scanner weights (default: shipped) on ``folds`` and the count;
    ``(None, 0)`` when those folds are empty."""
    from .reference import predict_image

    model, config = load_reference_scanner(weights)
    items, _ = load_split(Path(dataset_root), tuple(folds), SCANNER_DEFAULTS["folds"])
    if not items:
        return None, 0
    pred = predict_image(model, config, [img for img, _, _ in items]).argmax(1)
    classes = config["classes"]
    truth = np.array([classes.index(lab) if lab in classes else -1 for _, lab, _ in items])
    return float((pred == truth).mean()), len(items)
