"""The chart layer: geometry checked against values worked out by hand here, and the
macros of templates/plots.html.j2 rendered by a real Jinja2 environment into well-formed,
escaped SVG with no NaN or Inf in it."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jinja2
import numpy as np
import pytest

from reportgen.draw.chart_axes import nice_ticks, tick_labels
from reportgen.draw.charts import dot_strip_chart, histogram_chart, series_chart
from reportgen.draw.depth_chart import depth_chart
from reportgen.draw.diagnostic_charts import (PowerLawTail, reliability_chart, spectral_chart,
                                              spectral_densities, spectral_limits, trend_chart)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
HOSTILE = "<script>alert(1)</script>"


def points(path: str) -> list[tuple[float, float]]:
    """The absolute (x, y) vertices of an SVG path made of M m L H V h v Z commands."""
    out, x, y = [], 0.0, 0.0
    for command, args in re.findall(r"([MmLHVhvZz])([^MmLHVhvZz]*)", path):
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if command in "ML":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        elif command == "H":
            x = numbers[0]
        elif command == "V":
            y = numbers[0]
        elif command == "h":
            x += numbers[0]
        elif command == "v":
            y += numbers[0]
        else:
            continue
        out.append((x, y))
    return out


def subpaths(path: str) -> list[str]:
    """A path cut at each M or m: one piece per bar, segment or line, each made absolute."""
    pieces, start = [], (0.0, 0.0)
    for piece in re.findall(r"[Mm][^Mm]*", path):
        if piece[0] == "m":
            dx, dy = (float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", piece)[:2])
            rest = re.sub(r"^m-?[\d.]+ ?-?[\d.]+", "", piece)
            piece = f"M{start[0] + dx:.1f} {start[1] + dy:.1f}{rest}"
        pieces.append(piece)
        start = points(piece)[-1]
    return pieces


def tick_at(ticks, label: str) -> float:
    """The position of the tick with this label."""
    return next(t.at for t in ticks if t.label == label)


# Nice numbers -------------------------------------------------------------------------------

@pytest.mark.parametrize("low, high", [(0, 10), (0, 397), (-0.183, 0.152), (0.9, 1.09),
                                       (-3.3e-3, 4.1e-3), (1, 1), (0, 123456), (-7, -2)])
def test_cover_ticks_are_nice_and_cover_the_range(low, high):
    values, labels = nice_ticks(low, high, 100, cover=True, vertical=True)
    step = values[1] - values[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 5))
    assert values[0] <= low and values[-1] >= high
    assert 2 <= len(values) <= 5 and len(labels) == len(values)
    assert all(math.isclose(b - a, step, rel_tol=1e-9) for a, b in zip(values, values[1:]))


def test_inside_ticks_stay_in_range_and_number_three_to_five():
    for low, high in [(-0.183, 0.152), (-0.055, 0.045), (0, 1023), (-3.3e-3, 4.1e-3)]:
        values, _ = nice_ticks(low, high, 270, cover=False)
        assert all(low <= v <= high for v in values) and 3 <= len(values) <= 5


def test_labels_are_compact():
    assert tick_labels([-0.5, 0.0, 0.5, 1.0]) == ("-0.5", "0", "0.5", "1")
    assert tick_labels([0.95, 1.0, 1.05]) == ("0.95", "1", "1.05")
    assert tick_labels([-2e-4, 0.0, 2e-4]) == ("-2e-4", "0", "2e-4")
    assert tick_labels([1.0e-4, 1.2e-4, 1.4e-4]) == ("1e-4", "1.2e-4", "1.4e-4")
    assert nice_ticks(0, 25_000, 100, cover=True, counts=True, vertical=True)[1][-1] == "30k"


# Histogram ----------------------------------------------------------------------------------

def test_histogram_tallest_bar_reaches_the_top_tick():
    chart = histogram_chart([0, 1, 2, 3], [0, 5, 10], None, "w")
    (plot,) = chart.frames
    labels = [t.label for t in plot.y_ticks]
    assert "0" in labels and "10" in labels and labels[-1] == "10"
    # By hand: bins of a third of the plot each; 5 is half the height, 10 all of it.
    third = (plot.right - plot.left) / 3
    half = (plot.top + plot.bottom) / 2
    expected = [(plot.left, plot.bottom), (plot.left + third, plot.bottom),
                (plot.left + third, half), (plot.left + 2 * third, half),
                (plot.left + 2 * third, plot.top), (plot.right, plot.top),
                (plot.right, plot.bottom)]
    assert np.allclose(points(chart.trained), expected, atol=0.1)
    assert min(y for _, y in points(chart.trained)) == plot.top
    assert chart.init == "" and chart.zero == ""  # 0 is an end, not inside


def test_histogram_x_ticks_are_values_and_zero_line_is_at_zero():
    chart = histogram_chart([-1, -0.5, 0, 0.5, 1], [1, 2, 3, 1], [2, 2, 2, 2])
    (plot,) = chart.frames
    middle = (plot.left + plot.right) / 2
    assert [t.label for t in plot.x_ticks] == ["-1", "-0.5", "0", "0.5", "1"]
    assert tick_at(plot.x_ticks, "0") == pytest.approx(middle, abs=0.1)
    assert all(x == pytest.approx(middle, abs=0.1) for x, _ in points(chart.zero))
    assert chart.shared_scale and [e.label for e in chart.canvas.legend] == ["trained",
                                                                              "initialised"]


def test_init_spike_gets_its_own_panel_above_ratio_ten():
    spike = histogram_chart([-2, -1, 0, 1, 2], [3, 5, 4, 2], [0, 0, 51, 0])
    assert not spike.shared_scale and len(spike.frames) == 2
    trained, init = spike.frames
    assert trained.bottom < init.top  # trained above
    assert trained.y_ticks[-1].label == "6" and init.y_ticks[-1].label == "60"
    assert all(t.label == "" for t in trained.x_ticks) and init.x_ticks[0].label
    spike_top = init.bottom - (init.bottom - init.top) * 51 / 60  # 51 on a scale to 60
    assert min(y for _, y in points(spike.init)) == pytest.approx(spike_top, abs=0.1)
    level = histogram_chart([-2, -1, 0, 1, 2], [3, 5, 4, 2], [0, 0, 50, 0])
    assert level.shared_scale and len(level.frames) == 1  # 50 is exactly 10 × 5


def test_histogram_of_nothing_finite_says_so():
    chart = histogram_chart([math.nan] * 4, [0, 0, 0], None)
    assert chart.canvas.message == "no finite values" and chart.frames == ()
    assert histogram_chart([0, 1, 2], [0, 0], [0, 0]).canvas.message == "no finite values"
    with pytest.raises(ValueError):
        histogram_chart([0, 1], [1, 2])


# Dot strip ----------------------------------------------------------------------------------

def test_dot_strip_has_one_dot_per_finite_value_at_its_value():
    trained = [0.3, -0.2, math.nan, 0.1, math.inf, 0.0]
    chart = dot_strip_chart(trained, [0.0] * 10)
    row_trained, row_init = chart.rows
    assert len(row_trained.dots) == 4 and len(row_init.dots) == 10
    ticks = chart.frame.x_ticks
    low, high = tick_at(ticks, "-0.2"), tick_at(ticks, "0.2")
    for value, dot in zip([0.3, -0.2, 0.1, 0.0], row_trained.dots):
        assert dot.x == pytest.approx(low + (value + 0.2) / 0.4 * (high - low), abs=0.15)
    assert len({d.y for d in row_init.dots}) > 1  # equal values stack, not hide each other
    assert chart.canvas.legend[0].label == "2 non-finite not shown"


# Per-index series ---------------------------------------------------------------------------

def test_series_reference_line_is_at_the_y_of_one():
    gamma = [0.98, 1.02, 1.09, 0.95, 1.0, 1.01]
    chart = series_chart(gamma, 1.0, "gamma")
    plot = chart.frame
    values = [float(t.label) for t in plot.y_ticks]
    low, high = values[0], values[-1]
    y_of_one = plot.bottom - (1.0 - low) / (high - low) * (plot.bottom - plot.top)
    (y_line,) = {y for _, y in points(chart.reference)}
    assert y_line == pytest.approx(y_of_one, abs=0.1)
    assert low <= 0.95 and high >= 1.09 and low > 0  # around 1, not from 0
    bars = subpaths(chart.bars)
    assert len(bars) == 5  # the value equal to the reference has no bar
    assert all(points(b)[0][1] == pytest.approx(y_of_one, abs=0.1) for b in bars)


def test_norms_have_no_reference_and_start_at_zero():
    chart = series_chart([1.2, 1.7, 0.9], None, "norm", x_label="token")
    assert chart.reference == "" and chart.frame.y_ticks[0].label == "0"
    assert chart.frame.x_label == "token" and chart.canvas.legend == ()


def test_many_values_become_min_max_columns_within_375_px():
    values = np.linspace(0.5, 1.5, 1024)
    chart = series_chart(values, 1.0)
    plot = chart.frame
    columns = subpaths(chart.spans)
    assert chart.canvas.width <= 343 and chart.bars == ""
    assert len(columns) <= plot.right - plot.left < 1024
    y_one = plot.bottom - (1.0 - 0.4) / (1.6 - 0.4) * (plot.bottom - plot.top)
    for column in columns:  # every column's span reaches the reference
        (_, top), (_, bottom) = points(column)
        assert top <= y_one + 0.1 and bottom >= y_one - 0.6


# Bars by depth ------------------------------------------------------------------------------

def test_depth_uses_log_scale_for_values_spanning_decades():
    chart = depth_chart([1e-4, 2e-2, 0.9], ["a", "b", "c"])
    assert chart.log_scale
    labels = [t.label for t in chart.frame.y_ticks]
    assert labels == ["10⁻⁴", "10⁻³", "10⁻²", "10⁻¹", "10⁰"]
    gaps = np.diff([t.at for t in chart.frame.y_ticks])
    assert np.allclose(gaps, gaps[0], atol=0.11)  # decades evenly spaced
    assert [s.title for s in chart.slots] == ["a: 0.0001", "b: 0.02", "c: 0.9"]


def test_depth_is_linear_from_zero_when_a_layer_did_not_change():
    chart = depth_chart([0.0, 1e-4, 0.9], ["frozen", "b", "c"])
    assert not chart.log_scale and chart.frame.y_ticks[0].label == "0"
    assert len(subpaths(chart.bars)) == 3


def test_depth_bars_are_named_under_them_when_there_is_room():
    # compare labelled its bars 1-4; a reader wants the layers' names.
    names = ["conv2d", "conv2d_1", "dense", "a_very_long_layer_name_from_a_keras_application"]
    chart = depth_chart([0.4, 0.9, 1.2, 1.3], names)
    assert [n.title for n in chart.names] == names and not chart.frame.x_ticks
    assert chart.names[3].text.endswith("…") and len(chart.names[3].text) < len(names[3])
    centres = [s.x + s.width / 2 for s in chart.slots]
    assert all(abs(n.x - 4 - c) < 0.2 for n, c in zip(chart.names, centres))
    assert all(n.y > chart.frame.bottom for n in chart.names)
    assert chart.canvas.height > max(n.y for n in chart.names)
    # 100 layers in 343 px: bars 3 px wide, numbered instead.
    many = depth_chart(list(np.linspace(0.1, 1, 100)), [f"l{k}" for k in range(100)])
    assert many.names == () and many.frame.x_ticks and many.frame.x_label


# Spectral density ---------------------------------------------------------------------------

def test_spectral_axes_are_decades_and_the_tail_has_slope_minus_alpha():
    edges = np.geomspace(1e-3, 50, 21)
    counts = np.arange(20, 0, -1)
    tail = PowerLawTail(alpha=2.5, xmin=0.5, lambda_max=40.0, tail_density=0.3)
    chart = spectral_chart(edges, counts, tail, "trained")
    plot = chart.frame
    for ticks in (plot.x_ticks, plot.y_ticks):
        assert all(re.fullmatch("10[⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+", t.label) for t in ticks)
    px_x = np.diff([t.at for t in plot.x_ticks])[0]  # pixels per labelled step
    px_y = np.diff([t.at for t in plot.y_ticks])[0]
    decades_x = _decades_between(plot.x_ticks)
    decades_y = _decades_between(plot.y_ticks)
    (x1, y1), (x2, y2) = points(chart.tail)
    slope = ((y2 - y1) / px_y * decades_y) / ((x2 - x1) / px_x * decades_x)
    assert slope == pytest.approx(-2.5, abs=0.03)
    (xm, _), _ = points(chart.xmin)
    x_one = tick_at(plot.x_ticks, "10⁰")
    assert xm == pytest.approx(x_one + math.log10(0.5) * px_x / decades_x, abs=0.1)
    assert "α = 2.50" in [e.label for e in chart.canvas.legend]


def _decades_between(ticks) -> int:
    """Decades between neighbouring labelled ticks (10⁻² and 10⁰: 2)."""
    digits = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
    exps = [int(t.label[2:].translate(digits)) for t in ticks]
    return exps[1] - exps[0]


def test_spectral_density_integrates_to_one_and_pairs_share_axes():
    edges = np.geomspace(0.1, 10, 5)
    density = spectral_densities(edges, [1, 2, 3, 4])
    assert float(np.sum(density * np.diff(edges))) == pytest.approx(1.0)
    other = np.geomspace(1e-3, 1, 5)
    limits = spectral_limits((edges, [1, 2, 3, 4], None), (other, [4, 3, 2, 1], None))
    assert (limits.x_low, limits.x_high) == (-3, 1)
    a = spectral_chart(edges, [1, 2, 3, 4], None, "trained", limits)
    b = spectral_chart(other, [4, 3, 2, 1], None, "initialised", limits)
    assert a.frame.x_ticks == b.frame.x_ticks and a.frame.y_ticks == b.frame.y_ticks
    assert a.tail == "" and a.canvas.legend[0].label == "no power-law fit"


# Reliability diagram ------------------------------------------------------------------------

def test_reliability_bars_diagonal_and_counts():
    accuracy = [None] * 7 + [0.5] + [None] * 6 + [1.0]
    counts = [0] * 7 + [10] + [0] * 6 + [40]
    chart = reliability_chart(accuracy, counts, 0.0123)
    upper, lower = chart.frames
    bars = subpaths(chart.bars)
    assert len(bars) == 2 and len(subpaths(chart.counts)) == 2
    half = (upper.top + upper.bottom) / 2  # accuracy 0.5 on an axis from 0 to 1
    assert min(y for _, y in points(bars[0])) == pytest.approx(half, abs=0.1)
    width = (upper.right - upper.left) / 15
    assert points(bars[0])[0][0] == pytest.approx(upper.left + 7 * width, abs=0.1)
    assert points(chart.diagonal) == [(upper.left, upper.bottom), (upper.right, upper.top)]
    assert min(y for _, y in points(subpaths(chart.counts)[1])) == lower.top  # 40 is the peak
    assert "ECE 0.012" in [e.label for e in chart.canvas.legend]
    assert [t.label for t in lower.x_ticks] == ["0", "0.2", "0.4", "0.6", "0.8", "1"]
    assert len(chart.slots) == 15 and chart.slots[0].title.endswith("no samples")


# Trends -------------------------------------------------------------------------------------

def test_trends_cap_the_legend_and_break_lines_at_gaps():
    series = [(f"layer{k}", [k, k + 1.0, math.nan, k + 2.0]) for k in range(11)]
    chart = trend_chart([1, 2, 3, 4], series, "relative change")
    assert len(chart.lines) == 11
    legend = [e.label for e in chart.canvas.legend]
    assert legend[:8] == [f"layer{k}" for k in range(8)] and legend[8].startswith("3 more")
    first = next(line for line in chart.lines if line.title == "layer0")
    assert first.kind == "s0" and len(subpaths(first.line)) == 2  # broken at the NaN
    assert len(subpaths(first.dots)) == 3
    assert [t.label for t in chart.frame.x_ticks] == ["1", "2", "3", "4"]


# Rendering ----------------------------------------------------------------------------------

def every_chart(name: str = "layer", values=None):
    """One chart of each kind, from `values` where a kind takes a list of them."""
    v = np.asarray(values if values is not None else np.linspace(-1, 1, 30), dtype=float)
    edges = np.linspace(-1, 1, 41)
    counts = np.histogram(np.nan_to_num(v), edges)[0]
    log_edges = np.geomspace(1e-2, 1e2, 21)
    tail = PowerLawTail(2.0, 1.0, 100.0, 0.1)
    return {
        "histogram_plot": histogram_chart(edges, counts, counts[::-1], name),
        "dot_strip_plot": dot_strip_chart(v[:10], v[10:20], name),
        "series_plot": series_chart(v, 1.0, name),
        "depth_plot": depth_chart(v, [name] * len(v)),
        "spectral_plot": spectral_chart(log_edges, np.arange(20), tail, name),
        "reliability_plot": reliability_chart(list(v[:15]), [5] * 15, 0.05),
        "trend_plot": trend_chart(list(range(1, 31)), [(name, v), ("other", v[::-1])], name),
    }


def environments():
    """The environment the brief names, and the report's own whitespace settings."""
    plain = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                               loader=jinja2.FileSystemLoader(str(TEMPLATES)))
    trimmed = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                                 loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                                 trim_blocks=True, lstrip_blocks=True)
    return [plain, trimmed]


def render_all(charts) -> dict[str, str]:
    """Each chart through its macro, in both environments (which must agree on the SVG)."""
    out = {}
    for env in environments():
        module = env.get_template("plots.html.j2").module
        for macro, chart in charts.items():
            svg = str(getattr(module, macro)(chart))
            assert out.setdefault(macro, svg).strip() == svg.strip()
    return out


def test_every_macro_renders_well_formed_accessible_svg():
    for macro, svg in render_all(every_chart()).items():
        root = ET.fromstring(svg)
        assert root.tag == "svg" and root.get("role") == "img", macro
        # The <title> is the chart's accessible name (role="img"); no aria-label repeats it.
        assert root.get("role") == "img" and root.find("title").text
        assert float(root.get("width")) <= 343 and root.get("viewBox").startswith("0 0 ")
        assert "style=" not in svg and "<script" not in svg and "fill=\"#" not in svg
        sizes = [t for t in root.iter("text")]
        assert sizes, macro


def text_extents(root, anchor="start"):
    """(left, right, baseline, label) of every text, its width estimated at 6.6 px a
    character (11 px text), placed by its own or its group's text-anchor."""
    for child in root:
        own = child.get("text-anchor", anchor)
        if child.tag == "text":
            x, width = float(child.get("x")), len(child.text or "") * 6.6
            left = {"start": x, "middle": x - width / 2, "end": x - width}[own]
            yield left, left + width, float(child.get("y")), child.text
        elif child.tag == "g":
            yield from text_extents(child, own)


def test_everything_lies_inside_the_view_box_and_labels_do_not_overlap():
    module = environments()[0].get_template("plots.html.j2").module
    cases = list(every_chart("a_rather_long_layer_name/kernel").items())
    cases += [("histogram_plot", histogram_chart([-2, -1, 0, 1, 2], [3, 5, 4, 2], [0, 0, 90, 0])),
              ("dot_strip_plot", dot_strip_chart([0.1, math.nan, -3e-4], None))]
    for macro, chart in cases:
        root = ET.fromstring(str(getattr(module, macro)(chart)))
        width, height = (float(n) for n in root.get("viewBox").split()[2:])
        for path in root.iter("path"):
            for x, y in points(path.get("d")):
                assert -0.1 <= x <= width + 0.1 and -0.1 <= y <= height + 0.1, (macro, x, y)
        texts = sorted(text_extents(root), key=lambda t: (t[2], t[0]))
        for left, right, baseline, label in texts:
            assert 0 <= left and right <= width + 1 and 8 <= baseline <= height - 2, \
                (macro, label)
        for a, b in zip(texts, texts[1:]):  # neighbours on one baseline keep apart
            if a[2] == b[2]:
                assert a[1] + 2 <= b[0], (macro, a[3], b[3])


def test_a_hostile_name_comes_out_escaped():
    for macro, svg in render_all(every_chart(HOSTILE)).items():
        assert "<script>" not in svg, macro
        assert "&lt;script&gt;" in svg or macro == "reliability_plot", macro  # has no names
        ET.fromstring(svg)
    depth = render_all({"depth_plot": depth_chart([1, 2], [HOSTILE, 'a"b&c'])})["depth_plot"]
    titles = [t.text for t in ET.fromstring(depth).iter("title")]
    assert f"{HOSTILE}: 1" in titles and 'a"b&c: 2' in titles


@pytest.mark.parametrize("values", [
    [math.nan] * 30,
    [math.inf, -math.inf] * 15,
    [math.nan, 1.0, math.inf, -2.0] * 7 + [0.5, 0.25],
    [-1e308, 1e308] * 15,
])
def test_non_finite_values_never_reach_the_svg(values):
    svgs = render_all(every_chart("w", values))
    for macro, svg in svgs.items():
        ET.fromstring(svg)
        numbers = re.findall(r'(?:d|x|y|cx|cy|width|height|viewBox)="([^"]*)"', svg)
        assert not any(re.search(r"nan|inf", n, re.I) for n in numbers), macro
        texts = [t.text or "" for t in ET.fromstring(svg).iter("text")]
        assert not any(re.search(r"\b(nan|inf)\b", t, re.I) for t in texts), macro
    if all(not math.isfinite(v) for v in values):
        for macro in ("dot_strip_plot", "series_plot", "depth_plot", "trend_plot"):
            assert "no finite values" in svgs[macro], macro


def test_huge_and_tiny_ranges_draw_finite_geometry():
    charts = {"histogram_plot": histogram_chart([-1e299, 0, 1e299], [1, 2]),
              "dot_strip_plot": dot_strip_chart([0, 5e-324, 1e-310]),
              "series_plot": series_chart([1e299, -1e299, 3.0], 0.0),
              "depth_plot": depth_chart([1e-320, 1.0, 1e299], ["a", "b", "c"])}
    for macro, svg in render_all(charts).items():
        ET.fromstring(svg)
        assert not re.search(r"nan|inf|e\+", " ".join(re.findall(r'd="([^"]*)"', svg)), re.I)


def test_a_histogram_stays_within_its_size_budget():
    rng = np.random.default_rng(0)
    trained, init = rng.normal(0, 0.05, 4608), rng.uniform(-0.08, 0.08, 4608)
    edges = np.linspace(-0.2, 0.2, 41)
    chart = histogram_chart(edges, np.histogram(trained, edges)[0],
                            np.histogram(init, edges)[0], "conv2d_12/kernel")
    svg = render_all({"histogram_plot": chart})["histogram_plot"]
    assert len(svg.encode()) <= 2048
