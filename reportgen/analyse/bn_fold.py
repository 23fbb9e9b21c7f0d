"""Batch normalisation folded into the kernel before it, as int8 converters deploy it.

A converter (TFLite's, for one) computes y = gamma * (conv(x) - mean) / sqrt(var + eps) +
beta with one convolution: the kernel's output channel c is multiplied by gamma_c /
sqrt(var_c + eps). What int8 then quantises is that folded kernel, and folding is what
spreads the channels' ranges apart (a channel with a tiny variance is scaled up), so the
audit quantises the kernel as deployed, not as stored.

A normalisation is folded when it is the only reader of a convolution's or Dense layer's
output and reads nothing else (the architecture's graph says), normalises the last axis,
and holds its four vectors.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from reportgen.analyse.quantise import channel_axes

FOLDABLE = frozenset({"Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "DepthwiseConv1D",
                      "Dense"})
DEFAULT_EPSILON = 1e-3  # Keras's BatchNormalization default
MAX_FOLDED_VALUES = 1 << 22  # larger kernels are audited as stored (read in blocks)


@dataclass(frozen=True)
class Fold:
    """A kernel (layer path) and the normalisation folded into it, with its scale per output
    channel."""

    layer: str
    norm: str
    scale: np.ndarray


def folds(graph, layers, epsilons: dict[str, float]) -> dict[str, Fold]:
    """The folds, by kernel layer path, from the graph's edges and the layers' snapshots."""
    if graph is None:
        return {}
    by_path = {layer.path or layer.name: layer for layer in layers}
    readers = Counter(edge.source for edge in graph.edges)
    inputs = Counter(edge.target for edge in graph.edges)
    found = {}
    for edge in graph.edges:
        kernel, norm = by_path.get(edge.source), by_path.get(edge.target)
        if (kernel is None or norm is None or norm.class_name != "BatchNormalization"
                or kernel.class_name not in FOLDABLE or readers[edge.source] != 1
                or inputs[edge.target] != 1):
            continue
        scale = _scale(norm, epsilons.get(norm.name, DEFAULT_EPSILON))
        if scale is not None:
            found[edge.source] = Fold(edge.source, edge.target, scale)
    return found


def _scale(norm, epsilon: float) -> np.ndarray | None:
    """gamma / sqrt(moving_variance + epsilon) per channel (gamma 1 when not learned)."""
    named = {w.name.rsplit("/", 1)[-1].split(":")[0]: w.values for w in norm.weights}
    if "moving_variance" not in named:
        return None
    variance = np.asarray(named["moving_variance"], np.float64)
    gamma = np.asarray(named.get("gamma", np.ones_like(variance)), np.float64)
    if gamma.shape != variance.shape or not np.all(np.isfinite(variance)):
        return None
    return gamma / np.sqrt(variance + epsilon)


def folded(values, class_name: str, weight_name: str, fold: Fold):
    """The kernel with the fold's scale on its output channels; the kernel as stored when
    the scale does not match them or the kernel is too large to copy."""
    shape = tuple(values.shape)
    if int(np.prod(shape)) > MAX_FOLDED_VALUES:
        return values
    axes = channel_axes(class_name, weight_name, len(shape))
    channels = int(np.prod([shape[a] for a in axes]))
    if channels != fold.scale.size:
        return values
    scale = fold.scale.reshape([shape[a] if a in axes else 1 for a in range(len(shape))])
    return (np.asarray(values, np.float64) * scale).astype(np.float32)


def epsilons(config) -> dict[str, float]:
    """Each BatchNormalization's epsilon by layer name, anywhere in a config."""
    found: dict[str, float] = {}
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            inner = item.get("config")
            if item.get("class_name") == "BatchNormalization" and isinstance(inner, dict):
                value = inner.get("epsilon")
                if isinstance(value, (int, float)) and value > 0:
                    found[str(inner.get("name"))] = float(value)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
