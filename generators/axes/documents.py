"""Document axes (issue 17): ``dpi`` (resampling to another resolution), ``rescan`` (print-scan
hops through virtual printers and scanners) and ``photo_of_document`` (a phone photo of the page).

A source's resolution is read from its layout sidecar (``<image>.json`` beside it:
``scan_dpi``, else ``dpi``; the virtual-scanners build writes both), else the axis'
``from_dpi``; a source with neither is a config error naming the fix. Every drawn value (the
machines and seeds of each print and scan, the lighting, the perspective corners, the motion's
direction) is drawn by the planner from ``ctx.rng_for(...)`` and recorded in the chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any

from ..core.errors import ConfigError
from ..core.records import from_mapping, record, spec
from ..ops import Step
from ..ops.jpeg import SUBSAMPLINGS, JpegParams
from ..ops.resize import BACKENDS, METHODS, combo_problem, resize_step
from ._base import AxisDef, Level, PlanContext, check_output, register_axis
from ._finish import finish_chain
from ._op_ladder import SEED_BOUND, op_level

__all__ = [
    "DpiAxisParams",
    "RescanAxisParams",
    "PhotoLevel",
    "PhotoAxisParams",
    "source_dpi",
    "plan_dpi",
    "plan_rescan",
    "plan_photo_of_document",
]

_JPEG_BACKENDS = ("pillow", "opencv")


def source_dpi(ctx: PlanContext, from_dpi: int | None, axis: str) -> tuple[int, str]:
    """(the source's dpi, where it came from: ``sidecar`` | ``from_dpi``).

    Raises:
        ConfigError: no sidecar dpi and no ``from_dpi``, naming the source and the fix.
    """
    layout = ctx.layout
    if isinstance(layout, Mapping):
        dpi = layout.get("scan_dpi") or layout.get("dpi")
        if isinstance(dpi, (int, float)) and not isinstance(dpi, bool) and dpi > 0:
            return int(dpi), "sidecar"
    if from_dpi is not None:
        return int(from_dpi), "from_dpi"
    raise ConfigError(
        f"{axis}: source {ctx.source_id}: its resolution is unknown (no layout sidecar "
        f"<image>.json with 'scan_dpi' or 'dpi'); give the axis from_dpi: <dpi of the sources>"
    )


def _output(p: Any) -> tuple[Step, ...]:
    return finish_chain(p.center_crop, p.save, p.quality, p.subsampling, p.jpeg_backend)


# --- dpi -------------------------------------------------------------------------------------


@record
class DpiAxisParams:
    """Target resolutions ``dpis`` resampled by each library of ``backends`` (``method``,
    ``antialias`` null: the library's default) from the source's dpi; saved as ``save``."""

    dpis: tuple[int, ...] = field(
        default=(300, 200, 150, 96), metadata=spec(lo=10, hi=4800, nonempty=True, distinct=True)
    )
    backends: tuple[str, ...] = field(
        default=("pillow", "opencv"), metadata=spec(choices=BACKENDS, nonempty=True, distinct=True)
    )
    method: str = field(default="bicubic", metadata=spec(choices=METHODS))
    antialias: bool | None = None
    from_dpi: int | None = field(
        default=None, metadata=spec(lo=10, hi=4800, doc="the sources' dpi when no sidecar says")
    )
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=spec(choices=("png", "jpeg")))
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=spec(choices=_JPEG_BACKENDS))

    def _check(self) -> None:
        check_output(self.save, self.quality)
        for b in self.backends:
            problem = combo_problem(b, self.method, self.antialias, None)
            if problem is not None:
                raise ConfigError(f"{problem[0]}: {problem[1]}")


def plan_dpi(p: DpiAxisParams, ctx: PlanContext) -> list[Level]:
    """One level per (library, target dpi): the resize by ``dpi / source dpi``, then the output.

    Levels are named by the dpi (``150``), prefixed by the library when there are several
    (``pillow,150``); ``level_value`` is the target dpi."""
    src, origin = source_dpi(ctx, p.from_dpi, "dpi")
    tail = _output(p)
    levels = []
    for b in p.backends:
        for dpi in p.dpis:
            scale = dpi / src
            step = resize_step(b, p.method, mode="scale", scale=scale, antialias=p.antialias)
            label = f"{b},{dpi}" if len(p.backends) > 1 else str(dpi)
            rp = step.params
            params = {"dpi": dpi, "from_dpi": src, "dpi_from": origin, "scale": scale,
                      "backend": b, "method": p.method, "antialias": rp.antialias,
                      "dtype": rp.dtype, "version": rp.version}  # fmt: skip
            levels.append(Level(label, float(dpi), params, (step, *tail), label))
    return levels


# --- rescan ----------------------------------------------------------------------------------


@record
class RescanAxisParams:
    """``hops`` print-scan passes (level k = the first k of one drawn journey). Each pass's
    printer, scanner model and device are drawn from the first ``printers`` / ``scanners`` /
    ``devices_per_scanner`` machines of the virtual-scanners designs of ``design_seed`` (the
    dataset's own when these match its build), unless fixed by ``printer`` / ``scanner`` /
    ``device``; ``encode``: each scanner writes (and the next pass reads) its own file."""

    hops: tuple[int, ...] = field(
        default=(1, 2, 3), metadata=spec(lo=1, hi=8, nonempty=True, distinct=True)
    )
    printers: int = field(default=3, metadata=spec(lo=1, hi=12))
    scanners: int = field(default=4, metadata=spec(lo=1, hi=12))
    devices_per_scanner: int = field(default=2, metadata=spec(lo=1, hi=16))
    printer: int | None = field(default=None, metadata=spec(lo=0, hi=11))
    scanner: int | None = field(default=None, metadata=spec(lo=0, hi=11))
    device: int | None = field(default=None, metadata=spec(lo=0, hi=15))
    design_seed: int = field(default=0, metadata=spec(lo=0, hi=2**32 - 1))
    scan_dpis: tuple[int, ...] = field(
        default=(150, 200, 300), metadata=spec(lo=50, hi=1200, nonempty=True)
    )
    print_dpi: int = field(default=300, metadata=spec(lo=150, hi=1200))
    scan_dpi: int | None = field(default=None, metadata=spec(lo=50, hi=1200))
    encode: bool = True
    from_dpi: int | None = field(default=None, metadata=spec(lo=10, hi=4800))
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))
    save: str = field(default="png", metadata=spec(choices=("png", "jpeg")))
    quality: int | None = field(default=None, metadata=spec(lo=1, hi=100))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=spec(choices=_JPEG_BACKENDS))

    def _check(self) -> None:
        check_output(self.save, self.quality)
        for fixed, count, name in (
            (self.printer, self.printers, "printers"),
            (self.scanner, self.scanners, "scanners"),
            (self.device, self.devices_per_scanner, "devices_per_scanner"),
        ):
            if fixed is not None and fixed >= count:
                raise ConfigError(
                    f"{name[:-1] if name != 'devices_per_scanner' else 'device'}: {fixed} is "
                    f"not among the {count} {name} drawn from (0..{count - 1}); raise {name}"
                )


def _journey(p: RescanAxisParams, ctx: PlanContext, src: int) -> list[Step]:
    """The ``max(hops)`` print_scan steps of this source's journey (each pass reads the last
    scan at its resolution). All draws are made whatever is fixed, so fixing one machine
    leaves the other draws as they were."""
    rng = ctx.rng_for("journey")
    steps, page_dpi = [], src
    for k in range(max(p.hops)):
        drawn = [int(rng.integers(n)) for n in (p.printers, p.scanners, p.devices_per_scanner)]
        seed = int(rng.integers(0, SEED_BOUND))
        fixed = (p.printer, p.scanner, p.device)
        printer, scanner, device = (d if f is None else f for d, f in zip(drawn, fixed))
        raw = {"printer": printer, "scanner": scanner, "device": device,
               "design_seed": p.design_seed, "scan_dpis": list(p.scan_dpis), "seed": seed,
               "page_dpi": page_dpi, "print_dpi": p.print_dpi, "scan_dpi": p.scan_dpi,
               "encode": p.encode}  # fmt: skip
        step = op_level("print_scan", "numpy", raw, ctx, f"hop{k + 1}", f"rescan[hop {k + 1}]")
        steps.append(step)
        page_dpi = int(step.params.scan_dpi)
    return steps


def plan_rescan(p: RescanAxisParams, ctx: PlanContext) -> list[Level]:
    """One level per hop count ``k`` (named ``k``, level_value k): the first k passes."""
    src, origin = source_dpi(ctx, p.from_dpi, "rescan")
    journey = _journey(p, ctx, src)
    tail = _output(p)
    machines = [
        {k: getattr(s.params, k) for k in ("printer", "scanner", "device", "scan_dpi", "seed")}
        for s in journey
    ]
    levels = []
    for k in sorted(p.hops):
        # the source's dpi is the first pass's page_dpi (a per-source value, not a level
        # parameter: kept out of axis_params so the report does not plot against it)
        params = {"hops": k, "dpi_from": origin, "encode": p.encode,
                  "design_seed": p.design_seed, "passes": machines[:k]}  # fmt: skip
        levels.append(Level(str(k), float(k), params, (*journey[:k], *tail), str(k)))
    return levels


# --- photo_of_document -----------------------------------------------------------------------


@record
class PhotoLevel:
    """One photo condition: the page lit unevenly (``gradient``, ``vignette``, ``tint``: the
    ``illumination`` op), seen at an angle (``perspective`` strength: corners moved by up to
    that fraction), out of focus (``blur``: Gaussian sigma px) and shaken (``motion``: length
    px, direction drawn), then the phone's JPEG at ``quality``. 0 / null: that step left out."""

    perspective: float = field(default=0.05, metadata=spec(lo=0.0, hi=0.45))
    blur: float | None = field(default=1.0, metadata=spec(lo=0.0, hi=20.0))
    motion: int | None = field(default=None, metadata=spec(lo=0, hi=64))
    gradient: float = field(default=0.3, metadata=spec(lo=0.0, hi=0.95))
    vignette: float = field(default=0.2, metadata=spec(lo=0.0, hi=0.95))
    tint: tuple[float, float, float] = field(default=(1.0, 1.0, 1.0), metadata=spec(lo=0.0, hi=2.0))
    quality: int = field(default=90, metadata=spec(lo=1, hi=100))


_DEFAULT_PHOTO = {
    "mild": {"perspective": 0.02, "blur": 0.6, "gradient": 0.15, "vignette": 0.1, "quality": 92},
    "moderate": {
        "perspective": 0.05,
        "blur": 1.0,
        "motion": 3,
        "gradient": 0.3,
        "vignette": 0.2,
        "quality": 88,
    },
    "strong": {
        "perspective": 0.1,
        "blur": 1.5,
        "motion": 5,
        "gradient": 0.45,
        "vignette": 0.3,
        "tint": [1.0, 0.95, 0.85],
        "quality": 85,
    },
}


@record
class PhotoAxisParams:
    """Named photo conditions (``levels``: name -> :class:`PhotoLevel` keys, mild to severe);
    the library of the warp and blurs (``backend``), the warp's ``interpolation`` and the
    ``background`` seen around the page; the phone JPEG's ``subsampling`` and library."""

    levels: dict = field(
        default_factory=lambda: dict(_DEFAULT_PHOTO),
        metadata=spec(doc="level name -> {perspective, blur, motion, gradient, ...}"),
    )
    backend: str = field(default="opencv", metadata=spec(choices=("opencv", "pillow")))
    interpolation: str = field(default="bilinear", metadata=spec(choices=("bilinear", "bicubic")))
    background: tuple[int, int, int] = field(default=(60, 60, 60), metadata=spec(lo=0, hi=255))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=spec(choices=_JPEG_BACKENDS))
    rungs: tuple[tuple[str, PhotoLevel], ...] = field(default=(), init=False)

    def _check(self) -> None:
        if not isinstance(self.levels, Mapping) or not self.levels:
            raise ConfigError(
                f"levels: must map level names to photo conditions, e.g. "
                f"{{mild: {{perspective: 0.02, blur: 0.6, quality: 92}}}}; got {self.levels!r}"
            )
        rungs = []
        for name, body in self.levels.items():
            if not isinstance(name, str) or not name:
                raise ConfigError(f"levels: level names must be non-empty strings, got {name!r}")
            rungs.append((name, from_mapping(PhotoLevel, body or {}, f"levels.{name}")))
        object.__setattr__(self, "rungs", tuple(rungs))


def _photo_chain(p: PhotoAxisParams, lv: PhotoLevel, ctx: PlanContext, name: str) -> tuple:
    b = p.backend
    steps = []
    if lv.gradient > 0 or lv.vignette > 0 or tuple(lv.tint) != (1.0, 1.0, 1.0):
        light = {"gradient": lv.gradient, "vignette": lv.vignette, "tint": list(lv.tint)}
        steps.append(op_level("illumination", "numpy", light, ctx, f"{name}/illumination"))
    if lv.perspective > 0:
        warp = {"strength": lv.perspective, "interpolation": p.interpolation,
                "fill": list(p.background)}  # fmt: skip
        steps.append(op_level("perspective", b, warp, ctx, f"{name}/perspective"))
    if lv.blur:
        steps.append(op_level("gaussian_blur", b, {"sigma": lv.blur}, ctx, f"{name}/blur"))
    if lv.motion and lv.motion >= 2:
        angle = round(float(ctx.rng_for(f"{name}/motion").uniform(0.0, 180.0)), 1)
        mb = b if b == "opencv" else "numpy"
        steps.append(op_level("motion_blur", mb, {"length": lv.motion, "angle": angle}, ctx, name))
    jpeg = JpegParams(quality=lv.quality, subsampling=p.subsampling)
    return (*steps, Step("jpeg", p.jpeg_backend, jpeg))


def plan_photo_of_document(p: PhotoAxisParams, ctx: PlanContext) -> list[Level]:
    """One level per named condition (in the listed order; level_value 1, 2, ...)."""
    levels = []
    for i, (name, lv) in enumerate(p.rungs, start=1):
        chain = _photo_chain(p, lv, ctx, name)
        # the tint stays in the chain's illumination step: a list here would read as a
        # second level parameter and draw a heat map of one severity ladder
        params = {"severity": i, "perspective": lv.perspective, "blur": lv.blur,
                  "motion": lv.motion, "gradient": lv.gradient, "vignette": lv.vignette,
                  "quality": lv.quality}  # fmt: skip
        levels.append(Level(name, float(i), params, chain, name))
    return levels


register_axis(
    AxisDef(
        "dpi",
        DpiAxisParams,
        plan_dpi,
        doc="resample a document to other resolutions (300/200/150/96 dpi) with each library",
    )
)
register_axis(
    AxisDef(
        "rescan",
        RescanAxisParams,
        plan_rescan,
        doc="print-scan hops through drawn virtual printers and scanners (print_scan op)",
    )
)
register_axis(
    AxisDef(
        "photo_of_document",
        PhotoAxisParams,
        plan_photo_of_document,
        doc="a phone photo of the page: lighting, perspective, blur, shake, phone JPEG",
    )
)
