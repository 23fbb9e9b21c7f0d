"""The power-law fit of a spectrum's tail (Clauset, Shalizi & Newman 2009), as
weightwatcher fits it (see spectral.py for the choices and where they come from): every
eigenvalue but the largest a candidate xmin, the smallest Kolmogorov–Smirnov distance wins,
found exactly without O(n²) work."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Equal eigenvalues (an orthogonal kernel: Keras's recurrent initialiser) come out of float32
# weights up to about 1e-7 apart; fitted, that rounding noise gives alphas of 10^7 and more.
EQUAL_SPREAD = 1e-5


@dataclass(frozen=True)
class PowerLawFit:
    """A power law p(x) = (alpha-1)/xmin · (x/xmin)^-alpha fitted to a spectrum's tail."""

    alpha: float
    xmin: float
    ks_distance: float
    n_tail: int


def fit_power_law(evals: np.ndarray) -> PowerLawFit | None:
    """The Clauset–Shalizi–Newman power-law fit of a sorted spectrum; None if it is flat.

    Clauset, Shalizi & Newman, "Power-law distributions in empirical data", SIAM Review 51
    (2009) 661-703, section 3: for each candidate xmin, the continuous maximum-likelihood
    alpha = 1 + n / Σ ln(x_i/xmin) over the n points x_i >= xmin (their eq. 3.1), and the
    Kolmogorov–Smirnov distance D between the tail and the fitted CDF 1 - (x/xmin)^(1-alpha);
    the xmin with the smallest D wins (the first one on a tie, as weightwatcher's argmin).
    """
    x = np.asarray(evals, dtype=np.float64)
    if x[-1] <= x[0] * (1 + EQUAL_SPREAD):
        return None
    logs = np.log(x)
    tail = len(x) - np.arange(len(x) - 1)
    spread = np.cumsum(logs[::-1])[::-1][:-1] - tail * logs[:-1]  # Σ ln(x_i/xmin), each xmin
    # A tail of equal values has no slope; its spread would be rounding error, not 0.
    valid = (x[:-1] < x[-1]) & (spread > 0)
    alphas = np.where(valid, 1 + tail / np.where(valid, spread, 1), np.inf)
    best = _smallest_ks(logs, alphas)
    if best is None:
        return None
    index, distance = best
    xmin = float(x[index])
    return PowerLawFit(alpha=float(alphas[index]), xmin=xmin, ks_distance=float(distance),
                       n_tail=int(np.count_nonzero(x >= xmin)))


def _smallest_ks(logs: np.ndarray, alphas: np.ndarray) -> tuple[int, float] | None:
    """The candidate (index, D) with the smallest KS distance, exactly, without O(n²) work.

    D of every candidate costs O(n) each, O(n²) in all. Instead each candidate's tail is
    sampled at a few points, whose largest deviation is a lower bound of its D; the best
    candidate so far gets its exact D, and every candidate whose bound exceeds that cannot
    win and is dropped. The survivors are sampled more densely, until the samples cover
    their whole tail and the bounds are the exact D: the brute-force answer, ties included.
    """
    candidates = np.flatnonzero(np.isfinite(alphas))
    best, n_samples = np.inf, 16
    while candidates.size:
        longest = len(logs) - int(candidates[0]) - 1
        low = _ks_lower_bounds(logs, alphas, candidates, min(n_samples, longest))
        if n_samples >= longest:
            winner = int(np.argmin(low))
            return int(candidates[winner]), float(low[winner])
        best = min(best, _ks_distance(logs, alphas, int(candidates[np.argmin(low)])))
        candidates = candidates[low <= best]
        n_samples *= 4
    return None


def _ks_distance(logs: np.ndarray, alphas: np.ndarray, index: int) -> float:
    """The KS distance of one candidate xmin over its whole tail."""
    return float(_ks_lower_bounds(logs, alphas, np.array([index]), len(logs) - index - 1)[0])


def _ks_lower_bounds(logs, alphas, candidates, n_samples) -> np.ndarray:
    """Each candidate's largest |fitted CDF - empirical CDF| over n_samples+1 tail points.

    The points are spread evenly over the tail, both ends included; with n_samples one less
    than the tail's length they are the whole tail, and the value is the exact D.
    Worked in chunks of about 2**15 points, which stay in the processor's cache.
    """
    rows = max(1, (1 << 15) // (n_samples + 1))
    return np.concatenate([_sampled_ks(logs, alphas, candidates[start:start + rows], n_samples)
                           for start in range(0, len(candidates), rows)])


def _sampled_ks(logs, alphas, candidates, n_samples) -> np.ndarray:
    """_ks_lower_bounds for one chunk of candidates."""
    tail = len(logs) - candidates
    offsets = np.arange(n_samples + 1)[None, :] * (tail[:, None] - 1) // n_samples
    rise = logs[candidates[:, None] + offsets] - logs[candidates][:, None]
    fitted = 1 - np.exp((1 - alphas[candidates])[:, None] * rise)
    return np.abs(fitted - offsets / tail[:, None]).max(axis=1)
