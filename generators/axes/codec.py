"""The ``codec`` axis: the same JPEG quality written by different implementations (libjpeg-turbo
in Pillow/OpenCV; IJG libjpeg, older libjpeg-turbo and mozjpeg builds through ``jpeglib``) and,
optionally, read back by different decoders (implementation, IDCT method, fancy upsampling).

Without ``decoders`` each variant is the JPEG file itself (whoever evaluates decodes it). With
``decoders``, each variant is the decoded pixels saved losslessly, one per encoder x decoder, so
a model sees exactly what that decoder produced. Decoders are written ``impl[/idct][/fancy|nofancy]``,
e.g. ``pillow``, ``libjpeg-6b/ifast``, ``libjpeg-9e/islow/nofancy``.
"""

from __future__ import annotations

from dataclasses import field

from ..core.errors import ConfigError
from ..core.messages import short_repr, suggest
from ..core.records import record, spec
from ..ops import Step
from ..ops.codec import (
    DCT_METHODS,
    JPEG_BUNDLERS,
    JPEGLIB_IMPLEMENTATIONS,
    JpegCodecParams,
    JpegDecodeParams,
    bundled_implementation,
    is_mozjpeg,
    require_jpeglib,
    wrapper_version,
)
from ..ops.jpeg import SUBSAMPLINGS
from ._base import AxisDef, Level, PlanContext, register_axis
from ._finish import finish_chain

__all__ = ["CodecAxisParams", "plan_codec", "IMPLEMENTATION_NAMES", "parse_decoder"]

IMPLEMENTATION_NAMES = (*JPEG_BUNDLERS, *JPEGLIB_IMPLEMENTATIONS)


def _impl_backend(name: str, path: str) -> tuple[str, str | None]:
    """'pillow' -> ('pillow', None: bundled); 'libjpeg-6b' -> ('jpeglib', 'libjpeg-6b')."""
    if name in JPEG_BUNDLERS:
        return name, None
    if name in JPEGLIB_IMPLEMENTATIONS:
        return "jpeglib", name
    raise ConfigError(
        f"{path}: unknown implementation {short_repr(name)}; {suggest(name, IMPLEMENTATION_NAMES)}"
        f"available: {', '.join(IMPLEMENTATION_NAMES)}"
    )


def parse_decoder(text: str, path: str = "decoders") -> tuple[str, str, bool]:
    """``impl[/idct][/fancy|nofancy]`` -> (impl, idct, fancy_upsampling)."""
    parts = text.split("/")
    impl, idct, fancy = parts[0], "islow", True
    _impl_backend(impl, path)
    for part in parts[1:]:
        if part in DCT_METHODS:
            idct = part
        elif part in ("fancy", "nofancy"):
            fancy = part == "fancy"
        else:
            raise ConfigError(
                f"{path}: {short_repr(text)}: unknown option {short_repr(part)}; write impl[/idct][/fancy|nofancy] "
                f"with idct one of {', '.join(DCT_METHODS)}"
            )
    if impl in JPEG_BUNDLERS and (idct != "islow" or not fancy):
        raise ConfigError(
            f"{path}: {impl} decodes with islow and fancy upsampling only; use a jpeglib "
            f"implementation (e.g. libjpeg-turbo-2.1.0/{idct}) for other settings"
        )
    return impl, idct, fancy


def decoder_name(impl: str, idct: str, fancy: bool) -> str:
    """``impl/idct/fancy|nofancy``: the decoder's full name in ``axis_params``."""
    return f"{impl}/{idct}/{'fancy' if fancy else 'nofancy'}"


@record
class CodecAxisParams:
    """Qualities x encoder implementations (x decoders, whose pixels are then saved as PNG)."""

    qualities: tuple[int, ...] = field(metadata=spec(lo=1, hi=100, nonempty=True, distinct=True))
    encoders: tuple[str, ...] = field(
        default=("pillow",), metadata=spec(nonempty=True, distinct=True, doc="implementations")
    )
    decoders: tuple[str, ...] = field(
        default=(),
        metadata=spec(distinct=True, doc="impl[/idct][/fancy|nofancy]; empty: variants are JPEGs"),
    )
    encoder_dct: str = field(default="islow", metadata=spec(choices=DCT_METHODS))
    subsampling: str = field(default="4:2:0", metadata=spec(choices=SUBSAMPLINGS))
    optimize: bool = False
    progressive: bool = False
    center_crop: tuple[int, int] | None = field(default=None, metadata=spec(lo=1))

    def _check(self) -> None:
        for i, e in enumerate(self.encoders):
            backend, _ = _impl_backend(e, f"encoders[{i}]")
            if backend != "jpeglib" and self.encoder_dct != "islow":
                raise ConfigError(
                    f"encoder_dct: {e} encodes with the islow DCT only, got {self.encoder_dct!r}"
                )
        decs = [parse_decoder(d, f"decoders[{i}]") for i, d in enumerate(self.decoders)]
        if len(set(decs)) != len(decs):
            raise ConfigError(
                f"decoders: two entries name the same decoder in {list(self.decoders)}"
            )
        if self.center_crop is not None and not self.decoders:
            raise ConfigError("center_crop: needs at least one decoder (a crop works on pixels)")


def _encode_step(p: CodecAxisParams, name: str, q: int) -> Step:
    backend, impl = _impl_backend(name, "encoders")
    moz = is_mozjpeg(name)
    params = JpegCodecParams(
        quality=q,
        implementation=impl or bundled_implementation(backend),
        subsampling=p.subsampling,
        optimize=p.optimize or moz,  # mozjpeg always optimises and writes progressive files
        progressive=p.progressive or moz,
        dct=p.encoder_dct,
        version=wrapper_version(backend),
    )
    return Step("jpeg_codec", backend, params)


def _decode_step(impl: str, idct: str, fancy: bool) -> Step:
    backend, name = _impl_backend(impl, "decoders")
    params = JpegDecodeParams(
        implementation=name or bundled_implementation(backend),
        idct=idct,
        fancy_upsampling=fancy,
        version=wrapper_version(backend),
    )
    return Step("jpeg_decode", backend, params)


def plan_codec(p: CodecAxisParams, ctx: PlanContext) -> list[Level]:
    """One level per quality x encoder (x decoder); the label is the quality alone when only
    the quality varies."""
    names = list(p.encoders) + [d.split("/")[0] for d in p.decoders]
    if any(n in JPEGLIB_IMPLEMENTATIONS for n in names):
        require_jpeglib("the codec axis with " + ", ".join(sorted(set(names) - set(JPEG_BUNDLERS))))
    decoders = [parse_decoder(d) for d in p.decoders]
    compact = len(p.encoders) == 1 and len(decoders) <= 1  # only the quality varies
    tail = finish_chain(p.center_crop, "png", None, p.subsampling, "pillow")
    levels = []
    for q in p.qualities:
        for enc in p.encoders:
            encode = _encode_step(p, enc, q)
            base = {
                "quality": q,
                "encoder": enc,
                "encoder_implementation": encode.params.implementation,
                "encoder_dct": p.encoder_dct,
            }
            if not decoders:
                label = str(q) if compact else f"q={q},enc={enc}"
                levels.append(Level(label, float(q), base, (encode,), label))
                continue
            for impl, idct, fancy in decoders:
                dec = decoder_name(impl, idct, fancy)
                decode = _decode_step(impl, idct, fancy)
                label = str(q) if compact else f"q={q},enc={enc},dec={dec}"
                params = {
                    **base,
                    "decoder": dec,
                    "decoder_implementation": decode.params.implementation,
                    "idct": idct,
                    "fancy_upsampling": fancy,
                }
                levels.append(Level(label, float(q), params, (encode, decode, *tail), label))
    return levels


register_axis(
    AxisDef(
        "codec",
        CodecAxisParams,
        plan_codec,
        doc="JPEG by named implementations (libjpeg-turbo, IJG libjpeg, mozjpeg) and decoders",
    )
)
