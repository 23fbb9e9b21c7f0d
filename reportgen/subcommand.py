"""What `reportgen compare` and `reportgen batch` share with the main command: the -q and
--debug options, and every failure ending as one line on stderr and an exit code (cli.py's
run_guarded, by the same rules)."""

from __future__ import annotations

import argparse

from reportgen.cli import run_guarded
from reportgen.i18n import _

__all__ = ["add_common_options", "run_guarded"]


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """-q and --debug, as the main command has them."""
    parser.add_argument("-q", "--quiet", action="store_true", help=_("no progress lines"))
    parser.add_argument("--debug", action="store_true", help=_("show tracebacks of errors"))
