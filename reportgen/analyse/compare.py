"""Two checkpoints weight by weight: which layers match, how far each moved, what looks wrong.

Pure functions from two snapshots (weights read on demand) to frozen dataclasses of numbers
and strings. Every tensor pair is read once, in blocks of rows, so two large checkpoints are
never held in memory at once.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from reportgen.analyse.alert import TWO_FILES, WARNING, Alert, AlertKind
from reportgen.analyse.compare_outputs import OutputComparison
from reportgen.analyse.layer_match import BY_NAME, LayerPair, Unmatched, match_layers
from reportgen.analyse.series import main_weight_index
from reportgen.analyse.spectral import spectral_facts
from reportgen.i18n import msg
from reportgen.analyse.stats import row_blocks, wide_chunks
from reportgen.load.snapshot import LayerSnapshot, ModelSnapshot

REINITIALISED_RATIO = 1.0
FROZEN_MAJORITY = 0.5

KINDS = (
    AlertKind("frozen", msg("Layer did not change"),
              msg("every trainable weight identical in A and B while more than {share:.0%} of "
                  "the matched layers changed (moving statistics are not judged)",
                  share=FROZEN_MAJORITY),
              msg("The rest of the model moved between the two checkpoints but this layer did "
                  "not: it was frozen (trainable=False), received no gradient, or was restored "
                  "from A."), needs=TWO_FILES),
    AlertKind("reinitialised", msg("Layer changed more than its own norm"),
              msg("‖W_B − W_A‖ / ‖W_A‖ of the trainable weights above {ratio:g}",
                  ratio=REINITIALISED_RATIO),
              msg("Training moves weights a fraction of their size; a change larger than the "
                  "weights themselves suggests the layer was re-initialised or replaced."),
              needs=TWO_FILES),
)


@dataclass(frozen=True)
class Spectrum:
    """The spectral facts compared for one weight: λmax of WᵀW and the power-law alpha, or why
    there are none (see analyse/spectral.py)."""

    spectral_norm: float | None
    alpha: float | None
    reason: str | None


@dataclass(frozen=True)
class WeightChange:
    """One weight tensor in A and in B. Norms are L2 norms of the whole tensor; values that
    cannot be computed (an all-zero A, NaN or Inf in either) are None."""

    name: str
    shape: tuple[int, ...]
    norm_a: float | None
    norm_b: float | None
    diff_norm: float | None
    max_abs_diff: float | None
    std_a: float | None
    std_b: float | None
    cosine: float | None
    relative_change: float | None
    identical: bool
    n_non_finite: int
    spectrum_a: Spectrum
    spectrum_b: Spectrum
    trainable: bool = True

    @property
    def std_change(self) -> float | None:
        """std(B) - std(A)."""
        return None if self.std_a is None or self.std_b is None else self.std_b - self.std_a


@dataclass(frozen=True)
class LayerChange:
    """One layer of A and its counterpart in B (layer_match.py): `path` is A's, `path_b`
    B's, `matched_by` how they were paired (BY_NAME or BY_ORDER)."""

    path: str
    class_name: str
    depth: int
    weights: tuple[WeightChange, ...]
    path_b: str = ""
    matched_by: str = BY_NAME

    @property
    def changed(self) -> bool:
        """Whether any weight differs at all between A and B."""
        return not all(w.identical for w in self.weights)

    @property
    def norm_a(self) -> float | None:
        """‖W_A‖ over all the layer's weights taken as one vector."""
        return _joined([w.norm_a for w in self.weights])

    @property
    def diff_norm(self) -> float | None:
        """‖W_B − W_A‖ over all the layer's weights taken as one vector."""
        return _joined([w.diff_norm for w in self.weights])

    @property
    def relative_change(self) -> float | None:
        """‖W_B − W_A‖ / ‖W_A‖ over the whole layer (None when A is all zeros or not finite)."""
        return _ratio(self.diff_norm, self.norm_a)

    @property
    def trained(self) -> tuple[WeightChange, ...]:
        """The weights training changes (not a normalisation's moving statistics, which are
        reported but not judged)."""
        return tuple(w for w in self.weights if w.trainable)

    @property
    def trained_changed(self) -> bool:
        """Whether any trainable weight differs between A and B."""
        return not all(w.identical for w in self.trained)

    @property
    def trained_relative_change(self) -> float | None:
        """‖W_B − W_A‖ / ‖W_A‖ over the trainable weights taken as one vector."""
        return _ratio(_joined([w.diff_norm for w in self.trained]),
                      _joined([w.norm_a for w in self.trained]))


def _joined(norms: list[float | None]) -> float | None:
    """The norm of several tensors taken as one vector."""
    return None if None in norms else math.sqrt(sum(n * n for n in norms))


def _ratio(part: float | None, whole: float | None) -> float | None:
    """part / whole; 0 when both are 0, None when only the whole is (or either is unknown)."""
    if part is None or whole is None:
        return None
    if whole == 0:
        return 0.0 if part == 0 else None
    return part / whole


def compare_layer(depth: int, a: LayerSnapshot, b: LayerSnapshot,
                  matched_by: str = BY_NAME) -> LayerChange:
    """Every weight of a matched layer, A against B, weight by weight in their order (the
    names of a pair matched by order may differ)."""
    return LayerChange(path=a.path, class_name=a.class_name, depth=depth,
                       weights=tuple(dataclasses.replace(
                           compare_weight(a.class_name, wa.name, wa.values, wb.values),
                           trainable=wa.trainable) for wa, wb in zip(a.weights, b.weights)),
                       path_b=b.path, matched_by=matched_by)


def compare_pair(depth: int, pair: LayerPair) -> LayerChange:
    """compare_layer of a matched pair."""
    return compare_layer(depth, pair.a, pair.b, pair.matched_by)


def compare_weight(class_name: str, name: str, a, b) -> WeightChange:
    """Norms, cosine, std and spectra of one weight in A and B (arrays or read on demand).

    An identical B has A's spectrum: the eigenvalues are not computed twice.
    """
    sums = paired_sums(a, b)
    spectrum_a = spectrum(class_name, name, a)
    spectrum_b = spectrum_a if sums.identical else spectrum(class_name, name, b)
    if sums.n_non_finite or not sums.n:
        return WeightChange(name, tuple(a.shape), None, None, None, None, None, None, None,
                            None, sums.identical, sums.n_non_finite, spectrum_a, spectrum_b)
    norm_a, norm_b = math.sqrt(sums.squares_a), math.sqrt(sums.squares_b)
    diff_norm = math.sqrt(sums.squares_diff)
    cosine = sums.dot / (norm_a * norm_b) if norm_a and norm_b else None
    return WeightChange(name=name, shape=tuple(int(d) for d in a.shape), norm_a=norm_a,
                        norm_b=norm_b, diff_norm=diff_norm, max_abs_diff=sums.max_abs_diff,
                        std_a=math.sqrt(sums.m2_a / sums.n), std_b=math.sqrt(sums.m2_b / sums.n),
                        cosine=cosine, relative_change=_ratio(diff_norm, norm_a),
                        identical=sums.identical, n_non_finite=0,
                        spectrum_a=spectrum_a, spectrum_b=spectrum_b)


def main_weight_changes(start: ModelSnapshot, now: ModelSnapshot
                        ) -> tuple[dict[str, float | None], dict[str, str]]:
    """By layer path in `start`, how far each matched layer's main weight moved from `start`
    to `now`, ‖W − W_start‖ / ‖W_start‖ (the trend of a checkpoint series from its first
    epoch); and the layers of `now` matched to a layer of another path in `start`, by path
    in `now` -> path in `start` (so their trend follows them)."""
    pairs, _ = match_layers(start, now)
    changes = {pair.a.path: main_change([w.values for w in pair.a.weights],
                                        [w.values for w in pair.b.weights]) for pair in pairs}
    return changes, {pair.b.path: pair.a.path for pair in pairs if pair.b.path != pair.a.path}


def main_change(start: list, now: list) -> float | None:
    """‖W − W_start‖ / ‖W_start‖ of the main weight (series.main_weight_index) of a layer
    given as its weights at the start and now (arrays or read on demand); None when it
    cannot be computed (NaN or Inf, an all-zero start)."""
    k = main_weight_index([tuple(values.shape) for values in start])
    if k is None or k >= len(now) or tuple(start[k].shape) != tuple(now[k].shape):
        return None
    sums = paired_sums(start[k], now[k])
    if sums.n_non_finite or not sums.n:
        return None
    return _ratio(math.sqrt(sums.squares_diff), math.sqrt(sums.squares_a))


def spectrum(class_name: str, name: str, values) -> Spectrum:
    """The spectral norm and alpha of one weight, as the single report computes them."""
    facts = spectral_facts(class_name, name, values)
    return Spectrum(facts.spectral_norm, facts.alpha, facts.reason)


@dataclass(frozen=True)
class PairedSums:
    """Float64 sums over a pair of tensors of one shape, gathered in one pass."""

    n: int
    squares_a: float
    squares_b: float
    squares_diff: float
    dot: float
    m2_a: float
    m2_b: float
    max_abs_diff: float
    n_non_finite: int
    identical: bool


def paired_sums(a, b) -> PairedSums:
    """The sums behind every WeightChange number, read block by block from both tensors.

    The sums of squared deviations (m2) are combined across blocks with Chan's formula, so
    a std far below the mean (moving variances near 1) keeps its digits.
    """
    n = n_non_finite = 0
    squares_a = squares_b = squares_diff = dot = max_abs_diff = 0.0
    mean_a = mean_b = m2_a = m2_b = 0.0
    identical = True
    # stats' blocks of whole rows: the same rows of both tensors side by side.
    for block_a, block_b in zip(row_blocks(a), row_blocks(b)):
        identical = identical and _same(block_a, block_b)
        for wide_a, wide_b in zip(wide_chunks(block_a), wide_chunks(block_b)):
            bad = int(np.count_nonzero(~np.isfinite(wide_a)) +
                      np.count_nonzero(~np.isfinite(wide_b)))
            if bad or not wide_a.size:
                n_non_finite += bad
                continue
            diff = wide_b - wide_a
            squares_a += float(wide_a @ wide_a)
            squares_b += float(wide_b @ wide_b)
            squares_diff += float(diff @ diff)
            dot += float(wide_a @ wide_b)
            max_abs_diff = max(max_abs_diff, float(np.abs(diff).max()))
            mean_a, m2_a = _chan(n, mean_a, m2_a, wide_a)
            mean_b, m2_b = _chan(n, mean_b, m2_b, wide_b)
            n += wide_a.size
    return PairedSums(n, squares_a, squares_b, squares_diff, dot, m2_a, m2_b, max_abs_diff,
                      n_non_finite, identical)


def _same(block_a: np.ndarray, block_b: np.ndarray) -> bool:
    """Whether two blocks hold the same values (NaN matching NaN)."""
    return bool(np.array_equal(block_a, block_b, equal_nan=block_a.dtype.kind == "f"))


def _chan(n: int, mean: float, m2: float, block: np.ndarray) -> tuple[float, float]:
    """Running mean and sum of squared deviations after one more block (Chan et al. 1979)."""
    block_mean = float(block.mean())
    block_m2 = float(((block - block_mean) ** 2).sum())
    total = n + block.size
    delta = block_mean - mean
    return mean + delta * block.size / total, m2 + block_m2 + delta * delta * n * block.size / total


def find_alerts(layers: tuple[LayerChange, ...]) -> tuple[Alert, ...]:
    """Frozen and re-initialised layers, in model order, judged on their trainable weights
    only (a normalisation's moving statistics move without training and are not judged);
    messages are made from the values."""
    judged = [layer for layer in layers if layer.trained]
    n_changed = sum(1 for layer in judged if layer.trained_changed)
    mostly_changed = n_changed > FROZEN_MAJORITY * len(judged)
    found = []
    for layer in judged:
        ratio = layer.trained_relative_change
        if mostly_changed and not layer.trained_changed:
            found.append(Alert("frozen", WARNING, layer.path,
                               msg("identical in both files, while {n_changed} of {n} matched "
                                   "layers changed", n_changed=n_changed, n=len(judged)), "",
                               (("n_changed_layers", n_changed), ("n_layers", len(judged)))))
        elif ratio is not None and ratio > REINITIALISED_RATIO:
            found.append(Alert("reinitialised", WARNING, layer.path,
                               msg("‖W_B − W_A‖ / ‖W_A‖ = {ratio:.3g} (threshold {limit:g})",
                                   ratio=ratio, limit=REINITIALISED_RATIO), "",
                               (("relative_change", ratio), ("n_weights", len(layer.trained))),
                               REINITIALISED_RATIO))
    return tuple(found)


@dataclass(frozen=True)
class FileFacts:
    """One of the two files compared."""

    file_name: str
    file_size: int
    sha256: str
    format: str
    saved_by_keras_version: str
    class_name: str
    n_params: int


@dataclass(frozen=True)
class CompareFacts:
    """Everything a comparison says. `outputs` is None without --input, or when the models
    could not run (`outputs_note` says why)."""

    a: FileFacts
    b: FileFacts
    layers: tuple[LayerChange, ...]
    unmatched: tuple[Unmatched, ...]
    alerts: tuple[Alert, ...]
    outputs: OutputComparison | None
    outputs_note: str
    generated_at: str
    reportgen_version: str
