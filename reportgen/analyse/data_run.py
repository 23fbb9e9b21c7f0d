"""One pass of a labelled sample through the model, batch by batch, into every accumulator
that reads it: the class probabilities (evaluation), the per-channel activation sums (dead
channels over the whole sample), the images each filter responds to, and the per-class mean
activation of the layer before the output.

The model is run by the caller (`forward`, one batch in, that batch's layer outputs and
model outputs back), so this stage stays free of Keras. Each batch's activations are reduced
and dropped before the next is read: memory is the accumulators' (N x classes for the
probabilities, a few numbers per channel, k per filter, classes x units), not N x layers.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from reportgen.analyse.activations import ActivationAccumulator, SampleActivation
from reportgen.analyse.class_activations import ClassActivationAccumulator, ClassActivationFacts
from reportgen.analyse.input_likeness import SampleTraits, TraitAccumulator
from reportgen.analyse.evaluation import EvaluationFacts, ProbabilityAccumulator, evaluate
from reportgen.analyse.filter_examples import (DEFAULT_K, MAX_FILTERS, FilterExampleAccumulator,
                                               FilterExamplesFacts)
from reportgen.load.dataset import LabelledSample
from reportgen.errors import one_line
from reportgen.i18n import msg

Forward = Callable[[np.ndarray], tuple[Mapping[str, np.ndarray], Sequence[np.ndarray]]]
# One batch's layer outputs (float32) stay under this: with 224-px images a 64-filter layer
# alone holds 12.8 MB per image, and fixed batches of 64 held 5.3 GB at the peak.
ACTIVATION_BUDGET = 192 * 2**20
MAX_BATCH = 64


def batch_size_for(output_shapes: Iterable[str | None], budget: int = ACTIVATION_BUDGET,
                   largest: int = MAX_BATCH) -> int:
    """Samples per batch such that every top-level layer's outputs for one batch fit the
    budget (shapes as Keras prints them, "(None, 224, 224, 64)", or a list of them; an
    unknown one counts as nothing)."""
    per_sample = sum(_values(shape) for shape in output_shapes) * 4
    return max(1, min(largest, budget // per_sample)) if per_sample else largest


def _values(text: str | None) -> int:
    """Values per sample of a printed shape (or list of shapes); 0 when unknown."""
    try:
        shape = ast.literal_eval(text) if text else None
    except (ValueError, SyntaxError):
        return 0
    shapes = shape if isinstance(shape, list) else [shape]
    return sum(int(np.prod([d for d in s[1:] if isinstance(d, int)], dtype=np.int64))
               for s in shapes if isinstance(s, tuple))


@dataclass(frozen=True)
class DataFacts:
    """What the labelled sample shows about the model.

    `evaluation` is None when the first output is not class probabilities; `evaluation_error`
    then says why. `activations` are per layer over all n_images (dead channels, means,
    zero shares); `class_activations` is None when the layer before the output was not
    among the layer outputs.
    """

    description: str
    n_images: int
    class_names: tuple[str, ...]
    evaluation: EvaluationFacts | None
    evaluation_error: str
    activations: tuple[SampleActivation, ...]
    filter_examples: FilterExamplesFacts
    class_activations: ClassActivationFacts | None
    traits: SampleTraits | None = None  # its images' backgrounds and brightness
    # The penultimate layer's vector of every kept input (see class_activations.ROWS_BUDGET)
    # with the inputs' indices, and every input's predicted class (None: not class scores).
    representation: tuple[np.ndarray, np.ndarray] | None = field(default=None, compare=False)
    predicted: np.ndarray | None = field(default=None, compare=False)


def run_sample(sample: LabelledSample, forward: Forward, n_outputs: int,
               layers_for_examples: Sequence[str], penultimate: str | None,
               config: dict | None = None, k: int = DEFAULT_K, max_filters: int = MAX_FILTERS,
               examples_note: str = "", unit_layers: Sequence[str] = (),
               done: Callable[[int], None] | None = None) -> DataFacts:
    """Stream the sample through `forward` once and gather every fact the sample gives.

    `n_outputs` is the width of the model's first output (1 for a sigmoid); `config` the
    model config, for the filters' receptive fields; `examples_note` says how
    layers_for_examples were chosen (see filter_examples.example_layers); `unit_layers`
    are the layers whose units count as channels (see ActivationAccumulator); `done(n)` is
    told how many images have been run after each batch.
    """
    n_classes = 2 if n_outputs == 1 else n_outputs
    probabilities = ProbabilityAccumulator(sample.n_images, n_outputs)
    activations = ActivationAccumulator(unit_layers)
    examples, examples_note = _examples_for(sample, layers_for_examples, k, max_filters,
                                            examples_note)
    traits = TraitAccumulator()
    by_class = ClassActivationAccumulator(penultimate, n_classes, n_images=sample.n_images) \
        if penultimate else None
    input_size = (0, 0)
    for start, batch in sample.batches():
        layer_outputs, model_outputs = forward(batch)
        probabilities.add(model_outputs[0])
        activations.add(layer_outputs)
        traits.add(batch)
        examples.add(start, layer_outputs)
        if by_class is not None and penultimate in layer_outputs:
            by_class.add(sample.labels[start:start + len(batch)], layer_outputs[penultimate])
        input_size = tuple(batch.shape[1:3])
        if done is not None:
            done(start + len(batch))
    return _facts(sample, probabilities.result(), activations, traits, by_class,
                  examples.result(input_size, config, examples_note))


def _facts(sample: LabelledSample, outputs: np.ndarray, activations: ActivationAccumulator,
           traits: TraitAccumulator, by_class: ClassActivationAccumulator | None,
           filter_examples: FilterExamplesFacts) -> DataFacts:
    """The sample's facts from its accumulators, once every batch was added."""
    evaluation, error = _evaluated(sample, outputs)
    kept = by_class is not None and by_class.sums is not None
    return DataFacts(
        description=sample.description, n_images=sample.n_images,
        class_names=sample.class_names, evaluation=evaluation, evaluation_error=error,
        activations=activations.result(), filter_examples=filter_examples,
        class_activations=by_class.result() if kept else None, traits=traits.result(),
        representation=by_class.kept() if kept else None,
        predicted=predicted_classes(outputs) if evaluation is not None else None)


def predicted_classes(outputs: np.ndarray) -> np.ndarray:
    """Each input's predicted class (one sigmoid unit: above 0.5)."""
    return (outputs[:, 0] > 0.5).astype(np.int64) if outputs.shape[1] == 1 \
        else np.argmax(outputs, axis=1)


def _examples_for(sample: LabelledSample, layers: Sequence[str], k: int, max_filters: int,
                  note: str) -> tuple[FilterExampleAccumulator, str]:
    """The filter examples' accumulator and its note. A filter's examples are crops of the
    input image: a vector input (an MNIST model reading 784 values, say) has no image to
    crop, even when it is reshaped inside."""
    image_input = len(sample.input_shape) == 3
    if not image_input and layers:
        note = msg("No filter examples: the model's input is not an image.")
    return FilterExampleAccumulator(layers if image_input else (), k, max_filters), note


def joined(chunks: Iterable[tuple[Mapping[str, np.ndarray], Sequence[np.ndarray]]]
           ) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """One batch's layer outputs and model outputs, put together from the chunks that
    a KerasModel's forward_chunks yields for it: `forward` for run_sample is
    `lambda batch: joined(model.forward_chunks([batch]))`."""
    chunks = list(chunks)
    layers = {name: np.concatenate([c[0][name] for c in chunks]) for name in chunks[0][0]}
    return layers, [np.concatenate([c[1][k] for c in chunks]) for k in range(len(chunks[0][1]))]


def _evaluated(sample: LabelledSample, outputs: np.ndarray) -> tuple[EvaluationFacts | None, str]:
    """The evaluation, or why the outputs cannot be evaluated as class probabilities."""
    try:
        return evaluate(sample.labels, outputs, sample.class_names), ""
    except ValueError as exc:
        return None, one_line(exc)
