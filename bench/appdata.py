"""The bench applications' settings, read from ``applications.yaml`` (shipped package data).

Ladders and defaults of ``demo``, ``agreement`` and ``train-matrix`` live there, not in code:
``demo_settings()``, ``agreement_settings()`` and ``matrix_settings()`` return frozen, validated
records.
"""

from __future__ import annotations

from dataclasses import field
from functools import cache
from importlib import resources
from typing import Any

from degradebench.generators.core.errors import ConfigError
from degradebench.generators.core.messages import short_repr
from degradebench.generators.core.records import from_mapping, record, spec
from degradebench.generators.core.yamlsafe import load_yaml

__all__ = [
    "DemoSettings",
    "ForensicDemo",
    "DocumentsDemo",
    "AgreementSettings",
    "MatrixSettings",
    "QuickMatrix",
    "MatrixGroup",
    "demo_settings",
    "agreement_settings",
    "matrix_settings",
    "FILE",
]

FILE = "applications.yaml"


@record
class ForensicDemo:
    """The demo's forensic part: a suite of doctored images, the localizer scored on it, the
    ladder levels generated and evaluated (axis -> level names, mild to severe) and the
    manipulation ``ops`` kept (all of the suite's when empty), so the demo stays within its time
    budget. The first level listed is the one quoted as "clean"."""

    suite: str
    model: str
    levels: dict = field(metadata=spec(doc="axis -> [level names]"))
    ops: tuple[str, ...] = field(default=(), metadata=spec(distinct=True))

    def _check(self) -> None:
        if not self.levels:
            raise ConfigError("levels: must name at least one axis and its levels, got {}")
        for axis, names in self.levels.items():
            ok = isinstance(names, (list, tuple)) and names and all(
                isinstance(n, str) and n for n in names)  # fmt: skip
            if not isinstance(axis, str) or not ok:
                msg = (f"levels.{axis}: must be a list of level names (quote names with commas: "
                       f"\"dy=3,dx=5\"), got {short_repr(names)}")  # fmt: skip
                raise ConfigError(msg)
        object.__setattr__(self, "levels", {a: tuple(n) for a, n in self.levels.items()})

    @property
    def axes(self) -> tuple[str, ...]:
        """The axes the demo evaluates, in the order they are listed."""
        return tuple(self.levels)


@record
class DocumentsDemo:
    """What ``degradebench demo --documents`` runs: one virtual-scanners dataset, its
    ``suites`` (``cut`` for time: suite -> axis -> keys replaced, or null to leave the axis out)
    evaluated with ``model`` on the held-out ``fold``, and (``forensic``) a document-forgery
    suite with a localizer."""

    dataset: str
    suites: tuple[str, ...] = field(metadata=spec(nonempty=True, distinct=True))
    model: str = "reference-scanner"
    fold: int = field(default=0, metadata=spec(lo=0, hi=99))
    forensic: ForensicDemo | None = None
    cut: dict = field(
        default_factory=dict, metadata=spec(doc="suite -> axis -> keys replaced (null: left out)")
    )


@record
class DemoSettings:
    """What ``degradebench demo`` runs: one virtual-cameras dataset, its suites, the held-out
    fold, and (``forensic``) a forgery suite with a localizer; ``documents``: what
    ``demo --documents`` runs instead."""

    dataset: str
    suites: tuple[str, ...]
    fold: int = field(default=0, metadata=spec(lo=0, hi=99))
    forensic: ForensicDemo | None = None
    documents: DocumentsDemo | None = None

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
class QuickMatrix:
    """``train-matrix --quick``: the virtual-cameras params replaced (a small dataset) and a
    shorter recipe, so the whole matrix runs in minutes."""

    # checked against the virtual-cameras params where they are used (keeps --help light)
    dataset: dict = field(metadata=spec(doc="virtual-cameras params replaced, e.g. size: 128"))
    epochs: int = field(default=2, metadata=spec(lo=1, hi=1000))
    patches_per_image: int = field(default=8, metadata=spec(lo=1, hi=10_000))


@record
class MatrixGroup:
    """One column of the matrix's compact table: the mean over the levels of ``axis`` that
    match ``levels`` (names or shell patterns such as ``"*shift=random"``)."""

    label: str
    axis: str
    levels: tuple[str, ...] = field(metadata=spec(nonempty=True))


@record
class MatrixSettings:
    """What ``degradebench train-matrix`` runs: one reference model per training policy on the
    training folds of ``dataset``, each evaluated on ``suites`` on the held-out ``fold``;
    ``metrics`` are the rows of matrix.parquet per condition, ``summary`` the compact table."""

    dataset: str
    suites: tuple[str, ...] = field(metadata=spec(nonempty=True, distinct=True))
    policies: tuple[str, ...] = field(metadata=spec(nonempty=True, distinct=True))
    metrics: tuple[str, ...] = field(metadata=spec(nonempty=True, distinct=True))
    quick: QuickMatrix
    fold: int = field(default=0, metadata=spec(lo=0, hi=99))
    seed: int = field(default=0, metadata=spec(lo=0, hi=2**32 - 1))
    summary: tuple[MatrixGroup, ...] = ()

    def _check(self) -> None:
        if "accuracy" not in self.metrics:
            raise ConfigError(f"metrics: must include accuracy (the heat map), got {self.metrics}")


@record
class _File:
    version: int = field(metadata=spec(lo=1, hi=1))
    demo: DemoSettings
    agreement: AgreementSettings
    train_matrix: MatrixSettings | None = None  # only train-matrix needs it


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


def matrix_settings() -> MatrixSettings:
    """The ``train_matrix`` section of the shipped ``applications.yaml``.

    Raises:
        ConfigError: the section is missing (a damaged install).
    """
    settings = _load().train_matrix
    if settings is None:
        raise ConfigError(f"{FILE}: train_matrix: missing; reinstall degradebench or restore "
                          "the section (dataset, suites, policies, metrics, quick)")  # fmt: skip
    return settings
