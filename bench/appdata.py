"""The bench applications' settings, read from ``applications.yaml`` (shipped package data).

Ladders and defaults of ``demo`` and ``agreement`` live there, not in code: ``demo_settings()``
and ``agreement_settings()`` return frozen, validated records.
"""

from __future__ import annotations

from dataclasses import field
from functools import cache
from importlib import resources
from typing import Any

from degradebench.generators.core.errors import ConfigError
from degradebench.generators.core.records import from_mapping, record, spec
from degradebench.generators.core.yamlsafe import load_yaml

__all__ = ["DemoSettings", "AgreementSettings", "demo_settings", "agreement_settings", "FILE"]

FILE = "applications.yaml"


@record
class DemoSettings:
    """What ``degradebench demo`` runs: one virtual-cameras dataset, its suites, the held-out fold."""

    dataset: str
    suites: tuple[str, ...]
    fold: int = field(default=0, metadata=spec(lo=0, hi=99))

    def _check(self) -> None:
        if not self.suites:
            raise ConfigError("suites: must name at least one suite, got []")


@record
class AgreementSettings:
    """What ``degradebench agreement`` compares without ``--ops``: ``METHOD xSCALE`` names."""

    ops: tuple[str, ...]

    def _check(self) -> None:
        if not self.ops:
            raise ConfigError("ops: must name at least one operation, got []")


@record
class _File:
    version: int = field(metadata=spec(lo=1, hi=1))
    demo: DemoSettings
    agreement: AgreementSettings


@cache
def _load() -> _File:
    text = (resources.files("degradebench") / FILE).read_text(encoding="utf-8")
    data: Any = load_yaml(text, FILE)
    return from_mapping(_File, data, FILE)


def demo_settings() -> DemoSettings:
    """The ``demo`` section of the shipped ``applications.yaml``."""
    return _load().demo


def agreement_settings() -> AgreementSettings:
    """The ``agreement`` section of the shipped ``applications.yaml``."""
    return _load().agreement
