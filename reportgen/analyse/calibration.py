"""Calibration of a classifier's probabilities over a labelled sample: the reliability
diagram's bins, the expected calibration error, the negative log-likelihood and the Brier
score (each checked against scikit-learn's own in the tests)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.i18n import msg

N_BINS = 15
# scikit-learn's log_loss floors float32 probabilities at the same value.
PROBABILITY_FLOOR = float(np.finfo(np.float32).eps)
BRIER_MULTICLASS = msg("mean over samples of the sum over classes of (p - y)^2, y one-hot "
                       "(0 to 2)")
BRIER_BINARY = msg("mean over samples of (p - y)^2, p the probability of class 1 (0 to 1)")


@dataclass(frozen=True)
class CalibrationBin:
    """Samples whose top-class confidence lies in [low, high); None when the bin is empty."""

    low: float
    high: float
    count: int
    mean_confidence: float | None
    accuracy: float | None


@dataclass(frozen=True)
class Calibration:
    """The reliability diagram's bins and the scores of the probabilities as a whole."""

    bins: tuple[CalibrationBin, ...]
    ece: float
    mean_confidence: float
    nll: float
    brier: float
    brier_definition: str
    probability_floor: float


def calibration(labels: np.ndarray, probs: np.ndarray, predicted: np.ndarray,
                confidence: np.ndarray, binary: bool) -> Calibration:
    """Reliability bins, expected calibration error, log-likelihood and Brier score."""
    correct = predicted == labels
    bins = reliability_bins(confidence, correct, N_BINS)
    gaps = [b.count * abs(b.accuracy - b.mean_confidence) for b in bins if b.count]
    return Calibration(
        bins=bins, ece=float(sum(gaps) / len(labels)), mean_confidence=float(confidence.mean()),
        nll=negative_log_likelihood(labels, probs), brier=brier_score(labels, probs, binary),
        brier_definition=BRIER_BINARY if binary else BRIER_MULTICLASS,
        probability_floor=PROBABILITY_FLOOR)


def reliability_bins(confidence: np.ndarray, correct: np.ndarray,
                     n_bins: int) -> tuple[CalibrationBin, ...]:
    """Equal-width bins over 0..1 of the top-class confidence (1.0 falls in the last bin)."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, n_bins - 1)
    count = np.bincount(index, minlength=n_bins)
    conf_sum = np.bincount(index, weights=confidence.astype(np.float64), minlength=n_bins)
    hit_sum = np.bincount(index, weights=correct.astype(np.float64), minlength=n_bins)
    return tuple(CalibrationBin(low=float(edges[b]), high=float(edges[b + 1]), count=int(count[b]),
                                mean_confidence=_ratio(conf_sum[b], count[b]),
                                accuracy=_ratio(hit_sum[b], count[b])) for b in range(n_bins))


def negative_log_likelihood(labels: np.ndarray, probs: np.ndarray) -> float:
    """Mean -log p(true class), probabilities clipped to [floor, 1 - floor] as sklearn does."""
    true_prob = np.clip(probs[np.arange(len(labels)), labels], np.float32(PROBABILITY_FLOOR),
                        np.float32(1 - PROBABILITY_FLOOR))
    return float(-np.log(true_prob.astype(np.float64)).mean())


def brier_score(labels: np.ndarray, probs: np.ndarray, binary: bool) -> float:
    """The Brier score: BRIER_MULTICLASS, or BRIER_BINARY for a sigmoid output."""
    if binary:
        return float(np.mean((probs[:, 1].astype(np.float64) - labels) ** 2))
    # sum_k (p_k - y_k)^2 = sum_k p_k^2 - 2 p_true + 1, without an N x K float64 copy.
    squares = np.einsum("ij,ij->i", probs, probs, dtype=np.float64)
    true_prob = probs[np.arange(len(labels)), labels].astype(np.float64)
    return float(np.mean(squares - 2 * true_prob + 1))


def _ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator as a float, None when the denominator is zero."""
    return float(numerator / denominator) if denominator else None
