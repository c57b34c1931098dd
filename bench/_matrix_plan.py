"""The resolved ``train-matrix`` run (:mod:`.train_matrix`): policies, suites, folds and the
training recipe actually used, every argument checked up front (errors name the flag, the value
and the fix) before any dataset is built."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

from degradebench.appdata import MatrixSettings
from degradebench.generators.core.errors import ConfigError

__all__ = ["MatrixPlan", "plan_matrix", "RECIPE_OVERRIDES"]

# recipe keys a caller may override besides epochs and patches_per_image (train_reference's
# arguments); the others are the recipe file's (reference_recipe.json), read where they are used
RECIPE_OVERRIDES = ("patch", "batch_size", "lr")


@dataclasses.dataclass(frozen=True)
class MatrixPlan:
    """The resolved run: settings, overrides and the recipe actually used (every key of
    ``reference_recipe.json`` with the run's epochs, patches per image, seed, threads and
    training folds: what ``reference_training.json`` records)."""

    policies: tuple[str, ...]
    suites: tuple[str, ...]
    fold: int
    folds_train: tuple[int, ...]
    seed: int
    threads: int
    quick: bool
    recipe: Mapping

    @property
    def epochs(self) -> int:
        return self.recipe["epochs"]

    @property
    def patches_per_image(self) -> int:
        return self.recipe["patches_per_image"]


def _count(value, flag: str, default: int) -> int:
    """``value`` (None: ``default``) checked to be an integer >= 1, up front."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"{flag}: must be an integer >= 1, got {value!r}; pass e.g. {flag} {default}, or "
            f"leave it out for the default ({default})"
        )
    return value


def _overrides(recipe: Mapping | None) -> dict:
    """``recipe`` (patch, batch_size, lr replaced) checked up front."""
    from degradebench.evaluators._recipe import DEFAULTS

    out = {}
    for key, value in (recipe or {}).items():
        if key not in RECIPE_OVERRIDES:
            raise ConfigError(
                f"recipe.{key}: cannot be overridden (value {value!r}); override "
                f"{', '.join(RECIPE_OVERRIDES)}, pass epochs and patches_per_image as arguments, "
                "or edit evaluators/reference_recipe.json for the other keys"
            )  # fmt: skip
        bad = isinstance(value, bool) or not isinstance(value, int if key != "lr" else (int, float))
        if bad or not value > 0 or (key == "patch" and value % 16):
            need = "a number > 0" if key == "lr" else "an integer >= 1"
            need = "a multiple of 16, at least 16" if key == "patch" else need
            raise ConfigError(f"recipe.{key}: must be {need}, got {value!r}; e.g. "
                              f"recipe={{{key!r}: {DEFAULTS[key]!r}}} (the default)")  # fmt: skip
        out[key] = value
    return out


def plan_matrix(s: MatrixSettings, cfg, policies, suites, quick, epochs, ppi, threads,
                recipe: Mapping | None = None) -> MatrixPlan:  # fmt: skip
    """The run ``train_matrix`` resolves from its settings and arguments, checked up front."""
    from degradebench.evaluators._recipe import DEFAULTS

    epochs = _count(epochs, "--epochs", s.quick.epochs if quick else DEFAULTS["epochs"])
    ppi = _count(ppi, "--patches-per-image",
                 s.quick.patches_per_image if quick else DEFAULTS["patches_per_image"])  # fmt: skip
    overrides = _overrides(recipe)
    if isinstance(policies, str):  # "clean,jpeg" as the command line gives it
        policies = [p.strip() for p in policies.split(",") if p.strip()]
    names = s.policies if policies is None else tuple(policies)
    if not names or len(set(names)) != len(names):
        raise ConfigError(f"--policies: must name distinct policies, got {list(names)}; "
                          f"e.g. --policies {','.join(s.policies)}")  # fmt: skip
    for name in names:
        cfg.policy(name)  # an unknown name fails here, with the close matches
    suites = s.suites if suites is None else tuple(suites)
    for suite in suites:
        cfg.suite(suite)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"--threads: must be an integer >= 1, got {threads!r}; pass e.g. "
                          "--threads 1 (the default)")  # fmt: skip
    folds_train = tuple(f for f in range(DEFAULTS["folds"]) if f != s.fold)
    full = {**DEFAULTS, **overrides, "epochs": epochs, "patches_per_image": ppi,
            "seed": s.seed, "threads": threads, "folds_train": list(folds_train)}  # fmt: skip
    return MatrixPlan(names, suites, s.fold, folds_train, s.seed, threads, quick,
                      json.loads(json.dumps(full)))  # fmt: skip
