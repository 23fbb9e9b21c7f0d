"""The weights a quantised or pruned model would run with, for the measured accuracies.

Weights are fake-quantised: quantised to int8 (or float16) and back, so that the float model
computes with exactly the values the quantised one holds. Activations stay float: these
numbers isolate what the weights' rounding costs (the TFLite row, where there is one, adds the
activations' rounding too). What is quantised is what quantise.py audits (kernels and
embeddings); biases and normalisation vectors stay as they are, as converters keep them
(int32 biases, folded or float normalisation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from reportgen.analyse.quantise import QMAX, channel_axes, is_quantisable

PRUNING_LEVELS = (0.5, 0.8, 0.9)


def int8_weights(per_channel: bool) -> Callable[[np.ndarray, str, str], np.ndarray]:
    """The variant of symmetric int8 per tensor or per output channel (scale max|w| / 127)."""
    def variant(values: np.ndarray, class_name: str, weight_name: str) -> np.ndarray:
        if not is_quantisable(values, weight_name):
            return values
        magnitude = np.abs(values)
        if per_channel:
            axes = channel_axes(class_name, weight_name, values.ndim)
            reduced = tuple(a for a in range(values.ndim) if a not in axes)
            top = magnitude.max(axis=reduced, keepdims=True)
        else:
            top = magnitude.max()
        scale = np.where(top > 0, top / QMAX, 1.0).astype(np.float32)
        return (np.clip(np.round(values / scale), -QMAX, QMAX) * scale).astype(values.dtype)
    return variant


def float16_weights(values: np.ndarray, _class_name: str, weight_name: str) -> np.ndarray:
    """Every quantisable weight rounded to float16 (and back)."""
    if not is_quantisable(values, weight_name):
        return values
    return values.astype(np.float16).astype(values.dtype)


def magnitude_threshold(weights: Iterable[tuple[np.ndarray, str, str]], share: float) -> float:
    """The |w| below which `share` of all quantisable weights lie (global magnitude
    pruning: one threshold for the whole model, as tfmot's and torch's global pruning)."""
    magnitudes = np.concatenate([np.abs(values).ravel() for values, _c, name in weights
                                 if is_quantisable(values, name)] or [np.zeros(1)])
    k = min(len(magnitudes) - 1, int(share * len(magnitudes)))
    return float(np.partition(magnitudes, k)[k])


def pruned_weights(threshold: float) -> Callable[[np.ndarray, str, str], np.ndarray]:
    """The variant with every quantisable weight of |w| below `threshold` set to zero."""
    def variant(values: np.ndarray, _class_name: str, weight_name: str) -> np.ndarray:
        if not is_quantisable(values, weight_name):
            return values
        return np.where(np.abs(values) < threshold, 0, values).astype(values.dtype)
    return variant
