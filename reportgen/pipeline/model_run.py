"""The model run of a full report: the samples (the --input files, or the synthetic pattern),
one forward pass over them, the labelled sample streamed through the model, and what each
section measures with the model itself (Grad-CAM's gradients, say). What comes out is plain
data on the evidence (`outputs`, `measured`) and the notes the run makes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.analyse.activations import ActivationAccumulator
from reportgen.analyse.output_alerts import ACTIVATION_CLASSES
from reportgen.analyse.class_activations import penultimate_layer
from reportgen.analyse.data_run import batch_size_for, joined, run_sample
from reportgen.analyse.filter_examples import example_layers
from reportgen.errors import InputMismatch, ReportInputError, message_of
from reportgen.i18n import N_, Joined, _, msg, ngettext
from reportgen.load.dataset import bind
from reportgen.load.samples import Sample, model_samples, synthetic_sample
from reportgen.load.snapshot import ModelSnapshot
from reportgen.progress import Progress
from reportgen.pipeline.request import ReportRequest
from reportgen.sections.base import Evidence, ModelOutputs
from reportgen.sections.registry import SECTIONS

SYNTHETIC_NOTE = N_("No --input was given: the activations below are for a synthetic test "
                    "pattern ({what}), not real data.")
SYNTHETIC_DATA_NOTE = N_("No --input was given: the feature maps and the prediction drawn for "
                         "an input are for a synthetic test pattern ({what}); the evaluation, "
                         "the sample's activations and the mistakes use the labelled sample.")
PARTLY_SYNTHETIC_NOTE = N_("No file was given for the model input(s) {names}: they get the "
                           "synthetic test pattern, beside the files given for the others.")
INPUTS_CUT_NOTE = N_("{n} inputs were given: the first {shown} are drawn (--max-inputs); "
                     "predictions and the activation statistics cover all {n}.")
FORWARD_FAILED_NOTE = N_("The model could not run on the inputs ({error}), so this report has "
                         "no feature maps or predictions; everything about the weights stands.")
LABELS_COUNT_NOTE = N_("The labels file has {n_labels} class names but the model's output has "
                       "{n_classes} values: names were matched by position, and may be wrong.")


@dataclass(frozen=True)
class ForwardRun:
    """What one pass over the samples gives: every layer's output for the first samples
    (those drawn), each model output for all samples, the activations over all samples, and
    why the model could not run ("" when it could)."""

    drawn: dict
    scores: list
    summaries: tuple
    error: str = ""


def labelled_sample_of(snapshot: ModelSnapshot, request: ReportRequest, index):
    """The labelled sample (--data) indexed before the model loaded, bound to the model's
    input and classes; None without one."""
    if index is None:
        return None
    if len(snapshot.inputs) != 1:
        raise ReportInputError(msg("{path}: a labelled sample needs a model with one input "
                                   "(this one has {n})", path=str(request.data_path),
                                   n=len(snapshot.inputs)))
    return bind(index, snapshot.inputs[0].shape or (), snapshot.n_classes, request.input_scale,
                batch_size_for(layer.output_shape for layer in snapshot.layers),
                snapshot.inputs[0].token_limit)


def prepare_sections(model, evidence: Evidence) -> None:
    """Each section's checks against the loaded model, before any heavy work."""
    for section in SECTIONS:
        if section.prepare is not None and section.runs_with(evidence.has):
            evidence.prepared[section.name] = section.prepare(model, evidence)


def run_model(model, evidence: Evidence, request: ReportRequest, sample,
              progress: Progress) -> None:
    """Run the model on the inputs (the synthetic pattern when none fit or were given) and on
    the labelled sample if there is one, then let each section measure what it needs; the
    outputs, measurements and notes go on the evidence."""
    samples, mismatch = input_samples(evidence, request)
    if mismatch:
        run = ForwardRun({}, [], (), mismatch)
    else:
        progress.step(ngettext("running the model on {n} input",
                               "running the model on {n} inputs", len(samples)).format(
            n=len(samples)))
        run = run_forward(model, samples, evidence.options.max_inputs)
    samples = run_notes(evidence, samples, run)
    data = labelled_sample(model, evidence.snapshot, sample, progress)
    evidence.outputs = ModelOutputs(tuple(samples), run.drawn, tuple(run.scores),
                                    run.summaries, run.error, sample, data)
    for section in SECTIONS:
        if section.measure is not None and section.runs_with(evidence.has):
            # A section whose prepare found nothing to do says nothing (a text model is not
            # told that Grad-CAM is explaining it).
            if section.measuring and (section.prepare is None or
                                      evidence.prepared.get(section.name)):
                progress.step(_(section.measuring))
            evidence.measured[section.name] = section.measure(model, evidence)


def input_samples(evidence: Evidence, request: ReportRequest) -> tuple[list[Sample], str]:
    """The samples the --input files make (the synthetic pattern for none), with the notes
    saying so; or no sample and why the files do not fit the model."""
    snapshot = evidence.snapshot
    try:
        samples = model_samples(list(request.inputs), snapshot.inputs, request.input_scale)
    except InputMismatch as exc:  # the model loaded: its report stands without activations
        return [], message_of(exc)
    if not samples:
        note = SYNTHETIC_DATA_NOTE if request.data_path is not None else SYNTHETIC_NOTE
        evidence.notes.append(msg(note, what=synthetic_what(snapshot)))
        return [synthetic_sample(snapshot.inputs)], ""
    partly = [spec.name for k, spec in enumerate(snapshot.inputs)
              if any(s.synthetic[k:k + 1] == (True,) for s in samples)
              and not all(all(s.synthetic) for s in samples)]
    if partly:
        evidence.notes.append(msg(PARTLY_SYNTHETIC_NOTE, names=", ".join(partly)))
    return samples, ""


def run_notes(evidence: Evidence, samples: list[Sample], run: ForwardRun) -> list[Sample]:
    """The notes a forward pass calls for; the samples that ran (none when it failed)."""
    if run.error:
        evidence.notes.append(msg(FORWARD_FAILED_NOTE, error=run.error))
        return []
    labels = evidence.labels
    if labels and run.scores[0].ndim == 2 and len(labels) != n_classes(run.scores[0]):
        evidence.notes.append(msg(LABELS_COUNT_NOTE, n_labels=len(labels),
                                  n_classes=run.scores[0].shape[-1]))
    if len(samples) > evidence.options.max_inputs:
        evidence.notes.append(msg(INPUTS_CUT_NOTE, n=len(samples),
                                  shown=evidence.options.max_inputs))
    return samples


def labelled_sample(model, snapshot: ModelSnapshot, sample, progress: Progress):
    """The facts of a labelled sample, streamed through the model in batches; None without
    one."""
    if sample is None:
        return None
    progress.step(_("evaluating the model on {n} labelled inputs").format(n=sample.n_images))
    named = [(layer.name, layer.class_name) for layer in snapshot.layers]
    examples, note = example_layers(named)
    counted = _("evaluated {done} of {total} images")
    return run_sample(sample, lambda batch: joined(model.forward_chunks([batch], len(batch))),
                      snapshot.output_width, examples, penultimate_layer(named),
                      model.config(), examples_note=note,
                      unit_layers=[layer.name for layer in snapshot.layers
                                   if layer.weights or layer.class_name in ACTIVATION_CLASSES],
                      done=lambda n: progress.count(counted, n, sample.n_images))


def n_classes(scores: np.ndarray) -> int:
    """How many classes a 2-D output (samples x values) has: one sigmoid unit reads two."""
    return 2 if scores.shape[-1] == 1 else int(scores.shape[-1])


def synthetic_what(snapshot: ModelSnapshot) -> str:
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


def run_forward(model, samples: list[Sample], n_drawn: int) -> ForwardRun:
    """One forward pass over all samples, streamed: only the drawn samples' layer outputs are
    kept; the rest contribute to the per-channel sums and the predictions."""
    from reportgen.load.keras.loading import failure_reason

    batches = [np.stack([s.arrays[k] for s in samples]) for k in range(len(samples[0].arrays))]
    kept: dict[str, list] = {}
    scores: list[list] = []
    accumulator = ActivationAccumulator()
    try:
        for layers, outputs in model.forward_chunks(batches):
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
                                          error=failure_reason(exc)))
    return ForwardRun({name: np.concatenate(chunks) for name, chunks in kept.items()},
                      [np.concatenate(found) for found in scores], accumulator.result())
