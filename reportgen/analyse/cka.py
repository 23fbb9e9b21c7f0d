"""How alike two models' activations and predictions are, for the same inputs (pure numpy).

Linear CKA (centred kernel alignment) compares two layers' representations of the same n
inputs through their n×n Gram matrices, so layers of different widths can be compared; it is
invariant to orthogonal transforms and isotropic scaling of either representation. The
debiased form (Kornblith, Norouzi, Lee & Hinton, "Similarity of Neural Network
Representations Revisited", ICML 2019, section 3 and appendix) replaces the biased HSIC by
the unbiased estimator of Song, Smola, Gretton, Bedo & Borgwardt, "Feature Selection via
Dependence Maximization", JMLR 13 (2012), eq. 5, so that two unrelated representations score
near 0 even for few inputs (the biased form drifts towards 1 as n shrinks).
"""

from __future__ import annotations

import math

import numpy as np

MIN_INPUTS = 4  # the unbiased estimator divides by n - 3


def unbiased_hsic(k: np.ndarray, l: np.ndarray) -> float:
    """Song et al.'s unbiased HSIC of two n×n Gram matrices (n >= 4), eq. 5:
    [tr(K̃L̃) + 1ᵀK̃1·1ᵀL̃1 / ((n-1)(n-2)) - 2/(n-2)·1ᵀK̃L̃1] / (n(n-3)), K̃ and L̃ being K and L
    with their diagonals set to zero."""
    n = k.shape[0]
    k_tilde, l_tilde = k.copy(), l.copy()
    np.fill_diagonal(k_tilde, 0.0)
    np.fill_diagonal(l_tilde, 0.0)
    # Both are symmetric, so tr(K̃L̃) is the sum of their elementwise product.
    trace = float(np.sum(k_tilde * l_tilde))
    row_k, row_l = k_tilde.sum(axis=0), l_tilde.sum(axis=0)
    totals = float(row_k.sum() * row_l.sum()) / ((n - 1) * (n - 2))
    cross = 2.0 / (n - 2) * float(row_k @ row_l)
    return (trace + totals - cross) / (n * (n - 3))


def gram(features: np.ndarray) -> np.ndarray:
    """The linear-kernel Gram matrix of n samples (any shape per sample), in float64.

    Features are centred over the samples first: the unbiased HSIC does not change, and
    the products lose less to rounding.
    """
    flat = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    flat = flat - flat.mean(axis=0)
    return flat @ flat.T


def linear_cka(x: np.ndarray, y: np.ndarray) -> float | None:
    """Debiased linear CKA of two representations of the same inputs (first axis), or None
    when it is undefined: fewer than MIN_INPUTS inputs, a representation with no variation,
    or non-finite values."""
    if len(x) != len(y) or len(x) < MIN_INPUTS:
        return None
    k, l = gram(x), gram(y)
    if not (np.isfinite(k).all() and np.isfinite(l).all()):
        return None
    self_k, self_l = unbiased_hsic(k, k), unbiased_hsic(l, l)
    # The unbiased estimate of a tiny self-similarity can dip to or below zero.
    if self_k <= 0 or self_l <= 0:
        return None
    return unbiased_hsic(k, l) / math.sqrt(self_k * self_l)


def top_classes(scores: np.ndarray) -> np.ndarray | None:
    """Each input's predicted class from a model output (inputs × values): the largest value,
    or for one sigmoid unit whether it is above 0.5; None for outputs of another shape."""
    if scores.ndim != 2 or scores.shape[1] == 0 or not np.isfinite(scores).all():
        return None
    if scores.shape[1] == 1:
        return (scores[:, 0] > 0.5).astype(np.int64)
    return np.argmax(scores, axis=1)
