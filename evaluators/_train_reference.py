"""Train the reference camera-model classifier on patches of the training folds.

Deterministic on CPU: the same dataset, seed and thread count give the same weights, bit for bit
(seeded initialisation and patch draws, deterministic kernels, a fixed batch order). Patches are
cut at positions that are multiples of ``align`` (16: the 4:2:0 JPEG MCU), so the model learns
the traces in their native phase — the 2x2 CFA and the 8x8 JPEG grid — which is what a crop moves.

With ``degrade`` (a ``degradebench.data.Degrade``, or any callable
``degrade(image, index=i, epoch=e) -> (image, chain)``), each training image is degraded once
per epoch (drawn for (seed, epoch, index)) *before* the patches are cut, so a crop really moves
the grids under the aligned patch positions; the degraded images live for one epoch. The
identity policy (``clean``) gives the weights of a run without ``degrade``, bit for bit.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from degradebench.generators.core.errors import ConfigError
from degradebench.generators.core.provenance import library_version
from degradebench.generators.datasets import sources_from_path
from torch import nn
from tqdm.auto import tqdm

from ._fit import normalise
from ._input_config import resolve_input_config
from ._loader import decode_rgb  # the one decoder (generators.ops.jpeg.decode_pillow)
from ._recipe import DEFAULTS, MEAN, RECIPE_FILE, STD, load_recipe
from .reference import CONFIG_NAME, ConstrainedConv2d, build_reference_model

__all__ = [
    "train_reference", "load_split", "load_recipe", "WEIGHTS_NAME", "TRAINING_NAME",
    "RECIPE_FILE", "DEFAULTS", "MEAN", "STD",
]  # fmt: skip

WEIGHTS_NAME = "reference_weights.pt"
TRAINING_NAME = "reference_training.json"


def load_split(dataset_root: Path, folds: Sequence[int], k: int = 5) -> tuple[list, list[str]]:
    """The images of ``folds`` as ``(uint8 RGB array, label, relative path)`` and the class list.

    The dataset is read as ``generate --dataset DIR`` reads it (``sources_from_path``): its
    ``list.csv`` or ``list.parquet`` (``path,label[,group]``) when it has one, else the
    folder-per-class tree; folds come from ``assign_folds`` (grouped, stratified by label).
    """
    _, refs = sources_from_path(str(dataset_root), k=k, yaml_path="dataset_root")
    classes = sorted({r.label for r in refs})
    items = []
    for r in refs:
        if r.fold in folds:
            items.append((np.array(decode_rgb(Path(r.path).read_bytes())), r.label, r.key))
    return items, classes


@contextmanager
def _deterministic_torch(threads: int):
    """Seeded, deterministic kernels and a fixed thread count, restored afterwards."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    try:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        torch.use_deterministic_algorithms(old_det)
        torch.set_num_threads(old_threads)


def _epoch_patches(
    rng: np.random.Generator, shapes: list[tuple[int, int]], patch: int, align: int, per_image: int
) -> np.ndarray:
    """Rows of (image index, y, x): ``per_image`` aligned positions per image, shuffled."""
    rows = []
    for i, (h, w) in enumerate(shapes):
        ny, nx = (h - patch) // align + 1, (w - patch) // align + 1
        pos = rng.integers(0, ny * nx, size=per_image)
        rows.append(np.stack([np.full(per_image, i), pos // nx * align, pos % nx * align], 1))
    rows = np.concatenate(rows)
    return rows[rng.permutation(len(rows))]


def _dataset_digest(items: list) -> str:
    h = hashlib.sha256()
    for img, label, key in items:
        h.update(f"{key}\0{label}\0".encode())
        h.update(np.ascontiguousarray(img).tobytes())
    return h.hexdigest()


def _check_args(epochs, patch, threads, patches_per_image, batch_size, folds_train) -> int:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"epochs: must be an integer >= 1, got {epochs!r}")
    if patch < 16 or patch % 16:
        raise ConfigError(f"patch: must be a multiple of 16, at least 16, got {patch!r}")
    threads = 1 if threads is None else threads
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"threads: must be an integer >= 1, got {threads!r}")
    for name, value in (("patches_per_image", patches_per_image), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name}: must be an integer >= 1, got {value!r}")
    bad = [f for f in folds_train if not 0 <= f < DEFAULTS["folds"]]
    if bad or not folds_train:
        raise ConfigError(
            f"folds_train: must be folds 0..{DEFAULTS['folds'] - 1}, got {folds_train!r}"
        )
    return threads


def _training_items(dataset_root: Path, folds_train: Sequence[int], patch: int):
    items, classes = load_split(dataset_root, tuple(folds_train), DEFAULTS["folds"])
    if len(classes) < 2:
        raise ConfigError(f"{dataset_root}: needs at least 2 classes, found {classes}")
    if not items:
        raise ConfigError(f"{dataset_root}: no images in folds {tuple(folds_train)}")
    small = [key for img, _, key in items if min(img.shape[:2]) < patch]
    if small:
        raise ConfigError(f"{small[0]}: image smaller than the {patch}px patch")
    return items, classes


def _input_config(patch: int, classes: list[str]) -> dict:
    """The reference model's input config (what ``load_reference`` reads beside the weights)."""
    return {"input_size": [patch, patch], "fit": "tile", "tile_stride": None, "max_tiles": None,
            "channel_order": "RGB", "value_range": 1.0, "mean": MEAN, "std": STD,
            "output": "logits", "classes": classes}  # fmt: skip


def _chain_name(chain: list[dict]) -> str:
    """A chain in a few words for the record: its presets and ops in order (a preset's steps
    once, decodes and skipped steps left out): ``jpeg>crop``, ``whatsapp-like>twitter-like``."""
    names: list[str] = []
    for step in chain:
        name = step.get("preset") or step["op"]
        if not step.get("skipped") and step["op"] != "decode" and names[-1:] != [name]:
            names.append(name)
    return ">".join(names) or "none"


def _degraded_epoch(items, degrade, epoch: int, patch: int, stats: dict) -> tuple[list, list]:
    """The training images of one epoch through ``degrade`` (CHW tensors) and their shapes;
    ``stats`` counts the chains applied (by op sequence) and the seconds spent."""
    start = time.perf_counter()
    images, shapes = [], []
    for i, (img, _, key) in enumerate(items):
        out, chain = degrade(img, index=i, epoch=epoch)
        ok = isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.ndim == 3
        if not ok or out.shape[2] != 3 or min(out.shape[:2]) < patch:
            got = f"{out.dtype} {out.shape}" if isinstance(out, np.ndarray) else type(out).__name__
            raise ConfigError(
                f"{key}: {degrade!r} made {got} at epoch {epoch} (index {i}); training needs a "
                f"uint8 HxWx3 image of at least {patch}x{patch} px: use a policy that keeps the "
                "size, or larger source images"
            )
        out = out if out.flags.writeable else out.copy()  # torch refuses read-only arrays
        images.append(torch.from_numpy(np.ascontiguousarray(out)).permute(2, 0, 1).contiguous())
        shapes.append(out.shape[:2])
        name = _chain_name(chain)
        stats["chains"][name] = stats["chains"].get(name, 0) + 1
    stats["seconds"] += time.perf_counter() - start
    return images, shapes


def _fit(items, classes, *, seed, epochs, patch, patches_per_image, batch_size, lr, progress,
         degrade=None, stats=None, build=build_reference_model):  # fmt: skip
    """The training loop (inside :func:`_deterministic_torch`): state dict, last-epoch counts.
    With ``degrade``, the epoch's patches are cut from the degraded images (``stats``: what
    :func:`_degraded_epoch` counts); ``build(num_classes)`` makes the network."""
    cfg = resolve_input_config(_input_config(patch, classes))
    images = [torch.from_numpy(img).permute(2, 0, 1).contiguous() for img, _, _ in items]
    shapes = [img.shape[:2] for img, _, _ in items]
    labels = torch.tensor([classes.index(lab) for _, lab, _ in items])
    total_steps = epochs * math.ceil(len(items) * patches_per_image / batch_size)
    torch.manual_seed(seed)
    model = build(len(classes))
    rng = np.random.default_rng([seed, 0x7EF])
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=DEFAULTS["weight_decay"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=total_steps, pct_start=DEFAULTS["pct_start"]
    )
    loss_fn = nn.CrossEntropyLoss()
    constrained = [m for m in model.modules() if isinstance(m, ConstrainedConv2d)]
    model.train()
    bar = tqdm(total=total_steps, desc="train-reference", unit="batch", disable=not progress)
    with bar:
        for epoch in range(epochs):
            imgs, shps = images, shapes
            if degrade is not None:  # the same rng draws as clean: only the pixels differ
                imgs, shps = _degraded_epoch(items, degrade, epoch, patch, stats)
            rows = _epoch_patches(rng, shps, patch, DEFAULTS["align"], patches_per_image)
            seen = correct = 0
            loss_sum = 0.0
            for b in range(0, len(rows), batch_size):
                chunk = rows[b : b + batch_size]
                x = normalise(torch.stack(
                    [imgs[i][:, y : y + patch, x0 : x0 + patch] for i, y, x0 in chunk]
                ), cfg)  # fmt: skip
                y_true = labels[chunk[:, 0]]
                logits = model(x)
                loss = loss_fn(logits, y_true)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                for m in constrained:
                    m.project()
                seen += len(chunk)
                correct += int((logits.argmax(1) == y_true).sum())
                loss_sum += float(loss.detach()) * len(chunk)
                bar.update(1)
                bar.set_postfix(
                    epoch=epoch + 1, loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}"
                )
    model.eval()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, correct, seen


def _policy_record(degrade) -> dict:
    """What a run records of its ``degrade``: the policy's name, description, sha256 and raw
    data (every default filled in) and the seed; a plain callable by its repr."""
    policy = getattr(degrade, "policy", None)
    if policy is None or not hasattr(policy, "sha256"):
        return {"name": None, "callable": repr(degrade)}
    return {"name": policy.name, "description": policy.description, "sha256": policy.sha256,
            "raw": json.loads(json.dumps(policy.raw, default=str)),
            "seed": getattr(degrade, "seed", None)}  # fmt: skip


def train_reference(
    dataset_root: Path,
    out_dir: Path,
    *,
    epochs: int = DEFAULTS["epochs"],
    seed: int = 0,
    folds_train: Sequence[int] = tuple(DEFAULTS["folds_train"]),
    patch: int = DEFAULTS["patch"],
    threads: int | None = None,
    progress: bool = True,
    patches_per_image: int = DEFAULTS["patches_per_image"],
    batch_size: int = DEFAULTS["batch_size"],
    lr: float = DEFAULTS["lr"],
    degrade=None,
) -> Path:
    """Train on grid-aligned patches of ``folds_train``; write weights and input config.

    ``threads`` (default 1) is the number of torch threads: the float reductions, and so the
    weights, depend on it, so the default is fixed rather than "all cores". The recipe's other
    constants come from ``reference_recipe.json`` (:data:`DEFAULTS`). ``degrade`` (default
    None: clean patches): a ``degradebench.data.Degrade`` (or a callable with its signature)
    applied to each training image once per epoch before the patches are cut; its policy
    (name, sha256, raw), the chains it applied and its time are recorded.

    Writes ``out_dir/reference_weights.pt`` (a state dict), ``out_dir/reference_config.json``
    (the input config ``load_reference`` reads) and ``out_dir/reference_training.json`` (the
    recipe, dataset digest, timing and library versions). Returns the weights path.

    Raises:
        ConfigError: a bad argument, or a dataset with fewer than 2 classes or too-small images.
    """
    threads = _check_args(epochs, patch, threads, patches_per_image, batch_size, folds_train)
    items, classes = _training_items(dataset_root, folds_train, patch)
    out_dir = Path(out_dir).expanduser()
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    stats: dict = {"chains": {}, "seconds": 0.0}
    with _deterministic_torch(threads):
        state, correct, seen = _fit(
            items, classes, seed=seed, epochs=epochs, patch=patch,
            patches_per_image=patches_per_image, batch_size=batch_size, lr=lr, progress=progress,
            degrade=degrade, stats=stats,
        )  # fmt: skip
        used_threads = torch.get_num_threads()
    seconds = time.perf_counter() - start

    weights = out_dir / WEIGHTS_NAME
    torch.save(state, weights)
    config = _input_config(patch, classes)
    (out_dir / CONFIG_NAME).write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    record = {
        "recipe": {
            **DEFAULTS, "epochs": epochs, "seed": seed, "folds_train": list(folds_train),
            "patch": patch, "patches_per_image": patches_per_image, "batch_size": batch_size,
            "lr": lr, "threads": used_threads,
        },
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
