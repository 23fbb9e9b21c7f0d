"""The report's modes, each a way to gather the evidence the sections are built from:

- full: Keras rebuilt the model (from the file, from --architecture, or in memory): fresh
  weights to compare with, and the model run (model_run.py);
- weights-only: the weights read straight from the file with h5py (asked for, or when Keras
  cannot rebuild the model), or a model in memory not run (the training callback's);
- architecture-only: neither the model nor its weights, only the config a file holds.

Whatever the mode, the facts are built by one builder (build.py) over the same sections; a
mode only says what it has (`Evidence.has`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from typing import Iterator

from reportgen.analyse.collect import collect_model
from reportgen.analyse.weight_memo import Prefetch
from reportgen.errors import ReportInputError, WeightsUnreadable, message_of, without_path
from reportgen.i18n import N_, _, localised, msg
from reportgen.load.config_model import architecture_snapshot, custom_layers
from reportgen.load.keras2_meaning import changed_meanings
from reportgen.load.model_file import Architecture, ModelFile, read_config
from reportgen.load.weights_file import open_weights
from reportgen.parallel import beside
from reportgen.progress import Progress
from reportgen.pipeline.build import Built, prebuild
from reportgen.pipeline.model_run import labelled_sample_of, prepare_sections, run_model
from reportgen.load.sample_index import skipped_note
from reportgen.pipeline.request import Given, ReportRequest, file_info, hdf5_read_with
from reportgen.sections.base import (CONFIG, GRADIENTS, INIT, INPUTS, MODEL, SAMPLE, WEIGHTS,
                                     Evidence)

TRUSTED_NOTE = N_("Loaded with --trust-model: Keras safe mode was off, so code stored in the "
                  "model file (Lambda layers, custom objects) may have run.")
MEMORY_WEIGHTS_ONLY = N_("the model in memory was not run (a training callback's report: give "
                         "it inputs or data to run the model)")
STARTING_WEIGHTS_NOTE = N_("The initial weights compared with are the ones this model started "
                           "training from, not a fresh initialisation.")
UNUSED_INPUTS_NOTE = N_("The --input files were not used: a weights-only report runs no model.")
ASKED_WEIGHTS_ONLY = N_("--weights-only was given")
ASSEMBLED_NOTE = N_("Keras built the model from the file's config but could not give it the "
                    "file's weights ({error}); reportgen read them from the file and gave each "
                    "layer the tensors stored for it (by name, or in order within each class "
                    "where the file numbers them with gaps), every shape checked.")
SHARDS_ALONE = N_("a sharded weights save holds no architecture; --architecture gives one for "
                  "a full report")
NEEDS_CLASS_NOTE = N_("The file uses layer classes it does not carry the code of: {classes}. "
                      "The layer table, the graph, the shapes the config records and every "
                      "stored weight come from the file; the comparison with a fresh "
                      "initialisation, the feature maps and the predictions need the classes "
                      "themselves: report the file from Python (reportgen.report) in a session "
                      "where they are defined and registered, and the report is full "
                      "(reportgen never runs code stored in a model file).")
# Built beside the model run: what needs the weights and the config only (the heavy part of
# a big model, and the graph the weights' alerts read).
BESIDE_THE_RUN = ("layers", "architecture", "weights", "quantisation")


def evidence_of(mode: str, snapshot, model_facts, request: ReportRequest, labels, **more
                ) -> Evidence:
    """The evidence of a mode, with what every mode has: the options and labels, and what
    the snapshot and config make available."""
    has = set(more.pop("has", ()))
    has |= {WEIGHTS} if mode != "architecture-only" else set()
    has |= {CONFIG} if more.get("config") is not None else set()
    has |= {INIT} if more.get("init") is not None else set()
    return Evidence(mode=mode, has=frozenset(has), options=request.options,
                    model=model_facts, snapshot=snapshot, labels=tuple(labels),
                    values=dict(request.values), trusted=request.trust_model, **more)


def full_evidence(model_file: ModelFile, model, request: ReportRequest, given: Given,
                  progress: Progress) -> tuple[Evidence, Built]:
    """Everything: weights against a fresh initialisation, the model run and what the
    sections measure. The weights' sections are built beside the model run (numpy releases
    the GIL, and TensorFlow's ops leave a core idle much of the time)."""
    from reportgen.load.keras.runtime import read_with

    snapshot = model.snapshot()
    progress.step(_("re-initialising the architecture for the comparison"))
    options = request.options
    init = model.fresh_weights(max(options.max_filters, options.max_channels))
    sample = labelled_sample_of(snapshot, request, given.sample)  # refused before any work
    evidence = evidence_of(
        "full", snapshot, collect_model(snapshot, file_info(model_file, read_with())),
        request, given.labels, init=init, config=model.config(),
        repairs=model.repairs, vocabulary=given.vocabulary, has={MODEL, INPUTS, GRADIENTS} | ({SAMPLE} if sample else set()))
    prepare_sections(model, evidence)
    evidence.notes += list(model.notes) + changed_meanings(
        evidence.config, evidence.model.saved_by_keras_version)
    if given.sample is not None and skipped_note(given.sample):
        evidence.notes.append(skipped_note(given.sample))
    if request.trust_model:
        evidence.notes.append(msg(TRUSTED_NOTE))
    # The weights' side rebuilds fresh layers, each under its own global seed, while this
    # thread runs the model: that holds because running it (inference, gradients) draws no
    # random number; the fresh layers are never called.
    _ran, built = beside(lambda: run_model(model, evidence, request, sample, progress),
                         lambda: prebuild(evidence, BESIDE_THE_RUN))
    return evidence, built


@contextlib.contextmanager
def weights_only_evidence(model_file: ModelFile, request: ReportRequest, reason: str,
                          progress: Progress) -> Iterator[Evidence]:
    """What needs no forward pass, read tensor by tensor from the file with h5py (kept open
    while the report is built from it)."""
    progress.step(_("reading the weights of {name} ({reason})").format(
        name=model_file.path.name, reason=localised(reason)))
    config = read_config(model_file)
    with open_weights(model_file) as snapshot:
        evidence = evidence_of("weights-only", snapshot,
                               collect_model(snapshot, file_info(model_file, hdf5_read_with())),
                               request, [], config=config, file_config=config,
                               stored_state=snapshot.stored_state,
                               reasons={"weights_only": reason})
        if request.inputs:
            evidence.notes.append(msg(UNUSED_INPUTS_NOTE))
        yield evidence


@contextlib.contextmanager
def weights_or_architecture(model_file: ModelFile, request: ReportRequest, reason: str,
                            progress: Progress) -> Iterator[Evidence]:
    """The weights-only evidence, or, when the weights cannot be read either, the
    architecture-only one (refused only when the file has no readable config)."""
    try:
        with weights_only_evidence(model_file, request, reason, progress) as evidence:
            yield evidence
            return
    except WeightsUnreadable as exc:
        config = read_config(model_file)
        if config is None:
            raise
        problem = msg("{reason}; {problem}", reason=reason, problem=without_path(exc))
    yield architecture_evidence(model_file, config, request, problem, progress)


@contextlib.contextmanager
def file_evidence(model_file: ModelFile, architecture: Architecture | None,
                  request: ReportRequest, given: Given,
                  progress: Progress) -> Iterator[tuple[Evidence, Built | None]]:
    """The full evidence of a model file, or the weights-only one when Keras cannot rebuild
    the model (or --weights-only asks for it)."""
    reason = weights_only_reason(model_file, architecture, request)
    if reason:
        with weights_or_architecture(model_file, request, reason, progress) as evidence:
            yield evidence, None
        return
    # The file's own weights are worked through while TensorFlow imports and Keras loads.
    prefetch = Prefetch(lambda: open_weights(model_file), request.options.spectral_max_dim)
    try:
        loaded, refused = loaded_model(model_file, architecture, request, progress), None
    except ModelRefused as exc:
        loaded, refused = None, exc
    finally:
        prefetch.enough()
    try:
        if refused is None:
            evidence, built = full_evidence(model_file, loaded, request, given, progress)
    finally:
        prefetch.stop()
    if refused is not None:
        with weights_or_architecture(model_file, request, refused.reason, progress) as evidence:
            evidence.repairs = refused.repairs
            with_custom_layers(evidence, refused.reason)
            yield evidence, None
        return
    yield with_architecture_file(evidence, architecture), built


def weights_only_reason(model_file: ModelFile, architecture: Architecture | None,
                        request: ReportRequest) -> str:
    """Why the report is weights-only before Keras is tried, or "" (Keras is to be tried)."""
    if request.weights_only:
        return msg(ASKED_WEIGHTS_ONLY)
    if model_file.shards and architecture is None:
        # Nothing for Keras to build: TensorFlow is not even imported.
        return msg(SHARDS_ALONE)
    return ""


def with_custom_layers(evidence: Evidence, refusal: str) -> None:
    """A model Keras could not rebuild because of layer classes the file names but does not
    carry: those layers, and what the report can and cannot give without their code."""
    found = custom_layers(evidence.file_config, refusal)
    if not found:
        return
    evidence.custom_layers = tuple(found)
    evidence.notes.append(msg(NEEDS_CLASS_NOTE, classes=", ".join(dict.fromkeys(
        f"{layer['class_name']} ({layer['path']})" for layer in found))))


class ModelRefused(Exception):
    """Keras could not rebuild the model; `reason` says why, for the weights-only banner, and
    `repairs` are those tried before Keras refused for good."""

    def __init__(self, reason: str, repairs: tuple = ()):
        super().__init__(reason)
        self.reason = reason
        self.repairs = repairs


def loaded_model(model_file: ModelFile, architecture: Architecture | None,
                 request: ReportRequest, progress: Progress):
    """The model Keras rebuilds from the file (or from --architecture with the file's
    weights); ModelRefused when it cannot."""
    # Not at the top: weights-only runs never import Keras.
    from reportgen.load.keras.loading import ModelNotRebuilt

    progress.step(_("loading {name} (importing TensorFlow)").format(name=model_file.path.name))
    try:
        if architecture is None:
            return load_or_assemble(model_file, request.trust_model)
        return assemble(model_file, architecture.config, request.trust_model)
    except ModelNotRebuilt as exc:
        reason = msg("Keras could not rebuild the model: {error}", error=message_of(exc))
        if exc.needs_trust:
            reason = msg("{reason} (reportgen never runs code from a model file unless "
                         "--trust-model is given)", reason=reason)
        raise ModelRefused(reason, exc.repairs) from None


def load_or_assemble(model_file: ModelFile, trust: bool):
    """The model as Keras loads it; or, when Keras cannot read its weights (a layout it does
    not know) but the file's config builds, that config given the weights reportgen reads
    from the same file by name and shape. The first refusal is the one reported."""
    from reportgen.load.keras.loading import ModelNotRebuilt, load

    try:
        return load(model_file, trust=trust)
    except ModelNotRebuilt as refused:
        config = read_config(model_file)
        if config is None or refused.needs_trust:
            raise
        try:
            model = assemble(model_file, config, trust)
        except (ModelNotRebuilt, ReportInputError):
            raise refused from None
        model.notes += (msg(ASSEMBLED_NOTE, error=message_of(refused)),)
        return model


def assemble(model_file: ModelFile, config: dict, trust: bool):
    """A model built from `config`, its layers given MODEL's weights by name and shape."""
    from reportgen.load.keras.loading import load_with_architecture

    with open_weights(model_file, config) as stored:
        return load_with_architecture(copy.deepcopy(config), stored, str(model_file.path),
                                      trust=trust)


def memory_weights_evidence(model, request: ReportRequest, initial: dict | None,
                            progress: Progress) -> Evidence:
    """A model in memory reported without running it (the cost a training callback can
    afford each epoch): its weights against the weights it started from, when known.
    `model` is a Keras model, or a HeldModel (its weights as they were at one moment)."""
    from reportgen.load.keras.model import KerasModel

    progress.step(_("reading the weights of the in-memory model {name}").format(name=model.name))
    held = model.hold(copy=False) if isinstance(model, KerasModel) else model
    snapshot = held.snapshot
    evidence = evidence_of("weights-only", snapshot,
                           collect_model(snapshot, file_info(held.model_file(), held.read_with)),
                           request, [], init=initial, config=held.config,
                           reasons={"weights_only": msg(MEMORY_WEIGHTS_ONLY)})
    evidence.trusted = False
    if initial is not None:
        evidence.notes.append(msg(STARTING_WEIGHTS_NOTE))
    return evidence


def architecture_evidence(model_file: ModelFile, config: dict, request: ReportRequest,
                          reason: str, progress: Progress) -> Evidence:
    """The layers and config a file describes, when none of its weights can be read."""
    progress.step(_("reading the architecture of {name} ({reason})").format(
        name=model_file.path.name, reason=localised(reason)))
    snapshot = architecture_snapshot(config)
    evidence = evidence_of("architecture-only", snapshot,
                           collect_model(snapshot, file_info(model_file, ())), request, [],
                           config=config, file_config=config,
                           reasons={"architecture_only": reason})
    if request.inputs:
        evidence.notes.append(msg(UNUSED_INPUTS_NOTE))
    return evidence


def with_architecture_file(evidence: Evidence, architecture: Architecture | None) -> Evidence:
    """The header names the file the architecture came from (--architecture)."""
    if architecture is not None:
        evidence.model = dataclasses.replace(evidence.model,
                                             architecture_file_name=architecture.path.name,
                                             architecture_sha256=architecture.sha256)
    return evidence
