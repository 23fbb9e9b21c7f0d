"""The whole run, in order: load -> collect facts -> render images -> fill templates -> write.

A model Keras can rebuild gets the full report. One it cannot (or any model with
--weights-only) gets the weights-only report, read straight from HDF5 without TensorFlow.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from reportgen.version import __version__
from reportgen.analyse.activations import ActivationAccumulator
from reportgen.analyse.class_activations import penultimate_layer
from reportgen.analyse.data_run import joined, run_sample
from reportgen.analyse.filter_examples import example_layers
from reportgen.draw.data_pictures import data_pictures
from reportgen.explain import CamItem, check_cam_layer, explain, top_class
from reportgen.load.dataset import read_sample
from reportgen.analyse.alerts import ACTIVATION_CLASSES, find_alerts
from reportgen.analyse.collect import collect_input, collect_layer, collect_model
from reportgen.errors import (InputMismatch, ReportInputError, WeightsUnreadable, message_of,
                              without_path)
from reportgen.i18n import N_, Joined, _, localised, msg, ngettext
from reportgen.analyse.facts import ReportFacts, all_layer_facts
from reportgen.analyse.stats import size_of
from reportgen.analyse.weight_memo import Prefetch
from reportgen.analyse.graph import Graph, model_graph
from reportgen.draw.graph_layout import graph_layout
from reportgen.load.inputs import read_labels
from reportgen.load.samples import GivenInput, Sample, model_samples, synthetic_sample
from reportgen.load.guards import require_regular_file
from reportgen.load.config_model import architecture_snapshot
from reportgen.load.model_file import (Architecture, ModelFile, check_model_file, read_architecture,
                                      read_config)
from reportgen.load.weights_file import open_weights
from reportgen.parallel import beside, one_blas_thread, ordered_map
from reportgen.options import Options, drawing_options, option_default
from reportgen.options import settings as report_settings
from reportgen.draw.pictures import (MAX_FRESH_MOSAICS, colour_bars, feature_grid, input_picture,
                                     kernel_layers, layer_figures, map_layers, output_picture)
from reportgen.progress import Progress
from reportgen.page.render import render_report
from reportgen.page.sidecar import sidecar_text
from reportgen.load.snapshot import ModelSnapshot, all_layers
from reportgen.page.view import report_view
from reportgen.page.write import check_writable, recover, write_all

SYNTHETIC_NOTE = N_("No --input was given: the activations below are for a synthetic test "
                  "pattern ({what}), not real data.")
# The most confident mistakes of a labelled sample that Grad-CAM explains (top and true
# class each), after the drawn inputs.
CAM_MISTAKES = 6
SYNTHETIC_DATA_NOTE = N_("No --input was given: the feature maps and the prediction drawn for "
                        "an input are for a synthetic test pattern ({what}); the evaluation, "
                        "the sample's activations and the mistakes use the labelled sample.")
PARTLY_SYNTHETIC_NOTE = N_("No file was given for the model input(s) {names}: they get the "
                          "synthetic test pattern, beside the files given for the others.")
NO_INIT_NOTE = N_("This architecture could not be rebuilt and re-initialised, so there is no "
                "comparison with initial weights.")
FRESH_CUT_NOTE = N_("Kernel pictures and spectra of the freshly initialised layer are drawn for "
                  "the first {shown} layers with kernels; the statistics compare every layer "
                  "with its initialisation.")
INPUTS_CUT_NOTE = N_("{n} inputs were given: the first {shown} are drawn (--max-inputs); "
                   "predictions and the activation statistics cover all {n}.")
FORWARD_FAILED_NOTE = N_("The model could not run on the inputs ({error}), so this report has no "
                       "feature maps or predictions; everything about the weights stands.")
TRUSTED_NOTE = N_("Loaded with --trust-model: Keras safe mode was off, so code stored in the "
                "model file (Lambda layers, custom objects) may have run.")
MEMORY_WEIGHTS_ONLY = N_("the model in memory was not run (a training callback's report: give "
                       "it inputs or data to run the model)")
STARTING_WEIGHTS_NOTE = N_("The initial weights compared with are the ones this model started "
                         "training from, not a fresh initialisation.")
ASKED_WEIGHTS_ONLY = N_("--weights-only was given")
LABELS_COUNT_NOTE = N_("The labels file has {n_labels} class names but the model's output has "
                     "{n_classes} values: names were matched by position, and may be wrong.")
UNUSED_INPUTS_NOTE = N_("The --input files were not used: a weights-only report runs no "
                        "model.")


@dataclass(frozen=True)
class ReportRequest:
    """What to report on and where to write it: the model file (or the name of a model in
    memory), the output, the files given for it, and every other option by dest as the
    option table declares it (defaults where missing)."""

    model_path: Path
    output: Path
    inputs: tuple[GivenInput, ...] = ()
    labels_path: Path | None = None
    data_path: Path | None = None
    data_labels_path: Path | None = None
    values: Mapping[str, Any] = field(default_factory=dict)

    def value(self, dest: str) -> Any:
        """An option's value: the one given, else its default."""
        return self.values[dest] if dest in self.values else option_default(dest)

    @property
    def options(self) -> Options:
        return drawing_options(dict(self.values))

    @property
    def settings(self) -> dict:
        """The report's settings (the sidecar's `settings`; --resume compares them)."""
        return report_settings(dict(self.values))

    @property
    def input_scale(self) -> str:
        return self.value("input_scale")

    @property
    def weights_only(self) -> bool:
        return bool(self.value("weights_only"))

    @property
    def trust_model(self) -> bool:
        return bool(self.value("trust_model"))

    @property
    def architecture_path(self) -> Path | None:
        return self.value("architecture")

    @property
    def cam_layer(self) -> str | None:
        return self.value("cam_layer")


@dataclass(frozen=True)
class Content:
    """A report's facts and its encoded pictures, ready for the template: the weight figures
    by layer path, the pictures of each drawn input, and the feature-map grid of each drawn
    layer (rows = drawn inputs)."""

    facts: ReportFacts
    figures: dict
    inputs: list = field(default_factory=list)
    maps: dict = field(default_factory=dict)
    data: object = None  # DataPictures of a labelled sample
    cam: tuple = ()  # CamPictures of the drawn inputs


@dataclass(frozen=True)
class Rendered:
    """A finished report: the page, the JSON sidecar's text, and the facts behind both."""

    html: str
    sidecar: str
    facts: ReportFacts


def generate_report(request: ReportRequest, progress: Progress) -> tuple[Path, Path]:
    """Write the HTML report and its JSON sidecar; return their paths."""
    html_path, json_path = output_paths(request)
    check_writable([html_path, json_path])
    recover([html_path, json_path])
    rendered = build_report(request, progress)
    progress.step(_("writing {path}").format(path=html_path))
    write_all({html_path: rendered.html, json_path: rendered.sidecar})
    return html_path, json_path


def build_report(request: ReportRequest, progress: Progress, model=None,
                 initial: dict | None = None) -> Rendered:
    """The report of the model file the request names, or of `model`, a Keras model in
    memory (then `request.model_path` only names it). `initial` maps layer paths to the
    weights a model started training from, to compare with instead of a fresh
    initialisation (the training callback's).

    numpy's BLAS runs one thread from start to end, not only in the parallel parts: an
    OpenBLAS thread spins on the other core for a while after every call, which cost a
    training beside the callback's reports as much CPU again as the reports themselves."""
    with one_blas_thread():
        return _build_report(request, progress, model, initial)


def _build_report(request: ReportRequest, progress: Progress, model,
                  initial: dict | None) -> Rendered:
    """build_report under one BLAS thread."""
    labels = read_labels(request.labels_path)
    for given in request.inputs:
        require_regular_file(given.path, msg("input file"))
    if request.data_labels_path is not None and request.data_path is None:
        raise ReportInputError(msg("--data-labels needs --data (the images they label)"))
    if model is not None and request.weights_only:
        content = in_memory_weights_content(model, request, initial, progress)
    elif model is not None:
        content = in_memory_content(model, request, labels, progress)
    else:
        model_file = check_model_file(request.model_path)
        architecture = (read_architecture(request.architecture_path)
                        if request.architecture_path else None)
        if request.weights_only:
            content = weights_or_architecture_content(model_file, request, msg(ASKED_WEIGHTS_ONLY),
                                                      progress)
        else:
            content = full_or_fallback_content(model_file, architecture, request, labels,
                                               progress)
    facts = dataclasses.replace(content.facts, alerts=find_alerts(content.facts))
    progress.step(_("rendering the page"))
    html = render_report(report_view(facts, content.figures, content.inputs, content.maps,
                                     colour_bars(), draw_graph(facts), content.data,
                                     content.cam))
    return Rendered(html, sidecar_text(facts, request.settings), facts)


def in_memory_weights_content(model, request: ReportRequest, initial: dict | None,
                              progress: Progress) -> Content:
    """A model in memory reported without running it (the cost a training callback can
    afford each epoch): its weights against the weights it started from, when known.
    `model` is a Keras model, or a HeldModel (its weights as they were at one moment)."""
    from reportgen.load import keras_model

    progress.step(_("reading the weights of the in-memory model {name}").format(name=model.name))
    held = model if isinstance(model, keras_model.HeldModel) else \
        keras_model.hold(model, copy=False)
    snapshot = held.snapshot
    facts = ReportFacts(
        mode="weights-only",
        model=collect_model(snapshot, file_info(held.model_file(), held.read_with)),
        layers=collect_layers(snapshot, initial, request.options),
        inputs=(),
        notes=(msg(STARTING_WEIGHTS_NOTE),) if initial is not None else (),
        kernel_scale=request.options.kernel_scale,
        weights_only_reason=msg(MEMORY_WEIGHTS_ONLY),
        graph=graph_of(held.config),
    )
    return Content(facts, layer_figures(snapshot, initial, request.options), [])


def in_memory_content(model, request: ReportRequest, labels: list[str],
                      progress: Progress) -> Content:
    """The full report of a model in memory: no file, so the header names the model and
    hashes its weights instead."""
    from reportgen.load import keras_model

    progress.step(_("reading the in-memory model {name}").format(name=model.name))
    loaded = keras_model.LoadedModel(model, ())
    return full_content(keras_model.memory_model_file(model), loaded, request, labels,
                        progress)


def full_or_fallback_content(model_file: ModelFile, architecture: Architecture | None,
                             request: ReportRequest, labels: list[str],
                             progress: Progress) -> Content:
    """The full report, or the weights-only one when Keras cannot rebuild the model."""
    from reportgen.load import keras_model  # not at the top: weights-only runs never need it

    progress.step(_("loading {name} (importing TensorFlow)").format(name=model_file.path.name))
    # The file's own weights are worked through while TensorFlow imports and Keras loads.
    prefetch = Prefetch(lambda: open_weights(model_file), request.options.spectral_max_dim)
    try:
        try:
            if architecture is None:
                loaded = load_or_assemble(model_file, request.trust_model)
            else:
                loaded = assemble(model_file, architecture.config, request.trust_model)
        except keras_model.ModelNotRebuilt as exc:
            prefetch.enough()
            reason = msg("Keras could not rebuild the model: {error}", error=message_of(exc))
            if exc.needs_trust:
                reason = msg("{reason} (reportgen never runs code from a model file unless "
                             "--trust-model is given)", reason=reason)
            return weights_or_architecture_content(model_file, request, reason, progress)
        prefetch.enough()
        content = full_content(model_file, loaded, request, labels, progress)
    finally:
        prefetch.stop()
    if architecture is None:
        return content
    model = dataclasses.replace(content.facts.model,
                                architecture_file_name=architecture.path.name,
                                architecture_sha256=architecture.sha256)
    return dataclasses.replace(content, facts=dataclasses.replace(content.facts, model=model))


def graph_of(config: dict | None) -> Graph | None:
    """The architecture graph a config describes, if there is a config."""
    return model_graph(config) if config is not None else None


def draw_graph(facts: ReportFacts):
    """The architecture graph laid out for the page, with each layer's output shape; None
    when the file gives no config to draw it from."""
    if facts.graph is None or not facts.graph.nodes:
        return None
    shapes = {layer.path: layer.output_shape for layer in all_layer_facts(facts.layers)
              if layer.output_shape}
    return graph_layout(facts.graph, shapes)


def load_or_assemble(model_file: ModelFile, trust: bool):
    """The model as Keras loads it; or, when Keras cannot read its weights (a layout it does
    not know) but the file's config builds, that config given the weights reportgen reads
    from the same file by name and shape. The first refusal is the one reported."""
    from reportgen.load import keras_model

    try:
        return keras_model.load(model_file, trust=trust)
    except keras_model.ModelNotRebuilt as refused:
        config = read_config(model_file)
        if config is None or refused.needs_trust:
            raise
        try:
            return assemble(model_file, config, trust)
        except (keras_model.ModelNotRebuilt, ReportInputError):
            raise refused from None


def assemble(model_file: ModelFile, config: dict, trust: bool):
    """A model built from `config`, its layers given MODEL's weights by name and shape."""
    from reportgen.load import keras_model

    with open_weights(model_file, config) as stored:
        return keras_model.load_with_architecture(copy.deepcopy(config), stored,
                                                  str(model_file.path), trust=trust)


def full_content(model_file: ModelFile, loaded, request: ReportRequest, labels: list[str],
                 progress: Progress) -> Content:
    """Everything: weights against initialisation, activations and predictions. The
    weights' facts and pictures need no forward pass: they are made beside it (numpy
    releases the GIL, and TensorFlow's ops leave a core idle much of the time)."""
    from reportgen.load import keras_model

    model = loaded.model
    cam_layer = check_cam_layer(model, request.cam_layer)
    snapshot = keras_model.snapshot(model)
    progress.step(_("re-initialising the architecture for the comparison"))
    options = request.options
    init = keras_model.initial_weights(model, max(options.max_filters, options.max_channels))
    sample = labelled_sample_of(snapshot, request, labels)  # refused before any work
    # The weights' side rebuilds fresh layers, each under its own global seed, while this
    # thread runs the model: that holds because running it (inference, Grad-CAM) draws no
    # random number; the fresh layers are never called.
    ran, (layers, figures) = beside(
        lambda: run_model(model, snapshot, cam_layer, sample, request, labels, progress),
        lambda: (collect_layers(snapshot, init, options),
                 layer_figures(snapshot, init, options, output_labels(snapshot, labels))))
    notes = ran.notes
    n_kernels = len(kernel_layers((layer.path, [w.values.shape for w in layer.weights])
                                  for layer in all_layers(snapshot.layers)))
    if n_kernels > MAX_FRESH_MOSAICS:
        notes += (msg(FRESH_CUT_NOTE, shown=MAX_FRESH_MOSAICS),)
    facts = ReportFacts(
        data=ran.data,
        cam=ran.explained.facts,
        cam_alerts=ran.explained.alerts,
        cam_reason=ran.explained.reason,
        mode="full",
        model=collect_model(snapshot, file_info(model_file, keras_model.read_with())),
        layers=layers,
        inputs=ran.inputs,
        notes=notes,
        kernel_scale=options.kernel_scale,
        repairs=loaded.repairs,
        trusted=request.trust_model,
        forward_error=ran.forward_error,
        graph=graph_of(keras_model.model_config(model)),
        sample_activations=ran.sample_activations,
    )
    return Content(facts, figures, ran.pictures, ran.maps, ran.data_pictures,
                   ran.explained.pictures)


@dataclass(frozen=True)
class ModelRun:
    """What running the model on the inputs (and a labelled sample) gives: the inputs'
    facts, the notes about them, the sample's facts, Grad-CAM, and their pictures."""

    inputs: tuple
    notes: tuple
    forward_error: str
    sample_activations: tuple
    data: object
    data_pictures: object
    explained: object
    pictures: list
    maps: dict


def run_model(model, snapshot: ModelSnapshot, cam_layer, sample, request: ReportRequest,
              labels: list[str], progress: Progress) -> ModelRun:
    """Run the model on the inputs (the synthetic pattern when none fit or were given) and
    on the labelled sample if there is one, explain its predictions, and draw what it did."""
    options = request.options
    try:
        samples = model_samples(list(request.inputs), snapshot.inputs, request.input_scale)
        mismatch = ""
    except InputMismatch as exc:  # the model loaded: its report stands without activations
        samples, mismatch = [], message_of(exc)
    synthetic_note = SYNTHETIC_DATA_NOTE if request.data_path is not None else SYNTHETIC_NOTE
    notes = [] if samples or mismatch else [msg(synthetic_note, what=_synthetic_what(snapshot))]
    samples = samples or ([] if mismatch else [synthetic_sample(snapshot.inputs)])
    partly = [spec.name for k, spec in enumerate(snapshot.inputs)
              if samples and any(s.synthetic[k:k + 1] == (True,) for s in samples)
              and not all(all(s.synthetic) for s in samples)]
    notes += [msg(PARTLY_SYNTHETIC_NOTE, names=", ".join(partly))] if partly else []
    notes += [msg(TRUSTED_NOTE)] if request.trust_model else []
    if mismatch:
        run = ForwardRun({}, [], (), mismatch)
    else:
        progress.step(ngettext("running the model on {n} input",
                               "running the model on {n} inputs", len(samples)).format(
            n=len(samples)))
        run = run_forward(model, samples, options.max_inputs)
    if run.error:
        notes.append(msg(FORWARD_FAILED_NOTE, error=run.error))
        samples = []
    elif labels and run.scores[0].ndim == 2 and len(labels) != _n_classes(run.scores[0]):
        notes.append(msg(LABELS_COUNT_NOTE, n_labels=len(labels),
                         n_classes=run.scores[0].shape[-1]))
    if len(samples) > options.max_inputs:
        notes.append(msg(INPUTS_CUT_NOTE, n=len(samples), shown=options.max_inputs))

    data, data_pictures_, mistakes = labelled_sample(model, snapshot, sample, progress)
    shown = samples[:options.max_inputs]
    progress.step(_("explaining the predictions (Grad-CAM)"))
    items = ([CamItem(s.name, s.arrays[0], top_class(row))
              for s, row in zip(shown, run.scores[0] if run.scores else [])]
             if len(snapshot.inputs) == 1 else [])
    explained = explain(model, cam_layer, "--cam-layer" if request.cam_layer else "automatic",
                        items + list(mistakes), labels)
    progress.step(_("computing statistics"))
    inputs = tuple(collect_input(s.name, s.source, s.arrays[0].shape,
                                 {name: out[k] for name, out in run.drawn.items()}
                                 if k < options.max_inputs else {},
                                 [(spec, out[k]) for spec, out in zip(snapshot.outputs,
                                                                      run.scores)],
                                 labels, synthetic=all(s.synthetic),
                                 shapes=tuple(array.shape for array in s.arrays))
                   for k, s in enumerate(samples))
    progress.step(_("drawing kernels and feature maps"))
    drawn, cut_note = map_layers([(layer.name, layer.class_name) for layer in snapshot.layers
                                  if layer.name in run.drawn], options.max_map_layers)
    pictures = [input_pictures(s, snapshot) for s in shown]
    maps = map_grids(drawn, run.drawn, tuple(s.name for s in shown), options)
    return ModelRun(inputs, tuple(notes) + ((cut_note,) if cut_note else ()), run.error,
                    run.summaries, data, data_pictures_, explained, pictures, maps)


def labelled_sample_of(snapshot: ModelSnapshot, request: ReportRequest, labels: list[str]):
    """The labelled sample (--data) as read_sample checks it, or None without one."""
    if request.data_path is None:
        return None
    if len(snapshot.inputs) != 1:
        raise ReportInputError(msg("{path}: a labelled sample needs a model with one input "
                                   "(this one has {n})", path=str(request.data_path),
                                   n=len(snapshot.inputs)))
    return read_sample(request.data_path, request.data_labels_path,
                       snapshot.inputs[0].shape or (), snapshot.n_classes, tuple(labels),
                       request.input_scale)


def labelled_sample(model, snapshot: ModelSnapshot, sample, progress: Progress):
    """The facts and pictures of a labelled sample, streamed through the model in batches,
    and its most confident mistakes for Grad-CAM; (None, None, ()) without one."""
    from reportgen.load import keras_model

    if sample is None:
        return None, None, ()
    progress.step(_("evaluating the model on {n} labelled images").format(n=sample.n_images))
    named = [(layer.name, layer.class_name) for layer in snapshot.layers]
    examples, note = example_layers(named)
    data = run_sample(sample, lambda batch: joined(keras_model.forward_chunks(model, [batch])),
                      snapshot.output_width, examples, penultimate_layer(named),
                      keras_model.model_config(model), examples_note=note,
                      unit_layers=[layer.name for layer in snapshot.layers
                                   if layer.weights or layer.class_name in ACTIVATION_CLASSES])
    mistakes = data.evaluation.mistakes[:CAM_MISTAKES] if data.evaluation is not None else ()
    images = sample.conformed([m.index for m in mistakes]) if mistakes else []
    return data, data_pictures(data, sample), tuple(
        CamItem(sample.sources[m.index], image, m.predicted, m.true)
        for m, image in zip(mistakes, images))


def output_labels(snapshot: ModelSnapshot, labels: list[str]) -> dict[str, tuple[str, ...]]:
    """Class names for the columns of the layer that makes the model's (first) output."""
    if not labels or not snapshot.outputs:
        return {}
    return {snapshot.outputs[0].name: tuple(labels)}


def _n_classes(scores: np.ndarray) -> int:
    """How many classes a 2-D output (samples x values) has: one sigmoid unit reads two."""
    return 2 if scores.shape[-1] == 1 else int(scores.shape[-1])


def input_pictures(sample: Sample, snapshot: ModelSnapshot) -> list:
    """The pictures of a sample's inputs that are images, named by input when there are
    several."""
    several = len(sample.arrays) > 1
    drawn = [input_picture(f"{spec.name}" if several else sample.name, array)
             for spec, array in zip(snapshot.inputs, sample.arrays)]
    return [picture for picture in drawn if picture is not None]


def weights_or_architecture_content(model_file: ModelFile, request: ReportRequest, reason: str,
                                    progress: Progress) -> Content:
    """The weights-only report, or, when the weights cannot be read either, the
    architecture-only one (refused only when the file has no readable config)."""
    try:
        return weights_only_content(model_file, request, reason, progress)
    except WeightsUnreadable as exc:
        config = read_config(model_file)
        if config is None:
            raise
        return architecture_content(model_file, config, request,
                                    msg("{reason}; {problem}", reason=reason,
                                        problem=without_path(exc)), progress)


def architecture_content(model_file: ModelFile, config: dict, request: ReportRequest,
                         reason: str, progress: Progress) -> Content:
    """The layers and config a file describes, when none of its weights can be read."""
    progress.step(_("reading the architecture of {name} ({reason})").format(
        name=model_file.path.name, reason=localised(reason)))
    snapshot = architecture_snapshot(config)
    facts = ReportFacts(
        mode="architecture-only",
        model=collect_model(snapshot, file_info(model_file, ())),
        layers=collect_layers(snapshot, None, request.options),
        inputs=(),
        notes=(msg(UNUSED_INPUTS_NOTE),) if request.inputs else (),
        kernel_scale=request.options.kernel_scale,
        trusted=request.trust_model,
        architecture_only_reason=reason,
        model_config=config,
        graph=graph_of(config),
    )
    return Content(facts, {}, [])


def weights_only_content(model_file: ModelFile, request: ReportRequest, reason: str,
                         progress: Progress) -> Content:
    """What needs no forward pass, read tensor by tensor from the file with h5py."""
    progress.step(_("reading the weights of {name} ({reason})").format(
        name=model_file.path.name, reason=localised(reason)))
    config = read_config(model_file)
    with open_weights(model_file) as snapshot:
        progress.step(_("computing statistics"))
        facts = ReportFacts(
            mode="weights-only",
            model=collect_model(snapshot, file_info(model_file, hdf5_read_with())),
            layers=collect_layers(snapshot, None, request.options),
            inputs=(),
            notes=(msg(UNUSED_INPUTS_NOTE),) if request.inputs else (),
            kernel_scale=request.options.kernel_scale,
            weights_only_reason=reason,
            trusted=request.trust_model,
            model_config=config,
            stored_state=snapshot.stored_state,
            graph=graph_of(config),
        )
        progress.step(_("drawing kernels"))
        figures = layer_figures(snapshot, None, request.options)
    return Content(facts, figures, [])


def map_grids(names: list[str], outputs: dict, input_names: tuple[str, ...],
              options: Options) -> dict:
    """Each drawn layer's outputs for the drawn inputs as one aligned grid, two layers at a
    time; a sequence output (time x units) as a heatmap for a single input."""
    def draw(name):
        values = outputs[name]
        grid = feature_grid(list(values), name, options, input_names)
        return grid if grid is not None or len(values) != 1 else \
            output_picture(name, values[0], options)

    drawn = ordered_map(draw, names)
    return {name: picture for name, picture in zip(names, drawn) if picture is not None}


def collect_layers(snapshot: ModelSnapshot, init, options: Options) -> tuple:
    """Every layer's facts, two layers at a time, the largest first, in the model's order."""
    return tuple(ordered_map(lambda item: collect_layer(item[0], item[1], init,
                                                        options.spectral_max_dim),
                             enumerate(snapshot.layers), cost=lambda item: n_values(item[1])))


def n_values(layer) -> int:
    """How many weight values a layer (with its children) holds: its share of the work."""
    return sum(size_of(w.values) for w in layer.weights) + \
        sum(n_values(child) for child in layer.children)


def _synthetic_what(snapshot: ModelSnapshot) -> str:
    """How the synthetic input was made, for the note."""
    kinds = []
    for spec in snapshot.inputs:
        if spec.token_limit:
            kind = msg("a fixed sequence of token ids below {limit}", limit=spec.token_limit)
        elif spec.shape is not None and len(spec.shape) == 3:
            kind = msg("stripes, a ring, a diagonal edge and a gradient")
        else:
            kind = msg("smooth waves of several frequencies")
        kinds.append(kind if len(snapshot.inputs) == 1 else
                     msg("{name}: {kind}", name=spec.name, kind=kind))
    return Joined("; ", kinds)


def output_paths(request: ReportRequest) -> tuple[Path, Path]:
    """The report and sidecar paths, refusing any that would overwrite an input."""
    html_path = request.output
    if html_path.suffix.lower() not in (".html", ".htm"):
        raise ReportInputError(msg("{path}: the report must be an .html file",
                                   path=str(html_path)))
    json_path = html_path.with_suffix(".json")
    protected = [request.model_path, *(given.path for given in request.inputs)]
    protected += [path for path in (request.labels_path, request.architecture_path) if path]
    for target in (html_path, json_path):
        if target.is_dir():
            raise ReportInputError(msg("{path}: is a directory", path=str(target)))
        if any(target.resolve() == p.resolve() for p in protected):
            raise ReportInputError(msg("{path}: refusing to overwrite an input file",
                                       path=str(target)))
    return html_path, json_path


@dataclass(frozen=True)
class ForwardRun:
    """What one pass over the samples gives: every layer's output for the first samples
    (those drawn), each model output for all samples, the activations over all samples, and
    why the model could not run ("" when it could)."""

    drawn: dict
    scores: list
    summaries: tuple
    error: str = ""


def run_forward(model, samples: list[Sample], n_drawn: int) -> ForwardRun:
    """One forward pass over all samples, streamed: only the drawn samples' layer outputs are
    kept; the rest contribute to the per-channel sums and the predictions."""
    from reportgen.load import keras_model

    batches = [np.stack([s.arrays[k] for s in samples]) for k in range(len(samples[0].arrays))]
    kept: dict[str, list] = {}
    scores: list[list] = []
    accumulator = ActivationAccumulator()
    try:
        for layers, outputs in keras_model.forward_chunks(model, batches):
            accumulator.add(layers)
            room = n_drawn - sum(len(chunk) for chunk in next(iter(kept.values()), []))
            for name, values in layers.items():
                if room > 0:
                    kept.setdefault(name, []).append(values[:room])
            scores = [found + [new] for found, new in zip(scores, outputs)] if scores \
                else [[new] for new in outputs]
    except Exception as exc:  # The model cannot run these inputs; the rest still stands.
        shapes = ", ".join(str(batch.shape[1:]) for batch in batches)
        return ForwardRun({}, [], (), msg("input of shape {shapes}: {error}", shapes=shapes,
                                          error=keras_model.failure_reason(exc)))
    return ForwardRun({name: np.concatenate(chunks) for name, chunks in kept.items()},
                      [np.concatenate(found) for found in scores], accumulator.result())


def hdf5_read_with() -> tuple[tuple[str, str], ...]:
    """The library that read a weights-only report."""
    import h5py

    return (("h5py", h5py.__version__),)


def file_info(model_file: ModelFile, read_with: tuple[tuple[str, str], ...]) -> dict:
    """The file, version and time fields of the model facts."""
    return {
        "file_name": model_file.path.name,
        "file_size": model_file.size,
        "sha256": model_file.sha256,
        "format": model_file.format,
        "saved_by_keras_version": model_file.saved_by_keras_version,
        "read_with": read_with,
        "reportgen_version": __version__,
        "generated_at": generation_time(),
    }


def generation_time() -> str:
    """Now in UTC, or SOURCE_DATE_EPOCH when set, so that builds can be reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch and not epoch.isdigit():
        raise ReportInputError(msg("SOURCE_DATE_EPOCH={value!r} is not a whole number of "
                                   "seconds", value=epoch))
    moment = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
              else datetime.datetime.now(datetime.timezone.utc))
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
