"""Axes of the inline SVG charts: nice tick values, compact labels, plot frames, legends.

Pure functions from numbers to frozen dataclasses of plain numbers and strings, which
templates/plots.html.j2 places without computing anything. Coordinates are rounded to one
decimal (whole numbers print without ".0") to keep the report small.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.i18n import N_, _

CHAR_PX = 6.6      # width of a character of the charts' 11 px text, to keep labels apart
TEXT_PX = 11       # the charts' text size (the CSS sets the same)
TICK_PX = 3        # length of a tick mark
LABEL_GAP = 10     # least space between two tick labels
# Values beyond this are treated as non-finite: a span or tick step computed from them
# could overflow to Inf, and Inf must never reach the SVG.
LIMIT = 1e300
NO_VALUES = N_("no finite values")
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Tick:
    """A tick: where its mark sits along the axis, its label, and where the label sits."""

    at: float
    label: str
    label_at: float


@dataclass(frozen=True)
class Frame:
    """A plot area with its axes: the axis lines and tick marks as one path, the grid as
    another, tick labels with their positions, and the axis titles ("" when none)."""

    left: float
    top: float
    right: float
    bottom: float
    axes: str
    grid: str
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    x_text_y: float
    y_text_x: float
    x_label: str
    x_label_x: float
    x_label_y: float
    y_label: str
    y_label_x: float
    y_label_y: float


@dataclass(frozen=True)
class LegendEntry:
    """A legend item: a swatch of CSS class `kind`, a 10 px "box" with its top left at (x, y)
    or a "line" at mid_y ("": text only), and its label from text_x on the baseline text_y."""

    kind: str
    shape: str
    label: str
    x: float
    y: float
    mid_y: float
    text_x: float
    text_y: float


@dataclass(frozen=True)
class AxisScale:
    """A map from data values (log10 of them when `log`) low..high to pixels start..end."""

    low: float
    high: float
    start: float
    end: float
    log: bool = False

    def at(self, value: float) -> float:
        """The pixel of a value; values outside the range are clamped to its ends."""
        v = math.log10(value) if self.log and value > 0 else (self.low if self.log else value)
        share = (v - self.low) / (self.high - self.low)
        return self.start + (self.end - self.start) * min(max(share, 0.0), 1.0)


def r1(value: float) -> float:
    """A coordinate rounded to one decimal, an int when whole (it prints without '.0')."""
    rounded = round(float(value), 1) + 0.0  # + 0.0 turns -0.0 into 0.0
    return int(rounded) if rounded.is_integer() else rounded


def fmt_coord(value: float) -> str:
    """A coordinate for an SVG path: one decimal at most."""
    return str(r1(value))


def usable(values: Sequence[float] | np.ndarray | None) -> np.ndarray:
    """A float array with True where a value is finite and within ±LIMIT."""
    array = np.asarray([] if values is None else values, dtype=float).reshape(-1)
    with np.errstate(invalid="ignore"):
        return np.isfinite(array) & (np.abs(array) <= LIMIT)


def as_floats(values: Sequence[float] | np.ndarray | None) -> np.ndarray:
    """Values as a float array, with NaN for anything not usable (so it is never drawn)."""
    array = np.asarray([] if values is None else values, dtype=float).reshape(-1)
    return np.where(usable(array), array, np.nan)


def widen(low: float, high: float) -> tuple[float, float]:
    """A range with room: a single value (or a span lost in rounding, or one so small that
    its tick steps would underflow) gets a margin."""
    if high - low > max(1e-9 * max(abs(low), abs(high)), 1e-290):
        return low, high
    middle = (low + high) / 2
    margin = max(abs(middle) * 0.1, 0.5)
    return middle - margin, middle + margin


def compact(value: float, digits: int = 3) -> str:
    """A number in few characters: 0.25, -1.2e-3, 1.5e+6 as 1.5e6; for titles and legends."""
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def tick_labels(values: Sequence[float]) -> tuple[str, ...]:
    """Labels for evenly spaced ticks: as many decimals as the step needs, trailing zeros
    dropped (-0.5, 0, 0.5); powers of ten notation (1.2e-3) for very small or large ones."""
    if not values:
        return ()
    step = abs(values[1] - values[0]) if len(values) > 1 else abs(values[0]) or 1.0
    biggest = max(abs(v) for v in values)
    if biggest >= 1e5 or 0 < biggest < 1e-3:
        digits = max(1, math.floor(math.log10(biggest)) - math.floor(math.log10(step)) + 1)
        return tuple(_scientific(v, digits) for v in values)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return tuple(_trim(f"{v:.{decimals}f}") for v in values)


def _scientific(value: float, digits: int) -> str:
    """A number as mantissa and power of ten, short: 1.2e-3, -5e-4, 2e5; zero as 0."""
    if value == 0:
        return "0"
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{_trim(mantissa)}e{int(exponent)}"


def count_labels(values: Sequence[float]) -> tuple[str, ...]:
    """Labels for whole-number ticks (counts): 500, 2k, 25k, 1.5M."""
    return tuple(_count_label(v) for v in values)


def _count_label(value: float) -> str:
    """One count: a plain integer below 10,000, else with k or M."""
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e4:
        return f"{value / 1e3:g}k"
    return str(int(value))


def _trim(text: str) -> str:
    """'0.50' as '0.5', '1.00' as '1', '-0' as '0'."""
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def nice_steps(span: float) -> list[float]:
    """Candidate tick steps, 1, 2 or 5 times a power of ten, small to large; the largest
    is more than the span, so a cover with it has at most two ticks."""
    exponent = math.floor(math.log10(span))
    return [m * 10.0 ** e for e in range(exponent - 2, exponent + 2) for m in (1, 2, 5)]


def ticks_with_step(low: float, high: float, step: float, cover: bool) -> list[float]:
    """Multiples of step from the one at or below low to the one at or above high (cover),
    or only those inside low..high."""
    if cover:
        first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    else:
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
    return [float(f"{k * step:.12g}") for k in range(first, last + 1)]


def nice_ticks(low: float, high: float, length_px: float, *, cover: bool, counts: bool = False,
               vertical: bool = False, most: int = 5) -> tuple[list[float], tuple[str, ...]]:
    """Tick values at 1, 2 or 5 × 10^k and their labels: the most ticks, up to `most`, whose
    labels fit along an axis of length_px (side by side, or one text line apart when
    vertical). `cover`: the ticks reach past low and high (the axis ends on ticks);
    otherwise they lie inside. `counts`: whole numbers only, labelled as counts."""
    low, high = widen(low, high)
    for step in nice_steps(high - low):
        # Fewer than span / step - 1 ticks is impossible: skip such steps before listing (and
        # labelling) hundreds of ticks.
        if (counts and step < 1) or (high - low) / step - 1 > most:
            continue
        values = ticks_with_step(low, high, step, cover)
        labels = count_labels(values) if counts else tick_labels(values)
        if len(values) <= most and _fits(values, labels, low, high, length_px, vertical):
            return values, labels
    return [low, high], tick_labels([low, high])


def _fits(values, labels, low, high, length_px, vertical) -> bool:
    """Whether neighbouring labels keep LABEL_GAP apart on the axis."""
    if len(values) < 2:
        return True
    spacing = length_px * (values[1] - values[0]) / (max(high, values[-1]) - min(low, values[0]))
    needed = TEXT_PX if vertical else max(len(t) for t in labels) * CHAR_PX
    return spacing >= needed + LABEL_GAP / (2 if vertical else 1)


def decade_ticks(low_exp: int, high_exp: int, length_px: float,
                 vertical: bool = False) -> tuple[list[int], tuple[str, ...]]:
    """Powers of ten from 10^low_exp to 10^high_exp for a log axis, labelled 10⁻³, 10⁰, 10²;
    every k-th decade only when the labels would not fit (at most six)."""
    span = max(high_exp - low_exp, 1)
    for every in range(1, span + 1):
        exps = [e for e in range(low_exp, high_exp + 1) if e % every == 0]
        labels = tuple(power_label(e) for e in exps)
        spacing = length_px * every / span
        needed = (TEXT_PX + LABEL_GAP / 2 if vertical
                  else max(map(len, labels)) * CHAR_PX + LABEL_GAP)
        if len(exps) <= 6 and spacing >= needed:
            return exps, labels
    return [low_exp, high_exp], (power_label(low_exp), power_label(high_exp))


def power_label(exponent: int) -> str:
    """10 to a power, with the power in superscript digits: 10⁻³."""
    return f"10{str(exponent).translate(_SUPERSCRIPT)}"


def decades(low: float, high: float) -> tuple[int, int]:
    """The powers of ten at or below low and at or above high (positive numbers), at least
    one decade apart."""
    low_exp, high_exp = math.floor(math.log10(low) + 1e-9), math.ceil(math.log10(high) - 1e-9)
    return low_exp, max(high_exp, low_exp + 1)


def label_width(text: str) -> float:
    """The estimated width in px of a label at the charts' text size."""
    return text_columns(text) * CHAR_PX


def text_columns(text: str) -> int:
    """The columns a text takes: a wide East Asian character (Hangul, CJK) takes two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def left_margin(labels: Sequence[str]) -> float:
    """Room left of the plot for the y tick labels, their gap and the tick marks."""
    return max((label_width(t) for t in labels), default=0.0) + TICK_PX + 6


def frame(x: AxisScale, y: AxisScale, x_ticks: tuple[Sequence[float], Sequence[str]],
          y_ticks: tuple[Sequence[float], Sequence[str]], width: float, x_label: str = "",
          y_label: str = "", grid: bool = True) -> Frame:
    """The axes of a plot whose area is given by the pixel ends of its x and y scales, in a
    chart `width` wide: x tick labels are kept inside it, y tick labels sit centred on
    their ticks, the y axis title above the plot at the left edge."""
    left, right, bottom, top = x.start, x.end, y.start, y.end
    xs = [Tick(r1(x.at(v)), t, r1(_inside(x.at(v), label_width(t) / 2, width)))
          for v, t in zip(*x_ticks)]
    ys = [Tick(r1(y.at(v)), t, r1(y.at(v) + 4)) for v, t in zip(*y_ticks)]
    axes = f"M{fmt_coord(left)} {fmt_coord(top)}V{fmt_coord(bottom)}H{fmt_coord(right)}"
    axes += "".join(f"M{fmt_coord(left)} {t.at}h-{TICK_PX}" for t in ys)
    axes += "".join(f"M{t.at} {fmt_coord(bottom)}v{TICK_PX}" for t in xs)
    lines = "".join(f"M{fmt_coord(left)} {t.at}H{fmt_coord(right)}" for t in ys
                    if grid and top + 0.5 < t.at < bottom - 0.5)
    return Frame(left=r1(left), top=r1(top), right=r1(right), bottom=r1(bottom), axes=axes,
                 grid=lines, x_ticks=tuple(xs), y_ticks=tuple(ys),
                 x_text_y=r1(bottom + TICK_PX + TEXT_PX + 1), y_text_x=r1(left - TICK_PX - 3),
                 x_label=x_label, x_label_x=r1((left + right) / 2),
                 x_label_y=r1(bottom + TICK_PX + 2 * TEXT_PX + 5),
                 y_label=y_label, y_label_x=1, y_label_y=r1(top - 7))


def height_below(bottom: float, x_label: bool) -> float:
    """The height of a chart whose lowest plot ends at `bottom`: room for the x tick labels
    and, when there is one, the x axis title, descenders included."""
    return r1(bottom + TICK_PX + (2 * TEXT_PX + 10 if x_label else TEXT_PX + 6))


def _inside(centre: float, half: float, width: float) -> float:
    """A label's centre moved just enough for the label to stay within 0..width."""
    return min(max(centre, half + 1), width - half - 1)


def hide_labels(ticks: Sequence[Tick]) -> tuple[Tick, ...]:
    """The same ticks with no labels (a panel above another that carries them)."""
    return tuple(Tick(t.at, "", t.label_at) for t in ticks)


def legend_row(items: Sequence[tuple[str, str, str]], right: float,
               y: float) -> tuple[LegendEntry, ...]:
    """(kind, shape, label) entries side by side on baseline y, ending at x = right."""
    widths = [(14 if shape else 0) + label_width(label) + 12 for _, shape, label in items]
    x = right - sum(widths) + 12
    entries = []
    for (kind, shape, label), width in zip(items, widths):
        text_x = x + (14 if shape else 0)
        entries.append(LegendEntry(kind, shape, label, r1(x), r1(y - 9), r1(y - 4), r1(text_x),
                                   r1(y)))
        x += width
    return tuple(entries)


def step_path(xs: Sequence[float], ys: Sequence[float], base: float, closed: bool) -> str:
    """The outline of a histogram: from (xs[0], base) up and across each bin at its height,
    back down to base; `closed` for a filled area, open for a stroked outline. Neighbouring
    bins of the same height share one segment."""
    runs: list[tuple[str, str]] = []  # (level, x where the level ends)
    for x_end, y in zip(xs[1:], ys):
        level = fmt_coord(y)
        if runs and runs[-1][0] == level:
            runs[-1] = (level, fmt_coord(x_end))
        else:
            runs.append((level, fmt_coord(x_end)))
    path, last = f"M{fmt_coord(xs[0])} {fmt_coord(base)}", fmt_coord(base)
    for level, x_end in runs:
        path += ("" if level == last else f"V{level}") + f"H{x_end}"
        last = level
    if last != fmt_coord(base):
        path += f"V{fmt_coord(base)}"
    return path + ("Z" if closed else "")


@dataclass(frozen=True)
class Canvas:
    """What every chart has: its size (the SVG viewBox), its accessible title, its legend,
    and a message drawn in the middle instead of marks ("" when there are marks)."""

    width: float
    height: float
    title: str
    legend: tuple[LegendEntry, ...]
    message: str = ""
    message_x: float = 0
    message_y: float = 0


def empty_canvas(width: float, height: float, title: str) -> Canvas:
    """A chart with nothing to draw: the same size, saying why."""
    return Canvas(r1(width), r1(height), f"{title}: {_(NO_VALUES)}", (), _(NO_VALUES),
                  r1(width / 2), r1(height / 2))


def fit_text(text: str, px: float) -> str:
    """Text cut with an ellipsis to fit about px wide (the full text goes in a title)."""
    most = max(int(px / CHAR_PX), 1)
    if text_columns(text) <= most:
        return text
    while text and text_columns(text) > most - 1:
        text = text[:-1]
    return text + "…"
