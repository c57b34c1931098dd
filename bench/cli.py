"""The ``degradebench`` command. Each subcommand lives in ``bench/_cmd_<name>.py`` and exposes
``add_parser(subparsers)``; the parser it adds sets ``func`` to a ``run(args) -> int``."""

from __future__ import annotations

import argparse
import importlib
import sys

from degradebench import __version__
from degradebench.generators.core.errors import DegradebenchError

__all__ = ["main", "build_parser"]

# Order = order in --help. A module that is missing (work in progress) is skipped.
_COMMANDS = (
    "_cmd_generate",
    "_cmd_verify",
    "_cmd_agreement",
    "_cmd_evaluate",
    "_cmd_report",
    "_cmd_demo",
    "_cmd_train",
    "_cmd_datasets",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="degradebench",
        description=(
            "Synthesize controlled, recorded degradations of image datasets (JPEG ladders, "
            "double JPEG, grid-shifting crops, ...) and benchmark how image models hold up."
        ),
        epilog="Run 'degradebench COMMAND --help' for a command's options. "
        "Quick start: 'degradebench demo'.",
    )
    parser.add_argument("--version", action="version", version=f"degradebench {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks for handled errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        try:
            mod = importlib.import_module(f"degradebench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"degradebench.{name}":
                continue
            raise
        mod.add_parser(sub)
    return parser


MAX_MESSAGE = 2000


def _one_line(exc: BaseException) -> str:
    """An error message as one line of at most MAX_MESSAGE characters (a message may quote a
    value that is megabytes long or holds line breaks)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if len(text) > MAX_MESSAGE:
        text = f"{text[:MAX_MESSAGE]}... ({len(text) - MAX_MESSAGE} more characters; --debug shows all)"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except DegradebenchError as exc:
        if args.debug:
            raise
        print(f"degradebench {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # the environment (disk full, permissions), not a bug: no traceback
        if args.debug:
            raise
        print(f"degradebench {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"degradebench {args.command}: interrupted; rerun the same command to resume",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
