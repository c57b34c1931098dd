"""Library versions and revision recorded with every manifest and result."""

from __future__ import annotations

import functools
import hashlib
import importlib
import re
import subprocess
from pathlib import Path

__all__ = [
    "library_version",
    "library_versions",
    "git_revision",
    "derive_seed",
    "short_hash",
]


def short_hash(text: str | bytes, n: int = 16) -> str:
    """The first ``n`` hex digits of the sha256 of ``text``."""
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()[:n]


def derive_seed(suite_seed: int, source_id: str, name: str) -> int:
    """The seed of one variant's random draws: a 63-bit integer from (suite seed, source id, name)."""
    digest = hashlib.sha256(f"{suite_seed}/{source_id}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@functools.lru_cache(maxsize=1)
def git_revision() -> str | None:
    """The degradebench checkout's commit (None for an installed wheel or without git)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    rev = out.stdout.strip()
    return rev if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", rev) else None


# How each name is read, in one place: ("module", M) -> ``M.__version__``; ("pillow", F) ->
# ``PIL.features.version(F)`` (a library Pillow bundles); ("opencv-build", K) -> the ``K:`` line of
# ``cv2.getBuildInformation()``; ("dist", D) -> the installed distribution D's version;
# ("call", "M:F") -> ``M.F()`` (a bundled library's own version function).
# A name not listed is read as a distribution.
_READERS: dict[str, tuple[str, str]] = {
    "degradebench": ("dist", "degradebench"),
    "pillow": ("module", "PIL"),
    "pillow_libjpeg_turbo": ("pillow", "libjpeg_turbo"),
    "pillow_jpeg": ("pillow", "jpg"),
    "pillow_zlib": ("pillow", "zlib"),
    "pillow_webp": ("pillow", "webp"),
    "pillow_littlecms": ("pillow", "littlecms2"),
    "pillow_avif": ("pillow", "avif"),  # libavif (its AV1 codecs: PIL._avif.codec_versions())
    "pillow_openjpeg": ("pillow", "jpg_2000"),
    "pillow_heif": ("dist", "pillow-heif"),
    "libheif": ("call", "pillow_heif:libheif_version"),
    "pillow_jxl": ("dist", "pillow-jxl-plugin"),  # bundles libjxl (its version is not exposed)
    "opencv": ("module", "cv2"),
    "opencv_jpeg": ("opencv-build", "JPEG"),
    "numpy": ("module", "numpy"),
    "torch": ("module", "torch"),
    "skimage": ("module", "skimage"),
    "jpeglib": ("module", "jpeglib"),
    "onnxruntime": ("module", "onnxruntime"),
}

# What every manifest records (key order is part of the manifest's metadata).
RECORDED = (
    "pillow",
    "pillow_libjpeg_turbo",
    "pillow_zlib",
    "pillow_webp",
    "pillow_avif",
    "pillow_openjpeg",
    "pillow_heif",
    "libheif",
    "pillow_jxl",
    "opencv",
    "opencv_jpeg",
    "numpy",
)


@functools.cache
def library_version(name: str) -> str | None:
    """The version of a library (or of a library bundled inside another), None when absent.

    The one way the project reads versions: manifests, results and backends all call it.
    """
    how, what = _READERS.get(name, ("dist", name))
    if how == "dist":
        import importlib.metadata as md

        try:
            return md.version(what)
        except md.PackageNotFoundError:
            return None
    try:
        if how == "module":
            return str(importlib.import_module(what).__version__)
        if how == "pillow":
            from PIL import features

            return features.version(what)
        if how == "call":
            module, fn = what.split(":")
            return str(getattr(importlib.import_module(module), fn)())
        import cv2

        lines = cv2.getBuildInformation().splitlines()
    except ImportError:  # an optional library that is not installed
        return None
    return next(
        (ln.split(":", 1)[1].strip() for ln in lines if ln.strip().startswith(f"{what}:")), None
    )


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str | None]:
    """What a manifest records: degradebench, the git revision and the codec libraries."""
    return {
        "degradebench": library_version("degradebench"),
        "git_revision": git_revision(),
        **{name: library_version(name) for name in RECORDED},
    }
