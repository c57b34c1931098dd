"""Pillow plugins for the image formats Pillow itself lacks: HEIC/HEIF (``pillow-heif``, libheif)
and JPEG XL (``pillow-jxl-plugin``, libjxl). Both are optional (the ``codecs`` extra).

:func:`register_plugins` registers whichever are installed, once per process; every reader of
image files calls it (source decoding, ``verify``, the manifest's read-back, and the variant
decoder through ``generators.ops``), so a HEIC or JPEG XL file opens like a JPEG. AVIF, WebP and
JPEG 2000 need nothing here: Pillow's own wheels carry libavif, libwebp and OpenJPEG.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from .errors import ConfigError

__all__ = [
    "PLUGINS",
    "INSTALL_HINT",
    "plugin_available",
    "register_plugins",
    "require_plugin",
    "require_pillow_codec",
]

INSTALL_HINT = 'pip install "degradebench[codecs]"'


@dataclass(frozen=True)
class Plugin:
    """An optional Pillow plugin: its import name, its distribution and what it decodes."""

    module: str
    dist: str
    what: str


PLUGINS = {
    "heif": Plugin("pillow_heif", "pillow-heif", "HEIC/HEIF (libheif)"),
    "jxl": Plugin("pillow_jxl", "pillow-jxl-plugin", "JPEG XL (libjxl)"),
}
_registered: set[str] = set()


def _import(module: str) -> ModuleType | None:
    """The plugin's module, or None when it is not installed (tests monkeypatch this)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def plugin_available(name: str) -> bool:
    """True when the plugin ``name`` (a key of ``PLUGINS``) is installed."""
    return _import(PLUGINS[name].module) is not None


def register_plugins() -> tuple[str, ...]:
    """Register every installed plugin with Pillow (idempotent); returns the registered names."""
    for name, plugin in PLUGINS.items():
        if name in _registered:
            continue
        mod = _import(plugin.module)
        if mod is None:
            continue
        if name == "heif":
            mod.register_heif_opener()  # pillow_jxl registers itself when imported
        _registered.add(name)
    return tuple(sorted(_registered))


def require_plugin(name: str, where: str) -> None:
    """ConfigError naming ``where`` (e.g. an axis), the missing library and the install hint."""
    if plugin_available(name):
        return
    plugin = PLUGINS[name]
    raise ConfigError(
        f"{where}: needs {plugin.what} from the Python package {plugin.dist}, which is not "
        f"installed; install it with: {INSTALL_HINT}"
    )


_PILLOW_CODECS = {  # codec op -> (PIL.features name, what it is, the Pillow that has it)
    "webp": ("webp", "WebP (libwebp)", "Pillow built with libwebp"),
    "avif": ("avif", "AVIF (libavif)", "Pillow >= 11.3, whose wheels bundle libavif"),
    "jpeg2000": ("jpg_2000", "JPEG 2000 (OpenJPEG)", "Pillow built with OpenJPEG"),
}


def require_pillow_codec(op: str, where: str) -> None:
    """ConfigError naming ``where`` when the installed Pillow lacks the codec of ``op``."""
    if op not in _PILLOW_CODECS:
        return
    from PIL import features

    feature, what, need = _PILLOW_CODECS[op]
    if not features.check(feature):
        raise ConfigError(
            f"{where}: needs {what}, which this Pillow lacks; install {need}: "
            f'pip install -U "pillow>=11.3"'
        )
