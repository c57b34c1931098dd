"""Library versions and revision recorded with every manifest and result."""

from __future__ import annotations

import functools
import hashlib
import re
import subprocess
from pathlib import Path

__all__ = ["library_versions", "git_revision", "derive_seed", "short_hash"]


def short_hash(text: str | bytes, n: int = 16) -> str:
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


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str | None]:
    import cv2
    import numpy
    import PIL
    from degradebench import __version__
    from PIL import features

    jpeg_line = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in cv2.getBuildInformation().splitlines()
            if ln.strip().startswith("JPEG:")
        ),
        None,
    )
    return {
        "degradebench": __version__,
        "git_revision": git_revision(),
        "pillow": PIL.__version__,
        "pillow_libjpeg_turbo": features.version("libjpeg_turbo"),
        "pillow_zlib": features.version("zlib"),
        "pillow_webp": features.version("webp"),
        "opencv": cv2.__version__,
        "opencv_jpeg": jpeg_line,
        "numpy": numpy.__version__,
    }
