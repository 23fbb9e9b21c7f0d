"""Pure numpy statistics of tensors: the numbers behind every table and chart."""

from __future__ import annotations

import numpy as np

from reportgen.facts import ChannelStats, Histogram, TensorStats

HISTOGRAM_BINS = 40


CHUNK = 1 << 22
SAMPLE_LIMIT = 1 << 24


def tensor_stats(values: np.ndarray) -> TensorStats:
    """Statistics of a tensor; NaN/Inf are counted apart and left out of the rest.

    Moments, extremes and counts are exact, accumulated in float64 over chunks so that a
    100-million-value kernel needs no float64 copy. Percentiles are exact up to SAMPLE_LIMIT
    values; above it they come from a deterministic sample (see sample_step).
    """
    flat = np.asarray(values).reshape(-1)
    n = int(flat.size)
    n_nan = n_inf = n_zero = n_finite = 0
    total = squares = 0.0
    low, high = np.inf, -np.inf
    for chunk in _chunks(flat):
        finite = chunk
        if chunk.dtype.kind == "f":
            nan_mask, inf_mask = np.isnan(chunk), np.isinf(chunk)
            n_nan += int(nan_mask.sum())
            n_inf += int(inf_mask.sum())
            if n_nan or n_inf:
                finite = chunk[~(nan_mask | inf_mask)]
        n_zero += int(np.count_nonzero(chunk == 0))
        if finite.size:
            n_finite += int(finite.size)
            total += float(finite.sum(dtype=np.float64))
            squares += float(np.dot(finite.astype(np.float64), finite.astype(np.float64)))
            low, high = min(low, float(finite.min())), max(high, float(finite.max()))
    zero_fraction = n_zero / n if n else 0.0
    if not n_finite:
        return TensorStats(n, None, None, None, None, None, None, None, zero_fraction, None,
                           n_nan, n_inf)
    mean = total / n_finite
    spread = sum(float(np.square(c - mean).sum()) for c in _finite_chunks(flat, n_nan + n_inf))
    p1, p50, p99 = np.percentile(percentile_sample(flat, n_nan + n_inf), [1, 50, 99])
    return TensorStats(
        count=n, mean=mean, std=float(np.sqrt(spread / n_finite)), min=low, max=high,
        p1=float(p1), p50=float(p50), p99=float(p99), zero_fraction=zero_fraction,
        l2_norm=float(np.sqrt(squares)), n_nan=n_nan, n_inf=n_inf,
    )


def _chunks(flat: np.ndarray):
    """Consecutive slices of a flat array."""
    for start in range(0, flat.size, CHUNK):
        yield flat[start:start + CHUNK]


def _finite_chunks(flat: np.ndarray, n_bad: int):
    """The finite values of a flat array, chunk by chunk, in float64."""
    for chunk in _chunks(flat):
        wide = chunk.astype(np.float64)
        yield wide[np.isfinite(wide)] if n_bad else wide


def sample_step(n_values: int) -> int:
    """1 when percentiles and histograms use every value, else the stride of the sample."""
    return max(1, -(-n_values // SAMPLE_LIMIT))


def percentile_sample(flat: np.ndarray, n_bad: int) -> np.ndarray:
    """The finite values percentiles are taken from: all of them, or every k-th for huge
    tensors (deterministic, so two reports agree)."""
    sample = flat[:: sample_step(flat.size)].astype(np.float64)
    return sample[np.isfinite(sample)] if n_bad else sample


def shared_edges(ranges: list[tuple[float | None, float | None]],
                 bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """Bin edges covering every (min, max) range given, so that histograms overlay."""
    known = [(low, high) for low, high in ranges if low is not None and high is not None]
    low, high = (min(r[0] for r in known), max(r[1] for r in known)) if known else (0.0, 1.0)
    if low == high:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, bins + 1)


def histogram(values: np.ndarray, edges: np.ndarray) -> Histogram:
    """Counts of the finite values of a tensor (or of its sample, see sample_step) in bins."""
    flat = np.asarray(values).reshape(-1)
    sample = flat[:: sample_step(flat.size)].astype(np.float64)
    counts, _ = np.histogram(sample[np.isfinite(sample)], bins=edges)
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
