"""``degradebench list``: what exists (suites, presets, axes, ops, models, datasets), one per line."""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

import degradebench as db
from degradebench.generators.core.errors import ConfigError

__all__ = ["add_parser", "run", "entries", "KINDS"]

KINDS = ("suites", "presets", "axes", "ops", "models", "datasets")
WIDTH = 100  # descriptions are cut to keep one line each


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "list",
        help="list the suites, presets, axes, ops, models or datasets that exist",
        description=(
            "Print one line per item: its name and a short description. suites, presets and "
            "datasets come from the config (--config, default ./datasets.yaml if present, else "
            "the shipped one); axes and ops are the registered types; models are the built-in "
            "model names."
        ),
    )
    p.add_argument("what", choices=KINDS, metavar="WHAT", help="one of: " + ", ".join(KINDS))
    p.add_argument(
        "--config", metavar="FILE", help="datasets.yaml to read suites/presets/datasets from"
    )
    p.set_defaults(func=run)
    return p


def _short(text: str) -> str:
    """The first sentence of ``text`` on one line, at most WIDTH characters."""
    line = " ".join(str(text or "").split())
    first = line.split(". ", 1)[0].rstrip(".")
    return first if len(first) <= WIDTH else first[: WIDTH - 3].rstrip() + "..."


def _doc(obj: object) -> str:
    return (inspect.getdoc(obj) or "").strip()


def _from_config(what: str, config: str | Path | None) -> list[tuple[str, str]]:
    cfg = db.load_config(config)
    if what == "suites":
        return [(n, s.description) for n, s in cfg.suites.items()]
    if what == "presets":
        return [(n, p.note or p.source) for n, p in cfg.presets.items()]
    return [(n, d.description or f"kind {d.kind}") for n, d in cfg.datasets.items()]


def entries(what: str, config: str | Path | None = None) -> list[tuple[str, str]]:
    """``(name, short description)`` for every item of ``what`` (one of KINDS), sorted by name."""
    if what in ("suites", "presets", "datasets"):
        items = _from_config(what, config)
    elif what == "axes":
        from degradebench.generators.axes import AXES

        items = [(n, AXES.get(n).doc) for n in AXES]
    elif what == "ops":
        from degradebench.generators.ops import OPS

        ops = [(n, OPS.get(n)) for n in OPS]
        return [(n, f"{_short(op.doc)} [{', '.join(op.backends)}]") for n, op in ops]
    elif what == "models":
        from degradebench.evaluators.formats import BUILTIN_MODELS

        # a factory's module says what the model is; the factory says how it is built
        items = [(n, _doc(inspect.getmodule(BUILTIN_MODELS.get(n)))) for n in BUILTIN_MODELS]
    else:
        raise ConfigError(f"list: unknown kind {what!r}; allowed: {', '.join(KINDS)}")
    return sorted((n, _short(d)) for n, d in items)


def run(args: argparse.Namespace) -> int:
    rows = entries(args.what, args.config)
    width = max((len(n) for n, _ in rows), default=0)
    for name, desc in rows:
        print(f"{name:<{width}}  {desc}".rstrip())
    if args.what == "models":
        print(
            "also: --model pkg.module:function, file.py:function, or a TorchScript / "
            "torch.export (.pt2) / ONNX file",
            file=sys.stderr,
        )
    return 0
