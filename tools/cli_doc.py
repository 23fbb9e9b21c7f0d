"""docs/cli.md, generated from the option table (reportgen/options.py): every command's usage,
and every option with its default, its help and, where there is more to say, a paragraph.

    python3 tools/cli_doc.py          # rewrite docs/cli.md
    python3 tools/cli_doc.py --check  # exit 1 when docs/cli.md is not what the table gives

tests/test_docs.py runs the check, so the page cannot drift from the options.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reportgen.i18n import language  # noqa: E402
from reportgen.options import (BATCH, COMMANDS, COMPARE, HELP_VALUES, OPTIONS,  # noqa: E402
                               REPORT, build_parser, options_of)

TARGET = ROOT / "docs" / "cli.md"
# More than the help line says, by option dest (English, Markdown).
DETAILS = {
    "model": "A `.keras` (Keras 3 zip) or `.h5` (legacy HDF5, including files saved by Keras "
             "2.x). A Keras 3 sharded save (`save_weights(\"m.weights.json\", "
             "max_shard_size=...)`: the index and its `m_00000.weights.h5`, ... shards) is read "
             "as one file, given its index or any of its shards; with no architecture in it, the "
             "report is weights-only unless `--architecture` gives one.",
    "output": "An existing report is only replaced by a complete new one, and reportgen refuses "
              "to write over its own inputs (the model, the index of a shard given, `--input`, "
              "`--labels`, `--data`, `--data-labels`, `--architecture`).",
    "inputs": "PNG/JPEG images are resized and converted to the model's grayscale or RGB input; "
              "`.npy` arrays hold HxW, HxWxC or NxHxWxC values (integers for token ids). For a "
              "model with several inputs, `NAME=FILE` gives a file to the input called NAME; an "
              "input given no file gets the synthetic pattern, and an input given one sample is "
              "paired with every sample of the others. Without `--input`, every model input "
              "gets a deterministic synthetic test pattern (stripes, a ring, an edge, a "
              "gradient; token ids for Embedding inputs), and the report says so.",
    "data": "An `.npy` of N×H×W[×C] images with `--data-labels` (N integer labels), a folder "
            "with one sub-folder per class (the layout `keras.utils.image_dataset_from_directory` "
            "reads), or a CSV of `path,label` (an integer or a class name). Images are conformed "
            "to the model's input as `--input` files are and streamed through the model in "
            "batches. Adds the sections *Evaluation* (accuracy and top-5 with 95 % Wilson "
            "intervals, per-class scores, confusions, the most confident mistakes, calibration) "
            "and *What the units respond to* (dead channels and units over the whole sample, "
            "the per-class mean activation of the penultimate layer, and the images that "
            "activate the first filters of the first convolutions most).",
    "input_scale": "`auto` divides integer data (8-bit images) by 255 like the textbook's "
                   "`/ 255.0` and leaves float `.npy` data as it is.",
    "max_filters": "A cut is always stated (\"showing 64 of 512 filters (the first 64)\").",
    "max_map_layers": "Convolution, pooling, activation and recurrent layers, spread evenly "
                      "through the model when there are more; the report says so.",
    "max_inputs": "Feature maps and per-input statistics for the first N; predictions and the "
                  "per-channel activation statistics cover every input given.",
    "spectral_max_dim": "Only very large Dense layers such as VGG16's fc1 and fc2 are skipped "
                        "at the default.",
    "kernel_scale": "`auto` takes the 99.5th percentile of |w| (lower for small layers, so that "
                    "their few largest weights saturate), stated beside each picture; `0.5` "
                    "is exactly the textbook's `imshow(vmin=-0.5, vmax=0.5)`.",
    "cam_layer": "The section *Where the model looks* overlays, for each drawn input, Grad-CAM "
                 "and Grad-CAM++ of its top class (turbo at 45 % opacity, with a colour bar); "
                 "the score is the class's pre-softmax logit, taken without changing the "
                 "model.",
    "architecture": "The textbook's `model-weights.h5` beside `model-whole.h5`, say, or a "
                    "sharded save's `.weights.json` with its model's `to_json()`. The first "
                    "layer that does not fit is a one-line refusal; the report says which file "
                    "gave which part.",
    "weights_only": "Read straight from the HDF5 data with h5py: statistics, histograms and "
                    "weight images, no initialisation comparison, activations or prediction.",
    "trust_model": "Only for files you trust; the report and the JSON (`trusted`) say it was "
                   "used.",
    "demo": "With `-o`, its files go beside OUT.",
    "jobs": "Worker processes are spawned (TensorFlow is not fork-safe), import TensorFlow once "
            "each, and are replaced after 50 models or 2 GiB of memory growth; a worker that "
            "dies fails only its model.",
    "resume": "Also compares the language and the given files (by SHA-256) the report was made "
              "with, as `index.json` records them.",
    "scheduler": "Start a cluster with `dask scheduler` on one machine and `dask worker "
                 "tcp://HOST:8786 --nthreads 1` on each worker, in an environment with "
                 "reportgen installed.",
    "lang": "The page, its progress lines and its one-line errors. The numbers, the pictures "
            "and the JSON are the same in both languages.",
}
EXIT_CODES = """## Exit codes

`0` success; `2` bad usage, an unreadable or refused input (a missing, empty, corrupt or
hostile model file, an unreadable `--input`, …) or an output that cannot be written, with one
line on stderr naming the file and the problem; `1` an internal error (a bug: please report it
with `--debug` output); `130` interrupted (Ctrl-C), with nothing half-written. A Python package
missing from the environment is exit code `2` with one line naming it and the `pip install`
that fixes it. `reportgen batch` exits `3` when some models got no report.

Progress lines go to stderr. Set `SOURCE_DATE_EPOCH` to fix the generation time: two runs on
the same file and inputs then write byte-identical reports.
"""


def flags_text(option, command: str) -> str:
    """How an option is written: `-o, --output OUT.html`, or MODEL for a positional."""
    metavar = option.metavar_for(command)
    if not option.flags:
        return f"`{metavar or option.dest.upper()}`".replace("|", "\\|")
    taken = "" if option.action in ("store_true", "version") else f" {metavar or 'VALUE'}"
    return ("`" + ", ".join(option.flags) + taken + "`").replace("|", "\\|")


def default_text(option) -> str:
    """The default as the table shows it."""
    if option.action in ("store_true", "version", "append") or option.default in (None, ()):
        return ""
    return f"`{option.default}`"


def command_section(command: str) -> str:
    """A command's usage and its option table."""
    prog, description = COMMANDS[command]
    usage = build_parser(command).format_usage().replace("usage: ", "").strip()
    rows = ["| option | default | meaning |", "| --- | --- | --- |"]
    for option in options_of(command):
        meaning = option.help_for(command).format(**HELP_VALUES)
        # The paragraphs are the single report's; an option of one other command keeps its own.
        detail = DETAILS.get(option.dest, "") \
            if command == REPORT or REPORT not in option.commands else ""
        if option.setting:
            meaning += " *(a report setting)*"
        text = (f"{meaning}. {detail}" if detail else meaning).replace("|", "\\|")
        rows.append(f"| {flags_text(option, command)} | {default_text(option)} | {text} |")
    return f"## `{prog}`\n\n```\n{usage}\n```\n\n{description}\n\n" + "\n".join(rows) + "\n"


def render() -> str:
    """The whole page."""
    os.environ["COLUMNS"] = "100"  # argparse wraps the usage to the terminal: fix it
    with language("en"):
        sections = [command_section(command) for command in (REPORT, COMPARE, BATCH)]
    settings = ", ".join(f"`{option.dest}`" for option in OPTIONS if option.setting)
    return ("# The command line\n\n"
            "<!-- Generated by tools/cli_doc.py from the option table, reportgen/options.py. "
            "Do not edit by hand: edit the table, then run python3 tools/cli_doc.py. -->\n\n"
            "Every option is declared once, in `reportgen/options.py`; the three parsers, the "
            "Python API's keywords (the same names in snake_case, `architecture_path` for "
            "`--architecture`) and the JSON sidecar's `settings` come from it. The report's "
            f"settings, recorded in every sidecar and compared by `reportgen batch --resume`: "
            f"{settings}.\n\n" + "\n".join(sections) + "\n" + EXIT_CODES)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        same = TARGET.is_file() and TARGET.read_text(encoding="utf-8") == text
        print("docs/cli.md is current" if same else
              "docs/cli.md differs from the option table: run python3 tools/cli_doc.py")
        return 0 if same else 1
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
