"""The modern-codec axes: ``webp``, ``avif``, ``heic``, ``jxl`` and ``jpeg2000`` (a ``qualities``
ladder of the op of the same name, every other encoder setting fixed and recorded), and
``transcode`` (a phone's HEIC original, decoded and re-saved as JPEG at a quality ladder, as
phones do when sharing).

Each level's variant is the codec's own file. An axis whose codec needs an optional library
(pillow-heif for HEIC, pillow-jxl-plugin for JPEG XL) fails at planning, before any file is
written, with the install hint.
"""

from __future__ import annotations

from dataclasses import field, fields
from typing import Any

from ..core.errors import ConfigError
from ..core.plugins import require_pillow_codec, require_plugin
from ..core.records import record, spec
from ..ops import Step, make_step
from ..ops.avif import AVIF_SUBSAMPLINGS
from ..ops.heic import HEIC_CHROMAS
from ..ops.jpeg import SUBSAMPLINGS, DecodeParams, JpegParams
from ..ops.jpeg2000 import PROGRESSIONS
from ._base import AxisDef, Level, PlanContext, register_axis
from ._op_ladder import plan_op_ladder

__all__ = [
    "WebpAxisParams",
    "AvifAxisParams",
    "HeicAxisParams",
    "JxlAxisParams",
    "Jpeg2000AxisParams",
    "TranscodeAxisParams",
    "plan_transcode",
]

_PLUGIN = {"heic": "heif", "jxl": "jxl"}  # codec op -> the optional plugin it needs


def _qualities(lo: int = 0, hi: int = 100) -> Any:
    return field(metadata=spec(lo=lo, hi=hi, nonempty=True, distinct=True))


@record
class WebpAxisParams:
    """libwebp qualities 0..100 (lossy), ``method`` 0..6 (Pillow's default 4)."""

    qualities: tuple[int, ...] = _qualities()
    method: int = field(default=4, metadata=spec(lo=0, hi=6))


@record
class AvifAxisParams:
    """libavif qualities 0..100; speed, chroma subsampling, YUV range, AV1 encoder, threads."""

    qualities: tuple[int, ...] = _qualities()
    speed: int = field(default=6, metadata=spec(lo=0, hi=10))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=AVIF_SUBSAMPLINGS))
    range: str = field(default="full", metadata=spec(choices=("full", "limited")))
    codec: str = field(default="aom", metadata=spec(choices=("aom", "rav1e", "svt")))
    max_threads: int = field(default=1, metadata=spec(lo=1, hi=256))


@record
class HeicAxisParams:
    """libheif/x265 qualities 0..100 and the coded chroma subsampling."""

    qualities: tuple[int, ...] = _qualities()
    chroma: str = field(default="4:2:0", metadata=spec(choices=HEIC_CHROMAS))


@record
class JxlAxisParams:
    """libjxl qualities 0..99 (lossy, XYB), effort 1..9 and decoding speed 0..4."""

    qualities: tuple[int, ...] = _qualities(0, 99)
    effort: int = field(default=7, metadata=spec(lo=1, hi=9))
    decoding_speed: int = field(default=0, metadata=spec(lo=0, hi=4))


@record
class Jpeg2000AxisParams:
    """One quality layer per level: target PSNR in dB (``quality_mode: dB``) or compression
    ratios (``quality_mode: rates``); wavelet, resolutions, colour transform, progression."""

    qualities: tuple[float, ...] = field(
        metadata=spec(gt=0.0, hi=1000.0, nonempty=True, distinct=True)
    )
    quality_mode: str = field(default="dB", metadata=spec(choices=("dB", "rates")))
    irreversible: bool = True
    num_resolutions: int = field(default=6, metadata=spec(lo=1, hi=32))
    mct: bool = True
    progression: str = field(default="LRCP", metadata=spec(choices=PROGRESSIONS))


def _require(codec: str, where: str) -> None:
    """ConfigError naming ``where`` and the install hint when ``codec`` cannot run here."""
    if codec in _PLUGIN:
        require_plugin(_PLUGIN[codec], where)
    require_pillow_codec(codec, where)


def _codec_preflight(op: str):
    """The ``AxisDef.preflight`` of the ``op`` axis: its codec library is present."""

    def preflight(p: Any, where: str) -> None:
        _require(op, f"{where} (axis type {op!r})")

    return preflight


def _transcode_preflight(p: TranscodeAxisParams, where: str) -> None:
    _require(p.original, f"{where} (axis type 'transcode')")


def _codec_plan(op: str):
    """The planner of the ``op`` axis: its ladder of ``quality``, the other fields fixed."""

    def plan(p: Any, ctx: PlanContext) -> list[Level]:
        _require(op, f"axis type {op!r}")
        fixed = {f.name: getattr(p, f.name) for f in fields(p) if f.name != "qualities"}
        return plan_op_ladder(op, "quality", p.qualities, ctx, backend="pillow", fixed=fixed)

    plan.__name__ = f"plan_{op}"
    plan.__doc__ = f"One ``{op}`` encode per quality, labelled by the quality."
    return plan


_ORIGINALS = ("heic", "avif", "webp", "jxl", "jpeg2000")


@record
class TranscodeAxisParams:
    """An ``original`` codec file (a phone's HEIC by default) at ``original_quality`` (None: the
    op's default), decoded, then JPEG at each of ``qualities`` (``subsampling``, backend)."""

    qualities: tuple[int, ...] = _qualities(1, 100)
    original: str = field(default="heic", metadata=spec(choices=_ORIGINALS))
    original_quality: float | None = field(default=None, metadata=spec(lo=0.0, hi=1000.0))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    jpeg_backend: str = field(default="pillow", metadata=spec(choices=("pillow", "opencv")))


def _original_step(p: TranscodeAxisParams) -> Step:
    raw: dict[str, Any] = {"op": p.original, "backend": "pillow"}
    q = p.original_quality
    if q is not None:
        raw["quality"] = int(q) if float(q).is_integer() and p.original != "jpeg2000" else q
    try:
        return make_step(raw, "transcode.original")
    except ConfigError as exc:
        raise ConfigError(f"transcode.original_quality: {exc}") from None


def plan_transcode(p: TranscodeAxisParams, ctx: PlanContext) -> list[Level]:
    """original codec -> decode (Pillow) -> JPEG at each quality; labelled by the JPEG quality."""
    _require(p.original, "axis type 'transcode'")
    first = _original_step(p)
    decode = Step("decode", "pillow", DecodeParams())
    levels = []
    for q in p.qualities:
        jpeg = Step("jpeg", p.jpeg_backend, JpegParams(q, p.subsampling))
        params = {
            "quality": q,
            "original": p.original,
            "original_quality": first.params.quality,
            "subsampling": p.subsampling,
        }
        levels.append(Level(str(q), float(q), params, (first, decode, jpeg), f"q={q}"))
    return levels


for _op, _cls, _doc in (
    ("webp", WebpAxisParams, "WebP quality ladder (libwebp through Pillow)"),
    ("avif", AvifAxisParams, "AVIF quality ladder (libavif/libaom through Pillow)"),
    ("heic", HeicAxisParams, "HEIC quality ladder (libheif/x265 through pillow-heif)"),
    ("jxl", JxlAxisParams, "JPEG XL quality ladder (libjxl through pillow-jxl-plugin)"),
    ("jpeg2000", Jpeg2000AxisParams, "JPEG 2000 ladder of target PSNR (dB) or rates (OpenJPEG)"),
):
    register_axis(AxisDef(_op, _cls, _codec_plan(_op), doc=_doc, preflight=_codec_preflight(_op)))
register_axis(
    AxisDef(
        "transcode",
        TranscodeAxisParams,
        plan_transcode,
        doc="a phone's HEIC (or other codec) original re-saved as JPEG at a quality ladder",
        preflight=_transcode_preflight,
    )
)
