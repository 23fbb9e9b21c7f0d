"""Every option of every command, declared once.

`OPTIONS` is the table: for each option its flags, type, default, help text (English, shown
in the run's language), the commands that take it (`report`, `compare`, `batch`), its
keyword in the Python API, and whether it is one of the report's settings (recorded in the
sidecar's `settings`, and compared by `reportgen batch --resume`). From it come the argparse
parsers of the three commands (`build_parser`), the API's keyword check (`api_values`), the
sidecar's settings and the resume key (`settings`), and docs/cli.md (`tools/cli_doc.py`).

`Options` is the part the drawing stages read (caps and the colour scale): plain data,
importable without numpy.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable

from reportgen.i18n import N_, _
from reportgen.option_types import (OptionError, input_scale, kernel_scale, language_name,
                                    positive, projection_name, style_name)
from reportgen.parser_words import Parser, in_run_language
from reportgen.version import __version__

REPORT, COMPARE, BATCH = "report", "compare", "batch"
EVERY = frozenset((REPORT, COMPARE, BATCH))
# The images of a labelled sample that `compare` runs both models on (every layer output of
# every image is kept for CKA).
COMPARE_DATA_IMAGES = 256


@dataclass(frozen=True)
class Options:
    """The drawing options: caps and the kernel colour scale (a number, or 'layer')."""

    max_filters: int = 64
    max_channels: int = 64
    kernel_scale: str = "auto"
    max_map_layers: int = 12
    max_inputs: int = 8
    spectral_max_dim: int = 2048
    style: str = "default"  # or "book": the chapter's look (STYLES)


@dataclass(frozen=True)
class Option:
    """One option. `flags` empty makes a positional argument. `help` is one text, or a text
    per command where they differ. `api` is the Python API's keyword (None: not in the API);
    `setting` marks the report's settings."""

    dest: str
    flags: tuple[str, ...]
    help: str | dict[str, str]
    commands: frozenset[str] = EVERY
    type: Callable[[str], Any] | None = None
    default: Any = None
    metavar: str | dict[str, str] | None = None
    action: str = "store"
    nargs: str | None = None
    required: bool = False
    api: str | None = None
    setting: bool = False

    def help_for(self, command: str) -> str:
        """The help text of this option in `command`, in English (the msgid)."""
        return self.help[command] if isinstance(self.help, dict) else self.help

    def metavar_for(self, command: str) -> str | None:
        return self.metavar.get(command) if isinstance(self.metavar, dict) else self.metavar


INPUT_HELP = {
    REPORT: N_("a sample input: PNG/JPEG, or .npy of HxW, HxWxC or NxHxWxC (repeatable); "
               "NAME=FILE gives a file to the model input NAME (models with several inputs); "
               "default: a synthetic test pattern"),
    COMPARE: N_("a sample input (PNG/JPEG or .npy, repeatable) both models are run on; at "
                "least 4 samples for CKA. Needs TensorFlow"),
    BATCH: N_("a sample input every model is run on (repeatable), as for a single report"),
}
DATA_HELP = {
    REPORT: N_("a labelled sample to evaluate the model on: an .npy of images (with "
               "--data-labels), a folder with one sub-folder per class, or a CSV of path,label"),
    COMPARE: N_("a labelled sample (as for a single report) both models are run on: their "
                "accuracy, agreement and CKA over up to {n} of its images, evenly spaced. "
                "Needs TensorFlow"),
    BATCH: N_("a labelled sample every model is evaluated on, as for a single report; the "
              "index gets an accuracy column"),
}
OUTPUT_HELP = {
    REPORT: N_("the HTML report to write (default: output/<model name>.html); the JSON "
               "sidecar goes beside it with the suffix .json"),
    COMPARE: N_("the page to write (default: output/<A>-vs-<B>.html); the JSON sidecar goes "
                "beside it"),
    BATCH: N_("where index.html and index.json go, and the reports (in OUTDIR/reports) unless "
              "--shared-output is given"),
}
LANG_HELP = {
    REPORT: N_("the report's language: en (English) or ko (Korean); default: ko when LANG or "
               "LC_ALL is a Korean locale, else en"),
    COMPARE: N_("the page's language: en (English) or ko (Korean); default: ko when LANG or "
                "LC_ALL is a Korean locale, else en"),
    BATCH: N_("the reports' and the index's language: en (English) or ko (Korean); default: ko "
              "when LANG or LC_ALL is a Korean locale, else en"),
}
DRAWING = frozenset((REPORT, BATCH))

OPTIONS: tuple[Option, ...] = (
    Option("model", (), N_("a Keras model file: .keras (Keras 3), .h5 (legacy HDF5), or the "
                           ".weights.json index (or any shard) of a sharded save_weights"),
           frozenset((REPORT,)), Path, nargs="?"),
    Option("model_a", (), N_("the earlier checkpoint"), frozenset((COMPARE,)), Path,
           metavar="A"),
    Option("model_b", (), N_("the later checkpoint"), frozenset((COMPARE,)), Path, metavar="B"),
    Option("paths", (), N_("model files, folders (their .h5, .hdf5 and .keras files, "
                           "recursively) or glob patterns"), frozenset((BATCH,)), nargs="+",
           metavar="PATH"),
    Option("output", ("-o", "--output"), OUTPUT_HELP, EVERY, Path,
           metavar={REPORT: "OUT.html", COMPARE: "OUT.html", BATCH: "OUTDIR"}),
    Option("inputs", ("--input",), INPUT_HELP, EVERY, action="append", default=(),
           metavar="[NAME=]FILE", api="inputs"),
    Option("labels", ("--labels",), {
        REPORT: N_("class names, one a line, for the predictions"),
        BATCH: N_("class names, one a line, for every model's predictions")},
        DRAWING, Path, metavar="FILE", api="labels"),
    Option("data", ("--data",), DATA_HELP, EVERY, Path, metavar="FILE.npy|DIR|FILE.csv",
           api="data"),
    Option("data_labels", ("--data-labels",), N_("the integer labels of an .npy --data sample"),
           EVERY, Path, metavar="FILE.npy", api="data_labels"),
    Option("data_root", ("--data-root",),
           N_("the folder a CSV sample's image paths may lead into (default: the CSV's own "
              "folder); images elsewhere are left out and said"),
           EVERY, Path, metavar="DIR", api="data_root"),
    Option("input_scale", ("--input-scale",),
           N_("divide input values by this number; 'auto' (default) divides integer data by "
              "255 and leaves floats as they are"),
           DRAWING, input_scale, "auto", "auto|NUMBER", api="input_scale", setting=True),
    Option("max_filters", ("--max-filters",), N_("filters shown per kernel mosaic (default 64)"),
           DRAWING, positive, Options.max_filters, "N", api="max_filters", setting=True),
    Option("max_channels", ("--max-channels",),
           N_("input channels per kernel mosaic and feature maps per layer (default 64)"),
           DRAWING, positive, Options.max_channels, "N", api="max_channels", setting=True),
    Option("max_map_layers", ("--max-map-layers",),
           N_("layers whose feature maps are drawn, spread evenly through the model (default "
              "12); statistics always cover every layer"),
           DRAWING, positive, Options.max_map_layers, "N", api="max_map_layers", setting=True),
    Option("max_inputs", ("--max-inputs",),
           N_("inputs drawn (default 8); predictions and activation statistics cover every "
              "input given"),
           DRAWING, positive, Options.max_inputs, "N", api="max_inputs", setting=True),
    Option("spectral_max_dim", ("--spectral-max-dim",),
           N_("skip the spectral analysis of a weight matrix whose smaller side exceeds N "
              "(default 2048; its cost grows as N cubed); the report names each skipped layer"),
           DRAWING, positive, Options.spectral_max_dim, "N", api="spectral_max_dim",
           setting=True),
    Option("kernel_scale", ("--kernel-scale",),
           N_("weight colours: 'auto' (default) a symmetric scale per layer from a robust "
              "maximum of its weights; NUMBER spans -NUMBER..NUMBER (0.5 is the textbook's "
              "imshow(vmin=-0.5, vmax=0.5)); 'layer' each layer's own largest weight"),
           DRAWING, kernel_scale, Options.kernel_scale, "auto|NUMBER|layer",
           api="kernel_scale", setting=True),
    Option("style", ("--style",),
           N_("the pictures' look: 'default' (kernels in diverging colours at a robust "
              "scale) or 'book', the chapter's own figures (kernels in viridis at exactly "
              "-0.5..0.5, as its imshow(vmin=-0.5, vmax=0.5), and a section that follows the "
              "chapter step by step)"),
           DRAWING, style_name, Options.style, "default|book", api="style", setting=True),
    Option("cam_layer", ("--cam-layer",),
           N_("the convolution layer Grad-CAM explains (default: the last one whose output is "
              "larger than 1x1, nested models included)"),
           frozenset((REPORT,)), metavar="NAME", api="cam_layer"),
    Option("max_visualised", ("--max-visualised",),
           N_("filters of each visualised layer whose preferred input is drawn (default 8)"),
           DRAWING, positive, 8, "N", api="max_visualised", setting=True),
    Option("visualise_layers", ("--visualise-layer",),
           N_("a convolution layer whose filters' preferred inputs are drawn (repeatable; "
              "default: the first and the last convolution with a spatial output)"),
           frozenset((REPORT,)), action="append", default=(), metavar="NAME",
           api="visualise_layers"),
    Option("projection", ("--projection",),
           N_("how the map of the representation places a labelled sample's inputs in 2-D: "
              "'pca' (default) or 'tsne' (t-SNE over at most 2,000 inputs, slower)"),
           DRAWING, projection_name, "pca", "pca|tsne", api="projection", setting=True),
    Option("vocabulary", ("--vocabulary",),
           N_("a text file of tokens, one a line (line k is token id k), to show a token "
              "model's inputs as words"), DRAWING, Path, metavar="FILE", api="vocabulary"),
    Option("card", ("--card",),
           N_("also write a model card, OUT.card.md (Markdown with the YAML front matter the "
              "Hugging Face Hub reads), filled from the audit"),
           DRAWING, action="store_true", default=False, api="card"),
    Option("see_also", ("--see-also",),
           N_("link another report (its HTML file) from this report's header, as a path "
              "relative to this report (repeatable; the file may be written later)"),
           frozenset((REPORT,)), action="append", default=(), metavar="REPORT",
           api="see_also"),
    Option("architecture", ("--architecture",),
           N_("take the architecture from FILE (a .keras, an .h5 with a model config, or a "
              "model.to_json() file) and the weights from MODEL (a save_weights file, say); "
              "layers are matched by name and shape"),
           frozenset((REPORT,)), Path, metavar="FILE", api="architecture_path"),
    Option("weights_only", ("--weights-only",),
           N_("read the weights straight from the file (fast, no TensorFlow): statistics, "
              "histograms and kernel images, no activations"),
           frozenset((REPORT,)), action="store_true", default=False, api="weights_only"),
    Option("trust_model", ("--trust-model",),
           N_("turn Keras safe mode off, so Lambda layers and custom code in the file can run; "
              "only for files you trust (the report says so)"),
           frozenset((REPORT,)), action="store_true", default=False, api="trust_model",
           setting=True),
    Option("demo", ("--demo",),
           N_("train the textbook's CNN on generated shapes and report on it"),
           frozenset((REPORT,)), action="store_true", default=False),
    Option("jobs", ("--jobs",), N_("worker processes (default: the number of cores)"),
           frozenset((BATCH,)), positive, metavar="N"),
    Option("resume", ("--resume",),
           N_("skip a model whose report (and, with --card, its card) exists for the same "
              "file contents (SHA-256) and settings"), frozenset((BATCH,)), action="store_true", default=False),
    Option("scheduler", ("--scheduler",),
           N_("make the reports on the Dask cluster whose scheduler is at ADDRESS "
              "(tcp://host:8786) instead of local processes; needs pip install "
              "\"reportgen[dask]\" and the model files readable by the workers at the same "
              "paths"), frozenset((BATCH,)), metavar="ADDRESS"),
    Option("shared_output", ("--shared-output",),
           N_("the workers write the reports into DIR (a folder every worker and this machine "
              "see) instead of returning them to OUTDIR"), frozenset((BATCH,)), Path,
           metavar="DIR"),
    Option("lang", ("--lang",), LANG_HELP, EVERY, language_name, metavar="en|ko", api="lang"),
    Option("quiet", ("-q", "--quiet"), N_("no progress lines"), EVERY, action="store_true",
           default=False),
    Option("debug", ("--debug",), N_("show tracebacks of errors"), EVERY, action="store_true",
           default=False),
    Option("version", ("--version",), N_("show the version and exit"), frozenset((REPORT,)),
           action="version"),
)

COMMANDS = {
    REPORT: ("reportgen", N_("Write a self-contained HTML report (and a JSON sidecar) of what "
                             "a Keras model's layers learned: weights, statistics against a "
                             "fresh initialisation, kernel images and feature maps.")),
    COMPARE: ("reportgen compare",
              N_("Compare two checkpoints of one architecture layer by layer: relative change, "
                 "cosine similarity, std and spectra of every weight, kernel images of A, B and "
                 "B - A; with --input, prediction agreement and CKA between the layers' "
                 "outputs. Writes an HTML page and a JSON sidecar.")),
    BATCH: ("reportgen batch",
            N_("Report on many models at once: one report per model and an index "
               "(OUTDIR/index.html, index.json) with trend charts for checkpoint series. Exit "
               "code 0 when every model got a report, 3 when some did not.")),
}
HELP_VALUES = {"n": COMPARE_DATA_IMAGES}


def options_of(command: str) -> tuple[Option, ...]:
    """The options `command` takes, in the table's order."""
    return tuple(option for option in OPTIONS if command in option.commands)


def build_parser(command: str) -> argparse.ArgumentParser:
    """The argparse parser of a command, its texts in the run's language."""
    prog, description = COMMANDS[command]
    with in_run_language():  # the group titles and -h's help are argparse's, made here
        parser = Parser(prog=prog, description=_(description))
    for option in options_of(command):
        parser.add_argument(*(option.flags or (option.dest,)), **_arguments(option, command))
    return parser


def _arguments(option: Option, command: str) -> dict:
    """add_argument's keywords for one option in one command."""
    found: dict[str, Any] = {"help": _(option.help_for(command)).format(**HELP_VALUES)}
    if option.action == "version":
        return found | {"action": "version", "version": f"reportgen {__version__}"}
    if option.flags:
        found["dest"] = option.dest
    if option.action != "store":
        found["action"] = option.action
    if option.action == "append":
        found["default"] = []
    elif option.action != "store_true" or option.default is not None:
        found["default"] = option.default
    for key in ("type", "nargs", "metavar"):
        value = option.metavar_for(command) if key == "metavar" else getattr(option, key)
        if value is not None:
            found[key] = value
    if option.dest == "output" and command == BATCH:
        found["required"] = True
    return found


def option_default(dest: str) -> Any:
    """The default of the option whose dest this is."""
    return next(option.default for option in OPTIONS if option.dest == dest)


def api_values(keywords: dict[str, Any]) -> dict[str, Any]:
    """The API's keyword arguments checked and converted as the command line converts its
    text: by dest. TypeError for an unknown keyword, OptionError for a value the option does
    not take."""
    by_keyword = {option.api: option for option in OPTIONS if option.api}
    unknown = sorted(set(keywords) - set(by_keyword))
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(unknown)} (known: {sorted(by_keyword)})")
    found = {}
    for keyword, value in keywords.items():
        option = by_keyword[keyword]
        found[option.dest] = _api_value(option, value)
    return found


def _api_value(option: Option, value: Any) -> Any:
    """One API value as the option takes it."""
    if value is None or option.action == "append":
        return value
    if option.action == "store_true":
        return bool(value)
    if option.type is None or option.type is Path:
        return Path(value) if option.type is Path else value
    try:  # as the command line's text: 64 is "64"; 64.0 and True are not whole numbers
        return option.type(str(value))
    except argparse.ArgumentTypeError as exc:
        raise OptionError(f"{option.api}={value!r}: {exc}") from None


def api_keywords(values: dict[str, Any], command: str) -> dict[str, Any]:
    """The API keywords of a command's parsed values (by dest), for those the API takes."""
    return {option.api: values[option.dest] for option in options_of(command)
            if option.api and option.dest in values}


def drawing_options(values: dict[str, Any]) -> Options:
    """The drawing stages' Options from option values by dest (defaults where missing)."""
    return Options(**{f.name: values.get(f.name, getattr(Options, f.name))
                      for f in fields(Options)})


def settings(values: dict[str, Any]) -> dict[str, Any]:
    """The report's settings: the sidecar's `settings`, and what `reportgen batch --resume`
    compares. Every setting option, from `values` (by dest) or its default."""
    return {option.dest: values.get(option.dest, option.default)
            for option in OPTIONS if option.setting}

