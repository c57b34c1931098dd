"""The ``degradebench`` subcommands, registered by name like ops, axes and model formats.

A command is a callable ``add_parser(subparsers)`` that adds its parser and sets ``func`` to a
``run(args) -> int``. Built-ins are lazy ``"module:attr"`` targets, so ``degradebench --help``
imports only the small ``_cmd_*`` modules (each keeps its heavy imports inside ``run``). A
plug-in adds one with ``COMMANDS.register("name", "mypkg.cli:add_parser")`` before ``main()``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from degradebench.generators.core.registry import Registry

__all__ = ["COMMANDS", "BUILTIN", "AddParser"]

AddParser = Callable[[argparse._SubParsersAction], object]

COMMANDS: Registry[AddParser] = Registry("command")

# Name -> lazy target of every built-in command (``--help`` lists them in name order).
BUILTIN = {
    "agreement": "degradebench._cmd_agreement:add_parser",
    "build-dataset": "degradebench._cmd_datasets:add_parser",
    "demo": "degradebench._cmd_demo:add_parser",
    "evaluate": "degradebench._cmd_evaluate:add_parser",
    "generate": "degradebench._cmd_generate:add_parser",
    "list": "degradebench._cmd_list:add_parser",
    "report": "degradebench._cmd_report:add_parser",
    "sheet": "degradebench._cmd_sheet:add_parser",
    "train-matrix": "degradebench._cmd_matrix:add_parser",
    "train-reference": "degradebench._cmd_train:add_parser",
    "verify": "degradebench._cmd_verify:add_parser",
}
for _name, _target in BUILTIN.items():
    COMMANDS.register(_name, _target)
