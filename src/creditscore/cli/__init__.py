"""The ``creditscore`` command line: the only place commands are defined.

One module per group of commands, each adding its commands to the one Typer ``app``
(:mod:`creditscore.cli.app`); importing this package registers them all, in the order
``--help`` lists them.
"""

from __future__ import annotations

import importlib
import os
import sys

from creditscore.cli.app import app, err_console
from creditscore.cli.common import plain
from creditscore.exceptions import CreditScoreError

__all__ = ["app", "main"]

#: Command modules, in the order ``creditscore --help`` lists their commands.
COMMAND_MODULES = (
    "project",
    "training",
    "governance",
    "serving",
    "explaining",
    "scoring",
    "monitoring",
)
for _module in COMMAND_MODULES:
    importlib.import_module(f"creditscore.cli.{_module}")


def main() -> None:
    """Entry point: user mistakes print one clear message and exit 2, never a traceback."""
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    try:
        app()
    except CreditScoreError as exc:
        err_console.print(f"[bold red]error:[/bold red] {plain(exc)}")
        sys.exit(2)
