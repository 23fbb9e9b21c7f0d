"""Grad-CAM and Grad-CAM++: where in an input the evidence for a class lies.

Pure numpy, from the target layer's activations A (N, h, w, k) and the gradients dS/dA of
each row's class score S (load/keras/gradients.py) to maps at the input's size and frozen
facts about them: how strong, how spread, how much lies on the border, which quadrant.

Each map is scaled to its own peak (0..1, zero staying zero: no evidence), so shares of its
mass compare across inputs; a map with no positive value is flagged as all zero and never
divided by its peak (no NaN).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.analyse.alert import GRADIENTS, NOTE, Alert, AlertKind
from reportgen.i18n import N_, msg

GRAD_CAM = "Grad-CAM"
GRAD_CAM_PP = "Grad-CAM++"
METHODS = (GRAD_CAM, GRAD_CAM_PP)
QUADRANTS = (N_("top-left"), N_("top-right"), N_("bottom-left"), N_("bottom-right"))
TOP_PREDICTION, TRUE_CLASS = N_("top prediction"), N_("true class")
BORDER_BAND = 0.1       # the band's width on each side, as a share of the height or width
# A uniform map has 1 - 0.8 * 0.8 = 36 % of its mass in the band; above one half the map
# leans clearly on the edges, where a real object rarely is and where shortcuts (frames,
# watermarks, padding artefacts) usually are.
BORDER_SHARE = 0.5
BORDER_MAJORITY = 0.5   # of the inputs whose map is not all zero
BORDER_MIN_INPUTS = 2   # one image says nothing about a habit of the model

CAM_KINDS = (
    AlertKind("cam_border", msg("Grad-CAM looks at the image border"),
              msg("more than {share:g} % of the Grad-CAM map's mass in the border band "
                  "({band:g} % of the height and width on each side) for more than "
                  "{majority:g} % of the inputs with a map (at least {min_inputs}), for the top "
                  "prediction", share=100 * BORDER_SHARE, band=100 * BORDER_BAND,
                  majority=100 * BORDER_MAJORITY, min_inputs=BORDER_MIN_INPUTS),
              msg("The evidence for the predicted class lies mostly on the image's edges, not "
                  "on the object: the model may use a shortcut (a frame, a watermark, the "
                  "background, padding) rather than what the class is about."), heuristic=True,
              severity=NOTE, needs=GRADIENTS),
)


@dataclass(frozen=True)
class CamRequest:
    """One map to make: which drawn input, which class, and why that class (its roles)."""

    input_index: int
    class_index: int
    roles: tuple[str, ...]


@dataclass(frozen=True)
class MapSet:
    """The maps of one method, one per request: `unit` (N, H, W) float32 in 0..1 at the
    input's size, `peaks` the largest value before scaling (at the layer's size), and flags
    for maps with no positive value and for maps made from NaN or Inf."""

    method: str
    unit: np.ndarray
    peaks: np.ndarray
    all_zero: np.ndarray
    non_finite: np.ndarray


@dataclass(frozen=True)
class MapStats:
    """Where a unit map's mass lies: its mean (0..1, the share of the image lit), the share
    in the border band, and the share per quadrant in QUADRANTS order."""

    mean: float
    border_share: float
    quadrant_shares: tuple[float, float, float, float]

    @property
    def quadrant(self) -> str:
        """The quadrant holding the most mass."""
        return QUADRANTS[int(np.argmax(self.quadrant_shares))]

    @property
    def quadrant_share(self) -> float:
        """The share of the mass in that quadrant."""
        return max(self.quadrant_shares)


@dataclass(frozen=True)
class CamMapFacts:
    """One map of one input: the class it explains, its score S (None when not finite), the
    method, the map's peak before scaling, and its statistics (None when the map is all
    zero, or was made from NaN or Inf values)."""

    class_index: int
    class_label: str
    roles: tuple[str, ...]
    method: str
    score: float | None
    peak: float
    stats: MapStats | None
    all_zero: bool
    non_finite: bool


@dataclass(frozen=True)
class CamInputFacts:
    """The maps of drawn input number `index`: per class in request order, per method in
    the order of the map sets."""

    index: int
    name: str
    maps: tuple[CamMapFacts, ...]


@dataclass(frozen=True)
class CamFacts:
    """Grad-CAM of the drawn inputs: the layer (`chosen` "automatic" or "--cam-layer"), its
    output's (height, width, channels), the score differentiated, and the maps."""

    layer: str
    chosen: str
    layer_shape: tuple[int, int, int]
    input_size: tuple[int, int]
    score: str
    inputs: tuple[CamInputFacts, ...]


def cam_requests(top_classes: Sequence[int],
                 true_classes: Sequence[int | None] | None = None) -> tuple[CamRequest, ...]:
    """The maps to make per drawn input: its top prediction, and its true class when known
    and different (one map with both roles when they agree)."""
    requests = []
    for k, top in enumerate(top_classes):
        true = true_classes[k] if true_classes is not None else None
        if true is None or int(true) == int(top):
            roles = (TOP_PREDICTION,) if true is None else (TOP_PREDICTION, TRUE_CLASS)
            requests.append(CamRequest(k, int(top), roles))
        else:
            requests += [CamRequest(k, int(top), (TOP_PREDICTION,)),
                         CamRequest(k, int(true), (TRUE_CLASS,))]
    return tuple(requests)


def grad_cam(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017): each channel weighted by its mean gradient,
    ReLU(sum_k w_k A_k), (N, h, w)."""
    a, g = activations.astype(np.float64), gradients.astype(np.float64)
    weights = g.mean(axis=(1, 2))
    return np.maximum(np.einsum("nhwk,nk->nhw", a, weights), 0.0)


def grad_cam_plus_plus(activations: np.ndarray, gradients: np.ndarray) -> np.ndarray:
    """Grad-CAM++ (Chattopadhay et al. 2018, "Grad-CAM++: Generalized Gradient-Based Visual
    Explanations for Deep Convolutional Networks", WACV, eq. 19), (N, h, w).

    With the class score Y = exp(S) and S piecewise linear in A, the second and third
    derivatives of Y are exp(S) times the second and third powers of g = dS/dA, so
        alpha_ij^k = g_ij^2 / (2 g_ij^2 + sum_ab A_ab^k g_ij^3)
        w_k = sum_ij alpha_ij^k ReLU(g_ij)
    (the common factor exp(S) is left out: each map is scaled to its peak). Where the
    denominator is zero, as it is wherever g is, alpha is 0.
    """
    a, g = activations.astype(np.float64), gradients.astype(np.float64)
    g2 = g * g
    denominator = 2.0 * g2 + a.sum(axis=(1, 2), keepdims=True) * g2 * g
    alpha = np.divide(g2, denominator, out=np.zeros_like(g2), where=denominator != 0)
    weights = (alpha * np.maximum(g, 0.0)).sum(axis=(1, 2))
    return np.maximum(np.einsum("nhwk,nk->nhw", a, weights), 0.0)


def bilinear(maps: np.ndarray, height: int, width: int) -> np.ndarray:
    """(N, h, w) maps resized to (N, height, width) by bilinear interpolation with pixel
    centres aligned (tf.image.resize's "bilinear", Pillow's for enlarging), edges held."""
    rows_low, rows_high, row_frac = _taps(maps.shape[1], height)
    cols_low, cols_high, col_frac = _taps(maps.shape[2], width)
    rows = (maps[:, rows_low] * (1 - row_frac)[:, None]
            + maps[:, rows_high] * row_frac[:, None])
    return rows[:, :, cols_low] * (1 - col_frac) + rows[:, :, cols_high] * col_frac


def _taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each output pixel: the two input pixels around its centre and the weight of
    the second."""
    centre = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    low = np.floor(centre).astype(np.int64)
    return low, np.minimum(low + 1, n_in - 1), centre - low


def cam_maps(activations: np.ndarray, gradients: np.ndarray, method: str,
             size: tuple[int, int]) -> MapSet:
    """One method's maps at the input's `size`, each scaled to its own peak."""
    with np.errstate(invalid="ignore", over="ignore"):  # NaN or Inf in: flagged below
        raw = (grad_cam if method == GRAD_CAM else grad_cam_plus_plus)(activations, gradients)
    non_finite = ~np.isfinite(raw).all(axis=(1, 2))
    raw = np.where(non_finite[:, None, None], 0.0, raw)
    big = bilinear(raw, *size)
    # The peak after resizing, not before: shrinking a map can step over its only peak.
    big_peaks = big.max(axis=(1, 2))
    unit = big / np.where(big_peaks > 0, big_peaks, 1.0)[:, None, None]
    return MapSet(method, unit.astype(np.float32), raw.max(axis=(1, 2)),
                  (big_peaks <= 0) & ~non_finite, non_finite)


def map_stats(unit: np.ndarray) -> MapStats:
    """Where a (H, W) unit map's mass lies (a map with some positive value)."""
    height, width = unit.shape
    mass = float(unit.sum(dtype=np.float64))
    row_band, col_band = _in_band(height), _in_band(width)
    outside = np.outer(1 - row_band, 1 - col_band)
    top, left = _before_half(height), _before_half(width)
    quadrants = [np.outer(rows, cols) for rows in (top, 1 - top) for cols in (left, 1 - left)]
    return MapStats(mean=float(unit.mean(dtype=np.float64)),
                    border_share=1.0 - float((unit * outside).sum()) / mass,
                    quadrant_shares=tuple(float((unit * q).sum()) / mass for q in quadrants))


def _in_band(n: int) -> np.ndarray:
    """How much of each of n pixels lies in the border band at either end (fractions, so
    that a band of 2.8 pixels counts 2.8 pixels)."""
    band = BORDER_BAND * n
    start = np.arange(n, dtype=np.float64)
    return np.minimum(np.clip(band - start, 0, 1) + np.clip(start + 1 - (n - band), 0, 1), 1)


def _before_half(n: int) -> np.ndarray:
    """How much of each of n pixels lies in the first half (the middle one of an odd n
    counts half)."""
    return np.clip(n / 2 - np.arange(n, dtype=np.float64), 0, 1)


def cam_facts(layer: str, chosen: str, layer_shape: tuple[int, int, int], score: str,
              requests: Sequence[CamRequest], scores: np.ndarray,
              map_sets: Sequence[MapSet], input_names: Sequence[str],
              labels: Sequence[str]) -> CamFacts:
    """The facts of every map: per drawn input, per request, per method."""
    by_input: dict[int, list[CamMapFacts]] = {}
    for row, request in enumerate(requests):
        by_input.setdefault(request.input_index, []).extend(
            _map_facts(request, _finite(scores[row]), maps, row, labels) for maps in map_sets)
    size = tuple(int(n) for n in map_sets[0].unit.shape[1:]) if map_sets else (0, 0)
    return CamFacts(layer, chosen, tuple(int(n) for n in layer_shape), size, score,
                    tuple(CamInputFacts(k, input_names[k], tuple(found))
                          for k, found in sorted(by_input.items())))


def _finite(value) -> float | None:
    """A number for the facts, None for NaN or Inf (the JSON has no such values)."""
    return float(value) if np.isfinite(value) else None


def _map_facts(request: CamRequest, score: float | None, maps: MapSet, row: int,
               labels: Sequence[str]) -> CamMapFacts:
    """The facts of row `row` of one method's maps."""
    blank = bool(maps.all_zero[row] or maps.non_finite[row])
    label = labels[request.class_index] if request.class_index < len(labels) else ""
    return CamMapFacts(request.class_index, label, request.roles, maps.method, score,
                       float(maps.peaks[row]), None if blank else map_stats(maps.unit[row]),
                       bool(maps.all_zero[row]), bool(maps.non_finite[row]))


def cam_alerts(facts: CamFacts) -> tuple[Alert, ...]:
    """The border alert of CAM_KINDS, from the Grad-CAM maps of the top predictions."""
    shares = [m.stats.border_share for item in facts.inputs for m in item.maps
              if m.method == GRAD_CAM and TOP_PREDICTION in m.roles and m.stats is not None]
    n_border = sum(share > BORDER_SHARE for share in shares)
    if len(shares) < BORDER_MIN_INPUTS or n_border <= BORDER_MAJORITY * len(shares):
        return ()
    median = float(np.median(shares))
    return (Alert("cam_border", NOTE, "",
                  msg("{n_border:.0f} of {n_inputs:.0f} inputs have more than {threshold:g} % of "
                      "their Grad-CAM mass in the {band:g} % border band at {layer} (median "
                      "{median:.1f} %)", n_border=n_border, n_inputs=len(shares),
                      threshold=100 * BORDER_SHARE, band=100 * BORDER_BAND, layer=facts.layer,
                      median=100 * median), facts.layer,
                  (("n_border", n_border), ("n_inputs", len(shares)),
                   ("median_border_share", median)), BORDER_SHARE),)
