"""The command line: parse options, run the pipeline, turn failures into exit codes."""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
import warnings
from dataclasses import fields
from pathlib import Path
from typing import Callable

from reportgen.version import __version__
from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import LANGUAGES, _, language, localised, msg
from reportgen.text import visible
from reportgen.options import Options
from reportgen.process import own_process
from reportgen.progress import Progress

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2
DEFAULT_OUTPUT_DIR = Path("output")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `reportgen` / `python -m reportgen`."""
    parser = argparse.ArgumentParser(
        prog="reportgen",
        description=_("Write a self-contained HTML report (and a JSON sidecar) of what a Keras "
                      "model's layers learned: weights, statistics against a fresh "
                      "initialisation, kernel images and feature maps."))
    parser.add_argument("model", nargs="?", type=Path,
                        help=_("a Keras model file: .keras (Keras 3) or .h5 (legacy HDF5)"))
    parser.add_argument("-o", "--output", type=Path,
                        help=_("the HTML report to write (default: output/<model name>.html); "
                               "the JSON sidecar goes beside it with the suffix .json"))
    parser.add_argument("--input", dest="inputs", action="append", default=[],
                        metavar="[NAME=]FILE",
                        help=_("a sample input: PNG/JPEG, or .npy of HxW, HxWxC or NxHxWxC "
                               "(repeatable); NAME=FILE gives a file to the model input NAME "
                               "(models with several inputs); default: a synthetic test pattern"))
    parser.add_argument("--labels", type=Path, metavar="FILE",
                        help=_("class names, one a line, for the predictions"))
    parser.add_argument("--data", type=Path, metavar="FILE.npy|DIR|FILE.csv",
                        help=_("a labelled sample to evaluate the model on: an .npy of images "
                               "(with --data-labels), a folder with one sub-folder per class, "
                               "or a CSV of path,label"))
    parser.add_argument("--data-labels", type=Path, metavar="FILE.npy",
                        help=_("the integer labels of an .npy --data sample"))
    parser.add_argument("--input-scale", default="auto", type=_scale, metavar="auto|NUMBER",
                        help=_("divide input values by this number; 'auto' (default) divides "
                               "integer data by 255 and leaves floats as they are"))
    parser.add_argument("--max-filters", type=positive, default=Options.max_filters, metavar="N",
                        help=_("filters shown per kernel mosaic (default 64)"))
    parser.add_argument("--max-channels", type=positive, default=Options.max_channels,
                        metavar="N",
                        help=_("input channels per kernel mosaic and feature maps per layer "
                               "(default 64)"))
    parser.add_argument("--max-map-layers", type=positive, default=Options.max_map_layers,
                        metavar="N",
                        help=_("layers whose feature maps are drawn, spread evenly through the "
                               "model (default 12); statistics always cover every layer"))
    parser.add_argument("--max-inputs", type=positive, default=Options.max_inputs, metavar="N",
                        help=_("inputs drawn (default 8); predictions and activation statistics "
                               "cover every input given"))
    parser.add_argument("--spectral-max-dim", type=positive, default=Options.spectral_max_dim,
                        metavar="N",
                        help=_("skip the spectral analysis of a weight matrix whose smaller side "
                               "exceeds N (default 2048; its cost grows as N cubed); the report "
                               "names each skipped layer"))
    parser.add_argument("--kernel-scale", default=Options.kernel_scale, type=_kernel_scale,
                        metavar="auto|NUMBER|layer",
                        help=_("weight colours: 'auto' (default) a symmetric scale per layer from "
                               "a robust maximum of its weights; NUMBER spans -NUMBER..NUMBER "
                               "(0.5 is the textbook's imshow(vmin=-0.5, vmax=0.5)); 'layer' "
                               "each layer's own largest weight"))
    parser.add_argument("--cam-layer", metavar="NAME",
                        help=_("the convolution layer Grad-CAM explains (default: the last one "
                               "whose output is larger than 1x1, nested models included)"))
    parser.add_argument("--architecture", type=Path, metavar="FILE",
                        help=_("take the architecture from FILE (a .keras, an .h5 with a model "
                               "config, or a model.to_json() file) and the weights from MODEL "
                               "(a save_weights file, say); layers are matched by name and shape"))
    parser.add_argument("--weights-only", action="store_true",
                        help=_("read the weights straight from the file (fast, no TensorFlow): "
                               "statistics, histograms and kernel images, no activations"))
    parser.add_argument("--trust-model", action="store_true",
                        help=_("turn Keras safe mode off, so Lambda layers and custom code in "
                               "the file can run; only for files you trust (the report says so)"))
    parser.add_argument("--demo", action="store_true",
                        help=_("train the textbook's CNN on generated shapes and report on it"))
    parser.add_argument("--lang", choices=LANGUAGES,
                        help=_("the report's language: en (English) or ko (Korean); default: "
                               "ko when LANG or LC_ALL is a Korean locale, else en"))
    parser.add_argument("-q", "--quiet", action="store_true", help=_("no progress lines"))
    parser.add_argument("--debug", action="store_true", help=_("show tracebacks of errors"))
    parser.add_argument("--version", action="version", version=f"reportgen {__version__}")
    return parser


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(_("{text!r} is not a whole number of at least 1").format(
            text=text))
    return int(text)


def _number(text: str) -> float:
    """A finite positive number, for scales."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(_("{text!r} is not a positive number").format(
            text=text))
    return value


def _scale(text: str) -> str:
    """An argparse type for --input-scale."""
    return text if text == "auto" else repr(_number(text))


def _kernel_scale(text: str) -> str:
    """An argparse type for --kernel-scale."""
    return text if text in ("auto", "layer") else repr(_number(text))


# `reportgen compare A B`, `reportgen batch PATH...`: each its own module and parser.
SUBCOMMANDS = {"compare": "reportgen.compare", "batch": "reportgen.batch"}


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
    args = build_parser().parse_args(argv)
    if args.model is None and not args.demo:
        build_parser().error(_("give a model file, or --demo"))
    progress = Progress(quiet=args.quiet)

    def work() -> int:
        written = run(args, progress)
        if not args.quiet:
            print("reportgen: " + _("wrote {html} and {json}").format(html=written[0],
                                                                      json=written[1]),
                  file=sys.stderr)
        return EXIT_OK

    return run_guarded(args, work)


def run_guarded(args: argparse.Namespace, work: Callable[[], int]) -> int:
    """work()'s exit code, or the exit code of what it raised, said in one line (the main
    command's and the subcommands' rules alike), in the language --lang asks for."""
    with language(getattr(args, "lang", None)):
        return _guarded(args, work)


def _guarded(args: argparse.Namespace, work: Callable[[], int]) -> int:
    """run_guarded in the run's language."""
    if args.quiet:
        # Library warnings (numpy, zipfile, Keras) are not ours to print when asked for quiet.
        warnings.simplefilter("ignore")
    try:
        return work()
    except ReportInputError as exc:
        return _fail(args, exc, EXIT_INPUT)
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("reportgen"):
            return _fail(args, exc, EXIT_INTERNAL, prefix=_("internal error: "))
        return _fail(args, MissingPackage(exc.name), EXIT_INPUT)  # installation, not a bug
    except KeyboardInterrupt:
        print("reportgen: " + _("interrupted"), file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:  # Anything else is our bug: say so in one line.
        return _fail(args, exc, EXIT_INTERNAL, prefix=_("internal error: "))


def run(args: argparse.Namespace, progress: Progress) -> tuple[Path, Path]:
    """Carry out the parsed options through the Python API (reportgen.api.write)."""
    from reportgen import api

    options = Options(max_filters=args.max_filters, max_channels=args.max_channels,
                      kernel_scale=args.kernel_scale, max_map_layers=args.max_map_layers,
                      max_inputs=args.max_inputs, spectral_max_dim=args.spectral_max_dim)
    if args.demo:
        from reportgen.demo import run_demo

        return run_demo(args.output, options, progress)
    output = args.output or DEFAULT_OUTPUT_DIR / f"{args.model.stem}.html"
    return api.write(args.model, output, inputs=args.inputs, labels=args.labels,
                     data=args.data, data_labels=args.data_labels, progress=progress,
                     input_scale=args.input_scale, weights_only=args.weights_only,
                     trust_model=args.trust_model, architecture_path=args.architecture,
                     cam_layer=args.cam_layer, lang=args.lang,
                     **{f.name: getattr(options, f.name) for f in fields(Options)})


class MissingPackage(Exception):
    """A package reportgen needs is not installed."""

    def __init__(self, name: str | None):
        package = PACKAGES.get((name or "").split(".")[0], name or "a required package")
        super().__init__(msg("the Python package {package!r} is not installed in this "
                             "environment ({python}): pip install {package}", package=package,
                             python=sys.executable))


# Import names whose package (pip name) differs.
PACKAGES = {"PIL": "pillow", "sklearn": "scikit-learn"}


def _fail(args: argparse.Namespace, exc: BaseException, code: int, prefix: str = "") -> int:
    """Report a failure in one line (a traceback only with --debug)."""
    if args.debug:
        traceback.print_exception(exc)
    print(f"reportgen: {prefix}{visible(localised(one_line(exc)))}", file=sys.stderr)
    return code
