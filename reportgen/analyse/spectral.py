"""Spectral health of weight matrices: the numbers of heavy-tailed self-regularisation.

For each layer weight that mixes channels, the eigenvalues of WᵀW are pooled into one
spectrum, a power law is fitted to its tail, and the norms and ranks weightwatcher reports
are computed from it. numpy only: this also runs in weights-only mode, where TensorFlow is
never imported.

Choices follow weightwatcher (github.com/CalculatedContent/WeightWatcher at d6fd015; files
weightwatcher/weightwatcher.py "ww.py", WW_powerlaw.py, RMT_Util.py, constants.py), so that
alpha, D, stable rank and soft rank are comparable with the values it publishes:
- A convolution kernel is cut into one Cin×Cout matrix per kernel position and the slices'
  eigenvalues are pooled (ww.py conv2D_Wmats, 1248-1324, with its default pool=True).
- Eigenvalues at or below 1e-5 are left out of the fit (constants.py 190 EVALS_THRESH,
  ww.py 4253) but kept for λmax, stable rank and soft rank (ww.py apply_norm_metrics).
- Every eigenvalue but the largest is a candidate xmin, with no minimum tail size, and the
  tail runs to λmax: no xmax (WW_powerlaw.py WWFit 37-47; ww's default xmax=None).
- D compares the fitted CDF with the empirical CDF just below each tail point, i/n, and
  the first smallest D wins (WW_powerlaw.py fit_power_law 67-82, np.argmin at 55).
- "Spectral norm" is λmax, the largest eigenvalue, not its square root, and alpha-hat is
  alpha·log10 λmax, ww's alpha_weighted (ww.py apply_norm_metrics, 4525-4565).
- Fewer than 10 eigenvalues: not analysed (constants.py 144 DEFAULT_MIN_EVALS; 8 in the
  weightwatcher 0.7.7 wheel, which also fits spectra under 20 by an experimental method).
Where this module differs from weightwatcher, on purpose:
- ww multiplies Conv2D kernels by sqrt(1/2) before the SVD (ww.py apply_normalize_Wmats
  2862-2864, conv2d_norm=True by default), which halves their λmax and xmin; here the
  eigenvalues are the kernel's own. Alpha, D, stable rank and soft rank do not change.
- ww hands a Keras Conv1D kernel over whole (ww.py 1158) and keeps only its k largest
  singular values; here Conv1D, Conv3D and transposed kernels are sliced like Conv2D.
- Recurrent, separable pointwise and ConvLSTM kernels are analysed here; ww's Keras wrapper
  knows Dense, Conv1D/2D and Embedding by name (ww.py 155-184), so it also slices depthwise
  kernels (Cin×1 slices), which have no channel-mixing matrix and are skipped here.
- A spectrum whose eigenvalues are equal up to float32 rounding has no fit (EQUAL_SPREAD)
  where ww reports an alpha of millions; a candidate tail of equal values is skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from reportgen.analyse.power_law import fit_power_law
from reportgen.analyse.tensor_facts import Histogram
from reportgen.i18n import msg

MIN_EIGENVALUES = 10
NEAR_ZERO = 1e-5
HISTOGRAM_BINS = 40
# The smaller side above which a matrix is skipped. eigvalsh costs O(side³): VGG16's fc1
# (25088×4096) and fc2 (4096×4096) alone take 40 s on one core, all of ResNet50 3 s.
DEFAULT_MAX_DIM = 2048
GRAM_BLOCK = 1 << 22  # values of W converted to float64 at a time: fc1 is never copied whole

WHOLE_MATRIX = {"Dense": ("kernel",), "Embedding": ("embeddings",),
                "SimpleRNN": ("kernel", "recurrent_kernel"), "LSTM": ("kernel", "recurrent_kernel"),
                "GRU": ("kernel", "recurrent_kernel"),
                "Bidirectional": ("kernel", "recurrent_kernel")}
SLICED = {"Conv1D": ("kernel",), "Conv2D": ("kernel",), "Conv3D": ("kernel",),
          "ConvLSTM1D": ("kernel", "recurrent_kernel"),
          "ConvLSTM2D": ("kernel", "recurrent_kernel"),
          "ConvLSTM3D": ("kernel", "recurrent_kernel"),
          "SeparableConv1D": ("pointwise_kernel",), "SeparableConv2D": ("pointwise_kernel",)}
# Keras stores a transposed convolution's kernel as (k..., Cout, Cin).
TRANSPOSED = {"Conv1DTranspose": ("kernel",), "Conv2DTranspose": ("kernel",),
              "Conv3DTranspose": ("kernel",)}


@dataclass(frozen=True)
class SpectralFacts:
    """The spectrum of one layer weight, or why it has none (`reason`).

    A weight without a channel-mixing matrix (bias, gamma, depthwise kernel) has
    n_matrices 0 and a reason starting "no spectrum:"; one that has matrices but no numbers
    has a reason starting "n/a:". `histogram` counts the eigenvalues above NEAR_ZERO in
    log-spaced bins; `tail_density` is the fitted power law's density at xmin in the units
    of counts / ((n_eigenvalues - n_near_zero) · bin width), so a plot can draw the line.
    """

    reason: str | None
    n_matrices: int = 0
    matrix_shape: tuple[int, ...] = ()
    n_eigenvalues: int = 0
    n_near_zero: int = 0
    spectral_norm: float | None = None
    stable_rank: float | None = None
    alpha: float | None = None
    xmin: float | None = None
    ks_distance: float | None = None
    n_tail: int = 0
    alpha_hat: float | None = None
    mp_softrank: float | None = None
    histogram: Histogram | None = None
    tail_density: float | None = None

    @property
    def tail_line(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """The fitted tail as (eigenvalue, density) at xmin and λmax: a line in log-log axes."""
        if self.alpha is None:
            return None
        end = self.tail_density * (self.spectral_norm / self.xmin) ** -self.alpha
        return (self.xmin, self.tail_density), (self.spectral_norm, end)


def spectral_facts(class_name: str, weight_name: str, values,
                   max_dim: int | None = DEFAULT_MAX_DIM) -> SpectralFacts:
    """The spectral facts of one layer weight; `values` may be read on demand (h5py)."""
    matrices = spectral_matrices(class_name, weight_name, values)
    if isinstance(matrices, str):
        return SpectralFacts(reason=matrices)
    shape = tuple(int(n) for n in matrices[0].shape)
    known = SpectralFacts(reason=None, n_matrices=len(matrices), matrix_shape=shape)
    if max_dim is not None and min(shape) > max_dim:
        return replace(known, reason=msg("n/a: {rows}×{cols} matrix, smaller side above "
                                         "--spectral-max-dim {max_dim}", rows=shape[0],
                                         cols=shape[1], max_dim=max_dim))
    if len(matrices) * min(shape) < MIN_EIGENVALUES:
        return replace(known, reason=msg("n/a: fewer than {n} eigenvalues", n=MIN_EIGENVALUES))
    evals = pooled_eigenvalues(matrices)
    if evals is None:
        return replace(known, reason=msg("n/a: the weights contain NaN or Inf"))
    return replace(spectrum_facts(evals, max(shape) / min(shape)),
                   n_matrices=len(matrices), matrix_shape=shape)


def spectral_of(class_name: str, weight_name: str, values,
                max_dim: int | None) -> SpectralFacts | None:
    """The spectrum of a weight that mixes channels (n/a facts say why when it cannot be
    computed); None for one that has no such matrix (a bias, gamma, a depthwise kernel)."""
    found = spectral_facts(class_name, weight_name, values, max_dim)
    return None if found.n_matrices == 0 else found


def spectrum_facts(evals: np.ndarray, aspect_ratio: float) -> SpectralFacts:
    """Norms, ranks, power-law fit and histogram of a pooled, sorted spectrum.

    `aspect_ratio` is the larger side of the pooled matrices over the smaller (MP's Q).
    """
    nonzero = evals[evals > NEAR_ZERO]
    counts = SpectralFacts(reason=None, n_eigenvalues=len(evals),
                           n_near_zero=len(evals) - len(nonzero))
    if len(nonzero) < MIN_EIGENVALUES:
        return replace(counts, reason=msg("n/a: fewer than {n} eigenvalues above {limit:g}",
                                          n=MIN_EIGENVALUES, limit=NEAR_ZERO))
    top = float(evals[-1])
    measured = replace(counts, spectral_norm=top, stable_rank=float(evals.sum() / top),
                       mp_softrank=mp_softrank(evals, aspect_ratio),
                       histogram=log_histogram(nonzero))
    fit = fit_power_law(nonzero)
    if fit is None:
        return replace(measured, reason=msg("n/a: the eigenvalues are all equal, no power-law "
                                            "tail"))
    return replace(measured, alpha=fit.alpha, xmin=fit.xmin, ks_distance=fit.ks_distance,
                   n_tail=fit.n_tail, alpha_hat=fit.alpha * math.log10(top),
                   tail_density=fit.n_tail / len(nonzero) * (fit.alpha - 1) / fit.xmin)


def spectral_matrices(class_name: str, weight_name: str, values) -> list | str:
    """The Cin×Cout matrices whose eigenvalues are pooled for a weight, or why there are none.

    `weight_name` may be a path ('lstm_cell/kernel', 'dense/kernel:0'): its last part counts.
    Dense, Embedding and recurrent weights give [W] as they are (not read here); a
    convolution kernel (k..., Cin, Cout) gives one matrix per kernel position.
    """
    base = weight_name.rsplit("/", 1)[-1].split(":", 1)[0]
    ndim = len(values.shape)
    if ndim < 2:
        return msg("no spectrum: a vector (bias, scale or statistics)")
    if base == "depthwise_kernel" or class_name.startswith("DepthwiseConv"):
        return msg("no spectrum: a depthwise kernel mixes no channels")
    if base in WHOLE_MATRIX.get(class_name, ()) and ndim == 2:
        return [values]
    if base in SLICED.get(class_name, ()) + TRANSPOSED.get(class_name, ()) and ndim >= 3:
        kernel = np.asarray(values)
        slices = kernel.reshape((-1,) + kernel.shape[-2:])
        return [s.T if class_name in TRANSPOSED else s for s in slices]
    return msg("no spectrum: {class_name} {weight} of shape {shape} is not analysed",
               class_name=class_name, weight=base, shape=str(tuple(values.shape)))


def pooled_eigenvalues(matrices: list) -> np.ndarray | None:
    """All matrices' eigenvalues of WᵀW, sorted; None when a matrix holds NaN or Inf."""
    spectra = []
    for matrix in matrices:
        evals = gram_eigenvalues(matrix)
        if evals is None:
            return None
        spectra.append(evals)
    return np.sort(np.concatenate(spectra))


def gram_eigenvalues(matrix) -> np.ndarray | None:
    """Eigenvalues of WᵀW from the smaller of WᵀW and WWᵀ, in float64; None for NaN or Inf.

    The Gram matrix is summed over blocks of W, so a large float32 W is never copied to
    float64 whole. Rounding can make a zero eigenvalue slightly negative: it is set to 0,
    as a squared singular value would be.
    """
    rows, cols = matrix.shape
    tall = rows >= cols
    side, length = (cols, rows) if tall else (rows, cols)
    gram = np.zeros((side, side))
    step = max(1, GRAM_BLOCK // max(side, 1))
    for start in range(0, length, step):
        part = matrix[start:start + step] if tall else matrix[:, start:start + step]
        block = np.asarray(part, dtype=np.float64)
        if not np.isfinite(block).all():
            return None
        gram += block.T @ block if tall else block @ block.T
    return np.maximum(np.linalg.eigvalsh(gram), 0.0)


def log_histogram(evals: np.ndarray, bins: int = HISTOGRAM_BINS) -> Histogram:
    """Counts of positive eigenvalues in log-spaced bins from the smallest to the largest."""
    low, high = float(evals.min()), float(evals.max())
    if low == high:
        low, high = low / 2, high * 2
    counts, edges = np.histogram(evals, bins=np.geomspace(low, high, bins + 1))
    return Histogram(edges=tuple(float(e) for e in edges), counts=tuple(int(c) for c in counts))


def mp_softrank(evals: np.ndarray, aspect_ratio: float) -> float | None:
    """The Marchenko–Pastur soft rank, bulk edge λ+ over λmax, as weightwatcher fits it.

    Port of ww.py mp_fit (4693-4787) and RMT_Util.py resid_mp (753-811) and
    fit_density_with_range (844-863): eigenvalues scaled to mean 1; a linear-kernel density (bandwidth 0.1) of
    them (of their square roots for a square matrix) on 1000 points; sigma by least squares
    between that density and the MP (or quarter-circle) law, first on a grid of sigma
    (scipy.optimize.brute) and then polished by Nelder–Mead (brute's default finish, fmin).
    """
    scaled = evals * (len(evals) / evals.sum())
    top = float(scaled.max())
    edge = 1 + math.sqrt(1 / aspect_ratio)
    scale = math.sqrt(top / edge ** 2)  # RMT_Util.py calc_sigma: sigma if λmax were the edge
    sample = np.sqrt(scaled) if aspect_ratio == 1 else scaled
    grid = np.linspace(0, sample.max() + 0.5, 1000)
    density = _linear_kde(np.sort(sample), grid, 0.1)
    kept = density > 0.01  # resid_mp leaves out where the density is almost zero
    if not kept.any():
        return None
    misfits = _mp_misfits(grid[kept], density[kept], aspect_ratio)
    # brute's grid: np.mgrid[slice(0.05 s, 2.0 s, 0.01 s)], built as numpy builds it.
    start, stop, step = 0.05 * scale, 2.0 * scale, 0.01 * scale
    sigmas = np.arange(math.ceil((stop - start) / step)) * step + start
    best = sigmas[int(np.argmin(misfits(sigmas)))]
    sigma = _nelder_mead_1d(lambda s: float(misfits(np.array([s]))[0]), float(best))
    return (sigma * edge) ** 2 / top


def _linear_kde(sample: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    """Density of a sorted sample with the kernel max(0, 1 - |d|/h)/h at each grid point.

    Exact, from prefix sums: the points within h below and above each grid point
    contribute count - (distance sum)/h.
    """
    prefix = np.concatenate([[0.0], np.cumsum(sample)])
    lo, mid, hi = (np.searchsorted(sample, grid + shift) for shift in (-bandwidth, 0, bandwidth))
    below = (mid - lo) - ((mid - lo) * grid - (prefix[mid] - prefix[lo])) / bandwidth
    above = (hi - mid) - ((prefix[hi] - prefix[mid]) - (hi - mid) * grid) / bandwidth
    return (below + above) / (len(sample) * bandwidth)


def _mp_misfits(x: np.ndarray, density: np.ndarray, aspect_ratio: float):
    """Sums of squared differences between the density and the MP law, per sigma (resid_mp)."""
    peak = x[int(np.argmax(density))]
    root = math.sqrt(1 / aspect_ratio)

    def misfits(sigmas: np.ndarray) -> np.ndarray:
        """The misfit of each sigma given."""
        s = np.asarray(sigmas, dtype=np.float64)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            if aspect_ratio == 1:
                law = np.nan_to_num(1 / (np.pi * s ** 2) * np.sqrt(4 - x ** 2))
                return ((law - density) ** 2).sum(axis=1)
            top, bottom = (s * (1 + root)) ** 2, (s * (1 - root)) ** 2
            law = np.nan_to_num(aspect_ratio / (2 * np.pi * s ** 2 * x)
                                * np.sqrt((top - x) * (x - bottom)))
        # ww's guard: a bulk that misses the density's peak or overshoots it is rejected.
        rejected = (top < peak) | (top > x.max()) | (bottom > peak)
        return np.where(rejected[:, 0], 1000.0 ** 2 * len(x), ((law - density) ** 2).sum(axis=1))

    return misfits


def _nelder_mead_1d(f, x0: float, tol: float = 1e-4, max_calls: int = 200) -> float:
    """scipy.optimize.fmin's Nelder–Mead in one dimension, with its defaults, from x0.

    Reflect the worse point through the better; expand on success, else contract inside or
    outside, else shrink towards the better point; stop when points and values agree to 1e-4.
    """
    points = [x0, 1.05 * x0 if x0 != 0 else 0.00025]
    values, calls = [f(p) for p in points], 2
    while calls < max_calls:
        if values[1] < values[0]:
            points, values = points[::-1], values[::-1]
        (best, worst), (f_best, f_worst) = points, values
        if abs(worst - best) <= tol and abs(f_worst - f_best) <= tol:
            break
        reflected = 2 * best - worst
        f_reflected = f(reflected)
        calls += 1
        if f_reflected < f_best:
            expanded = 3 * best - 2 * worst
            f_expanded = f(expanded)
            calls += 1
            points[1], values[1] = ((expanded, f_expanded) if f_expanded < f_reflected
                                    else (reflected, f_reflected))
            continue
        if f_reflected < f_worst:  # contract outside, towards the reflected point
            contracted = 1.5 * best - 0.5 * worst
            f_contracted = f(contracted)
            accepted = f_contracted <= f_reflected
        else:  # contract inside, towards the worse point
            contracted = 0.5 * best + 0.5 * worst
            f_contracted = f(contracted)
            accepted = f_contracted < f_worst
        calls += 1
        if accepted:
            points[1], values[1] = contracted, f_contracted
        else:
            points[1] = best + 0.5 * (worst - best)
            values[1] = f(points[1])
            calls += 1
    return points[0] if values[0] <= values[1] else points[1]
