"""The reference model's training recipe: data in ``reference_recipe.json`` beside the weights.

A light module (no torch) so that ``degradebench train-reference --help`` can show the defaults.
"""

from __future__ import annotations

import json
from pathlib import Path

from degradebench.generators.core.errors import ConfigError

__all__ = ["RECIPE_FILE", "load_recipe", "DEFAULTS", "MEAN", "STD"]

RECIPE_FILE = Path(__file__).with_name("reference_recipe.json")
_RECIPE_KEYS = ("epochs", "patch", "align", "patches_per_image", "batch_size", "lr",
                "weight_decay", "folds", "folds_train", "pct_start", "mean", "std")  # fmt: skip


def load_recipe(path: Path = RECIPE_FILE) -> dict:
    """The training recipe (``reference_recipe.json``), every key checked to be there."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the training recipe: {exc}") from None
    missing = [k for k in _RECIPE_KEYS if k not in data]
    if missing:
        raise ConfigError(f"{path}: the training recipe lacks {missing}")
    return {k: data[k] for k in _RECIPE_KEYS}


# The recipe of the shipped weights (``degradebench train-reference`` uses these).
DEFAULTS = load_recipe()
MEAN = list(DEFAULTS["mean"])
STD = list(DEFAULTS["std"])
