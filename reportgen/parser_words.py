"""argparse's own words ("usage:", the group titles, its error messages) in the run's
language: argparse looks them up through the module's `_` and `ngettext` as it prints, so
the parser swaps in reportgen's catalog while it parses, prints help or fails, and puts
argparse's back afterwards (nothing changes outside those calls)."""

from __future__ import annotations

import argparse
import contextlib
from typing import Iterator, NoReturn

from reportgen.i18n import N_, gettext, ngettext

# The messages of argparse (Python 3.9-3.13) a user of reportgen can see, marked so that
# the catalog has them; argparse passes them to `_` itself.
WORDS = (N_("usage: "), N_("positional arguments"), N_("options"),
         N_("show this help message and exit"), N_("show program's version number and exit"),
         N_("%(prog)s: error: %(message)s\n"), N_("unrecognized arguments: %s"),
         N_("the following arguments are required: %s"),
         N_("argument %(argument_name)s: %(message)s"),
         N_("invalid choice: %(value)r (choose from %(choices)s)"),
         N_("expected one argument"), N_("expected at least one argument"),
         N_("expected at most one argument"), N_("invalid %(type)s value: %(value)r"),
         N_("ambiguous option: %(option)s could match %(matches)s"),
         N_("not allowed with argument %s"), N_("ignored explicit argument %r"))


@contextlib.contextmanager
def in_run_language() -> Iterator[None]:
    """argparse speaking the run's language for the duration."""
    saved = argparse._, argparse.ngettext
    argparse._, argparse.ngettext = gettext, ngettext
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help and errors are in the run's language."""

    def parse_args(self, args=None, namespace=None):
        with in_run_language():
            return super().parse_args(args, namespace)

    def parse_known_args(self, args=None, namespace=None):
        with in_run_language():
            return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        with in_run_language():
            return super().format_help()

    def format_usage(self) -> str:
        with in_run_language():
            return super().format_usage()

    def error(self, message: str) -> NoReturn:
        with in_run_language():
            super().error(message)
