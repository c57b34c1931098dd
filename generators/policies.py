"""Training policies: named, weighted choices of chain templates with ranges (``policies:`` in
datasets.yaml), drawn into concrete chains by a ``numpy.random.Generator`` the caller seeds.

    policies:
      jpeg:                       # a list of choices; one is drawn per image (by weight)
        - jpeg: {quality: [60, 100]}
      jpeg+grid:
        - jpeg: {quality: [60, 100]}  # the templates of one choice run in the order written:
          crop: {offsets: random}     # JPEG first, then a crop that moves its 8x8 grid
      mixed:
        - {weight: 3, jpeg: {quality: [60, 100]}}
        - none

A choice is ``none`` (no change) or a mapping of template name -> parameters with an optional
``weight`` (default 1). Templates are registered in ``TEMPLATES`` like ops and axes: ``jpeg``,
``crop``, ``double_jpeg``, ``resize``, ``social``, ``none``. A range is ``[lo, hi]``
(inclusive; integers for qualities and hops) or one value. A drawn chain is a tuple of concrete
Steps (the manifest's step format); where a template needs pixels after an encoder, a
``decode`` step is inserted, as between the hops of a journey. Drawing touches no pixels.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .core.errors import ConfigError
from .core.messages import short_repr, suggest
from .core.records import check_float, check_int, from_mapping, record, spec, to_plain
from .core.registry import Registry
from .ops import OPS, Step
from .ops.crop import CropParams
from .ops.jpeg import SUBSAMPLINGS, DecodeParams, JpegParams
from .ops.resize import BACKENDS as RESIZE_BACKENDS
from .ops.resize import resize_step
from .ops.resize_params import METHODS as RESIZE_METHODS
from .presets import Preset, bind_preset_chains, journey_chain

__all__ = [
    "Policy",
    "Choice",
    "TemplateDef",
    "TEMPLATES",
    "register_template",
    "parse_policy",
    "parse_policies",
    "JpegTemplate",
    "CropTemplate",
    "DoubleJpegTemplate",
    "ResizeTemplate",
    "SocialTemplate",
    "NoneTemplate",
]

MAX_HOPS = 20
_POLICY_KEYS = ("description", "choices")


def _span(obj: Any, name: str, lo: float, hi: float, integer: bool = True) -> None:
    """Set field ``name`` of record ``obj`` to ``(lo, hi)`` from one value or ``[lo, hi]``, each
    checked against the bounds (errors name ``name[1]``) and in order."""
    value = getattr(obj, name)
    check = check_int if integer else check_float
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ConfigError(
                f"{name}: must be one value or [lo, hi], got {short_repr(list(value))}"
            )
        span = tuple(check(v, f"{name}[{i}]", lo, hi) for i, v in enumerate(value))
    else:
        span = (check(value, name, lo, hi),) * 2
    if span[0] > span[1]:
        raise ConfigError(f"{name}: [lo, hi] needs lo <= hi, got {list(span)}")
    object.__setattr__(obj, name, span)


@record
class JpegTemplate:
    """One JPEG encode at a quality drawn uniformly from ``quality`` (``[lo, hi]`` or one value);
    the grid is aligned with the image's origin (nothing moves it first)."""

    quality: Any = field(metadata=spec(doc="1..100, one value or [lo, hi]"))
    backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    optimize: bool = False
    progressive: bool = False

    def _check(self) -> None:
        _span(self, "quality", 1, 100)


@record
class CropTemplate:
    """A lossless crop of ``dy`` rows and ``dx`` columns off the top-left: ``offsets: random``
    draws each uniformly from 0..7 (all 64 grid phases, (0, 0) included), or a list of
    ``[dy, dx]`` to draw from; ``size: [h, w]`` keeps that window (null: to the edges)."""

    offsets: str | tuple[tuple[int, int], ...] = "random"
    size: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))

    def _check(self) -> None:
        if isinstance(self.offsets, str):
            if self.offsets != "random":
                raise ConfigError(
                    f"offsets: must be 'random' or a list of [dy, dx], got {short_repr(self.offsets)}"
                )
            return
        if not self.offsets:
            raise ConfigError("offsets: must list at least one [dy, dx]")
        bad = [list(o) for o in self.offsets if min(o) < 0]
        if bad:
            raise ConfigError(f"offsets: offsets are >= 0, got {short_repr(bad)}")


@record
class DoubleJpegTemplate:
    """JPEG at QF1, decode, (a grid shift), JPEG at QF2: ``shift: aligned`` keeps the grids
    aligned; ``random`` crops (r, c) drawn from the 63 non-zero phases in {0..7}^2 first."""

    q1: Any = field(metadata=spec(doc="1..100, one value or [lo, hi]"))
    q2: Any = field(metadata=spec(doc="1..100, one value or [lo, hi]"))
    shift: str = field(default="aligned", metadata=spec(choices=("aligned", "random")))
    backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))

    def _check(self) -> None:
        _span(self, "q1", 1, 100)
        _span(self, "q2", 1, 100)


@record
class ResizeTemplate:
    """A resize by ``scale`` drawn uniformly from ``[lo, hi]`` (rounded to 3 decimals), by a
    library drawn from ``backends`` and a method from ``methods`` (library defaults otherwise)."""

    scale: Any = field(metadata=spec(doc="0.001..100, one value or [lo, hi]"))
    backends: tuple[str, ...] = field(
        default=("pillow",), metadata=spec(choices=RESIZE_BACKENDS, nonempty=True, distinct=True)
    )
    methods: tuple[str, ...] = field(
        default=("bicubic",), metadata=spec(choices=RESIZE_METHODS, nonempty=True, distinct=True)
    )

    def _check(self) -> None:
        _span(self, "scale", 1e-3, 100.0, integer=False)
        for b in self.backends:
            for m in self.methods:
                try:
                    resize_step(b, m, scale=1.0)  # refuses a method the library does not have
                except ConfigError as exc:
                    raise ConfigError(f"methods: {str(exc).split(': ', 1)[-1]}") from None


@record
class SocialTemplate:
    """A journey of ``hops`` (``[lo, hi]`` or one count) through platform-like presets, each
    hop's preset drawn uniformly from ``presets`` (names from the config's ``presets:``)."""

    presets: tuple[str, ...] = field(metadata=spec(nonempty=True))
    hops: Any = field(default=(1, 3), metadata=spec(doc=f"1..{MAX_HOPS}, one count or [lo, hi]"))
    decode_backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))
    chains: tuple[tuple[str, tuple[Step, ...]], ...] = field(default=(), init=False)

    def _check(self) -> None:
        _span(self, "hops", 1, MAX_HOPS)

    def bind_presets(self, presets: Mapping[str, Preset], path: str) -> SocialTemplate:
        """A copy holding the named presets' chains; unknown names are config errors."""
        return bind_preset_chains(self, presets, path)


@record
class NoneTemplate:
    """No change: the image as it came."""


def _int_in(rng: np.random.Generator, span: tuple[int, int]) -> int:
    return int(rng.integers(span[0], span[1] + 1))


def _draw_jpeg(p: JpegTemplate, rng: np.random.Generator) -> tuple[Step, ...]:
    q = _int_in(rng, p.quality)
    return (Step("jpeg", p.backend, JpegParams(q, p.subsampling, p.optimize, p.progressive)),)


def _draw_crop(p: CropTemplate, rng: np.random.Generator) -> tuple[Step, ...]:
    if p.offsets == "random":
        dy, dx = divmod(int(rng.integers(0, 64)), 8)
    else:
        dy, dx = p.offsets[int(rng.integers(0, len(p.offsets)))]
    h, w = p.size if p.size is not None else (None, None)
    return (Step("crop", "numpy", CropParams(top=dy, left=dx, height=h, width=w)),)


def _draw_double_jpeg(p: DoubleJpegTemplate, rng: np.random.Generator) -> tuple[Step, ...]:
    q1, q2 = _int_in(rng, p.q1), _int_in(rng, p.q2)
    steps = [
        Step("jpeg", p.backend, JpegParams(q1, p.subsampling)),
        Step("decode", "pillow", DecodeParams()),
    ]
    if p.shift == "random":
        r, c = divmod(int(rng.integers(1, 64)), 8)  # never (0, 0): that is the aligned case
        steps.append(Step("crop", "numpy", CropParams(top=r, left=c)))
    steps.append(Step("jpeg", p.backend, JpegParams(q2, p.subsampling)))
    return tuple(steps)


def _draw_resize(p: ResizeTemplate, rng: np.random.Generator) -> tuple[Step, ...]:
    backend = p.backends[int(rng.integers(0, len(p.backends)))]
    method = p.methods[int(rng.integers(0, len(p.methods)))]
    lo, hi = p.scale
    scale = lo if lo == hi else round(float(rng.uniform(lo, hi)), 3)
    return (resize_step(backend, method, scale=max(scale, 1e-3)),)


def _draw_social(p: SocialTemplate, rng: np.random.Generator) -> tuple[Step, ...]:
    if not p.chains:
        raise ConfigError("social template: its presets were not bound; build it with parse_policy")
    pool = list(dict.fromkeys(p.presets))
    k = _int_in(rng, p.hops)
    journey = [pool[int(i)] for i in rng.integers(0, len(pool), size=k)]
    return journey_chain(dict(p.chains), journey, p.decode_backend)


def _draw_none(p: NoneTemplate, rng: np.random.Generator) -> tuple[Step, ...]:
    return ()


@dataclass(frozen=True)
class TemplateDef:
    """A registered template: its params record and how it draws concrete steps."""

    name: str
    params_cls: type
    draw: Callable[[Any, np.random.Generator], tuple[Step, ...]]
    doc: str = ""


TEMPLATES: Registry[TemplateDef] = Registry("policy template")


def register_template(tdef: TemplateDef) -> TemplateDef:
    """Add a template to ``TEMPLATES`` (duplicates refused)."""
    TEMPLATES.register(tdef.name, tdef)
    return tdef


for _t in (
    TemplateDef("jpeg", JpegTemplate, _draw_jpeg, "JPEG at a drawn quality, grid aligned"),
    TemplateDef("crop", CropTemplate, _draw_crop, "lossless crop at a drawn grid phase"),
    TemplateDef("double_jpeg", DoubleJpegTemplate, _draw_double_jpeg, "JPEG, decode, JPEG"),
    TemplateDef("resize", ResizeTemplate, _draw_resize, "resize by a drawn library and scale"),
    TemplateDef("social", SocialTemplate, _draw_social, "hops through platform-like presets"),
    TemplateDef("none", NoneTemplate, _draw_none, "no change"),
):
    register_template(_t)


def _join(steps: list[Step], more: tuple[Step, ...]) -> list[Step]:
    """``steps + more``, with a ``decode`` first when ``steps`` ends with an encoder (after a
    leading ``skip_if_small``, which judges the incoming file)."""
    if steps and more and OPS.get(steps[-1].op).encoder is not None:
        at = 1 if more[0].op == "skip_if_small" else 0
        more = (*more[:at], Step("decode", "pillow", DecodeParams()), *more[at:])
    return steps + list(more)


@dataclass(frozen=True)
class Choice:
    """One weighted choice: templates (name, params) applied in order."""

    weight: float
    templates: tuple[tuple[str, Any], ...]

    def draw(self, rng: np.random.Generator) -> tuple[Step, ...]:
        steps: list[Step] = []
        for name, params in self.templates:
            steps = _join(steps, TEMPLATES.get(name).draw(params, rng))
        return tuple(steps)


@dataclass(frozen=True)
class Policy:
    """A named policy: weighted choices of chain templates (see the module docstring)."""

    name: str
    choices: tuple[Choice, ...]
    description: str = ""
    yaml_path: str = ""

    @property
    def raw(self) -> list:
        """The policy as canonical data (every default filled in): what a run records."""
        return [
            {"weight": c.weight, **{n: _plain(p) for n, p in c.templates}} for c in self.choices
        ]

    @property
    def sha256(self) -> str:
        text = json.dumps(self.raw, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def draw(self, rng: np.random.Generator) -> tuple[Step, ...]:
        """The concrete chain of one draw: a choice by weight (no draw when there is one), then
        its templates' values, all from ``rng``."""
        if len(self.choices) == 1:
            return self.choices[0].draw(rng)
        w = np.array([c.weight for c in self.choices], dtype=np.float64)
        return self.choices[int(rng.choice(len(w), p=w / w.sum()))].draw(rng)


def _plain(params: Any) -> dict:
    plain = to_plain(params)
    plain.pop("chains", None)  # bound preset chains: the presets' own definitions hold them
    return plain


def _parse_choice(raw: Any, path: str, presets: Mapping[str, Preset]) -> Choice:
    if isinstance(raw, str):
        raw = {raw: None}
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"{path}: a choice is 'none' or a mapping of template -> parameters (with an "
            f"optional weight), got {short_repr(raw)}; templates: {', '.join(TEMPLATES.names())}"
        )
    weight = check_float(raw.get("weight", 1), f"{path}.weight", gt=0)
    names = [k for k in raw if k != "weight"]
    if not names:
        raise ConfigError(
            f"{path}: names no template; add one of {', '.join(TEMPLATES.names())} (or 'none')"
        )
    if "none" in names and len(names) > 1:
        others = ", ".join(n for n in names if n != "none")
        raise ConfigError(
            f"{path}: 'none' is a choice on its own, got it beside {others}; write none as its "
            "own choice, or remove it"
        )
    templates = []
    for name in names:
        tpath = f"{path}.{name}"
        if name not in TEMPLATES:
            known = TEMPLATES.names()
            raise ConfigError(
                f"{tpath}: unknown policy template {short_repr(name)}; {suggest(name, known)}"
                f"available: {', '.join(known)}"
            )
        params = from_mapping(TEMPLATES.get(name).params_cls, raw[name], tpath)
        if hasattr(params, "bind_presets"):
            params = params.bind_presets(presets, tpath)
        templates.append((name, params))
    return Choice(weight, tuple(templates))


def parse_policy(
    name: str, raw: Any, path: str = "policy", presets: Mapping[str, Preset] | None = None
) -> Policy:
    """One policy from YAML-like data: a list of choices, or ``{description, choices}``.

    Raises:
        ConfigError: naming the YAML path (``policies.jpeg[0].jpeg.quality[1]: ...``).
    """
    description = ""
    choices_path = path
    if isinstance(raw, Mapping):
        for key in raw:
            if key not in _POLICY_KEYS:
                raise ConfigError(
                    f"{path}.{key}: unknown key; {suggest(key, _POLICY_KEYS)}allowed: "
                    f"{', '.join(_POLICY_KEYS)} (or write the list of choices directly)"
                )
        description = raw.get("description") or ""
        if not isinstance(description, str):
            raise ConfigError(
                f"{path}.description: must be a string, got {short_repr(description)}"
            )
        raw, choices_path = raw.get("choices"), f"{path}.choices"
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            f"{choices_path}: must be a non-empty list of choices (e.g. "
            f"[{{jpeg: {{quality: [60, 100]}}}}, none]), got {short_repr(raw)}"
        )
    choices = tuple(
        _parse_choice(c, f"{choices_path}[{i}]", presets or {}) for i, c in enumerate(raw)
    )
    return Policy(name, choices, description, path)


def parse_policies(raw: Any, path: str = "policies", presets: Mapping[str, Preset] | None = None
                   ) -> dict[str, Policy]:  # fmt: skip
    """The ``policies:`` map of datasets.yaml -> {name: Policy}; errors name the YAML path."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: must be a mapping of name -> policy, got {short_repr(raw)}")
    out = {}
    for name, body in raw.items():
        if (
            not isinstance(name, str)
            or not name
            or not all(ch.isalnum() or ch in "-_+." for ch in name)
        ):
            raise ConfigError(
                f"{path}: policy names use letters, digits, '-', '_', '+' and '.', got "
                f"{short_repr(name)}"
            )
        out[name] = parse_policy(name, body, f"{path}.{name}", presets)
    return out
