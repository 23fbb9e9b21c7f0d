"""Pure numpy statistics of tensors: the numbers behind every table and chart."""

from __future__ import annotations

import numpy as np

from reportgen.facts import ChannelStats, Histogram, TensorStats

HISTOGRAM_BINS = 40


def tensor_stats(values: np.ndarray) -> TensorStats:
    """Statistics of a tensor; NaN/Inf are counted apart and left out of the rest."""
    flat = np.asarray(values).ravel()
    n_nan = int(np.count_nonzero(np.isnan(flat))) if flat.dtype.kind == "f" else 0
    n_inf = int(np.count_nonzero(np.isinf(flat))) if flat.dtype.kind == "f" else 0
    finite = flat[np.isfinite(flat)] if n_nan or n_inf else flat
    zero_fraction = float(np.count_nonzero(flat == 0) / flat.size) if flat.size else 0.0
    if finite.size == 0:
        return TensorStats(int(flat.size), None, None, None, None, None, None, None,
                           zero_fraction, None, n_nan, n_inf)
    # float64 so that sums over millions of float32 values keep their precision.
    wide = finite.astype(np.float64)
    p1, p50, p99 = np.percentile(wide, [1, 50, 99])
    return TensorStats(
        count=int(flat.size),
        mean=float(wide.mean()),
        std=float(wide.std()),
        min=float(wide.min()),
        max=float(wide.max()),
        p1=float(p1),
        p50=float(p50),
        p99=float(p99),
        zero_fraction=zero_fraction,
        l2_norm=float(np.sqrt(np.dot(wide, wide))),
        n_nan=n_nan,
        n_inf=n_inf,
    )


def shared_edges(arrays: list[np.ndarray], bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """Bin edges covering the finite values of all arrays, so their histograms overlay."""
    lows, highs = [], []
    for values in arrays:
        finite = values[np.isfinite(values)]
        if finite.size:
            lows.append(float(finite.min()))
            highs.append(float(finite.max()))
    low, high = (min(lows), max(highs)) if lows else (0.0, 1.0)
    if low == high:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, bins + 1)


def histogram(values: np.ndarray, edges: np.ndarray) -> Histogram:
    """Counts of the finite values of a tensor in the given bins."""
    flat = np.asarray(values, dtype=np.float64).ravel()
    counts, _ = np.histogram(flat[np.isfinite(flat)], bins=edges)
    return Histogram(edges=tuple(float(e) for e in edges), counts=tuple(int(c) for c in counts))


def channel_stats(activation: np.ndarray) -> tuple[ChannelStats, ...]:
    """Mean and zero share of each channel (last axis) of one layer's output for one input."""
    if activation.ndim < 2:
        return ()
    per_channel = activation.reshape(-1, activation.shape[-1]).astype(np.float64)
    means = per_channel.mean(axis=0)
    zeros = (per_channel == 0).mean(axis=0)
    return tuple(ChannelStats(float(m), float(z)) for m, z in zip(means, zeros))


MAX_FILTERS_COMPARED = 4096


def filter_similarity(kernel: np.ndarray, threshold: float) -> tuple[float | None, int]:
    """The largest cosine similarity between two filters (last axis), and pairs above threshold.

    All-zero filters have no direction and are left out; so are layers with too many
    filters to compare pairwise.
    """
    n_filters = kernel.shape[-1]
    if kernel.ndim < 3 or not 2 <= n_filters <= MAX_FILTERS_COMPARED:
        return None, 0
    flat = kernel.reshape(-1, n_filters).astype(np.float64)
    flat = flat[:, np.isfinite(flat).all(axis=0)]
    norms = np.linalg.norm(flat, axis=0)
    unit = flat[:, norms > 0] / norms[norms > 0]
    if unit.shape[1] < 2:
        return None, 0
    cosine = unit.T @ unit
    upper = cosine[np.triu_indices(unit.shape[1], k=1)]
    return float(upper.max()), int(np.count_nonzero(upper > threshold))


def normalised_entropy(scores: np.ndarray) -> float | None:
    """Entropy / log(K) of an output that is a probability vector, else None."""
    p = np.asarray(scores, dtype=np.float64).ravel()
    if p.size < 2 or not np.isfinite(p).all() or p.min() < 0 or abs(p.sum() - 1.0) > 1e-3:
        return None
    nonzero = p[p > 0]
    return float(-(nonzero * np.log(nonzero)).sum() / np.log(p.size))
