"""How alike two models' activations and predictions are, for the same inputs (pure numpy).

Linear CKA (centred kernel alignment) compares two layers' representations of the same n
inputs through their n×n Gram matrices, so layers of different widths can be compared; it is
invariant to orthogonal transforms and isotropic scaling of either representation. The
debiased form (Kornblith, Norouzi, Lee & Hinton, "Similarity of Neural Network
Representations Revisited", ICML 2019, section 3 and appendix) replaces the biased HSIC by
the unbiased estimator of Song, Smola, Gretton, Bedo & Borgwardt, "Feature Selection via
Dependence Maximization", JMLR 13 (2012), eq. 5, so that two unrelated representations score
near 0 even for few inputs (the biased form drifts towards 1 as n shrinks).

Many inputs are compared in minibatches, as Nguyen, Raghu & Kornblith ("Do Wide and Deep
Networks Learn the Same Things?", ICLR 2021, section 3.1) do: the unbiased HSIC of each
batch is an unbiased estimate of the same population HSIC, so their sums give CKA with only
one batch's activations in memory (a layer of a 224-px CNN holds 12.8 MB per image; all 256
images of both models once took over 24 GB).
"""

from __future__ import annotations

import math

import numpy as np

MIN_INPUTS = 4  # the unbiased estimator divides by n - 3
GRAM_BLOCK_VALUES = 1 << 22  # float64 values of one block of features (32 MiB)


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
    the products lose less to rounding. Summed over blocks of features, so that no float64
    copy of a wide layer's outputs is made at once.
    """
    flat = np.asarray(features).reshape(len(features), -1)
    k = np.zeros((len(flat), len(flat)))
    step = max(1, GRAM_BLOCK_VALUES // max(1, len(flat)))
    for start in range(0, flat.shape[1], step):
        block = flat[:, start:start + step].astype(np.float64)
        block -= block.mean(axis=0)
        k += block @ block.T
    return k


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


class MinibatchCka:
    """Debiased linear CKA over minibatches of the same inputs: the sums of each batch's
    unbiased HSIC(K, L), HSIC(K, K) and HSIC(L, L); batches of fewer than MIN_INPUTS inputs
    are left out (the estimator needs four)."""

    def __init__(self):
        self.cross = self.self_a = self.self_b = 0.0
        self.n = self.n_batches = 0
        self.finite = True

    def add(self, a: np.ndarray, b: np.ndarray) -> None:
        if len(a) != len(b) or len(a) < MIN_INPUTS:
            return
        k, l = gram(a), gram(b)
        if not (np.isfinite(k).all() and np.isfinite(l).all()):
            self.finite = False
            return
        self.cross += unbiased_hsic(k, l)
        self.self_a += unbiased_hsic(k, k)
        self.self_b += unbiased_hsic(l, l)
        self.n += len(a)
        self.n_batches += 1

    def result(self) -> float | None:
        """The CKA, or None when undefined (no batch, NaN/Inf, or no variation)."""
        if not self.n_batches or not self.finite or self.self_a <= 0 or self.self_b <= 0:
            return None
        return self.cross / math.sqrt(self.self_a * self.self_b)


def top_classes(scores: np.ndarray) -> np.ndarray | None:
    """Each input's predicted class from a model output (inputs × values): the largest value,
    or for one sigmoid unit whether it is above 0.5; None for outputs of another shape."""
    if scores.ndim != 2 or scores.shape[1] == 0 or not np.isfinite(scores).all():
        return None
    if scores.shape[1] == 1:
        return (scores[:, 0] > 0.5).astype(np.int64)
    return np.argmax(scores, axis=1)
