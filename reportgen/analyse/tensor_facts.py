"""The numbers that describe one tensor (a weight or an activation): its statistics, its
histogram, and per channel its mean and share of zeros. The lowest facts: the statistics,
the spectra and the section facts all build on them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TensorStats:
    """Summary statistics of one tensor; NaN and Inf are counted, the rest use finite values."""

    count: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    p1: float | None
    p50: float | None
    p99: float | None
    zero_fraction: float
    l2_norm: float | None
    n_nan: int
    n_inf: int


@dataclass(frozen=True)
class Histogram:
    """Counts of values in bins; `edges` has one more entry than `counts`."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class ChannelStats:
    """One channel of a feature map: its mean and its share of exact zeros (dead share)."""

    mean: float
    zero_fraction: float
