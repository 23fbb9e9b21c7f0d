"""The whole run, in order: load -> collect facts -> render images -> fill templates -> write."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from reportgen import __version__, keras_model
from reportgen.collect import collect_input, collect_layer, collect_model
from reportgen.errors import ReportInputError, one_line
from reportgen.facts import ReportFacts
from reportgen.inputs import SampleInput, load_inputs, read_labels, synthetic_input
from reportgen.model_file import ModelFile, check_model_file
from reportgen.pictures import (Options, colour_bars, feature_picture, input_picture,
                                kernel_pictures)
from reportgen.progress import Progress
from reportgen.render import render_report
from reportgen.sidecar import sidecar_text
from reportgen.view import report_view
from reportgen.write import write_all

SYNTHETIC_NOTE = ("No --input was given: the activations below are for a synthetic test "
                  "pattern (stripes, a ring, a diagonal edge and a gradient), not real data.")
NO_INIT_NOTE = ("This architecture could not be rebuilt and re-initialised, so there is no "
                "comparison with initial weights.")


@dataclass(frozen=True)
class ReportRequest:
    """What to report on and where to write it."""

    model_path: Path
    output: Path
    input_paths: tuple[Path, ...] = ()
    labels_path: Path | None = None
    input_scale: str = "auto"
    options: Options = field(default_factory=Options)


def generate_report(request: ReportRequest, progress: Progress) -> tuple[Path, Path]:
    """Write the HTML report and its JSON sidecar; return their paths."""
    model_file = check_model_file(request.model_path)
    html_path, json_path = output_paths(request)
    labels = read_labels(request.labels_path)
    for path in request.input_paths:
        if not path.is_file():
            raise ReportInputError(f"{path}: no such input file")

    progress.step(f"loading {model_file.path.name} (importing TensorFlow)")
    model = keras_model.load(model_file.path)
    snapshot = keras_model.snapshot(model)
    progress.step("re-initialising the architecture for the comparison")
    init = keras_model.initial_weights(model)

    samples = load_inputs(
        list(request.input_paths), snapshot.input_shape, request.input_scale)
    notes = [] if samples else [SYNTHETIC_NOTE]
    samples = samples or [synthetic_input(snapshot.input_shape)]
    notes += [] if init is not None else [NO_INIT_NOTE]
    progress.step(f"running the model on {len(samples)} input(s)")
    outputs, scores = run_forward(model, samples, model_file.path)

    progress.step("computing statistics")
    facts = ReportFacts(
        mode="full",
        model=collect_model(snapshot, file_info(model_file)),
        layers=tuple(collect_layer(i, layer, (init or {}).get(layer.name))
                     for i, layer in enumerate(snapshot.layers)),
        inputs=tuple(collect_input(s.name, s.source, s.array.shape,
                                   {name: out[k] for name, out in outputs.items()},
                                   scores[k], labels)
                     for k, s in enumerate(samples)),
        notes=tuple(notes),
        kernel_scale=request.options.kernel_scale,
    )

    progress.step("drawing kernels and feature maps")
    kernels = kernel_pictures(snapshot, init, request.options)
    input_pictures = [
        (input_picture(s.name, s.array),
         {name: pic for name, out in outputs.items()
          if (pic := feature_picture(name, out[k], request.options)) is not None})
        for k, s in enumerate(samples)
    ]

    progress.step(f"writing {html_path}")
    html = render_report(report_view(facts, kernels, input_pictures, colour_bars()))
    settings = {"max_filters": request.options.max_filters,
                "max_channels": request.options.max_channels,
                "kernel_scale": request.options.kernel_scale,
                "input_scale": request.input_scale}
    write_all({html_path: html, json_path: sidecar_text(facts, settings)})
    return html_path, json_path


def output_paths(request: ReportRequest) -> tuple[Path, Path]:
    """The report and sidecar paths, refusing any that would overwrite an input."""
    html_path = request.output
    if html_path.suffix.lower() not in (".html", ".htm"):
        raise ReportInputError(f"{html_path}: the report must be an .html file")
    json_path = html_path.with_suffix(".json")
    protected = [request.model_path, *request.input_paths]
    protected += [request.labels_path] if request.labels_path else []
    for target in (html_path, json_path):
        if target.is_dir():
            raise ReportInputError(f"{target}: is a directory")
        if any(_same_file(target, p) for p in protected):
            raise ReportInputError(f"{target}: refusing to overwrite an input file")
    return html_path, json_path


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (or would, once written)."""
    return a.resolve() == b.resolve()


def run_forward(model, samples: list[SampleInput],
                path: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One forward pass over all samples, or a clear error when the model cannot run them."""
    batch = np.stack([s.array for s in samples]).astype(np.float32)
    try:
        return keras_model.forward(model, batch)
    except Exception as exc:  # A model that cannot run its own inputs is a bad input.
        raise ReportInputError(
            f"{path}: the model cannot run on input of shape "
            f"{batch.shape[1:]}: {one_line(exc)}") from exc


def file_info(model_file: ModelFile) -> dict:
    """The file, version and time fields of the model facts."""
    keras_version, tf_version = keras_model.versions()
    return {
        "file_name": model_file.path.name,
        "file_size": model_file.size,
        "sha256": model_file.sha256,
        "format": model_file.format,
        "saved_by_keras_version": model_file.saved_by_keras_version,
        "keras_version": keras_version,
        "tensorflow_version": tf_version,
        "reportgen_version": __version__,
        "generated_at": generation_time(),
    }


def generation_time() -> str:
    """Now in UTC, or SOURCE_DATE_EPOCH when set, so that builds can be reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch and not epoch.isdigit():
        raise ReportInputError(f"SOURCE_DATE_EPOCH={epoch!r} is not a whole number of seconds")
    moment = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
              else datetime.datetime.now(datetime.timezone.utc))
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
