"""What a model output says for one input, read the way its kind asks: the top classes of a
softmax, the probability of the positive class of a single sigmoid unit, the labels of a
multi-label sigmoid, the values of a regression."""

from __future__ import annotations

import numpy as np

from reportgen.analyse.facts import OutputPrediction, Prediction
from reportgen.i18n import msg

TOP_K = 5
MAX_VALUES = 10
THRESHOLD = 0.5
SOFTMAX, SIGMOID, MULTI_LABEL, REGRESSION = ("softmax", "sigmoid", "multi-label sigmoid",
                                             "regression")


def output_kind(activation: str, scores: np.ndarray) -> str:
    """The kind of an output, from the activation of the layer that makes it, or else from
    its values (a probability vector is a softmax; values in 0..1 from a sigmoid-like unit)."""
    flat = np.asarray(scores, dtype=np.float64).ravel()
    if activation == "softmax" or (not activation and _is_distribution(flat)):
        return SOFTMAX if flat.size > 1 else REGRESSION
    if activation == "sigmoid":
        return SIGMOID if flat.size == 1 else MULTI_LABEL
    return REGRESSION


def _is_distribution(flat: np.ndarray) -> bool:
    return (flat.size > 1 and bool(np.isfinite(flat).all()) and flat.min() >= 0
            and abs(flat.sum() - 1.0) <= 1e-3)


def predict(output: str, activation: str, scores: np.ndarray,
            labels: list[str]) -> OutputPrediction:
    """One output's reading for one input; `labels` name the classes where given."""
    flat = np.asarray(scores, dtype=np.float64).ravel()
    kind = output_kind(activation, flat)
    if kind == SOFTMAX:
        top = top_classes(flat, labels)
    elif kind == SIGMOID:
        names = labels if len(labels) == 2 else ["negative", "positive"]
        p = float(flat[0])
        pair = [Prediction(1, names[1], p), Prediction(0, names[0], 1.0 - p)]
        top = tuple(sorted(pair, key=lambda item: -item.probability))
    elif kind == MULTI_LABEL:
        top = top_classes(flat, labels)
    else:
        top = ()
    return OutputPrediction(
        output=output,
        kind=kind,
        top=top,
        values=tuple(float(v) for v in flat[:MAX_VALUES]) if kind == REGRESSION else (),
        n_values=int(flat.size),
        threshold=THRESHOLD if kind in (SIGMOID, MULTI_LABEL) else None,
        above_threshold=tuple(_label(i, labels) for i in np.flatnonzero(flat > THRESHOLD))
        if kind == MULTI_LABEL else (),
    )


def top_classes(flat: np.ndarray, labels: list[str], k: int = TOP_K) -> tuple[Prediction, ...]:
    """The k highest outputs, named from labels where given."""
    if flat.size < 2:
        return ()
    order = np.argsort(-flat, kind="stable")[:k]
    return tuple(Prediction(int(i), _label(int(i), labels), float(flat[i])) for i in order)


def _label(index: int, labels: list[str]) -> str:
    return labels[index] if index < len(labels) else msg("class {index}", index=index)
