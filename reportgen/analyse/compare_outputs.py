"""What two models make of the same inputs: layer similarity (CKA) and the predictions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.analyse.cka import MIN_INPUTS, MinibatchCka, top_classes
from reportgen.i18n import msg


@dataclass(frozen=True)
class LayerSimilarity:
    """Debiased linear CKA between the outputs of the layer of one name in A and in B, over
    n inputs; None with the reason when it is undefined."""

    layer: str
    cka: float | None
    n: int
    reason: str = ""


@dataclass(frozen=True)
class PredictionChange:
    """An input whose top class differs between A and B, with each model's score for it."""

    input: str
    class_a: int
    class_b: int
    score_a: float
    score_b: float


@dataclass(frozen=True)
class OutputComparison:
    """Both models run on the same inputs: agreement of their top classes (None when the first
    output is not a classification), the inputs whose top class changed, CKA per layer, and
    with labels (a --data sample) each model's accuracy on these inputs; `n_available` is how
    many inputs the sample had (more than were run when it was cut)."""

    inputs: tuple[tuple[str, str], ...]
    agreement: float | None
    changed: tuple[PredictionChange, ...]
    similarities: tuple[LayerSimilarity, ...]
    accuracy_a: float | None = None
    accuracy_b: float | None = None
    n_available: int | None = None


def compare_outputs(inputs: list[tuple[str, str]], similarities: tuple,
                    scores_a: np.ndarray, scores_b: np.ndarray, labels: np.ndarray | None = None,
                    n_available: int | None = None) -> OutputComparison:
    """Compare the first model output of A and B, for `inputs` given as (name, source) in
    the order of the run, beside the layers' `similarities` (layer_similarity); `labels`,
    when known, are the inputs' true classes."""
    classes_a, classes_b = top_classes(scores_a), top_classes(scores_b)
    if classes_a is None or classes_b is None or scores_a.shape != scores_b.shape:
        return OutputComparison(tuple(inputs), None, (), similarities, n_available=n_available)
    changed = tuple(PredictionChange(inputs[k][0], int(classes_a[k]), int(classes_b[k]),
                                     _score(scores_a[k], classes_a[k]),
                                     _score(scores_b[k], classes_b[k]))
                    for k in np.flatnonzero(classes_a != classes_b))
    accuracy_a, accuracy_b = (None, None) if labels is None else \
        (float(np.mean(classes_a == labels)), float(np.mean(classes_b == labels)))
    return OutputComparison(tuple(inputs), float(np.mean(classes_a == classes_b)), changed,
                            similarities, accuracy_a, accuracy_b, n_available)


def _score(row: np.ndarray, predicted: int) -> float:
    """The predicted class's score: its output value, or for one sigmoid unit p for class 1
    and 1 - p for class 0 (as the single report reads a sigmoid output)."""
    if row.shape[0] == 1:
        return float(row[0] if predicted == 1 else 1.0 - row[0])
    return float(row[predicted])


def layer_similarity(name: str, cka: MinibatchCka) -> LayerSimilarity:
    """CKA of one layer in A and B over the minibatches run, or why there is none."""
    if not cka.n_batches and cka.finite:
        return LayerSimilarity(name, None, cka.n, msg("needs at least {n} inputs", n=MIN_INPUTS))
    value = cka.result()
    if value is None:
        return LayerSimilarity(name, None, cka.n, msg("undefined: an output without variation "
                                                      "across the inputs, or NaN/Inf"))
    return LayerSimilarity(name, value, cka.n)
