"""Evaluation on a labelled sample: accuracy, per-class scores, confusion, calibration, alerts.

Pure functions from true labels and predicted class probabilities (N x K softmax rows, or
N x 1 sigmoid outputs, the probability of class 1) to frozen dataclasses of plain numbers.
The metrics are a few lines of numpy each and the tests hold every number against
scikit-learn's own functions. scikit-learn is not a run-time dependency: importing
sklearn.metrics costs 1.2-1.5 s on its own, and once it is installed Keras imports it on
every start (its scikit-learn wrappers), adding about a second to runs that evaluate nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.analyse.calibration import Calibration, calibration
from reportgen.errors import ReportInputError
from reportgen.i18n import msg

Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile: a two-sided 95 % interval
TOP_K = 5
MAX_MATRIX_CLASSES = 30
N_CONFUSED_PAIRS = 20
N_MISTAKES = 16
BINARY_THRESHOLD = 0.5
# 50,000 images x 1,000 classes (ImageNet's validation set) of float32: 200 MB.
MAX_STORED_PROBABILITIES = 50_000_000


@dataclass(frozen=True)
class RateInterval:
    """A proportion hits / n with its 95 % Wilson score interval."""

    value: float
    low: float
    high: float
    hits: int
    n: int


@dataclass(frozen=True)
class ClassScores:
    """Precision, recall and F1 of one class; None where the denominator is zero."""

    index: int
    name: str
    precision: float | None
    recall: float | None
    f1: float | None
    support: int
    n_predicted: int
    n_correct: int


@dataclass(frozen=True)
class ConfusedPair:
    """Samples of class `true` predicted as `predicted`; `share` of the true class's samples."""

    true: int
    predicted: int
    count: int
    share: float


@dataclass(frozen=True)
class Mistake:
    """A wrong prediction: the sample's index, its classes and the probabilities given."""

    index: int
    true: int
    predicted: int
    confidence: float
    true_probability: float


@dataclass(frozen=True)
class EvaluationFacts:
    """Everything the evaluation section says about the model on a labelled sample.

    `confusion` (counts, rows true, columns predicted) is always complete; the row-normalised
    matrix is kept up to MAX_MATRIX_CLASSES classes, above that the view shows the pairs.
    `threshold` is the sigmoid cut (class 1 when p > threshold), None for softmax outputs.
    """

    n_samples: int
    n_classes: int
    class_names: tuple[str, ...]
    output: str
    threshold: float | None
    accuracy: RateInterval
    top5: RateInterval | None
    majority_class: int
    majority_accuracy: float
    classes: tuple[ClassScores, ...]
    confusion: tuple[tuple[int, ...], ...]
    confusion_normalised: tuple[tuple[float, ...] | None, ...]
    confused_pairs: tuple[ConfusedPair, ...]
    mistakes: tuple[Mistake, ...]
    calibration: Calibration
    matched: "LabelMatch | None" = None

    @property
    def shows_matrix(self) -> bool:
        """Whether the confusion matrix is drawn whole (else its most-confused pairs)."""
        return self.n_classes <= MAX_MATRIX_CLASSES


class ProbabilityAccumulator:
    """The model's outputs for a whole sample, added batch by batch into one N x K float32 array.

    Nothing else is kept (no activations), so memory is N x K x 4 bytes whatever the model.
    """

    def __init__(self, n_samples: int, n_outputs: int) -> None:
        """Reserve room for every sample's outputs, refusing more than the stated cap."""
        if n_samples * n_outputs > MAX_STORED_PROBABILITIES:
            raise ReportInputError(msg("{n_images:,} images x {n_outputs:,} outputs exceed the "
                                       "{limit:,} probabilities a report keeps",
                                       n_images=n_samples, n_outputs=n_outputs,
                                       limit=MAX_STORED_PROBABILITIES))
        self._values = np.empty((n_samples, n_outputs), np.float32)
        self._filled = 0

    def add(self, batch: np.ndarray) -> None:
        """Append the outputs of the next batch, rows in sample order."""
        batch = np.asarray(batch).reshape(len(batch), -1)
        end = self._filled + len(batch)
        if batch.shape[1] != self._values.shape[1] or end > len(self._values):
            raise ValueError(f"a batch of shape {batch.shape} does not fit after row "
                             f"{self._filled} of {self._values.shape}")
        self._values[self._filled:end] = batch
        self._filled = end

    def result(self) -> np.ndarray:
        """All outputs, once every sample's have been added."""
        if self._filled != len(self._values):
            raise ValueError(f"only {self._filled} of {len(self._values)} samples were added")
        return self._values


def evaluate(labels: np.ndarray, outputs: np.ndarray,
             class_names: tuple[str, ...] = ()) -> EvaluationFacts:
    """Every evaluation number for true labels and the model's N x K (or N x 1) outputs.

    Raises ValueError when the outputs are not probabilities (NaN, outside 0..1, softmax
    rows not summing to 1): the caller reports that instead of an evaluation.
    """
    labels = np.asarray(labels, dtype=np.int64)
    binary = outputs.shape[1] == 1
    probs = two_classes(outputs) if binary else np.asarray(outputs, dtype=np.float32)
    check_probabilities(probs, labels)
    n, k = probs.shape
    predicted = ((probs[:, 1] > BINARY_THRESHOLD).astype(np.int64) if binary
                 else probs.argmax(axis=1))
    rows = np.arange(n)
    confidence, true_prob = probs[rows, predicted], probs[rows, labels]
    counts = confusion_counts(labels, predicted, k)
    support = counts.sum(axis=1)
    majority = int(support.argmax())
    return EvaluationFacts(
        n_samples=n, n_classes=k, class_names=tuple(class_names),
        output="sigmoid" if binary else "softmax",
        threshold=BINARY_THRESHOLD if binary else None,
        accuracy=wilson_interval(int((predicted == labels).sum()), n),
        top5=(wilson_interval(int(top_k_hits(labels, probs, TOP_K).sum()), n)
              if k > TOP_K else None),
        majority_class=majority, majority_accuracy=float(support[majority] / n),
        classes=class_scores(counts, class_names),
        confusion=tuple(tuple(int(c) for c in row) for row in counts),
        confusion_normalised=row_normalised(counts) if k <= MAX_MATRIX_CLASSES else (),
        confused_pairs=most_confused(counts, N_CONFUSED_PAIRS),
        mistakes=confident_mistakes(labels, predicted, confidence, true_prob, N_MISTAKES),
        calibration=calibration(labels, probs, predicted, confidence, binary),
        matched=best_relabelling(counts))


@dataclass(frozen=True)
class LabelMatch:
    """The one-to-one relabelling of the classes under which the labels agree most with the
    predictions (the assignment problem on the confusion counts), its accuracy, and the
    labels it moves: (label, the model's output it is matched with)."""

    accuracy: float
    moved: tuple[tuple[int, int], ...]


def best_relabelling(counts: np.ndarray) -> LabelMatch:
    """The relabelling that maximises the agreement of labels and predictions
    (scipy.optimize.linear_sum_assignment: the Hungarian method, exact)."""
    from scipy.optimize import linear_sum_assignment

    rows, columns = linear_sum_assignment(counts, maximize=True)
    total = counts.sum()
    return LabelMatch(float(counts[rows, columns].sum() / total) if total else 0.0,
                      tuple((int(r), int(c)) for r, c in zip(rows, columns) if r != c))


def two_classes(outputs: np.ndarray) -> np.ndarray:
    """Sigmoid outputs p as the two columns (1 - p, p), so both output kinds share the code."""
    p = np.asarray(outputs, dtype=np.float32)[:, :1]
    return np.concatenate([1 - p, p], axis=1)


def check_probabilities(probs: np.ndarray, labels: np.ndarray) -> None:
    """Refuse outputs that are not one probability row per labelled sample."""
    if probs.ndim != 2 or len(probs) != len(labels) or len(labels) == 0:
        raise ValueError(msg("{n} labels for outputs of shape {shape}", n=len(labels),
                             shape=str(probs.shape)))
    if labels.min() < 0 or labels.max() >= probs.shape[1]:
        raise ValueError(msg("labels must lie in 0..{last}", last=probs.shape[1] - 1))
    if not np.isfinite(probs).all():
        raise ValueError(msg("the outputs hold NaN or Inf values"))
    if probs.min() < 0 or probs.max() > 1:
        raise ValueError(msg("the outputs are not probabilities (values outside 0..1)"))
    # float32 softmax rows sum to 1 within about 1e-6; logits or multi-label outputs do not.
    if not np.allclose(probs.sum(axis=1, dtype=np.float64), 1.0, atol=1e-3):
        raise ValueError(msg("the outputs are not probabilities (rows do not sum to 1)"))


def wilson_interval(hits: int, n: int, z: float = Z_95) -> RateInterval:
    """The proportion hits / n with its Wilson score interval (unlike the Wald interval it
    stays inside 0..1 and keeps a width at 0 and n hits)."""
    p = hits / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return RateInterval(value=p, low=max(0.0, float(centre - half)),
                        high=min(1.0, float(centre + half)), hits=hits, n=n)


def top_k_hits(labels: np.ndarray, probs: np.ndarray, k: int) -> np.ndarray:
    """Whether the true class is among the k most probable, per sample.

    Ties rank the higher class index first, as scikit-learn's top_k_accuracy_score does.
    """
    true_prob = probs[np.arange(len(labels)), labels][:, None]
    above = (probs > true_prob).sum(axis=1)
    tied_after = ((probs == true_prob) & (np.arange(probs.shape[1]) > labels[:, None])).sum(axis=1)
    return above + tied_after < k


def confusion_counts(labels: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """A K x K matrix of counts: row = true class, column = predicted class."""
    flat = np.bincount(labels * n_classes + predicted, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def class_scores(counts: np.ndarray, class_names: tuple[str, ...]) -> tuple[ClassScores, ...]:
    """Precision, recall, F1 and support per class, from the confusion counts."""
    hits = np.diag(counts)
    support, n_predicted = counts.sum(axis=1), counts.sum(axis=0)
    return tuple(ClassScores(
        index=c, name=class_names[c] if c < len(class_names) else "",
        precision=_ratio(hits[c], n_predicted[c]), recall=_ratio(hits[c], support[c]),
        # 2TP / (2TP + FP + FN): defined whenever the class occurs or is predicted.
        f1=_ratio(2 * hits[c], support[c] + n_predicted[c]),
        support=int(support[c]), n_predicted=int(n_predicted[c]), n_correct=int(hits[c]))
        for c in range(len(counts)))


def row_normalised(counts: np.ndarray) -> tuple[tuple[float, ...] | None, ...]:
    """Each row of the confusion matrix as shares of its class; None for a class absent."""
    return tuple(tuple(float(c / row.sum()) for c in row) if row.sum() else None
                 for row in counts)


def most_confused(counts: np.ndarray, n_pairs: int) -> tuple[ConfusedPair, ...]:
    """The off-diagonal cells with the most samples, largest first (ties: lower classes first)."""
    off = counts.copy()
    np.fill_diagonal(off, 0)
    flat = off.reshape(-1)
    order = np.argsort(-flat, kind="stable")[:n_pairs]
    support = counts.sum(axis=1)
    return tuple(ConfusedPair(true=int(i // len(counts)), predicted=int(i % len(counts)),
                              count=int(flat[i]), share=float(flat[i] / support[i // len(counts)]))
                 for i in order if flat[i] > 0)


def confident_mistakes(labels: np.ndarray, predicted: np.ndarray, confidence: np.ndarray,
                       true_prob: np.ndarray, n_mistakes: int) -> tuple[Mistake, ...]:
    """The wrong predictions made with the highest confidence (ties: lower index first)."""
    wrong = np.flatnonzero(predicted != labels)
    order = wrong[np.argsort(-confidence[wrong], kind="stable")][:n_mistakes]
    return tuple(Mistake(index=int(i), true=int(labels[i]), predicted=int(predicted[i]),
                         confidence=float(confidence[i]), true_probability=float(true_prob[i]))
                 for i in order)


def _ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator as a float, None when the denominator is zero."""
    return float(numerator / denominator) if denominator else None
