"""The command line: parse options, run the report through the API, turn failures into exit
codes. `reportgen compare` and `reportgen batch` are modules of their own."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import NoReturn

from reportgen.commands import DEFAULT_OUTPUT_DIR, EXIT_INTERRUPTED, EXIT_OK, run_guarded
from reportgen.i18n import LANGUAGES, _, language
from reportgen.options import REPORT, api_keywords, build_parser, drawing_options
from reportgen.process import interrupt_on_ctrl_c, own_process
from reportgen.progress import Progress

# What --demo makes itself, so cannot be given with it (the model is the positional MODEL).
DEMO_MAKES = ("model", "inputs", "labels", "data", "data_labels", "data_root", "architecture",
              "trust_model", "weights_only", "vocabulary", "see_also")
# `reportgen compare A B`, `reportgen batch PATH...`: each its own module.
SUBCOMMANDS = {"compare": "reportgen.compare", "batch": "reportgen.batch"}


def entry() -> NoReturn:
    """The `reportgen` command and `python -m reportgen`: main's code as the exit status."""
    interrupt_on_ctrl_c()
    code = main()
    if code == EXIT_INTERRUPTED:
        # Ctrl-C can land inside TensorFlow's import, whose half-built state crashes the
        # interpreter's shutdown (signal 11 instead of 130): leave without it. Everything
        # reportgen writes is already finished or removed by then.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    own_process()
    argv = sys.argv[1:] if argv is None else list(argv)
    # The language is known before the parser is built, so that its help is in it too.
    with language(lang_option(argv)):
        return _main(argv)


def lang_option(argv: list[str]) -> str | None:
    """The --lang given on the command line (a valid one; argparse refuses the others), or
    None for the locale's."""
    for k, arg in enumerate(argv):
        if arg == "--":
            break
        value = arg.split("=", 1)[1] if arg.startswith("--lang=") else \
            argv[k + 1] if arg == "--lang" and k + 1 < len(argv) else None
        if value in LANGUAGES:
            return value
    return None


def _main(argv: list[str]) -> int:
    """main() in the run's language."""
    if argv and argv[0] in SUBCOMMANDS:
        return importlib.import_module(SUBCOMMANDS[argv[0]]).main(argv[1:])
    parser = build_parser(REPORT)
    args = parser.parse_args(argv)
    if args.model is None and not args.demo:
        parser.error(_("give a model file, or --demo"))
    given = [f"--{name.replace('_', '-')}" for name in DEMO_MAKES if getattr(args, name, None)]
    if args.demo and given:
        # Ignored, they would mislead (the report is not of that data) and -o could write
        # the sidecar over a file the user thought was read.
        parser.error(_("--demo makes its own model, inputs and labelled sample: it does not "
                       "take {options}").format(options=", ".join(given)))
    progress = Progress(quiet=args.quiet)

    def work() -> int:
        written = run(args, progress)
        if not args.quiet:
            print("reportgen: " + _("wrote {html} and {json}").format(html=written[0],
                                                                      json=written[1]),
                  file=sys.stderr)
        return EXIT_OK

    return run_guarded(args, work)


def run(args: argparse.Namespace, progress: Progress) -> tuple[Path, Path]:
    """Carry out the parsed options through the Python API (reportgen.api.write)."""
    from reportgen import api

    if args.demo:
        from reportgen.demo import run_demo

        return run_demo(args.output, drawing_options(vars(args)), progress)
    output = args.output or DEFAULT_OUTPUT_DIR / f"{args.model.stem}.html"
    return api.write(args.model, output, progress=progress, **api_keywords(vars(args), REPORT))
