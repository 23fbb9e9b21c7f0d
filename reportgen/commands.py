"""What the three commands (`reportgen`, `reportgen compare`, `reportgen batch`) share: the
default output folder, and every failure ending as one line on stderr and an exit code."""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from pathlib import Path
from typing import Callable

from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import _, language, localised, msg
from reportgen.process import was_interrupted
from reportgen.text import visible

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_OUTPUT_DIR = Path("output")
# Import names whose package (pip name) differs.
PACKAGES = {"PIL": "pillow", "sklearn": "scikit-learn"}


def run_guarded(args: argparse.Namespace, work: Callable[[], int]) -> int:
    """work()'s exit code, or the exit code of what it raised, said in one line, in the
    language --lang asks for."""
    with language(getattr(args, "lang", None)):
        return _guarded(args, work)


def _guarded(args: argparse.Namespace, work: Callable[[], int]) -> int:
    """run_guarded in the run's language."""
    if args.quiet:
        # Library warnings (numpy, zipfile, Keras) are not ours to print when asked for quiet.
        warnings.simplefilter("ignore")
    try:
        return work()
    except KeyboardInterrupt:
        return _say_interrupted()
    except Exception as exc:
        # Ctrl-C landing inside a library's C code can come out as another error (h5py's
        # lock turned it into "SystemError: ... returned a result with an exception set",
        # read as an unreadable file): once it was pressed, the run was interrupted.
        if was_interrupted():
            return _say_interrupted()
        return _failure(args, exc)


def _say_interrupted() -> int:
    print("reportgen: " + _("interrupted"), file=sys.stderr)
    return EXIT_INTERRUPTED


def _failure(args: argparse.Namespace, exc: Exception) -> int:
    """The exit code for what work() raised, said in one line."""
    if isinstance(exc, ReportInputError):
        return _fail(args, exc, EXIT_INPUT)
    if isinstance(exc, ModuleNotFoundError) and not (exc.name or "").startswith("reportgen"):
        return _fail(args, MissingPackage(exc.name), EXIT_INPUT)  # installation, not a bug
    # Anything else is our bug: say so in one line.
    return _fail(args, exc, EXIT_INTERNAL, prefix=_("internal error: "))


class MissingPackage(Exception):
    """A package reportgen needs is not installed."""

    def __init__(self, name: str | None):
        package = PACKAGES.get((name or "").split(".")[0], name or "a required package")
        super().__init__(msg("the Python package {package!r} is not installed in this "
                             "environment ({python}): pip install {package}", package=package,
                             python=sys.executable))


def _fail(args: argparse.Namespace, exc: BaseException, code: int, prefix: str = "") -> int:
    """Report a failure in one line (a traceback only with --debug)."""
    if args.debug:
        traceback.print_exception(exc)
    print(f"reportgen: {prefix}{visible(localised(one_line(exc)))}", file=sys.stderr)
    return code
