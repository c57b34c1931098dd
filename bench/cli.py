"""The ``degradebench`` command: a thin layer over the Python API (``import degradebench as db``).

Each subcommand lives in ``bench/_cmd_<name>.py`` and is registered in ``degradebench.commands``;
its ``add_parser(subparsers)`` sets ``func`` to a ``run(args) -> int``."""

from __future__ import annotations

import argparse
import importlib.util
import sys

from degradebench import __version__
from degradebench.commands import BUILTIN, COMMANDS
from degradebench.generators.core.errors import DegradebenchError

__all__ = ["main", "build_parser"]


def _available(name: str) -> bool:
    """False for a registered built-in whose module is not in this tree (work in progress)."""
    target = BUILTIN.get(name)
    return target is None or importlib.util.find_spec(target.partition(":")[0]) is not None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered command (in name order)."""
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
    for name in COMMANDS:
        if _available(name):
            COMMANDS.get(name)(sub)
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
    """Run the command line; return the exit status (2 for a handled error, with one line)."""
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
