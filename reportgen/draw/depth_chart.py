"""The bar chart of one value per layer in model order (compare's relative change by depth):
a log or linear scale by a written rule, each bar's layer and value in a tooltip, and its
name under it when the bars are wide enough."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.draw.chart_axes import (TICK_PX, AxisScale, Canvas, Frame, as_floats, compact,
                                       decade_ticks, decades, empty_canvas, fit_text,
                                       fmt_coord, frame, height_below, left_margin, legend_row,
                                       nice_ticks, r1)
from reportgen.draw.charts import NARROW_WIDTH, Slot, room_left_of
from reportgen.i18n import _

LOG_RANGE = 100
# A bar this wide or wider gets its layer's name under it, turned 45 degrees, cut to
# NAME_PX (a 12 px line of text needs about 14 px of slot when turned).
NAMED_SLOT_PX = 14
NAME_PX = 110


@dataclass(frozen=True)
class BarName:
    """A layer's name under its bar, turned 45 degrees; `title` is the whole name when cut."""

    x: float
    y: float
    text: str
    title: str


@dataclass(frozen=True)
class DepthChart:
    """One bar per layer in model order; `log_scale` says which y scale was chosen; with
    few enough layers each bar is named under it (`names`)."""

    canvas: Canvas
    frame: Frame | None
    bars: str
    slots: tuple[Slot, ...]
    slot_top: float
    slot_height: float
    log_scale: bool
    names: tuple[BarName, ...] = ()


def depth_chart(values: Sequence[float], names: Sequence[str], y_label: str | None = None,
                width: float = NARROW_WIDTH) -> DepthChart:
    """One bar per layer in model order, each with its layer name and value as a tooltip.

    Rule: a log y scale (decade ticks) when every finite value is positive and the largest
    is at least LOG_RANGE (100) times the smallest; otherwise a linear scale from 0, so that
    a zero (a frozen layer's change) still reads as zero."""
    y_label = _("relative change") if y_label is None else y_label
    array = as_floats(values)
    if len(names) != len(array):
        raise ValueError("one name per value")
    finite = array[np.isfinite(array)]
    title = _("{label} of {n} layers in model order").format(label=y_label, n=len(array))
    if not finite.size:
        return DepthChart(empty_canvas(width, height_below(120, True), title), None, "", (), 0, 0,
                          False)
    log = bool(finite.min() > 0 and finite.max() >= LOG_RANGE * finite.min())
    y, y_ticks = _depth_axis(finite, log)
    x = AxisScale(0.5, len(array) + 0.5, left_margin(y_ticks[1]), width - 10)
    slot = (x.end - x.start) / len(array)
    named = slot >= NAMED_SLOT_PX
    x_ticks, x_label = _x_axis(named, len(array), x)
    legend = legend_row([("note", "", _("log scale") if log else _("linear scale"))],
                        width - 2, 13)
    plot = frame(x, y, x_ticks, y_ticks, width, x_label=x_label,
                 y_label=fit_text(y_label, room_left_of(legend, width)))
    base = y.start if log else y.at(0.0)
    bars = "".join(_bar(x.start + k * slot, slot, base, y.at(v)) for k, v in enumerate(array)
                   if math.isfinite(v) and (v > 0 or not log))
    slots = tuple(Slot(r1(x.start + k * slot), r1(slot), f"{name}: {_value_text(v)}")
                  for k, (v, name) in enumerate(zip(array, names)))
    under = _bar_names(names, x.start, slot, plot.bottom) if named else ()
    height = r1(plot.bottom + TICK_PX + NAME_PX * 0.71 + 14) if named else height_below(120, True)
    return DepthChart(Canvas(r1(width), height, title, legend), plot, bars, slots, plot.top,
                      r1(plot.bottom - plot.top), log, under)


def _x_axis(named: bool, n: int, x: AxisScale):
    """The layer axis's ticks and title: numbered layers, or nothing when the bars are named
    (the names take the numbers' and the title's place)."""
    if named:
        return ((), ()), ""
    return nice_ticks(1, n, x.end - x.start, cover=False, counts=True), \
        _("layer, in model order")


def _bar_names(names: Sequence[str], left: float, slot: float,
               bottom: float) -> tuple[BarName, ...]:
    """Each bar's name under its middle, ending there and running down-left at 45 degrees."""
    return tuple(BarName(r1(left + (k + 0.5) * slot + 4), r1(bottom + TICK_PX + 10),
                         fit_text(name, NAME_PX), name) for k, name in enumerate(names))


def _depth_axis(finite: np.ndarray, log: bool):
    """The bars' value axis and its ticks: decades on a log scale, else linear from 0."""
    if log:
        low_exp, high_exp = decades(float(finite.min()), float(finite.max()))
        exps, labels = decade_ticks(low_exp, high_exp, 100, vertical=True)
        return AxisScale(low_exp, high_exp, 120, 20, log=True), ([10.0 ** e for e in exps],
                                                                 labels)
    y_ticks = nice_ticks(min(finite.min(), 0), max(finite.max(), 0), 100, cover=True,
                         vertical=True)
    return AxisScale(y_ticks[0][0], y_ticks[0][-1], 120, 20), y_ticks


def _bar(x: float, slot: float, base: float, top: float) -> str:
    """A bar filling 80 % of its slot (all of it when that is under a pixel)."""
    width = slot * 0.8 if slot >= 2 else slot
    offset = (slot - width) / 2
    return (f"M{fmt_coord(x + offset)} {fmt_coord(base)}V{fmt_coord(top)}"
            f"h{fmt_coord(width)}V{fmt_coord(base)}z")


def _value_text(value: float) -> str:
    """A value for a tooltip; 'not finite' for NaN and Inf, which have no bar."""
    return compact(float(value), 4) if math.isfinite(value) else _("not finite")

