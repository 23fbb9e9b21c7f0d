"""The Python API: the same report as the command line, for a file or a Keras model that
lives in memory (a notebook's), with inputs as paths or numpy arrays.

    import reportgen
    result = reportgen.report(model, inputs=[x_test[:3]], labels="classes.txt")
    result                      # shows the report in Jupyter
    result.save("audit.html")   # writes audit.html and audit.json
"""

from __future__ import annotations

import html
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from reportgen.errors import ReportInputError
from reportgen.i18n import language
from reportgen.options import OptionError, api_values
from reportgen.progress import Progress

NOTEBOOK_HEIGHT = 720  # px: the report scrolls inside its frame in a notebook cell


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


def report(model_or_path: Any, *, inputs: Iterable | None = None,
           labels: str | Path | Iterable[str] | None = None, data: Any = None,
           data_labels: Any = None, quiet: bool = True, output: Path | None = None,
           progress: Progress | None = None, initial: dict | None = None,
           lang: str | None = None, **options: Any) -> Report:
    """The report of a model file (a path) or of a `keras.Model` in memory.

    `inputs`: paths, `NAME=path` strings, or numpy arrays (one sample, or a batch on the
    first axis); `labels`: a file of class names or the names themselves; `data` and
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


def _report(model_or_path: Any, *, inputs: Iterable | None, labels, data: Any,
            data_labels: Any, quiet: bool, output: Path | None, progress: Progress | None,
            initial: dict | None, **options: Any) -> Report:
    """`report` in the language already set."""
    from reportgen.load.samples import parse_input
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
            inputs=tuple(parse_input(text) for text in _as_paths(inputs, folder, "input")),
            labels_path=_labels_file(labels, folder),
            data_path=_array_file(data, folder / "data.npy"),
            data_labels_path=_array_file(data_labels, folder / "data-labels.npy"),
            values=values)
        target = Output(output, request.protected()) if output is not None else None
        progress = progress or Progress(quiet=quiet)
        rendered = build_report(request, progress, model=model, initial=initial)
        if target is not None:
            target.write(rendered.html, rendered.sidecar, progress)
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


def _as_paths(items: Iterable | None, folder: Path, stem: str) -> list[str]:
    """Inputs as the command line takes them: arrays are written to .npy files first."""
    found = []
    for k, item in enumerate(items or ()):
        if isinstance(item, np.ndarray):
            path = folder / f"{stem}-{k}.npy"
            np.save(path, item, allow_pickle=False)
            found.append(str(path))
        else:
            found.append(str(item))
    return found


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
