"""Pure functions that turn a model snapshot and forward-pass outputs into report facts."""

from __future__ import annotations

import dataclasses

import numpy as np

from reportgen.analyse.facts import (ActivationFacts, Histogram, InputFacts, LayerFacts, ModelFacts,
                                     Series, TensorStats, WeightFacts, all_layer_facts)
from reportgen.analyse.init_test import init_test
from reportgen.analyse.predictions import predict
from reportgen.analyse.spectral import DEFAULT_MAX_DIM
from reportgen.analyse.stats import (channel_stats, finite_sample, histogram, normalised_entropy,
                                     relative_change, sample_step, shared_edges, size_of,
                                     tensor_stats)
from reportgen.analyse import weight_memo
from reportgen.analyse.weight_memo import WeightMemo, in_memory
from reportgen.load.snapshot import (LayerSnapshot, ModelSnapshot, TensorSpec, WeightArray,
                                     all_layers)
from reportgen.i18n import msg

MAX_SERIES = 1024
FEW_VALUES = 20  # tensors this small keep their values (the page draws a dot each)


def collect_layer(index: int, layer: LayerSnapshot,
                  init: dict[str, list[np.ndarray]] | None,
                  spectral_max_dim: int | None = DEFAULT_MAX_DIM,
                  memo: WeightMemo | None = None) -> LayerFacts:
    """Facts of one layer (and of its children, for a nested model).

    `init` maps layer paths to freshly initialised weights in the trained weights' order.
    Weights kept on disk are read a tensor at a time, never all in memory. `memo` may hold
    the costly facts of the trained tensors already (worked out while the model loaded).
    """
    memo = memo or weight_memo.SHARED
    fresh = fresh_values(layer, init)
    draws = getattr(init, "draws", None) if fresh else None  # more fresh draws, when made
    found = [weight_facts_of(layer.class_name, weight, fresh[k] if fresh else None,
                             spectral_max_dim, memo,
                             (lambda k=k: draws(layer.path, k)) if draws else None)
             for k, weight in enumerate(layer.weights)]
    return LayerFacts(
        index=index,
        name=layer.name,
        class_name=layer.class_name,
        output_shape=layer.output_shape,
        n_params=layer.n_params,
        trainable=layer.trainable,
        activation=layer.activation,
        weights=tuple(trained for trained, _, _ in found),
        init=tuple(initial for _, initial, _ in found) if fresh else None,
        path=layer.path or layer.name,
        series=tuple(item for _, _, series in found for item in series),
        children=tuple(collect_layer(i, child, init, spectral_max_dim, memo)
                       for i, child in enumerate(layer.children)),
    )


def fresh_values(layer: LayerSnapshot, init) -> list | None:
    """The layer's fresh weights in its own order, or None when there are none to compare
    with (no initialisation, or one that does not match the layer's weights)."""
    values = init.get(layer.path) if init is not None and layer.weights else None
    return values if values is not None and len(values) == len(layer.weights) else None


def weight_facts_of(class_name: str, weight: WeightArray, fresh_values, spectral_max_dim,
                    memo: WeightMemo, fresh_draws=None
                    ) -> tuple[WeightFacts, WeightFacts | None, list[Series]]:
    """The facts of one weight trained, of its fresh initialisation when given (their
    histograms on shared bins), and its per-index series. `fresh_draws()`, when given, makes
    a larger fresh sample for the init test (load/keras/fresh.py)."""
    values = in_memory(weight.values)
    initial = in_memory(fresh_values) if fresh_values is not None else None
    known, sample = memo.facts(class_name, weight.name, values, spectral_max_dim)
    fresh, fresh_sample = memo.facts(class_name, weight.name, initial, spectral_max_dim,
                                     trained=False) if initial is not None else (None, None)
    edges = shared_edges([(known.stats.min, known.stats.max)] +
                         ([(fresh.stats.min, fresh.stats.max)] if fresh else []))
    sample = finite_sample(values) if sample is None else sample
    if fresh is not None:
        fresh_sample = finite_sample(initial) if fresh_sample is None else fresh_sample
    trained = dataclasses.replace(
        weight_facts(weight, values, known.stats, histogram(sample, edges)),
        relative_change=relative_change(values, initial) if fresh else None,
        max_filter_cosine=known.max_filter_cosine,
        similar_filter_pairs=known.similar_filter_pairs, spectral=known.spectral,
        init_test=init_test(sample, _more_fresh(fresh_draws, fresh_sample))
        if fresh is not None and len(weight.values.shape) >= 2 else None)
    series = weight_series(class_name, weight.name, values)
    if fresh is None:
        return trained, None, series
    return trained, dataclasses.replace(
        weight_facts(weight, initial, fresh.stats, histogram(fresh_sample, edges)),
        spectral=fresh.spectral), series


def _more_fresh(fresh_draws, fresh_sample):
    """The fresh values the init test holds a kernel against: several draws when made."""
    more = fresh_draws() if fresh_draws is not None else None
    return fresh_sample if more is None else more


def weight_series(class_name: str, weight_name: str, values) -> list[Series]:
    """Per-index charts: batch-norm statistics per channel, and token vector norms."""
    if class_name == "BatchNormalization" and len(values.shape) == 1:
        return [_series(msg("{weight} per channel", weight=weight_name), np.asarray(values))]
    if class_name == "Embedding" and len(values.shape) == 2:
        norms = np.sqrt(np.square(np.asarray(values).astype(np.float64)).sum(axis=1))
        return [_series(msg("vector norm per token id"), norms)]
    return []


def _series(name: str, values: np.ndarray) -> Series:
    """A capped series of floats."""
    shown = np.asarray(values, dtype=np.float64)[:MAX_SERIES]
    return Series(name=name, values=tuple(float(v) for v in shown), total=int(values.shape[0]))


def weight_facts(weight: WeightArray, values, stats: TensorStats,
                 counts: Histogram) -> WeightFacts:
    """Facts of one weight tensor, trained or freshly initialised (the filters of a trained
    kernel are compared by the caller: random ones are never near-duplicates)."""
    shape = tuple(int(d) for d in values.shape)
    few = size_of(values) < FEW_VALUES
    return WeightFacts(
        values=tuple(float(v) for v in np.asarray(values, dtype=np.float64).ravel()) if few
        else (),
        name=weight.name,
        shape=shape,
        dtype=str(values.dtype),
        trainable=weight.trainable,
        sample_step=sample_step(size_of(values)),
        stats=stats,
        histogram=counts,
    )


def collect_activation(layer_name: str, output: np.ndarray) -> ActivationFacts:
    """Facts of one layer's output for one input (batch axis already removed)."""
    return ActivationFacts(
        layer=layer_name,
        shape=tuple(int(d) for d in output.shape),
        stats=tensor_stats(output),
        channels=channel_stats(output) if output.ndim >= 2 else (),
    )


def collect_input(name: str, source: str, shape: tuple[int, ...],
                  outputs: dict[str, np.ndarray], scores: list[tuple[TensorSpec, np.ndarray]],
                  labels: list[str], synthetic: bool = False,
                  shapes: tuple[tuple[int, ...], ...] = ()) -> InputFacts:
    """Facts of one input: every layer's output for it and what each model output says.

    `scores` pairs each model output with its values for this input; class names from
    `labels` name the first output (the one most models have).
    """
    read = tuple(predict(spec.name, spec.activation, values, labels if k == 0 else [])
                 for k, (spec, values) in enumerate(scores))
    return InputFacts(
        name=name,
        source=source,
        shape=tuple(int(d) for d in shape),
        activations=tuple(collect_activation(layer, out) for layer, out in outputs.items()),
        predictions=read[0].top if read else (),
        output_entropy=normalised_entropy(scores[0][1])
        if read and read[0].kind == "softmax" else None,
        outputs=read,
        synthetic=synthetic,
        shapes=tuple(tuple(int(d) for d in each) for each in shapes) or
        (tuple(int(d) for d in shape),),
    )


def collect_model(snapshot: ModelSnapshot, file_info: dict[str, str | int]) -> ModelFacts:
    """Facts of the model as a whole; file_info carries the file and version fields."""
    all_weights = [w for layer in all_layers(snapshot.layers) for w in layer.weights]
    n_trainable = sum(size_of(w.values) for w in all_weights if w.trainable)
    n_frozen = sum(size_of(w.values) for w in all_weights if not w.trainable)
    return ModelFacts(
        class_name=snapshot.class_name,
        n_params=n_trainable + n_frozen,
        n_trainable_params=n_trainable,
        n_non_trainable_params=n_frozen,
        input_shape=shapes_text(snapshot.inputs),
        output_shape=shapes_text(snapshot.outputs),
        inputs=tuple((s.name, shape_text(s.shape), s.dtype) for s in snapshot.inputs),
        outputs=tuple((s.name, shape_text(s.shape), s.dtype) for s in snapshot.outputs),
        **file_info,
    )


def shapes_text(tensors) -> str | None:
    """The shape of a model's input (output) as Keras's `model.input_shape` prints it: one
    shape, or the list of them for a model with several: [(None, 2), (None, 101)]. None
    when unknown."""
    shapes = [shape_text(tensor.shape) for tensor in tensors]
    if not shapes or None in shapes:
        return shapes[0] if len(shapes) == 1 else None
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def shape_text(shape: tuple | None) -> str | None:
    """A shape with its batch axis, as Keras prints it: (None, 28, 28, 1); None if unknown."""
    return None if shape is None else str((None,) + tuple(shape))


def tested_together(layers: tuple[LayerFacts, ...]) -> tuple[LayerFacts, ...]:
    """The layers with their kernels' init tests as one family: the model's α split over
    every judged test (analyse/init_test.py), so that an untrained model of many layers is
    not called trained by one test's chance."""
    n_tests = sum(1 for layer in all_layer_facts(layers) for weight in layer.weights
                  if weight.init_test is not None and weight.init_test.judged)
    return tuple(_with_n_tests(layer, max(1, n_tests)) for layer in layers)


def _with_n_tests(layer: LayerFacts, n_tests: int) -> LayerFacts:
    weights = tuple(dataclasses.replace(w, init_test=dataclasses.replace(w.init_test,
                                                                         n_tests=n_tests))
                    if w.init_test is not None else w for w in layer.weights)
    return dataclasses.replace(layer, weights=weights,
                               children=tuple(_with_n_tests(child, n_tests)
                                              for child in layer.children))
