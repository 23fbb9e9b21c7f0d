"""The colour scale of a weight picture: the --kernel-scale option read for one layer.

Every signed weight picture (kernel mosaics, heatmaps, unit templates) is drawn on a scale
symmetric around zero, so that white is zero and blue and red are the two signs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.i18n import _

ROBUST_PERCENTILE = 99.5
MIN_SATURATED = 8       # a small layer's few largest weights saturate too (see robust_scale)
MIN_PERCENTILE = 95.0


@dataclass(frozen=True)
class Scale:
    """Colours span -half_range..half_range; `how` says where the number came from."""

    half_range: float
    how: str

    @property
    def note(self) -> str:
        """The scale in words, for the figure: "symmetric, ±0.083: the 99.5th percentile…"."""
        return _("symmetric, ±{half_range:.3g}: {how}").format(half_range=self.half_range,
                                                               how=self.how)


def weight_scale(values: np.ndarray, kernel_scale: str, where: str | None = None) -> Scale:
    """The scale --kernel-scale asks for: "auto" (a robust maximum of the layer), "layer"
    (its largest |w|) or a number (the textbook's fixed imshow(vmin=-x, vmax=x)).

    `where` names the weights the scale was taken from, for the note (default: "in this
    layer").
    """
    where = _("in this layer") if where is None else where
    if kernel_scale == "auto":
        return robust_scale(values, where)
    if kernel_scale == "layer":
        return Scale(own_reach(values), _("the largest |w| {where}").format(where=where))
    return Scale(float(kernel_scale), _("fixed by --kernel-scale, as the textbook's "
                                        "imshow(vmin=-{scale}, vmax={scale})").format(
                                            scale=kernel_scale))


def tensor_scale(values: np.ndarray, full_shape: tuple[int, ...], kernel_scale: str) -> Scale:
    """The scale --kernel-scale gives the weights read (`values`) of a tensor of full_shape."""
    total = int(np.prod(full_shape))
    where = _("in this layer") if values.size == total else \
        _("in the {read:,} of its {total:,} weights read").format(read=values.size, total=total)
    return weight_scale(values, kernel_scale, where)


def robust_scale(values: np.ndarray, where: str) -> Scale:
    """The 99.5th percentile of |w|: the few largest weights saturate instead of washing
    every other weight out to white.

    In a layer of fewer than 1,600 weights that would leave fewer than 8 to saturate, and
    a handful of outliers (the book's first layer: 3 of its 288 weights above 1, most
    below 0.4) still wash it out: there the 8 largest saturate (at most 5%).
    """
    magnitudes = np.abs(np.asarray(values))
    magnitudes = magnitudes[np.isfinite(magnitudes)]
    percentile = robust_percentile(magnitudes.size)
    robust = float(np.percentile(magnitudes, percentile)) if magnitudes.size else 0.0
    if robust > 0:
        few = "" if percentile == ROBUST_PERCENTILE else \
            _(", so that its {n} largest saturate").format(n=MIN_SATURATED)
        return Scale(robust, _("the {percentile:.3g}th percentile of |w| {where}").format(
            percentile=percentile, where=where) + few)
    # Mostly exact zeros (a pruned layer): the percentile is 0 and would show nothing.
    return Scale(own_reach(values), _("the largest |w| {where} (its {percentile:.3g}th "
                                      "percentile is 0)").format(where=where,
                                                                  percentile=percentile))


def robust_percentile(n_weights: int) -> float:
    """99.5, or less for a small layer so that its 8 largest weights saturate (at least 95)."""
    few = 100.0 * (1.0 - MIN_SATURATED / max(n_weights, 1))
    return max(MIN_PERCENTILE, min(ROBUST_PERCENTILE, few))


def own_reach(values: np.ndarray) -> float:
    """The largest absolute finite value, for a scale symmetric around zero (1 if none)."""
    magnitudes = np.abs(np.asarray(values))
    finite = magnitudes[np.isfinite(magnitudes)]
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0
