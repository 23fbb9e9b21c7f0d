"""The Python API: the same report as the command line, for a file or a Keras model that
lives in memory (a notebook's), with inputs as paths or numpy arrays.

    import reportgen
    result = reportgen.report(model, inputs=x_test[:3], labels="classes.txt")
    result                      # shows the report in Jupyter
    result.save("audit.html")   # writes audit.html and audit.json
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from reportgen.errors import ReportInputError
from reportgen.i18n import LANGUAGES, language, msg, nmsg
from reportgen.option_types import OptionError
from reportgen.options import api_values
from reportgen.progress import Progress

NOTEBOOK_HEIGHT = 720  # px: the report scrolls inside its frame in a notebook cell
REPR_NAME_LIMIT = 60  # characters of the model's name in repr(report): it stays one short line


@dataclass(frozen=True)
class Report:
    """A finished report: `html` (one self-contained page) and `sidecar` (the JSON text)."""

    html: str
    sidecar: str

    @property
    def facts(self) -> dict:
        """Every number of the report, as the JSON sidecar holds them."""
        return json.loads(self.sidecar)

    def to_json(self) -> str:
        """The JSON sidecar's text."""
        return self.sidecar

    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write the page to `path` (.html) and the sidecar beside it (.json), both complete
        or neither; return their paths."""
        from reportgen.pipeline.output import Output

        return Output(Path(path), []).write(self.html, self.sidecar)

    def __repr__(self) -> str:
        """A line that says what the report is (a notebook or a log keeps it, not the page):
        the model, its layers and the alerts by severity, in the report's language."""
        facts = self.facts
        name = str(facts["model"].get("file") or "?")
        if len(name) > REPR_NAME_LIMIT:
            name = name[:REPR_NAME_LIMIT - 1] + "…"
        severities = [alert["severity"] for alert in facts["alerts"]]
        counts = nmsg("{layers}, {n} alert ({errors}, {warnings})",
                      "{layers}, {n} alerts ({errors}, {warnings})", len(severities),
                      layers=nmsg("{n} layer", "{n} layers", len(facts["layers"])),
                      errors=nmsg("{n} error", "{n} errors", severities.count("error")),
                      warnings=nmsg("{n} warning", "{n} warnings", severities.count("warning")))
        lang = facts.get("lang") if facts.get("lang") in LANGUAGES else None
        return f"<reportgen.Report of {name!r}: {counts.localised(lang)}>"

    def _repr_html_(self) -> str:
        """The report inside a notebook cell: in its own frame, so that its styles stay out
        of the notebook's and the notebook's out of it."""
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
                f'style="width: 100%; height: {NOTEBOOK_HEIGHT}px; border: 1px solid #ccc" '
                f'sandbox title="reportgen report"></iframe>')


def write(model_or_path: Any, output: str | Path, **arguments: Any) -> tuple[Path, Path]:
    """Write the report of a model (as `report` takes it) to `output` and its sidecar beside
    it; where they cannot be written, or would overwrite an input, it fails before any work.
    This is what the command line runs."""
    report(model_or_path, output=Path(output), **arguments)
    return Path(output), Path(output).with_suffix(".json")


def report(model_or_path: Any, *, inputs: Any = None,
           labels: str | Path | Iterable[str] | None = None, data: Any = None,
           data_labels: Any = None, quiet: bool = True, output: Path | None = None,
           progress: Progress | None = None, initial: dict | None = None,
           lang: str | None = None, **options: Any) -> Report:
    """The report of a model file (a path) or of a `keras.Model` in memory.

    `inputs`: a numpy array (a batch on the first axis when its rank is the model input's
    rank + 1, one sample when it is the input's rank), a path (`NAME=path` names a model
    input), a list or tuple of them, or a dict of model input names to any of these;
    `labels`: a file of class names or the names themselves; `data` and
    `data_labels`: a labelled sample as the command line's --data/--data-labels take it, or
    as two numpy arrays. Other keyword arguments are the command line's options in
    snake_case (`max_filters`, `kernel_scale`, `weights_only`, `input_scale`, ...).
    `initial` (layer path -> weights) replaces the fresh initialisation compared with, for
    a weights-only report of a model in memory (the training callback's). `lang` is the
    report's language, 'en' or 'ko' (default: Korean when LANG/LC_ALL is a Korean locale,
    else English); the JSON sidecar is the same in both but for its `lang`.
    """
    if lang is not None:
        lang = checked_options({"lang": lang})["lang"]
    with language(lang):
        return _report(model_or_path, inputs=inputs, labels=labels, data=data,
                       data_labels=data_labels, quiet=quiet, output=output, progress=progress,
                       initial=initial, **options)


def _report(model_or_path: Any, *, inputs: Any, labels, data: Any,
            data_labels: Any, quiet: bool, output: Path | None, progress: Progress | None,
            initial: dict | None, **options: Any) -> Report:
    """`report` in the language already set."""
    from reportgen.pipeline.output import Output
    from reportgen.pipeline.request import ReportRequest
    from reportgen.pipeline.run import build_report

    values = checked_options(options)
    model = in_memory_model(model_or_path)
    with tempfile.TemporaryDirectory(prefix="reportgen-api-") as scratch:
        folder = Path(scratch)
        request = ReportRequest(
            model_path=Path(model.name if model is not None else model_or_path),
            output=output or folder / "report.html",
            inputs=given_inputs(inputs, folder),
            labels_path=_labels_file(labels, folder),
            data_path=_array_file(data, folder / "data.npy"),
            data_labels_path=_array_file(data_labels, folder / "data-labels.npy"),
            values=values)
        target = Output(output, request.protected()) if output is not None else None
        progress = progress or Progress(quiet=quiet)
        rendered = build_report(request, progress, model=model, initial=initial)
        if target is not None:
            target.write(rendered.html, rendered.sidecar, progress,
                         rendered.card if values.get("card") else None)
    return Report(rendered.html, rendered.sidecar)


def in_memory_model(model_or_path: Any):
    """A model in memory as the Keras boundary hands it on (a KerasModel, or the weights a
    training callback held), or None for a file's path."""
    if isinstance(model_or_path, (str, Path)):
        return None
    from reportgen.load.keras.model import wrap
    from reportgen.load.keras.snapshot import HeldModel

    return model_or_path if isinstance(model_or_path, HeldModel) else wrap(model_or_path)


def checked_options(options: dict[str, Any]) -> dict[str, Any]:
    """The API's options by dest, checked as the command line checks them (a value an option
    does not take is a ReportInputError; an unknown keyword a TypeError)."""
    try:
        return api_values(options)
    except OptionError as exc:
        raise ReportInputError(str(exc)) from None


def given_inputs(inputs: Any, folder: Path) -> tuple:
    """`inputs=` as the command line's --input arguments (GivenInput): arrays are written to
    .npy files in `folder` first, and a dict's keys name the model inputs (--input NAME=FILE).
    How an array splits into samples is the files' rule (load/inputs.py): from the model's
    input shape, once the model is loaded."""
    from reportgen.load.samples import GivenInput, parse_input

    if inputs is None:
        return ()
    if isinstance(inputs, Mapping):
        named = [(_input_name(name), item) for name, value in inputs.items()
                 for item in _items(value, f"inputs[{name!r}]")]
    else:
        named = [(None, item) for item in _items(inputs, "inputs")]
    given = []
    for k, (name, item) in enumerate(named):
        if isinstance(item, np.ndarray):
            path = folder / f"input-{k}.npy"
            np.save(path, item, allow_pickle=False)
            given.append(GivenInput(name, path))
        elif name is None and isinstance(item, str):
            given.append(parse_input(item))  # "NAME=FILE", as on the command line
        else:
            given.append(GivenInput(name, Path(item)))
    return tuple(given)


def _items(value: Any, where: str) -> list:
    """One value of `inputs=` (an array, a path, or a list or tuple of them) as its items;
    `where` it was given names it in the error that refuses it."""
    if isinstance(value, (list, tuple)):
        return [_item(item, f"{where}[{k}]") for k, item in enumerate(value)]
    return [_item(value, where)]


def _item(item: Any, where: str) -> np.ndarray | str | os.PathLike:
    """A path as it is, or a numeric array (anything numpy can read as one, a tensor too);
    anything else is refused here, before numpy judges it by its truth value."""
    from reportgen.load.inputs import require_numbers, require_values

    if isinstance(item, (str, os.PathLike)):
        return item
    if hasattr(item, "__array__"):
        array = np.asarray(item)
        require_numbers(array.dtype, where)
        require_values(array.shape, array.dtype, where)
        return array
    raise ReportInputError(msg("{where}: {kind} is not an input; give a numpy array (one sample, "
                               "or a batch on the first axis), a file path, a list or tuple of "
                               "them, or a dict of model input names to them",
                               where=where, kind=type(item).__name__))


def _input_name(name: Any) -> str:
    """A key of an `inputs=` dict: the name of a model input."""
    if not isinstance(name, str) or not name:
        raise ReportInputError(msg("inputs: the key {key!r} is not the name of a model input "
                                   "(a string)", key=name))
    return name


def _labels_file(labels, folder: Path) -> Path | None:
    """A labels file: the one given, or one written from the names given."""
    if labels is None or isinstance(labels, (str, Path)):
        return Path(labels) if labels is not None else None
    path = folder / "labels.txt"
    path.write_text("".join(f"{name}\n" for name in labels), encoding="utf-8")
    return path


def _array_file(value, path: Path) -> Path | None:
    """A path as it is, or an array written to `path`."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        np.save(path, value, allow_pickle=False)
        return path
    return Path(value)
