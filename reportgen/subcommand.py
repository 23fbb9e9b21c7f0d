"""What `reportgen compare` and `reportgen batch` share with the main command: every failure
ends as one line on stderr and an exit code (cli.py's, by the same rules)."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Callable

from reportgen.cli import EXIT_INPUT, EXIT_INTERNAL, MissingPackage, _fail
from reportgen.errors import ReportInputError


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """-q and --debug, as the main command has them."""
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")


def run_guarded(args: argparse.Namespace, work: Callable[[], int]) -> int:
    """work()'s exit code, or the exit code of what it raised, said in one line."""
    if args.quiet:
        # Library warnings (numpy, zipfile, Keras) are not ours to print when asked for quiet.
        warnings.simplefilter("ignore")
    try:
        return work()
    except ReportInputError as exc:
        return _fail(args, exc, EXIT_INPUT)
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("reportgen"):
            return _fail(args, exc, EXIT_INTERNAL, prefix="internal error: ")
        return _fail(args, MissingPackage(exc.name), EXIT_INPUT)  # installation, not a bug
    except KeyboardInterrupt:
        print("reportgen: interrupted", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:  # Anything else is our bug: say so in one line.
        return _fail(args, exc, EXIT_INTERNAL, prefix="internal error: ")
