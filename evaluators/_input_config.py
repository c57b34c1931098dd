"""A model's input config: how an image becomes the tensor the model sees, and what comes out.

Every model plug-in declares one (a bare module gets :data:`DEFAULT_INPUT_CONFIG`); the user can
override any field from a YAML file or ``--set key=value``. Fields:

- ``input_size`` [H, W]: the tensor size per image (or per tile).
- ``fit`` (a name in ``_fit.FIT_MODES``): ``center_crop`` (centre crop; an image smaller than
  the size is padded with ``pad_mode`` first), ``resize`` (resample to exactly the size with
  ``resize_backend`` / ``resize_method`` / ``resize_antialias`` through the resize axis's own
  kernels, aspect ratio not kept; ``resize_antialias`` null = the library's default, as on the
  resize axis), ``pad`` (anchor at the top-left corner, pad the bottom/right with ``pad_mode``,
  crop the bottom/right when larger: keeps the file's JPEG grid and CFA phase where they are),
  ``tile`` (cut into patches of the size from the top-left corner every ``tile_stride`` pixels,
  the first ``max_tiles`` in row-major order, and average over the patches as ``tile_average``
  says: ``scores`` (the model's outputs, e.g. logits, then softmax) or ``probabilities``
  (softmax per patch, then the mean)), ``full`` (the decoded image as it is, any size:
  ``input_size`` is ignored and the loader batches images of the same size together).
- ``channel_order`` RGB | BGR; ``value_range`` 1.0 (pixels / 255) or 255.0 (raw 0..255 floats);
  ``mean`` / ``std`` are then applied in those units.
- ``output``: ``logits`` (softmax is applied; a sigmoid for a localization model's map and
  score) or ``probabilities`` (used as they are, checked).
- ``task``: ``classification`` (scores ``[N, C]``, scored against ``--target``) or
  ``localization`` (a map ``[N, 1, h, w]`` or ``[N, h, w]``, or ``{"score": [N], "map":
  [N, 1, h, w]}``; scored against the manifest's masks whatever ``--target`` says).
- ``classes``: class names in output order; null means the manifest's labels in sorted order.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from degradebench.generators.core.errors import ConfigError
from degradebench.generators.core.records import from_mapping, record, spec, to_plain
from degradebench.generators.core.yamlsafe import load_yaml
from degradebench.generators.ops.resize import BACKENDS as RESIZE_BACKENDS
from degradebench.generators.ops.resize import METHODS as RESIZE_METHODS
from degradebench.generators.ops.resize import combo_problem

from ._fit import FIT_MODES as _FIT_REGISTRY

__all__ = [
    "InputConfig",
    "DEFAULT_INPUT_CONFIG",
    "FIT_MODE_NAMES",
    "TASKS",
    "RESIZE_METHODS",
    "RESIZE_BACKENDS",
    "resolve_input_config",
    "parse_set_options",
    "load_input_config_file",
]

# The fit modes registered in _fit when this module is imported (register a mode of your own in
# _fit.FIT_MODES before importing this module).
FIT_MODE_NAMES = tuple(_FIT_REGISTRY.names())
PAD_MODES = ("reflect", "symmetric", "edge", "constant")
TASKS = ("classification", "localization")


@record
class InputConfig:
    """The input-config schema shared by every model (see the module docstring); every field is
    checked when it is built, from Python and YAML alike (ParamError naming the field)."""

    input_size: tuple[int, int] = field(default=(256, 256), metadata=spec(lo=1, hi=65536))
    fit: str = field(default="center_crop", metadata=spec(choices=FIT_MODE_NAMES))
    tile_stride: int | None = field(default=None, metadata=spec(lo=1, hi=65536))
    max_tiles: int | None = field(default=None, metadata=spec(lo=1, hi=1_000_000))
    channel_order: str = field(default="RGB", metadata=spec(choices=("RGB", "BGR")))
    value_range: float = field(default=1.0, metadata=spec(choices=(1.0, 255.0)))
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    output: str = field(default="logits", metadata=spec(choices=("logits", "probabilities")))
    classes: tuple[str, ...] | None = None
    resize_backend: str = field(default="pillow", metadata=spec(choices=RESIZE_BACKENDS))
    resize_method: str = field(default="bilinear", metadata=spec(choices=RESIZE_METHODS))
    resize_antialias: bool | None = None
    pad_mode: str = field(default="reflect", metadata=spec(choices=PAD_MODES))
    tile_average: str = field(default="scores", metadata=spec(choices=("scores", "probabilities")))
    task: str = field(default="classification", metadata=spec(choices=TASKS))

    def _check(self) -> None:
        for i, s in enumerate(self.std):
            if s == 0 or not math.isfinite(s):
                raise ConfigError(f"std[{i}]: must be a non-zero finite number, got {s}")
        if self.resize_backend == "torch" and self.resize_method == "lanczos":
            # torch has lanczos only with antialias and only in recent releases (then
            # combo_problem accepts it); input fitting keeps one behaviour across releases.
            msg = "resize_method: 'lanczos' is not available with resize_backend 'torch'; "
            raise ConfigError(msg + "use pillow or opencv, or bilinear/bicubic/area/nearest")
        problem = combo_problem(
            self.resize_backend, self.resize_method, self.resize_antialias, None
        )
        if problem is not None:
            raise ConfigError(f"resize_{problem[0]}: {problem[1]}")
        if self.classes is not None and len(set(self.classes)) != len(self.classes):
            raise ConfigError(f"classes: names must be unique, got {list(self.classes)}")

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON-able values."""
        return to_plain(self)


DEFAULT_INPUT_CONFIG = InputConfig()
_FIELDS = tuple(f.name for f in dataclasses.fields(InputConfig))


def _normalise_classes(d: dict) -> dict:
    # Class names are labels (strings) even when a YAML file spells them as numbers.
    if d.get("classes") is not None and isinstance(d["classes"], (list, tuple)):
        d = {**d, "classes": [str(c) for c in d["classes"]]}
    if isinstance(d.get("value_range"), int) and not isinstance(d.get("value_range"), bool):
        d = {**d, "value_range": float(d["value_range"])}
    return d


def load_input_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML/JSON mapping of input-config fields (partial is fine)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ConfigError(f"--input-config {p}: cannot read: {reason}") from None
    data = load_yaml(text, f"--input-config {p}")  # the datasets.yaml loader: safe and bounded
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        msg = f"--input-config {p}: must be a mapping of input-config fields, got {type(data).__name__}"
        raise ConfigError(msg)
    return dict(data)


def parse_set_options(items: list[str] | None) -> dict[str, Any]:
    """``["fit=tile", "input_size=[64, 64]"]`` -> dict; values are parsed as YAML scalars/lists."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set fit=tile")
        out[key] = load_yaml(raw, f"--set {item!r}") if raw.strip() else None
    return out


def resolve_input_config(
    declared: Mapping[str, Any] | InputConfig | None,
    *overrides: tuple[str, Mapping[str, Any] | None],
) -> InputConfig:
    """Merge the model's declared config over the defaults, then each ``(origin, overrides)``.

    ``origin`` names where the overrides came from (``--input-config x.yaml``, ``--set``) so an
    error points at it. Unknown keys are errors with a close-match suggestion.
    """
    merged: dict[str, Any] = DEFAULT_INPUT_CONFIG.to_dict()
    layers: list[tuple[str, Mapping[str, Any] | None]] = []
    if isinstance(declared, InputConfig):
        declared = declared.to_dict()
    layers.append(("model input config", declared))
    layers.extend(overrides)
    for origin, layer in layers:
        if not layer:
            continue
        layer = _normalise_classes(dict(layer))
        # Validate each layer alone first so an error names the layer it came from.
        probe = {**merged, **layer}
        from_mapping(InputConfig, probe, origin)
        merged = probe
    return from_mapping(InputConfig, _normalise_classes(merged), "input config")
