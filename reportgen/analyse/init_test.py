"""Did a weight tensor train? Its values held against a fresh draw of its own initialiser.

Two pieces of evidence, either of which proves training:

- Support: a fresh draw of m values from the initialiser bounds where its values lie (its
  largest |w|). A value of the same distribution falls beyond the largest of m draws with
  probability 1/(m+1), so more than OUTSIDE_SHARE of the trained values there (and more than
  OUTSIDE_COUNT/(m+1), for small draws) cannot be the initialiser's. For a bounded
  initialiser (uniform, truncated normal) this is the share outside its support: a trained
  layer whose spread barely changed still shows it.
- Distribution: the two-sample Kolmogorov–Smirnov distance D between the trained values and
  the fresh draw (up to KS_SAMPLE of each, evenly spaced). D above the critical value
  c(α)·sqrt((n+m)/(n·m)) at α = 0.001 (c = 1.949, Smirnov's asymptotic) rejects "the same
  distribution".

A tensor of fewer than MIN_VALUES values is not judged (the test has no power there). A
layer is "indistinguishable from a fresh initialisation" when none of its judged tensors
shows either piece of evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

KS_SAMPLE = 20_000
KS_C = 1.949  # c(0.001) = sqrt(-ln(0.001 / 2) / 2)
OUTSIDE_SHARE = 0.01
OUTSIDE_COUNT = 5
MIN_VALUES = 100


@dataclass(frozen=True)
class InitTest:
    """A trained tensor held against a fresh draw of its initialiser (see the module)."""

    n: int
    n_fresh: int
    fresh_reach: float
    share_outside: float
    ks_distance: float
    ks_threshold: float

    @property
    def judged(self) -> bool:
        return self.n >= MIN_VALUES and self.n_fresh >= MIN_VALUES

    @property
    def outside_threshold(self) -> float:
        """The share beyond the fresh draw's reach that a same-distribution draw stays under."""
        return max(OUTSIDE_SHARE, OUTSIDE_COUNT / (self.n_fresh + 1))

    @property
    def trained(self) -> bool:
        """Evidence of training: values outside the fresh support, or another distribution."""
        return self.share_outside > self.outside_threshold or \
            self.ks_distance > self.ks_threshold


def init_test(trained: np.ndarray, fresh: np.ndarray) -> InitTest | None:
    """The test of a trained tensor's finite values against a fresh draw's; None when either
    has no finite value."""
    trained = np.asarray(trained, dtype=np.float64).ravel()
    fresh = np.asarray(fresh, dtype=np.float64).ravel()
    trained, fresh = trained[np.isfinite(trained)], fresh[np.isfinite(fresh)]
    if not trained.size or not fresh.size:
        return None
    reach = float(np.abs(fresh).max())
    outside = float(np.count_nonzero(np.abs(trained) > reach)) / trained.size
    a, b = _spaced(trained), _spaced(fresh)
    return InitTest(n=int(trained.size), n_fresh=int(fresh.size), fresh_reach=reach,
                    share_outside=outside, ks_distance=ks_distance(a, b),
                    ks_threshold=KS_C * math.sqrt((a.size + b.size) / (a.size * b.size)))


def _spaced(values: np.ndarray) -> np.ndarray:
    """At most KS_SAMPLE values, evenly spaced through the tensor (deterministic)."""
    step = max(1, math.ceil(values.size / KS_SAMPLE))
    return values[::step]


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The two-sample Kolmogorov–Smirnov statistic: the largest gap between the empirical
    CDFs of a and b."""
    a, b = np.sort(a), np.sort(b)
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    return float(np.abs(cdf_a - cdf_b).max())
