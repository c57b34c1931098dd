"""Format ``builtin``: models shipped with degradebench, by name (``BUILTIN_MODELS``).

``reference`` is the camera-model classifier; ``reference-localizer`` the splice localizer built
on its weights (``degradebench.evaluators.reference_localizer``); ``reference-scanner`` and
``reference-scanner-localizer`` the same two for document scans
(``degradebench.evaluators.reference_scanner``); ``dummy`` a tiny deterministic
model for smoke tests (``degradebench.evaluators.dummy``). All are registered lazily
(``"module:attr"``), so a name costs nothing until it is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from degradebench.generators.core.errors import DegradebenchError
from degradebench.generators.core.registry import Registry

from .base import Loaded, ModelError, ModelFormat, split_factory_result

__all__ = ["BUILTIN_MODELS", "FORMAT", "load"]

BUILTIN_MODELS: Registry[Callable[[], Any]] = Registry("built-in model")
BUILTIN_MODELS.register("reference", "degradebench.evaluators.reference:load_reference")
BUILTIN_MODELS.register(
    "reference-localizer",
    "degradebench.evaluators.reference_localizer:load_reference_localizer",
)
BUILTIN_MODELS.register(
    "reference-scanner",
    "degradebench.evaluators.reference_scanner:load_reference_scanner",
)
BUILTIN_MODELS.register(
    "reference-scanner-localizer",
    "degradebench.evaluators.reference_scanner:load_reference_scanner_localizer",
)
BUILTIN_MODELS.register("dummy", "degradebench.evaluators.dummy:build")


def load(spec: str) -> Loaded:
    """Call the built-in factory named ``spec``."""
    loader = BUILTIN_MODELS.get(spec)
    try:
        result = loader()
    except DegradebenchError:
        raise
    except Exception as exc:
        raise ModelError(f"model {spec!r}: loading the built-in model failed: {exc!r}") from exc
    module, cfg = split_factory_result(result, spec)
    return module, cfg, {"builtin": spec}


def _own_name(spec: str) -> str:
    return spec  # a built-in model is named by its name


FORMAT = ModelFormat(load, default_name=_own_name)
