"""int8's signal-to-quantisation-noise ratio of each weight tensor in model order: a dot for
per-tensor and one for per-channel quantisation, and the warning line."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.draw.chart_axes import (AxisScale, Canvas, Frame, as_floats, compact,
                                       empty_canvas, fmt_coord, frame, height_below,
                                       left_margin, legend_row, nice_ticks, r1)
from reportgen.draw.charts import NARROW_WIDTH, Slot
from reportgen.i18n import _


@dataclass(frozen=True)
class SqnrChart:
    """Two rows of dots over one slot per tensor (per tensor: `tensor`, per channel:
    `channel`, each a path of small squares/circles), the threshold line, and the slots'
    tooltips."""

    canvas: Canvas
    frame: Frame | None
    tensor: str
    channel: str
    threshold: str
    slots: tuple[Slot, ...]
    slot_top: float
    slot_height: float


def sqnr_chart(per_tensor: Sequence[float | None], per_channel: Sequence[float | None],
               names: Sequence[str], threshold: float, width: float = NARROW_WIDTH) -> SqnrChart:
    """SQNR (dB) of each tensor, per tensor and per channel, on a linear axis from 0 that
    covers the values and the threshold; a missing value has no dot."""
    tensor, channel = as_floats(per_tensor), as_floats(per_channel)
    title = _("int8 SQNR of {n} weight tensors in model order").format(n=len(tensor))
    finite = np.concatenate([tensor[np.isfinite(tensor)], channel[np.isfinite(channel)]])
    if not finite.size:
        return SqnrChart(empty_canvas(width, height_below(140, True), title), None, "", "", "",
                         (), 0, 0)
    y_ticks = nice_ticks(0, max(float(finite.max()), threshold), 110, cover=True,
                         vertical=True)
    x = AxisScale(0.5, len(tensor) + 0.5, left_margin(y_ticks[1]), width - 10)
    y = AxisScale(y_ticks[0][0], y_ticks[0][-1], 140, 30)
    legend = legend_row([("tensor", "box", _("per tensor")),
                         ("channel", "box", _("per channel")),
                         ("ref", "line", _("warning below {db} dB").format(db=compact(threshold)))],
                        width - 2, 13)
    plot = frame(x, y, nice_ticks(1, len(tensor), x.end - x.start, cover=False, counts=True),
                 y_ticks, width, x_label=_("weight tensor, in model order"), y_label="dB")
    slot = (x.end - x.start) / len(tensor)
    slots = tuple(Slot(r1(x.start + k * slot), r1(slot), _slot_text(name, t, c))
                  for k, (name, t, c) in enumerate(zip(names, tensor, channel)))
    return SqnrChart(Canvas(r1(width), height_below(140, True), title, legend), plot,
                     _marks(tensor, x, y, square=True), _marks(channel, x, y, square=False),
                     f"M{plot.left} {fmt_coord(y.at(threshold))}H{plot.right}", slots,
                     plot.top, r1(plot.bottom - plot.top))


def _marks(values: np.ndarray, x: AxisScale, y: AxisScale, square: bool) -> str:
    """A 6 px square (per tensor) or diamond (per channel) at each finite value."""
    shape = "h6v6h-6z" if square else "l3 3l-3 3l-3-3z"
    dx, dy = (3, 3) if square else (0, 3)
    return "".join(f"M{fmt_coord(x.at(k + 1) - dx)} {fmt_coord(y.at(v) - dy)}{shape}"
                   for k, v in enumerate(values) if math.isfinite(v))


def _slot_text(name: str, tensor: float, channel: float) -> str:
    """A tensor's tooltip: its name and both SQNRs."""
    def db(value: float) -> str:
        return f"{value:.1f} dB" if math.isfinite(value) else "—"
    return _("{name}: per tensor {tensor}, per channel {channel}").format(
        name=name, tensor=db(tensor), channel=db(channel))
