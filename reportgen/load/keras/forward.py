"""A model run: every layer's output and the model's outputs, a chunk of samples at a time,
so that a large sample never has all its activations in memory at once."""

from __future__ import annotations

import numpy as np

from reportgen.load.keras.base import unwrap
from reportgen.load.keras.runtime import import_keras

FORWARD_BATCH = 32


def forward(model, batches: list[np.ndarray]) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """Every top-level layer's output and each of the model's outputs, for a batch of samples
    given as one array per model input (all in memory: for a few samples)."""
    model = unwrap(model)
    runs = list(forward_chunks(model, batches))
    names = list(runs[0][0]) if runs else []
    layers = {name: np.concatenate([run[0][name] for run in runs]) for name in names}
    outputs = [np.concatenate([run[1][k] for run in runs]) for k in range(len(model.outputs))]
    return layers, outputs


def forward_chunks(model, batches: list[np.ndarray], chunk: int = FORWARD_BATCH):
    """The same, `chunk` samples at a time: (layer outputs, model outputs) per chunk, so that
    a large sample never has all its activations in memory at once."""
    model = unwrap(model)
    n_outputs = len(model.outputs)
    if isinstance(model, import_keras().Sequential):
        names = [layer.name for layer in model.layers]

        def run(chunk):
            return _sequential_pass(model, chunk[0])
    else:
        tapped = _connected_taps(model)
        names = [layer.name for layer in tapped]
        probe = import_keras().Model(model.inputs,
                                     [layer.output for layer in tapped] + list(model.outputs))

        def run(chunk):
            return probe(chunk, training=False)
    for start in range(0, len(batches[0]), chunk):
        results = [np.asarray(r) for r in run([b[start:start + chunk] for b in batches])]
        yield dict(zip(names, results[:len(names)])), results[len(names):len(names) + n_outputs]


def _sequential_pass(model, chunk: np.ndarray) -> list:
    """A Sequential model run layer by layer: each output, then the last again as the result.

    Layer by layer because a nested model's own output tensor is not part of the outer graph.
    """
    outputs, x = [], chunk
    for layer in model.layers:
        x = layer(x, training=False)
        outputs.append(x)
    return outputs + [x]


def _connected_taps(model) -> list:
    """The layers of a functional model whose single output belongs to the model's graph."""
    keras = import_keras()
    tapped = [layer for layer in model.layers if _has_single_output(layer)]
    try:
        keras.Model(model.inputs, [layer.output for layer in tapped])
        return tapped
    except ValueError:
        pass  # Some layer (a nested model, say) is not connected: keep the others.
    connected = []
    for layer in tapped:
        try:
            keras.Model(model.inputs, layer.output)
            connected.append(layer)
        except ValueError:
            continue
    return connected


def _has_single_output(layer) -> bool:
    """Whether the layer has exactly one symbolic output tensor to tap."""
    try:
        return not isinstance(layer.output, (list, tuple, dict))
    except (AttributeError, ValueError):
        return False


