"""The ``resize`` axis: the same nominal resampling done by named libraries, methods, antialias
settings and dtype paths, by scale factor or to a target size; saved losslessly by default so
only the resampling differs (optionally centre-cropped, or re-encoded as JPEG)."""

from __future__ import annotations

import itertools
from dataclasses import field

from ..core.errors import ConfigError
from ..core.records import record, spec
from ..ops.jpeg import SUBSAMPLINGS
from ..ops.resize import (
    BACKENDS,
    DTYPE_PATHS,
    METHODS,
    ROUNDINGS,
    SIZE_MODES,
    combo_problem,
    resize_step,
)
from ._base import AxisDef, Level, PlanContext, check_output, register_axis
from ._finish import finish_chain

__all__ = ["ResizeAxisParams", "plan_resize"]

_FIELD = {"backend": "backends", "method": "methods", "antialias": "antialias", "dtype": "dtypes"}


@record
class ResizeAxisParams:
    """Libraries x methods x antialias x dtype paths x targets (scales, sides or sizes)."""

    backends: tuple[str, ...] = field(
        default=("opencv",), metadata=spec(choices=BACKENDS, nonempty=True, distinct=True)
    )
    methods: tuple[str, ...] = field(
        default=("bicubic",), metadata=spec(choices=METHODS, nonempty=True, distinct=True)
    )
    mode: str = field(default="scale", metadata=spec(choices=SIZE_MODES))
    scales: tuple[float, ...] = field(default=(), metadata=spec(lo=1e-3, hi=100.0, distinct=True))
    sides: tuple[int, ...] = field(
        default=(), metadata=spec(lo=1, distinct=True, doc="shorter/longer modes")
    )
    sizes: tuple[tuple[int, int], ...] = field(
        default=(), metadata=spec(lo=1, distinct=True, doc="[h, w] for exact / fit-inside")
    )
    only_downscale: bool = False
    antialias: tuple[bool, ...] | None = field(
        default=None, metadata=spec(doc="null: each library's default")
    )
    dtypes: tuple[str, ...] | None = field(
        default=None, metadata=spec(choices=DTYPE_PATHS, doc="null: each library's native path")
    )
    rounding: str = field(default="round", metadata=spec(choices=ROUNDINGS))
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=spec(choices=("png", "jpeg")))
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))

    def _check(self) -> None:
        targets = self.targets()
        if not targets:
            key = {"scale": "scales", "shorter": "sides", "longer": "sides"}.get(self.mode, "sizes")
            raise ConfigError(f"{key}: mode {self.mode!r} needs at least one value in {key!r}")
        for key in {"scales", "sides", "sizes"} - {self._target_key()}:
            if getattr(self, key):
                raise ConfigError(
                    f"{key}: not used with mode {self.mode!r}; use {self._target_key()!r}"
                )
        check_output(self.save, self.quality)
        for b, m, aa, dt in itertools.product(
            self.backends, self.methods, self.antialias or (None,), self.dtypes or (None,)
        ):
            problem = combo_problem(b, m, aa, dt)
            if problem is not None:
                raise ConfigError(f"{_FIELD[problem[0]]}: {problem[1]}")

    def _target_key(self) -> str:
        return {"scale": "scales", "shorter": "sides", "longer": "sides"}.get(self.mode, "sizes")

    def targets(self) -> tuple:
        """The targets of the mode: ``scales``, ``sides`` or ``sizes``."""
        return tuple(getattr(self, self._target_key()))


def _target_label(mode: str, t) -> str:  # noqa: ANN001
    if mode == "scale":
        return f"x{t:g}"
    if mode == "shorter":
        return f"short={t}"
    if mode == "longer":
        return f"long={t}"
    if mode == "exact":
        return f"{t[0]}x{t[1]}"
    return f"fit={t[0]}x{t[1]}"


def plan_resize(p: ResizeAxisParams, ctx: PlanContext) -> list[Level]:
    """One level per combination; the label names only the dimensions that vary."""
    tail = finish_chain(p.center_crop, p.save, p.quality, p.subsampling, p.jpeg_backend)
    target_kw = {"scale": "scale", "shorter": "side", "longer": "side"}.get(p.mode, "size")
    levels = []
    for b, m, aa, dt, t in itertools.product(
        p.backends, p.methods, p.antialias or (None,), p.dtypes or (None,), p.targets()
    ):
        rounding = p.rounding if (dt or "").startswith("float") else None
        step = resize_step(
            b,
            m,
            mode=p.mode,
            only_downscale=p.only_downscale,
            antialias=aa,
            dtype=dt,
            rounding=rounding,
            **{target_kw: t},
        )
        rp = step.params
        parts = []
        if len(p.backends) > 1:
            parts.append(b)
        if len(p.methods) > 1:
            parts.append(m)
        if p.antialias is not None and len(p.antialias) > 1:
            parts.append(f"aa={'on' if rp.antialias else 'off'}")
        if p.dtypes is not None and len(p.dtypes) > 1:
            parts.append(rp.dtype)
        parts.append(_target_label(p.mode, t))
        label = ",".join(parts)
        params = {
            "backend": b,
            "method": m,
            "antialias": rp.antialias,
            "dtype": rp.dtype,
            "rounding": rp.rounding,
            "mode": p.mode,
            target_kw: list(t) if isinstance(t, tuple) else t,
            "version": rp.version,
        }
        value = float(t) if p.mode in ("scale", "shorter", "longer") else None
        slot = f"{b},{m},{rp.antialias},{rp.dtype},{_target_label(p.mode, t)}"
        levels.append(Level(label, value, params, (step, *tail), slot))
    return levels


register_axis(
    AxisDef(
        "resize",
        ResizeAxisParams,
        plan_resize,
        doc="resampling by named libraries x methods x antialias x dtype paths x scales/sizes",
    )
)
