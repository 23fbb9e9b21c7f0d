"""Each layer's activation range over a calibration sample, and what int8 would cost it.

Converters quantise activations asymmetrically (TFLite's int8: a scale and a zero point over
[min, max] of a representative sample). Calibrating at the CLIP_PERCENTILE-th percentile
instead of the maximum trades a few clipped outliers for finer steps; both ranges are
reported, and the SQNR of the activations quantised to 256 levels over [min, p99.99].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from reportgen.analyse.quantise import CLIP_PERCENTILE, sqnr_db
from reportgen.analyse.stats import sample_step

LEVELS = 255  # int8: 256 codes, 255 steps between the range's ends


@dataclass(frozen=True)
class ActivationRange:
    """One layer's output over the calibration sample: its range, the CLIP_PERCENTILE-th
    percentile of its values, the share above it, and int8's SQNR (dB) at [min, that
    percentile] (None for a constant output)."""

    layer: str
    n_values: int
    low: float
    high: float
    clip_high: float
    clipped_share: float
    sqnr_db: float | None


def activation_ranges(outputs: Mapping[str, np.ndarray]) -> tuple[ActivationRange, ...]:
    """The range facts of each float layer output (finite values only), in the given order."""
    found = []
    for layer, values in outputs.items():
        if values.dtype.kind != "f":
            continue
        flat = values.reshape(-1)
        flat = flat[np.isfinite(flat)]
        if flat.size:
            found.append(_range(layer, flat))
    return tuple(found)


def _range(layer: str, flat: np.ndarray) -> ActivationRange:
    """The facts of one layer's finite values."""
    sample = flat[::sample_step(flat.size)]
    low, high = float(flat.min()), float(flat.max())
    clip_high = max(float(np.percentile(sample, CLIP_PERCENTILE)), low)
    return ActivationRange(layer, int(flat.size), low, high, clip_high,
                           float(np.mean(flat > clip_high)), _sqnr(flat, low, clip_high))


def _sqnr(flat: np.ndarray, low: float, high: float) -> float | None:
    """SQNR of the values quantised to LEVELS steps over [low, high] (clipped outside)."""
    if high <= low:
        return None
    step = (high - low) / LEVELS
    values = flat.astype(np.float64)
    rounded = np.round((np.clip(values, low, high) - low) / step) * step + low
    return sqnr_db(float(np.dot(values, values)), float(np.sum((values - rounded) ** 2)))
