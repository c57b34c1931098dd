"""Load and validate ``datasets.yaml``: ``datasets`` (where sources come from) and ``suites``
(which axes and ladders to apply), ``presets`` and training ``policies`` (policies.py). Every error names the YAML path, the allowed values and what
was found. Safe YAML loading only: no tags, no code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .axes import AXES
from .core.errors import ConfigError
from .core.messages import short_repr, suggest
from .core.records import check_int, from_mapping, to_plain
from .core.yamlsafe import load_yaml
from .datasets import DATASET_KINDS, DatasetSpec
from .policies import Policy, parse_policies
from .presets import parse_presets

__all__ = [
    "Config",
    "DatasetSpec",
    "SuiteSpec",
    "AxisSpec",
    "load_config",
    "default_config_path",
    "DATASET_KINDS",
]


@dataclass(frozen=True)
class AxisSpec:
    name: str  # the axis name in the manifest (the key in the suite)
    type: str  # the axis type in the AXES registry
    params: Any
    yaml_path: str


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    seed: int
    description: str
    axes: tuple[AxisSpec, ...]
    raw: dict  # the suite's definition as written (stored in the manifest metadata)
    yaml_path: str
    figures: tuple[str, ...] = ()  # axis-level figures the evaluators compute (YAML ``figures:``)

    @property
    def sha256(self) -> str:
        text = json.dumps(self.raw, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Config:
    path: str
    sha256: str
    datasets: dict[str, DatasetSpec]
    suites: dict[str, SuiteSpec]
    presets: dict[str, Any] = field(default_factory=dict)  # name -> presets.Preset
    policies: dict[str, Policy] = field(default_factory=dict)  # training policies (policies.py)

    def dataset(self, name: str) -> DatasetSpec:
        if name not in self.datasets:
            names = sorted(self.datasets)
            raise ConfigError(
                f"--dataset: unknown dataset {name!r} in {self.path}; {suggest(name, names)}"
                f"available: {', '.join(names)} (or pass the path of a folder-per-class tree)"
            )
        return self.datasets[name]

    def suite(self, name: str) -> SuiteSpec:
        if name not in self.suites:
            names = sorted(self.suites)
            raise ConfigError(
                f"--suite: unknown suite {name!r} in {self.path}; {suggest(name, names)}"
                f"available: {', '.join(names)}"
            )
        return self.suites[name]

    def policy(self, name: str) -> Policy:
        if name not in self.policies:
            names = sorted(self.policies)
            raise ConfigError(
                f"policy {name!r}: not in the policies: map of {self.path}; "
                f"{suggest(name, names)}available: {', '.join(names) or '(none)'}"
            )
        return self.policies[name]


def default_config_path() -> Path:
    """``./datasets.yaml`` when present, else the copy shipped inside the installed package."""
    local = Path("datasets.yaml")
    if local.is_file():
        return local
    return Path(str(resources.files("degradebench.generators").joinpath("datasets.yaml")))


def _kind_name(v: Any) -> str:
    return f"{short_repr(v)} ({type(v).__name__})"


def _check_keys(mapping: Any, allowed: tuple[str, ...], path: str) -> dict:
    if not isinstance(mapping, dict):
        raise ConfigError(f"{path}: must be a mapping, got {_kind_name(mapping)}")
    for key in mapping:
        if key not in allowed:
            raise ConfigError(
                f"{path}.{key}: unknown key; {suggest(key, list(allowed))}allowed: {', '.join(allowed)}"
            )
    return mapping


def _parse_dataset(name: str, raw: Any, path: str) -> DatasetSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a mapping with a 'kind' key, got {_kind_name(raw)}")
    kind = raw.get("kind")
    if kind not in DATASET_KINDS:
        names = DATASET_KINDS.names()
        raise ConfigError(
            f"{path}.kind: must be one of {', '.join(names)}; {suggest(kind, names)}got {short_repr(kind)}"
        )
    body = {k: v for k, v in raw.items() if k != "kind"}
    return DATASET_KINDS.get(kind).parse(name, body, path)


def _parse_suite(name: str, raw: Any, path: str, presets: dict | None = None) -> SuiteSpec:
    raw = _check_keys(raw, ("description", "seed", "axes", "figures"), path)
    seed = check_int(raw.get("seed", 0), f"{path}.seed", 0, 2**63 - 1)
    desc = raw.get("description", "")
    if not isinstance(desc, str):
        raise ConfigError(f"{path}.description: must be a string, got {_kind_name(desc)}")
    axes_raw = raw.get("axes")
    if not isinstance(axes_raw, dict) or not axes_raw:
        raise ConfigError(
            f"{path}.axes: must be a non-empty mapping of axis name -> parameters, got {_kind_name(axes_raw)}"
        )
    axes = []
    for axis_name, body in axes_raw.items():
        apath = f"{path}.axes.{axis_name}"
        if (
            not isinstance(axis_name, str)
            or not axis_name.replace("_", "").replace("-", "").isalnum()
        ):
            raise ConfigError(
                f"{apath}: axis names use letters, digits, '_' and '-', got {short_repr(axis_name)}"
            )
        body = {} if body is None else body
        if not isinstance(body, dict):
            raise ConfigError(f"{apath}: must be a mapping of parameters, got {_kind_name(body)}")
        atype = body.get("type", axis_name)
        if atype not in AXES:
            raise ConfigError(
                f"{apath}.type: unknown axis type {short_repr(atype)}; {suggest(atype, AXES.names())}"
                f"available: {', '.join(AXES.names())} (set 'type:' when the axis name is not a type)"
            )
        params = from_mapping(
            AXES.get(atype).params_cls, {k: v for k, v in body.items() if k != "type"}, apath
        )
        if hasattr(params, "bind_presets"):  # axes built from the presets: map (social)
            params = params.bind_presets(presets or {}, apath)
        axes.append(AxisSpec(axis_name, atype, params, apath))
    if "clean" not in [a.type for a in axes]:
        axes.insert(
            0,
            AxisSpec(
                "clean",
                "clean",
                from_mapping(AXES.get("clean").params_cls, {}, f"{path}.axes.clean"),
                f"{path}.axes.clean",
            ),
        )
    elif sum(a.type == "clean" for a in axes) > 1:
        raise ConfigError(f"{path}.axes: only one axis of type 'clean' per suite")
    canonical = {
        "seed": seed,
        "axes": {a.name: {"type": a.type, **to_plain(a.params)} for a in axes},
    }
    figures = _parse_figures(raw.get("figures"), f"{path}.figures")
    if figures:  # only then: suites without figures keep the hash they had
        canonical["figures"] = list(figures)
    return SuiteSpec(name, seed, desc, tuple(axes), canonical, path, figures)


def _parse_figures(raw: Any, path: str) -> tuple[str, ...]:
    """``figures: [name, ...]``: names only here; the evaluators' registry checks them."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(f, str) and f for f in raw):
        raise ConfigError(f"{path}: must be a list of figure names, got {_kind_name(raw)}")
    if len(set(raw)) != len(raw):
        raise ConfigError(f"{path}: lists a figure twice: {raw}")
    return tuple(raw)


def parse_config(text: str, path: str = "datasets.yaml") -> Config:
    raw = load_yaml(text, path)
    raw = _check_keys(
        raw if raw is not None else {},
        ("version", "datasets", "suites", "presets", "policies"),
        path,
    )
    version = raw.get("version", 1)
    if version != 1:
        raise ConfigError(f"{path}: version: must be 1, got {short_repr(version)}")
    datasets_raw = raw.get("datasets") or {}
    suites_raw = raw.get("suites") or {}
    if not isinstance(datasets_raw, dict):
        raise ConfigError(
            f"{path}: datasets: must be a mapping of name -> dataset, got {_kind_name(datasets_raw)}"
        )
    if not isinstance(suites_raw, dict):
        raise ConfigError(
            f"{path}: suites: must be a mapping of name -> suite, got {_kind_name(suites_raw)}"
        )
    datasets = {str(k): _parse_dataset(str(k), v, f"datasets.{k}") for k, v in datasets_raw.items()}
    presets = parse_presets(raw.get("presets"), "presets")
    suites = {
        str(k): _parse_suite(str(k), v, f"suites.{k}", presets) for k, v in suites_raw.items()
    }
    policies = parse_policies(raw.get("policies"), "policies", presets)
    sha = hashlib.sha256(text.encode()).hexdigest()
    return Config(path, sha, datasets, suites, presets, policies)


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate a datasets.yaml (default: ``./datasets.yaml`` if present, else the
    shipped one); every error is one ConfigError naming the YAML path or line."""
    p = Path(path) if path is not None else default_config_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"--config: file not found: {str(p)!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--config: cannot read {str(p)!r}: {exc}") from None
    try:
        return parse_config(text, str(p))
    except ConfigError as exc:
        msg = str(exc)
        raise ConfigError(msg if msg.startswith(str(p)) else f"{p}: {msg}") from None
