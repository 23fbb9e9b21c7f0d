"""Charts of a model's diagnostics: spectral density on log-log axes, reliability diagram,
trend lines across epochs.

Like reportgen/draw/charts.py: numbers in, frozen dataclasses of plain numbers and strings
out, for templates/plots.html.j2; non-finite values are left out, never drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from reportgen.draw.chart_axes import (Canvas, Frame, LegendEntry, AxisScale, as_floats, compact,
                                       count_labels, decade_ticks, decades, empty_canvas,
                                       fit_text, fmt_coord, frame, height_below, hide_labels,
                                       left_margin, legend_row, nice_ticks, r1, step_path, usable)
from reportgen.draw.charts import HISTOGRAM_WIDTH, NARROW_WIDTH, Slot
from reportgen.i18n import _

TREND_COLOURS = 8  # series beyond these are drawn grey and left out of the legend


@dataclass(frozen=True)
class PowerLawTail:
    """A fitted tail, density(x) = tail_density · (x / xmin)^-alpha for xmin ≤ x ≤ lambda_max,
    in the units of spectral_densities."""

    alpha: float
    xmin: float
    lambda_max: float
    tail_density: float


@dataclass(frozen=True)
class LogLimits:
    """The decades a log-log chart spans: 10^x_low .. 10^x_high by 10^y_low .. 10^y_high."""

    x_low: int
    x_high: int
    y_low: int
    y_high: int


@dataclass(frozen=True)
class SpectralChart:
    """An eigenvalue density histogram on log-log axes with the fitted power-law tail as a
    straight line and a dashed marker at xmin ("" paths when there is no fit)."""

    canvas: Canvas
    frame: Frame | None
    bars: str
    tail: str
    xmin: str


@dataclass(frozen=True)
class ReliabilityChart:
    """Accuracy per confidence bin against the diagonal, with counts per bin beneath."""

    canvas: Canvas
    frames: tuple[Frame, ...]
    bars: str
    diagonal: str
    counts: str
    slots: tuple[Slot, ...]
    slot_top: float
    slot_height: float


@dataclass(frozen=True)
class TrendLine:
    """One series across epochs: its line (broken where a value is not finite), a dot at
    each value, its CSS class and its name for a tooltip."""

    kind: str
    line: str
    dots: str
    title: str


@dataclass(frozen=True)
class TrendChart:
    """Several series over epochs, the first TREND_COLOURS in colour and in the legend."""

    canvas: Canvas
    frame: Frame | None
    lines: tuple[TrendLine, ...]


def spectral_densities(edges: Sequence[float], counts: Sequence[float]) -> np.ndarray:
    """Each bin's count / (total count · bin width): a density that integrates to 1, the
    units of SpectralFacts.tail_density."""
    edges, counts = as_floats(edges), np.nan_to_num(as_floats(counts), nan=0.0)
    total = counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        return counts / (total * np.diff(edges)) if total > 0 else np.zeros_like(counts)


def tail_points(tail: PowerLawTail | None) -> tuple[tuple[float, float], ...]:
    """The tail line's ends (xmin, density) and (lambda_max, density); none when the fit is
    missing, not finite or not positive."""
    if tail is None:
        return ()
    numbers = [tail.alpha, tail.xmin, tail.lambda_max, tail.tail_density]
    if not usable(numbers).all() or min(numbers[1:]) <= 0:
        return ()
    end = tail.tail_density * (tail.lambda_max / tail.xmin) ** -tail.alpha
    return ((tail.xmin, tail.tail_density),) + ((tail.lambda_max, end),) * (end > 0)


def spectral_limits(*spectra: tuple[Sequence[float], Sequence[float], PowerLawTail | None]
                    ) -> LogLimits | None:
    """Decades covering every (edges, counts, tail) given, so side-by-side charts (trained,
    initialised) share their axes; None when none has a positive finite value."""
    xs, ys = [], []
    for edges, counts, tail in spectra:
        edges, density = as_floats(edges), spectral_densities(edges, counts)
        xs += [e for e in edges if e > 0]
        ys += [d for d in density if math.isfinite(d) and d > 0]
        for x, y in tail_points(tail):
            xs.append(x)
            ys.append(y)
    if not xs or not ys:
        return None
    x_low, x_high = decades(min(xs), max(xs))
    y_low, y_high = decades(min(ys), max(ys))
    return LogLimits(x_low, x_high, y_low, y_high)


def spectral_chart(edges: Sequence[float], counts: Sequence[float],
                   tail: PowerLawTail | None = None, name: str = "",
                   limits: LogLimits | None = None) -> SpectralChart:
    """The eigenvalue density of log-spaced bins on log-log axes with decade ticks, the
    fitted tail from xmin to lambda_max (slope -alpha), a marker at xmin and alpha in the
    legend. Pass `limits` from spectral_limits to share axes with another chart."""
    title = _spectral_title(tail, name)
    limits = limits or spectral_limits((edges, counts, tail))
    edges_array = as_floats(edges)
    if limits is None or not (np.isfinite(edges_array).all() and edges_array.min() > 0):
        empty = empty_canvas(HISTOGRAM_WIDTH, height_below(132, True), title)
        return SpectralChart(empty, None, "", "", "")
    y_ticks = decade_ticks(limits.y_low, limits.y_high, 112, vertical=True)
    x = AxisScale(limits.x_low, limits.x_high, left_margin(y_ticks[1]), HISTOGRAM_WIDTH - 10,
                  log=True)
    y = AxisScale(limits.y_low, limits.y_high, 132, 20, log=True)
    x_ticks = decade_ticks(limits.x_low, limits.x_high, x.end - x.start)
    legend = _spectral_legend(tail)
    plot = frame(x, y, ([10.0 ** e for e in x_ticks[0]], x_ticks[1]),
                 ([10.0 ** e for e in y_ticks[0]], y_ticks[1]), HISTOGRAM_WIDTH,
                 x_label=_("eigenvalue"),
                 y_label=fit_text(_("{name}, density").format(name=name) if name
                                  else _("density"), legend[0].x - 8))
    levels = [y.at(d) if math.isfinite(d) and d > 0 else y.start
              for d in spectral_densities(edges, counts)]
    bars = step_path([x.at(e) for e in edges_array], levels, y.start, closed=True)
    line, marker = _tail_marks(tail_points(tail), x, y, plot)
    return SpectralChart(Canvas(HISTOGRAM_WIDTH, height_below(132, True), title, legend), plot,
                         bars, line, marker)


def _spectral_title(tail: PowerLawTail | None, name: str) -> str:
    """What the chart shows, with the tail's alpha when there is a tail to draw."""
    title = _("Eigenvalue density of {name}").format(name=name or _("the weights"))
    if tail_points(tail):
        title += _(", power-law tail alpha {alpha} from xmin {xmin}").format(
            alpha=compact(tail.alpha), xmin=compact(tail.xmin))
    return title


def _tail_marks(points, x: AxisScale, y: AxisScale, plot) -> tuple[str, str]:
    """The fitted tail's line (when it has its two ends) and the marker at xmin."""
    line = "".join(f"{'L' if k else 'M'}{fmt_coord(x.at(px))} {fmt_coord(y.at(py))}"
                   for k, (px, py) in enumerate(points)) if len(points) == 2 else ""
    marker = f"M{fmt_coord(x.at(points[0][0]))} {plot.top}V{plot.bottom}" if points else ""
    return line, marker


def _spectral_legend(tail: PowerLawTail | None) -> tuple[LegendEntry, ...]:
    """The fit's alpha and the xmin marker, or a note that there is no fit."""
    if not tail_points(tail):
        return legend_row([("note", "", _("no power-law fit"))], HISTOGRAM_WIDTH - 2, 13)
    return legend_row([("fit", "line", f"α = {tail.alpha:.2f}"), ("xmin", "line", "xmin")],
                      HISTOGRAM_WIDTH - 2, 13)


def reliability_chart(accuracy: Sequence[float | None], counts: Sequence[float],
                      ece: float | None) -> ReliabilityChart:
    """A reliability diagram: equal-width confidence bins over 0..1 (15 in the report),
    accuracy per bin as bars against the diagonal of perfect calibration, the number of
    samples per bin as a small bar row beneath, ECE in the legend. Empty bins have no bar."""
    acc = as_floats([np.nan if a is None else a for a in accuracy])
    n = np.nan_to_num(as_floats(counts), nan=0.0).clip(min=0)
    if len(n) != len(acc):
        raise ValueError("one count per bin")
    acc = np.where(n > 0, acc, np.nan)
    ece_text = f"ECE {ece:.3f}" if ece is not None and math.isfinite(ece) else _("ECE n/a")
    title = _("Reliability diagram, {bins} confidence bins, {n:,} samples, {ece}").format(
        bins=len(acc), n=int(n.sum()), ece=ece_text)
    if not np.isfinite(acc).any():
        empty = empty_canvas(HISTOGRAM_WIDTH, height_below(222, True), title)
        return ReliabilityChart(empty, (), "", "", "", (), 0, 0)
    unit = nice_ticks(0, 1, 150, cover=True, vertical=True, most=6)
    count_ticks = ([0.0, float(n.max())], count_labels([0, float(n.max())]))
    left = left_margin(unit[1] + count_ticks[1])
    x = AxisScale(0, 1, left, HISTOGRAM_WIDTH - 10)
    main, below = AxisScale(0, 1, 170, 20), AxisScale(0, float(n.max()), 222, 196)
    x_ticks = nice_ticks(0, 1, x.end - x.start, cover=True, most=6)
    legend = legend_row([("trained", "box", _("accuracy")), ("ref", "line", _("ideal")),
                         ("note", "", ece_text)], HISTOGRAM_WIDTH - 2, 13)
    upper = frame(x, main, x_ticks, unit, HISTOGRAM_WIDTH, y_label=_("accuracy"))
    lower = frame(x, below, x_ticks, count_ticks, HISTOGRAM_WIDTH, x_label=_("confidence"),
                  y_label=_("count"), grid=False)
    width = (x.end - x.start) / len(acc)
    bars = "".join(_box(x.start + k * width, width, main.start, main.at(a))
                   for k, a in enumerate(acc) if math.isfinite(a) and a > 0)
    count_bars = "".join(_box(x.start + k * width, width, below.start, below.at(c))
                         for k, c in enumerate(n) if c > 0)
    slots = tuple(Slot(r1(x.start + k * width), r1(width), _bin_text(k, len(acc), a, c))
                  for k, (a, c) in enumerate(zip(acc, n)))
    return ReliabilityChart(
        Canvas(HISTOGRAM_WIDTH, height_below(222, True), title, legend),
        (replace(upper, x_ticks=hide_labels(upper.x_ticks)), lower), bars,
        f"M{upper.left} {upper.bottom}L{upper.right} {upper.top}", count_bars, slots,
        upper.top, r1(lower.bottom - upper.top))


def _box(x: float, width: float, base: float, top: float) -> str:
    """A bar with a one pixel gap on its right."""
    return (f"M{fmt_coord(x)} {fmt_coord(base)}V{fmt_coord(top)}"
            f"h{fmt_coord(max(width - 1, 0.5))}V{fmt_coord(base)}z")


def _bin_text(k: int, bins: int, accuracy: float, count: float) -> str:
    """A bin's tooltip: its confidence range, accuracy and number of samples."""
    span = _("confidence {low:.2f}–{high:.2f}").format(low=k / bins, high=(k + 1) / bins)
    if not math.isfinite(accuracy):
        return _("{span}: no samples").format(span=span)
    return _("{span}: accuracy {accuracy:.3f} of {n:,}").format(span=span, accuracy=accuracy,
                                                                 n=int(count))


def trend_chart(epochs: Sequence[float], series: Sequence[tuple[str, Sequence[float]]],
                y_label: str, width: float = NARROW_WIDTH) -> TrendChart:
    """One line per series (a layer) over the epochs, each value a dot, non-finite values a
    break in the line; the first TREND_COLOURS series in colour with a legend of their
    names beneath, the others thin and grey, counted in the legend."""
    xs = as_floats(epochs)
    values = [as_floats(v) for _, v in series]
    if any(len(v) != len(xs) for v in values):
        raise ValueError("one value per epoch in every series")
    title = _("{label} of {n} series over {epochs} epochs").format(
        label=y_label, n=len(series), epochs=len(xs))
    legend_rows = math.ceil(min(len(series), TREND_COLOURS) / 2) + (len(series) > TREND_COLOURS)
    height = 180 + 16 * legend_rows  # the legend's first baseline is at 190
    finite = np.concatenate([v[np.isfinite(v) & np.isfinite(xs)] for v in values] + [[]])
    if not finite.size:
        return TrendChart(empty_canvas(width, height, title), None, ())
    y_ticks = nice_ticks(float(finite.min()), float(finite.max()), 112, cover=True,
                         vertical=True)
    left = left_margin(y_ticks[1])
    known = xs[np.isfinite(xs)]
    x_ticks = nice_ticks(float(known.min()), float(known.max()), width - 14 - left, cover=False,
                         counts=True)
    x = AxisScale(*_padded(known), left, width - 14)
    y = AxisScale(y_ticks[0][0], y_ticks[0][-1], 132, 20)
    plot = frame(x, y, x_ticks, y_ticks, width, x_label=_("epoch"),
                 y_label=fit_text(y_label, width - 4))
    lines = [TrendLine(_trend_kind(k), *_trend_path(xs, v, x, y), name)
             for k, (name, v) in enumerate(zip([s[0] for s in series], values))]
    ordered = lines[TREND_COLOURS:] + lines[:TREND_COLOURS][::-1]  # coloured ones on top
    legend = _trend_legend([s[0] for s in series], width, 190)
    return TrendChart(Canvas(r1(width), height, title, legend), plot, tuple(ordered))


def _padded(values: np.ndarray) -> tuple[float, float]:
    """The range of the epochs with a little room on both sides, so that the first and last
    dots stay clear of the axes."""
    low, high = float(values.min()), float(values.max())
    pad = 0.5 if high <= low else (high - low) * 0.03
    return low - pad, high + pad


def _trend_kind(k: int) -> str:
    """The CSS class of the k-th series: a colour of its own, or the shared grey."""
    return f"s{k}" if k < TREND_COLOURS else "more"


def _trend_path(xs: np.ndarray, values: np.ndarray, x: AxisScale, y: AxisScale) -> tuple[str, str]:
    """The line through a series' finite points (a new segment after a gap), and its dots
    as zero-length strokes that the round line cap shows as dots."""
    line, dots, joined = "", "", False
    for epoch, value in zip(xs, values):
        if not (math.isfinite(epoch) and math.isfinite(value)):
            joined = False
            continue
        point = f"{fmt_coord(x.at(epoch))} {fmt_coord(y.at(value))}"
        line += ("L" if joined else "M") + point
        dots += f"M{point}h0"
        joined = True
    return line, dots


def _trend_legend(names: Sequence[str], width: float, top: float) -> tuple[LegendEntry, ...]:
    """The first TREND_COLOURS names in two columns, then how many more there are."""
    column = (width - 4) / 2
    entries = [_trend_entry(_trend_kind(k), fit_text(name, column - 22), 2 + column * (k % 2),
                            top + 16 * (k // 2)) for k, name in enumerate(names[:TREND_COLOURS])]
    if len(names) > TREND_COLOURS:
        entries.append(_trend_entry("more", _("{n} more (grey, not named)").format(
                                        n=len(names) - TREND_COLOURS),
                                    2, top + 16 * math.ceil(TREND_COLOURS / 2)))
    return tuple(entries)


def _trend_entry(kind: str, label: str, x: float, baseline: float) -> LegendEntry:
    """A line swatch and its label, on a text baseline."""
    return LegendEntry(kind, "line", label, r1(x), r1(baseline - 9), r1(baseline - 4),
                       r1(x + 14), r1(baseline))
