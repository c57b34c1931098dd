"""Per-library backends: one registered object per library an op can run on.

Which library ran is itself an axis the benchmark measures, so every chain step names its backend
(``pillow``, ``opencv``, ``torch``, ``skimage``, ``numpy``, ``jpeglib``). A :class:`Backend`
knows its library, reads its version through :func:`core.provenance.library_version` (the one
way versions are read), says what it can do (e.g. its resampling methods, antialias settings and
dtype paths: :class:`ResizeSupport`) and holds its kernels, one per op, named ``<op>_<backend>``
and registered by the op modules with :func:`register_kernel`::

    @register_kernel
    def jpeg_pillow(img, params, **metadata) -> bytes: ...

    BACKENDS.get("pillow").kernel("jpeg")(img, params)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .core.errors import ConfigError
from .core.provenance import library_version
from .core.registry import Registry

__all__ = [
    "Backend",
    "ResizeSupport",
    "BACKENDS",
    "register_backend",
    "register_kernel",
    "get_backend",
    "backend_names",
]

_FLOAT_PATHS = ("float32-unit", "float32-255")
_ALL_PATHS = ("uint8", *_FLOAT_PATHS)


@dataclass(frozen=True)
class ResizeSupport:
    """What a library's resampler can do, as it really behaves (not a wish list).

    ``antialias``/``dtypes`` map a method to its options, key ``"*"`` for the others; the first
    dtype is the library's native path. ``antialias_default`` is what the library does when not
    told, where it can do both.
    """

    methods: tuple[str, ...]
    antialias: Mapping[str, tuple[bool, ...]]
    dtypes: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: {"*": _ALL_PATHS})
    antialias_default: bool = False
    has_method: Callable[[str], bool] | None = None  # probes methods a release may lack

    def available(self) -> tuple[str, ...]:
        """The methods this installation really has."""
        probe = self.has_method
        return tuple(m for m in self.methods if probe is None or probe(m))

    def antialias_options(self, method: str) -> tuple[bool, ...]:
        """The antialias values this library can honour for ``method``."""
        if method in ("nearest", "nearest-exact"):
            return (False,)
        return self.antialias.get(method, self.antialias["*"])

    def dtype_options(self, method: str) -> tuple[str, ...]:
        """The dtype paths for ``method``, the native one first."""
        return self.dtypes.get(method, self.dtypes["*"])

    def default_antialias(self, method: str) -> bool:
        """What the library does when not told."""
        opts = self.antialias_options(method)
        return opts[0] if len(opts) == 1 else self.antialias_default


@dataclass(frozen=True)
class Backend:
    """One library: ``name`` as chains write it, its ``library`` (the distribution), what it
    supports and its kernels (``kernel(op)``)."""

    name: str
    library: str
    doc: str = ""
    resize: ResizeSupport | None = None
    jpeg_build: Callable[[], str] | None = None  # the libjpeg it bundles, e.g. libjpeg-turbo-3.0.1
    writes_metadata: bool = False  # its encoders can write EXIF / ICC / XMP
    calls_libjpeg: bool = False  # encodes/decodes JPEG through a named libjpeg build (jpeg_codec)
    kernels: dict[str, Callable[..., Any]] = field(default_factory=dict, compare=False)

    def version(self) -> str | None:
        """The installed library's version (None when it is not installed)."""
        return library_version(self.name)

    def kernel(self, op: str) -> Callable[..., Any]:
        """The kernel ``<op>_<name>``; ConfigError naming the ops this backend has otherwise."""
        try:
            return self.kernels[op]
        except KeyError:
            have = ", ".join(sorted(self.kernels)) or "none"
            raise ConfigError(
                f"backend {self.name!r} has no kernel for op {op!r}; it has: {have}"
            ) from None


BACKENDS: Registry[Backend] = Registry("backend")
_ORDER: list[str] = []  # registration order: the order listings and error messages show


def register_backend(backend: Backend) -> Backend:
    """Add a backend to ``BACKENDS`` (duplicates are refused)."""
    BACKENDS.register(backend.name, backend)
    _ORDER.append(backend.name)
    return backend


def backend_names(where: Callable[[Backend], Any] | None = None) -> tuple[str, ...]:
    """The registered backends (those for which ``where(backend)`` is true), in registration
    order, e.g. ``backend_names(lambda b: b.resize)``: the libraries that resample."""
    return tuple(n for n in _ORDER if where is None or where(BACKENDS.get(n)))


def get_backend(name: str) -> Backend:
    """``BACKENDS.get(name)``: unknown names are answered with close matches and the list."""
    return BACKENDS.get(name)


def register_kernel(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: file ``fn`` named ``<op>_<backend>`` as that backend's kernel for that op."""
    op, sep, backend = fn.__name__.rpartition("_")
    if not sep or backend not in BACKENDS:
        raise ValueError(f"kernel {fn.__name__!r}: name it <op>_<backend> with a known backend")
    kernels = BACKENDS.get(backend).kernels
    if op in kernels:
        raise ValueError(f"kernel {fn.__name__!r} is already registered")
    kernels[op] = fn
    return fn


@functools.cache
def _torch_has(method: str) -> bool:
    """torch grew ``mode='lanczos'`` (antialias only) in recent releases; older ones lack it."""
    if method != "lanczos":
        return True
    import torch
    import torch.nn.functional as F

    try:
        F.interpolate(torch.zeros(1, 1, 4, 4), size=(2, 2), mode="lanczos", antialias=True)
    except (ValueError, RuntimeError, NotImplementedError):
        return False
    return True


def _pillow_jpeg() -> str:
    v = library_version("pillow_libjpeg_turbo")
    return f"libjpeg-turbo-{v}" if v else f"libjpeg-{library_version('pillow_jpeg') or 'unknown'}"


def _opencv_jpeg() -> str:
    text = library_version("opencv_jpeg")
    if text is None:
        return "unknown"
    m = re.search(r"ver\s*([0-9][0-9.]*[0-9a-z]?)", text)
    kind = "libjpeg-turbo" if "turbo" in text else "libjpeg"
    return f"{kind}-{m.group(1) if m else 'unknown'}"


# 'nearest' is each library's own nearest convention: Pillow and scikit-image sample pixel
# centres, OpenCV INTER_NEAREST and torch 'nearest' take the top-left neighbour (floor);
# 'nearest-exact' is OpenCV's / torch's centre-sampling variant.
_SIX = ("nearest", "nearest-exact", "bilinear", "bicubic", "area", "lanczos")

register_backend(
    Backend(
        "pillow",
        "Pillow",
        doc="Pillow: libjpeg-turbo, zlib, libwebp, LittleCMS; resampling by Image.resize",
        # Pillow widens every filter by the downscale factor; there is no switch.
        resize=ResizeSupport(
            methods=("nearest", "bilinear", "bicubic", "area", "lanczos"), antialias={"*": (True,)}
        ),
        jpeg_build=functools.lru_cache(maxsize=1)(_pillow_jpeg),
        writes_metadata=True,
        calls_libjpeg=True,
    )
)
register_backend(
    Backend(
        "opencv",
        "opencv-python",
        doc="OpenCV: imencode/imdecode (its own libjpeg-turbo) and cv2.resize",
        # OpenCV never widens its kernels (INTER_AREA is its box average).
        resize=ResizeSupport(methods=_SIX, antialias={"*": (False,)}),
        jpeg_build=functools.lru_cache(maxsize=1)(_opencv_jpeg),
        calls_libjpeg=True,
    )
)
register_backend(
    Backend(
        "torch",
        "torch",
        doc="PyTorch: F.interpolate on NCHW tensors",
        resize=ResizeSupport(
            methods=_SIX,
            # area is adaptive average pooling (the flag does not apply); lanczos needs it on.
            antialias={"*": (False, True), "area": (False,), "lanczos": (True,)},
            dtypes={"*": _ALL_PATHS, "area": _FLOAT_PATHS},  # no uint8 adaptive_avg_pool2d
            antialias_default=False,
            has_method=_torch_has,
        ),
    )
)
register_backend(
    Backend(
        "skimage",
        "scikit-image",
        doc="scikit-image: transform.resize on floats (Gaussian prefilter on downscale)",
        resize=ResizeSupport(
            methods=("nearest", "bilinear", "bicubic"),
            antialias={"*": (False, True)},
            dtypes={"*": _FLOAT_PATHS},  # skimage converts to float whatever it is given
            antialias_default=True,  # anti_aliasing=None: on when downscaling
        ),
    )
)
register_backend(Backend("numpy", "numpy", doc="plain numpy array slicing and lookup tables"))
register_backend(
    Backend(
        "jpeglib",
        "jpeglib",
        doc="jpeglib (optional extra 'codecs'): IJG libjpeg 6b..9f, libjpeg-turbo and mozjpeg",
        calls_libjpeg=True,
    )
)
