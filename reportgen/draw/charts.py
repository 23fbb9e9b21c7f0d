"""Charts of weights with real axes: histogram, dot strip, per-index series, bars by depth.

Each `..._chart` function turns numbers into geometry, a frozen dataclass of plain numbers
and strings (SVG path data, ticks, legend) that templates/plots.html.j2 draws as inline SVG.
Non-finite values never reach a coordinate: they are left out and counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from reportgen.i18n import _
from reportgen.draw.chart_axes import (Canvas, Frame, LegendEntry, AxisScale, as_floats,
                                       compact, empty_canvas, fit_text,
                                       fmt_coord, frame, height_below, hide_labels, left_margin,
                                       legend_row,
                                       nice_ticks, r1, step_path, usable)

HISTOGRAM_WIDTH = 320
NARROW_WIDTH = 343  # a 375 px screen less the page's 16 px margins: never scrolls sideways
# On one count scale a histogram whose peak is this many times the other's would be
# flattened into the axis (a zero-initialised bias is one spike of every value).
PANEL_RATIO = 10
# Bars by depth use a log scale when the positive values span this factor or more.
DOT_LANE_PX = 3.5
DOT_LANES = (0, -1, 1, -2, 2)


@dataclass(frozen=True)
class HistogramChart:
    """A weight histogram, trained filled and initialised outlined; one frame on a shared
    count scale, or two (trained above, initialised below) when `shared_scale` is False."""

    canvas: Canvas
    frames: tuple[Frame, ...]
    trained: str
    init: str
    zero: str
    shared_scale: bool


@dataclass(frozen=True)
class Dot:
    """One value of a dot strip, with its text for a tooltip."""

    x: float
    y: float
    title: str


@dataclass(frozen=True)
class DotRow:
    """A row of a dot strip: its label, its guide line, its dots (CSS class `kind`)."""

    kind: str
    label: str
    label_y: float
    guide: str
    dots: tuple[Dot, ...]


@dataclass(frozen=True)
class DotStripChart:
    """A few values, one dot each, on a value axis; trained and initialised in two rows."""

    canvas: Canvas
    frame: Frame | None
    rows: tuple[DotRow, ...]
    zero: str


@dataclass(frozen=True)
class SeriesChart:
    """Values per index (channel, token) as bars from a reference value; `bars` is a filled
    path, `spans` a stroked one of min..max per pixel column when values outnumber pixels."""

    canvas: Canvas
    frame: Frame | None
    bars: str
    spans: str
    reference: str


@dataclass(frozen=True)
class Slot:
    """The hover area of one bar, the full plot height, with its tooltip."""

    x: float
    width: float
    title: str


def histogram_chart(edges: Sequence[float], counts_trained: Sequence[float],
                    counts_init: Sequence[float] | None = None, name: str = "") -> HistogramChart:
    """A histogram of a weight tensor over shared bin edges, with count and value axes.

    Rule: trained and initialised share one count axis unless one peak is more than
    PANEL_RATIO (10) times the other; then two panels, trained above and initialised below,
    each with its own count axis (a zero-initialised bias would otherwise flatten the
    trained bars to a tenth of the height or less)."""
    edges = np.asarray(edges, dtype=float)
    trained, init = _counts(counts_trained), _counts(counts_init)
    if len(edges) != len(trained) + 1 or (init is not None and len(init) != len(trained)):
        raise ValueError("a histogram needs one more edge than counts")
    title = _histogram_title(name, edges, trained, init)
    peaks = [float(trained.max(initial=0)), float(init.max(initial=0)) if init is not None else 0]
    if not _drawable(edges, peaks):
        empty = empty_canvas(HISTOGRAM_WIDTH, height_below(116, False), title)
        return HistogramChart(empty, (), "", "", "", True)
    shared = min(peaks) == 0 or max(peaks) <= PANEL_RATIO * min(peaks)
    x, ys, frames, bottom = _histogram_frames(edges, peaks, shared)
    xs = [x.at(e) for e in edges]
    canvas = Canvas(HISTOGRAM_WIDTH, height_below(bottom, True), title,
                    _histogram_legend(init is not None and peaks[1] > 0, shared))
    return HistogramChart(
        canvas=canvas, frames=frames,
        trained=step_path(xs, [ys[0].at(c) for c in trained], ys[0].start, closed=True),
        init="" if init is None or peaks[1] == 0 else
        step_path(xs, [ys[-1].at(c) for c in init], ys[-1].start, closed=False),
        zero="".join(_vertical(x, 0.0, y) for y in ys), shared_scale=shared)


def _drawable(edges: np.ndarray, peaks: list[float]) -> bool:
    """Whether the bins have a finite, increasing range and some count to draw."""
    return bool(usable(edges).all()) and len(edges) >= 2 and max(peaks) > 0 and \
        edges[-1] > edges[0]


def _histogram_frames(edges: np.ndarray, peaks: list[float], shared: bool):
    """The value axis, a count axis per panel (one shared, or trained above initialised),
    their frames, and the lowest panel's bottom."""
    heights = [(20, 116)] if shared else [(20, 72), (94, 146)]
    tops = [max(peaks)] if shared else peaks
    y_ticks = [nice_ticks(0, top, bottom - top_px, cover=True, counts=True, vertical=True)
               for top, (top_px, bottom) in zip(tops, heights)]
    left = max(left_margin(labels) for _, labels in y_ticks)
    x = AxisScale(float(edges[0]), float(edges[-1]), left, HISTOGRAM_WIDTH - 10)
    x_ticks = nice_ticks(x.low, x.high, x.end - x.start, cover=False)
    ys = [AxisScale(ticks[0], ticks[-1], bottom, top_px) for (ticks, _), (top_px, bottom)
          in zip(y_ticks, heights)]
    # The value axis is titled under the lowest panel only, as the chapter's xlabel('weight').
    frames = tuple(frame(x, y, x_ticks, yt, HISTOGRAM_WIDTH, y_label=label,
                         x_label=_("weight value") if k == len(ys) - 1 else "")
                   for k, (y, yt, label) in enumerate(zip(ys, y_ticks, _panel_labels(shared))))
    if not shared:
        frames = (_without_x_labels(frames[0]),) + frames[1:]
    return x, ys, frames, heights[-1][1]


def _counts(counts: Sequence[float] | None) -> np.ndarray | None:
    """Bin counts as floats, a non-finite or negative count as 0 (it cannot be drawn)."""
    if counts is None:
        return None
    return np.clip(np.nan_to_num(as_floats(counts), nan=0.0), 0.0, None)


def _histogram_title(name, edges, trained, init) -> str:
    """The accessible description: what, how many, over which range."""
    span = (_(" from {low} to {high}").format(low=compact(edges[0]), high=compact(edges[-1]))
            if len(edges) and usable(edges).all() else "")
    text = _("Histogram of {name}: {n:,} trained values").format(
        name=name or _("values"), n=int(trained.sum())) + span
    return text + (_(", {n:,} initialised values").format(n=int(init.sum()))
                   if init is not None else "")


def _panel_labels(shared: bool) -> tuple[str, ...]:
    """The y axis titles: one count axis, or one per panel saying which histogram it is."""
    return (_("count"),) if shared else (_("trained, count"), _("initialised, count"))


def _without_x_labels(upper: Frame) -> Frame:
    """The upper panel keeps its x tick marks; the lower one carries the labels."""
    return replace(upper, x_ticks=hide_labels(upper.x_ticks))


def _histogram_legend(has_init: bool, shared: bool) -> tuple[LegendEntry, ...]:
    """Trained (and initialised) swatches at the top right; with two panels, whose titles
    say which is which, a note that their count scales differ instead."""
    if not shared:
        return legend_row([("note", "", _("separate count scales"))], HISTOGRAM_WIDTH - 2, 13)
    items = [("trained", "box", _("trained"))] + \
        ([("init", "box", _("initialised"))] if has_init else [])
    return legend_row(items, HISTOGRAM_WIDTH - 2, 13)


def room_left_of(legend: Sequence[LegendEntry], width: float) -> float:
    """The width left for a y axis title on the legend's row."""
    return (legend[0].x if legend else width) - 8


def _vertical(x: AxisScale, value: float, y: AxisScale) -> str:
    """A vertical line at an x value across a plot, if the value is strictly inside."""
    if not x.low < value < x.high:
        return ""
    return f"M{fmt_coord(x.at(value))} {fmt_coord(y.end)}V{fmt_coord(y.start)}"


def dot_strip_chart(trained: Sequence[float], init: Sequence[float] | None = None,
                    name: str = "") -> DotStripChart:
    """Few values (fewer than about 20, where a histogram says little) as one dot each on a labelled value axis,
    trained in one row and initialised in a second; equal values stack in small lanes."""
    rows = [("trained", _("trained"), as_floats(trained))]
    rows += [("init", _("initialised"), as_floats(init))] if init is not None else []
    finite = np.concatenate([v[np.isfinite(v)] for _, _, v in rows])
    n_bad = sum(int(np.count_nonzero(~np.isfinite(v))) for _, _, v in rows)
    bottom = 12 + 24 * len(rows)
    title = f"{name or _('Values')}: " + ", ".join(f"{np.isfinite(v).sum()} {label}"
                                                     for _kind, label, v in rows)
    if not finite.size:
        empty = empty_canvas(HISTOGRAM_WIDTH, height_below(bottom, False), title)
        return DotStripChart(empty, None, (), "")
    left = left_margin([label for _kind, label, _v in rows])
    ticks = nice_ticks(float(finite.min()), float(finite.max()), HISTOGRAM_WIDTH - 12 - left,
                       cover=True)
    x = AxisScale(ticks[0][0], ticks[0][-1], left, HISTOGRAM_WIDTH - 12)
    y = AxisScale(0, 1, bottom, 2)
    note = (legend_row([("note", "", _("{n} non-finite not shown").format(n=n_bad))],
                       HISTOGRAM_WIDTH - 2,
                       bottom + 33) if n_bad else ())
    canvas = Canvas(HISTOGRAM_WIDTH, height_below(bottom, bool(n_bad)), title, note)
    dot_rows = tuple(_dot_row(kind, label, values, x, 12 + 24 * k, left)
                     for k, (kind, label, values) in enumerate(rows))
    return DotStripChart(canvas, frame(x, y, ticks, ([], ()), HISTOGRAM_WIDTH), dot_rows,
                         _vertical(x, 0.0, y))


def _dot_row(kind: str, label: str, values: np.ndarray, x: AxisScale, centre: float,
             left: float) -> DotRow:
    """One row of dots; a dot that would cover an earlier one moves to the next free lane."""
    taken: dict[int, list[float]] = {lane: [] for lane in DOT_LANES}
    dots = []
    for value in values[np.isfinite(values)]:
        px = x.at(float(value))
        lane = next((ln for ln in DOT_LANES if all(abs(px - q) >= 5 for q in taken[ln])),
                    DOT_LANES[len(dots) % len(DOT_LANES)])
        taken[lane].append(px)
        dots.append(Dot(r1(px), r1(centre + lane * DOT_LANE_PX), compact(float(value), 4)))
    guide = f"M{fmt_coord(left)} {fmt_coord(centre)}H{fmt_coord(x.end)}"
    return DotRow(kind, label, r1(centre + 4), guide, tuple(dots))


def series_chart(values: Sequence[float], reference: float | None = None, name: str = "",
                 x_label: str | None = None, width: float = NARROW_WIDTH) -> SeriesChart:
    """Values per index as bars from `reference` (1 for gamma and moving variance, 0 for
    beta and moving mean; None: bars from 0, as for vector norms), with a dashed reference
    line, a y axis of nice ticks covering the values and the reference, and index ticks.
    Thin bars touch; with more values than pixel columns each column shows min..max."""
    x_label = _("channel") if x_label is None else x_label
    array = as_floats(values)
    finite = array[np.isfinite(array)]
    title = _("{name} per {index}: {n:,} values").format(
        name=name or _("Values"), index=x_label, n=len(array)) + (
        _(", drawn from the reference {reference}").format(reference=compact(reference))
        if reference is not None else "")
    base_value = 0.0 if reference is None else float(reference)
    if not finite.size or not math.isfinite(base_value):
        return SeriesChart(empty_canvas(width, height_below(120, True), title), None, "", "", "")
    y_ticks = nice_ticks(min(finite.min(), base_value), max(finite.max(), base_value), 100,
                         cover=True, vertical=True)
    left = left_margin(y_ticks[1])
    x = AxisScale(-0.5, len(array) - 0.5, left, width - 10)
    y = AxisScale(y_ticks[0][0], y_ticks[0][-1], 120, 20)
    x_ticks = nice_ticks(0, len(array) - 1, x.end - x.start, cover=False, counts=True)
    legend = legend_row([("ref", "line", _("reference {value}").format(
        value=compact(reference)))], width - 2, 13) \
        if reference is not None else ()
    canvas = Canvas(r1(width), height_below(120, True), title, legend)
    plot = frame(x, y, x_ticks, y_ticks, width, x_label=x_label,
                 y_label=fit_text(name, room_left_of(legend, width)))
    many = len(array) > x.end - x.start
    reference_line = (f"M{plot.left} {fmt_coord(y.at(base_value))}H{plot.right}"
                      if reference is not None else "")
    return SeriesChart(canvas, plot, "" if many else _bars(array, x, y, base_value),
                       _spans(array, x, y, base_value) if many else "", reference_line)


def _bars(values: np.ndarray, x: AxisScale, y: AxisScale, base: float) -> str:
    """Bars from base to each value: apart when there is room for a gap, else touching
    (one step outline); a non-finite value gets no bar."""
    slot = (x.end - x.start) / len(values)
    base_px = y.at(base)
    levels = [y.at(v) if math.isfinite(v) else base_px for v in values]
    if slot < 3:
        edges = [x.start + k * slot for k in range(len(values) + 1)]
        return step_path(edges, levels, base_px, closed=True)
    width = fmt_coord(slot * 0.75)
    return "".join(f"M{fmt_coord(x.start + k * slot + slot * 0.125)} {fmt_coord(base_px)}"
                   f"V{fmt_coord(level)}h{width}V{fmt_coord(base_px)}z"
                   for k, level in enumerate(levels) if fmt_coord(level) != fmt_coord(base_px))


def _spans(values: np.ndarray, x: AxisScale, y: AxisScale, base: float) -> str:
    """For each pixel column, a vertical line covering base and every value in it; each
    line starts relative to the end of the one before, a third fewer bytes than absolute."""
    columns = int(x.end - x.start)
    bounds = np.linspace(0, len(values), columns + 1).astype(int)
    path, pen = "", None  # pen: where the last line ended, in rounded coordinates
    for column, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        chunk = values[start:stop]
        chunk = chunk[np.isfinite(chunk)]
        if not chunk.size:
            continue
        px, top = r1(x.start + column + 0.5), r1(y.at(max(chunk.max(), base)))
        length = r1(max(y.at(min(chunk.min(), base)) - top, 0.5))
        path += (f"M{px} {top}" if pen is None else
                 f"m{_pair(px - pen[0], top - pen[1])}") + f"v{length}"
        pen = (px, r1(top + length))
    return path


def _pair(dx: float, dy: float) -> str:
    """Two path numbers; a minus sign separates them on its own (the SVG path grammar)."""
    second = fmt_coord(dy)
    return f"{fmt_coord(dx)}{'' if second.startswith('-') else ' '}{second}"
