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
