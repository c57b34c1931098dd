"""degradebench: controlled, recorded, reproducible image degradations and robustness benchmarks.

The distribution installs one namespace: ``degradebench`` (this folder, ``bench/``: the CLI, suites,
demo and speed benchmarks), ``degradebench.generators`` (``generators/``) and
``degradebench.evaluators`` (``evaluators/``). Dependency direction: bench -> evaluators -> generators.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
