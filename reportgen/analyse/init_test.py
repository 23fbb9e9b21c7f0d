"""Did a weight tensor train? Its values held against a fresh draw of its own initialiser.

Two pieces of evidence, either of which proves training:

- Support: a fresh draw of m values from the initialiser bounds where its values lie (its
  largest |w|). If the n trained values were drawn from the same distribution, k or more of
  them would lie beyond the largest fresh one only if the k largest of all n + m values were
  all trained ones: probability C(n, k) / C(n+m, k), whatever the distribution (about 2^-k
  for n = m; not the 1/(m+1) of a single value, which once let an untrained MobileNet's
  384-value kernel, with 5 values beyond, pass for trained). Training is found when the
  count beyond has that probability under α/2, and is more than OUTSIDE_SHARE of the values
  (a share too small to matter proves nothing useful). For a bounded initialiser (uniform,
  truncated normal) this is the share outside its support: a trained layer whose spread
  barely changed still shows it.
- Distribution: the two-sample Kolmogorov–Smirnov distance D between the trained values and
  the fresh draw (up to KS_SAMPLE of each, evenly spaced). D above the critical value
  c(α)·sqrt((n+m)/(n·m)), c(α) = sqrt(−ln(α/2)/2) (Smirnov's asymptotic), rejects "the same
  distribution", at α/2.

α is ALPHA for the whole model, split evenly over the tensors it tests (Bonferroni), and for
each tensor over its two tests: an untrained ResNet50 tests 54 kernels, and at α = 0.001
each, one of them crossed the KS line by chance (D 0.02024 against 0.02014), which hid "the
model is untrained".

A tensor of fewer than MIN_VALUES values is not judged (the test has no power there). A
layer is "indistinguishable from a fresh initialisation" when none of its judged tensors
shows either piece of evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

KS_SAMPLE = 20_000
ALPHA = 0.001  # the chance that an untrained model shows any tensor as trained
OUTSIDE_SHARE = 0.01
MIN_VALUES = 100


@dataclass(frozen=True)
class InitTest:
    """A trained tensor held against a fresh draw of its initialiser (see the module)."""

    n: int
    n_fresh: int
    fresh_reach: float
    share_outside: float
    ks_distance: float
    ks_sizes: tuple[int, int]  # the values the distance compares, of each
    n_tests: int = 1  # the tensors of the model tested together (α is split over them)

    @property
    def alpha(self) -> float:
        return ALPHA / self.n_tests

    @property
    def ks_threshold(self) -> float:
        """The distance two draws of one distribution stay under, but with chance α."""
        n, m = self.ks_sizes
        return ks_c(self.alpha / 2) * math.sqrt((n + m) / (n * m))

    @property
    def judged(self) -> bool:
        return self.n >= MIN_VALUES and self.n_fresh >= MIN_VALUES

    @property
    def outside_threshold(self) -> float:
        """The share beyond the fresh draw's reach that a same-distribution draw stays under."""
        count = beyond_count(self.n, self.n_fresh, self.alpha / 2)
        return max(OUTSIDE_SHARE, (count - 0.5) / self.n)

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
                    ks_sizes=(int(a.size), int(b.size)))


def beyond_count(n: int, m: int, alpha: float) -> int:
    """The fewest of n values beyond the largest of m others of the same distribution whose
    chance is at most alpha: the smallest k with C(n, k) / C(n+m, k) <= alpha (n + 1 when
    no count is that unlikely)."""
    log_p, log_alpha = 0.0, math.log(alpha)
    for k in range(1, n + 1):
        log_p += math.log((n - k + 1) / (n + m - k + 1))
        if log_p <= log_alpha:
            return k
    return n + 1


def ks_c(alpha: float) -> float:
    """Smirnov's asymptotic critical value c(α) of the two-sample statistic."""
    return math.sqrt(-math.log(alpha / 2) / 2)


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
