"""The map of the representation as an SVG scatter: one path of round dots per class (ten
colours, repeating past ten classes) and one path of rings around the mistakes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.draw.chart_axes import Canvas, fmt_coord
from reportgen.i18n import _

COLOURS = 10
SIDE = 420.0
MARGIN = 10.0


@dataclass(frozen=True)
class ScatterChart:
    """The scatter: its canvas, a dot path per colour (`kind` s0..s9), the mistakes' rings."""

    canvas: Canvas
    classes: tuple[tuple[str, str], ...]
    mistakes: str


def scatter_chart(xy: np.ndarray, true: np.ndarray, mistake: np.ndarray,
                  title: str = "") -> ScatterChart:
    """Dots at pixel positions `xy` (already in a SIDE x SIDE box), coloured by true class."""
    dots: dict[int, list[str]] = {}
    for (x, y), k in zip(xy, true):
        dots.setdefault(int(k) % COLOURS, []).append(f"M{fmt_coord(x)} {fmt_coord(y)}h0")
    rings = "".join(f"M{fmt_coord(x - 4)} {fmt_coord(y)}a4 4 0 1 0 8 0a4 4 0 1 0-8 0"
                    for (x, y), wrong in zip(xy, mistake) if wrong)
    return ScatterChart(Canvas(SIDE, SIDE, title or _("the representation in 2-D"), ()),
                        tuple((f"s{k}", "".join(paths)) for k, paths in sorted(dots.items())),
                        rings)
