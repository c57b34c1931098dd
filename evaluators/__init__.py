"""Evaluators: score any plugged-in model on a manifest, per axis and level.

Public API (imported lazily so ``import degradebench.evaluators`` stays cheap):
``load_model``, ``Model``, ``ModelError``, ``InputConfig``, ``evaluate``, ``EvalResult``,
``read_results``, ``write_report``, ``compare``, ``METRICS``, ``FIGURES``, ``MODEL_FORMATS``,
``FIT_MODES``. The results-folder contract is :mod:`.results`; metrics are :mod:`.metrics`.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "load_model",
    "model_from_module",
    "Model",
    "ModelError",
    "InputConfig",
    "evaluate",
    "EvalResult",
    "read_results",
    "write_report",
    "compare",
    "METRICS",
    "FIGURES",
    "MODEL_FORMATS",
    "FIT_MODES",
]

_WHERE = {
    "load_model": ".models",
    "model_from_module": ".models",
    "Model": ".models",
    "ModelError": ".models",
    "InputConfig": "._input_config",
    "evaluate": "._evaluate",
    "EvalResult": "._evaluate",
    "read_results": ".results",
    "write_report": ".report",
    "compare": ".metrics",
    "METRICS": ".metrics",
    "FIGURES": ".metrics",
    "MODEL_FORMATS": ".formats",
    "FIT_MODES": "._fit",
}


def __getattr__(name: str) -> Any:
    """Import the public names on first use (keeps ``import degradebench.evaluators`` cheap)."""
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
