"""The ``degradebench`` command: a thin layer over the Python API (``import degradebench as db``).

Each subcommand lives in ``bench/_cmd_<name>.py`` and is registered in ``degradebench.commands``;
its ``add_parser(subparsers)`` sets ``func`` to a ``run(args) -> int``."""

from __future__ import annotations

import argparse
import importlib.util
import os
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
        rc = int(args.func(args) or 0)
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
    if argv is None and rc == 0 and getattr(args, "quick_exit", False):
        _quick_exit(rc)
    return rc


def _quick_exit(rc: int) -> None:
    """End the process now, skipping the interpreter's teardown (unloading torch and CUDA takes
    0.5-2 s after the work is done and the results are on disk). Only for a program run
    (``argv`` None) of a command that asks for it (``quick_exit``: evaluate without Dask), and
    only when no child process or non-daemon thread is left; ``DEGRADEBENCH_FULL_EXIT=1`` keeps
    the normal exit (atexit handlers of a model's own code, coverage of a subprocess)."""
    import threading

    if os.environ.get("DEGRADEBENCH_FULL_EXIT") == "1":
        return
    mp = sys.modules.get("multiprocessing")
    if mp is not None and mp.active_children():
        return
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()
           if t is not threading.main_thread()):  # fmt: skip
        return
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


if __name__ == "__main__":
    raise SystemExit(main())
