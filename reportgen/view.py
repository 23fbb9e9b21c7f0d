"""The view stage: facts and pictures become display strings the template only places."""

from __future__ import annotations

import re

from reportgen.facts import (Histogram, InputFacts, LayerFacts, ReportFacts, Series, WeightFacts,
                             all_layer_facts)
from reportgen.formatting import fmt_bytes, fmt_int, fmt_number, fmt_percent, fmt_shape
from reportgen.pictures import Figure, Picture

STAT_COLUMNS = (("mean", "mean"), ("std", "std"), ("min", "min"), ("max", "max"),
                ("p1", "1st pct"), ("p50", "median"), ("p99", "99th pct"))
HIST_WIDTH, HIST_HEIGHT = 320, 90
SERIES_WIDTH = 480
WEIGHTS_ONLY_MISSING = ("Without a rebuilt model there is no comparison with a fresh "
                        "initialisation, no feature maps and no prediction; every weight, its "
                        "statistics, histogram and images are here.")


def report_view(facts: ReportFacts, figures: dict[str, list[Figure]],
                inputs: list[tuple[Picture | None, dict[str, Picture]]],
                bars: dict[str, Picture]) -> dict:
    """Everything the report template shows, as strings, lists and dicts."""
    layers = list(all_layer_facts(facts.layers))
    anchors = layer_anchors([layer.path for layer in layers])
    return {
        "title": f"reportgen: {facts.model.file_name}",
        "model_name": facts.model.file_name,
        "mode": facts.mode,
        "weights_only_reason": facts.weights_only_reason,
        "missing": WEIGHTS_ONLY_MISSING if facts.mode == "weights-only" else "",
        "summary": model_summary(facts),
        "notes": list(facts.notes),
        "repairs": list(facts.repairs),
        "layer_rows": [layer_row(layer, anchors[layer.path]) for layer in layers],
        "layers": [layer_section(layer, anchors[layer.path], figures.get(layer.path, []), bars)
                   for layer in layers if layer.weights],
        "inputs": [input_section(item, picture, maps, anchors)
                   for item, (picture, maps) in zip(facts.inputs, inputs)],
        "feature_bar": bars["feature"],
        "kernel_scale": kernel_scale_text(facts.kernel_scale),
        "stat_headers": [label for _, label in STAT_COLUMNS],
        "has_init": any(layer.init is not None for layer in layers),
        "generator": f"reportgen {facts.model.reportgen_version}",
    }


def layer_anchors(names: list[str]) -> dict[str, str]:
    """A stable, unique, URL-safe anchor for each layer name: layer-conv2d_1."""
    anchors: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        base = "layer-" + (re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "unnamed")
        anchor, n = base, 2
        while anchor in used:
            anchor, n = f"{base}-{n}", n + 1
        used.add(anchor)
        anchors[name] = anchor
    return anchors


def model_summary(facts: ReportFacts) -> list[tuple[str, str]]:
    """The header's label/value pairs."""
    m = facts.model
    return [
        ("Model file", m.file_name),
        ("File size", fmt_bytes(m.file_size)),
        ("SHA-256", m.sha256),
        ("Format", m.format),
        ("Saved by Keras", m.saved_by_keras_version),
        ("Read with", ", ".join(f"{lib} {version}" for lib, version in m.read_with)
         + f", reportgen {m.reportgen_version}"),
        ("Generated", m.generated_at),
        ("Model class", m.class_name),
        ("Parameters", f"{fmt_int(m.n_params)} ({fmt_int(m.n_trainable_params)} trainable, "
                       f"{fmt_int(m.n_non_trainable_params)} non-trainable)"),
        ("Input shape", m.input_shape),
        ("Output shape", m.output_shape),
    ]


def layer_row(layer: LayerFacts, anchor: str) -> dict:
    """One row of the model.summary()-like layer table; nested layers show their path."""
    return {
        "index": str(layer.index),
        "name": layer.path.replace("/", " / "),
        "anchor": anchor if layer.weights else "",
        "nested": "/" in layer.path,
        "class_name": layer.class_name,
        "output_shape": layer.output_shape,
        "n_params": fmt_int(layer.n_params),
        "trainable": "yes" if layer.trainable else "no",
        "activation": layer.activation or "",
    }


def layer_section(layer: LayerFacts, anchor: str, figures: list[Figure],
                  bars: dict[str, Picture]) -> dict:
    """The section of a layer with weights: tables, histograms, charts and images."""
    init_by_name = {w.name: w for w in layer.init or ()}
    return {
        "name": layer.path.replace("/", " / "),
        "anchor": anchor,
        "class_name": layer.class_name,
        "n_params": fmt_int(layer.n_params),
        "weights": [weight_view(w, init_by_name.get(w.name)) for w in layer.weights],
        "series": [series_view(s) for s in layer.series],
        "figures": [figure_view(f, bars) for f in figures],
    }


def weight_view(weight: WeightFacts, init: WeightFacts | None) -> dict:
    """One weight tensor: its statistics trained and initialised, and a histogram."""
    return {
        "name": weight.name,
        "shape": fmt_shape(weight.shape),
        "dtype": weight.dtype,
        "count": fmt_int(weight.stats.count),
        "trainable": "trainable" if weight.trainable else "non-trainable",
        "rows": [stat_row("trained", weight)] + ([stat_row("initialised", init)] if init else []),
        "histogram": histogram_view(weight.histogram, init.histogram if init else None),
    }


def stat_row(label: str, weight: WeightFacts) -> dict:
    """One row of a weight's statistics table."""
    s = weight.stats
    return {
        "label": label,
        "cells": [fmt_number(getattr(s, key)) for key, _ in STAT_COLUMNS],
        "zero_fraction": fmt_percent(s.zero_fraction),
        "l2_norm": fmt_number(s.l2_norm),
        "n_nan": fmt_int(s.n_nan),
        "n_inf": fmt_int(s.n_inf),
    }


def histogram_view(trained: Histogram, init: Histogram | None) -> dict:
    """Bar geometry of a histogram and its initialisation overlay, each scaled to its own peak.

    Own peaks, because a zero-initialised bias is one spike that would flatten the trained bars.
    """
    width = HIST_WIDTH / max(len(trained.counts), 1)
    low, high = trained.edges[0], trained.edges[-1]
    return {
        "width": str(HIST_WIDTH), "height": str(HIST_HEIGHT),
        "box_height": str(HIST_HEIGHT + 22), "label_y": str(HIST_HEIGHT + 13),
        "trained": histogram_bars(trained.counts, width),
        "init": histogram_bars(init.counts, width) if init else [],
        "low": fmt_number(low), "high": fmt_number(high),
        "zero_x": f"{HIST_WIDTH * (0 - low) / (high - low):.2f}" if low < 0 < high else "",
    }


def histogram_bars(counts: tuple[int, ...], width: float) -> list[dict]:
    """SVG rectangles (as strings) for the non-empty bins of one histogram."""
    peak = max(counts, default=0) or 1
    return [{"x": f"{i * width:.2f}", "w": f"{width:.2f}",
             "y": f"{HIST_HEIGHT * (1 - c / peak):.2f}", "h": f"{HIST_HEIGHT * c / peak:.2f}"}
            for i, c in enumerate(counts) if c]


def figure_view(figure: Figure, bars: dict[str, Picture]) -> dict:
    """A weight's pictures with their colour legend."""
    return {
        "title": figure.title,
        "pictures": list(figure.pictures),
        "note": figure.note,
        "bar": bars.get(figure.bar),
        "low": fmt_number(figure.low),
        "high": fmt_number(figure.high),
    }


def series_view(series: Series) -> dict:
    """A per-index bar chart (bars up from zero, down for negatives) for an inline SVG."""
    values = series.values
    top = max(max(values, default=0.0), 0.0)
    bottom = min(min(values, default=0.0), 0.0)
    span = (top - bottom) or 1.0
    width = SERIES_WIDTH / max(len(values), 1)
    zero_y = HIST_HEIGHT * top / span
    bars = [{"x": f"{i * width:.2f}", "w": f"{max(width - 0.5, 0.5):.2f}",
             "y": f"{min(zero_y, zero_y - HIST_HEIGHT * v / span):.2f}",
             "h": f"{abs(HIST_HEIGHT * v / span):.2f}"} for i, v in enumerate(values)]
    shown = f"first {len(values)} of {series.total}" if len(values) < series.total else \
        f"{series.total} values"
    return {
        "name": series.name, "shown": shown, "bars": bars,
        "width": str(SERIES_WIDTH), "height": str(HIST_HEIGHT),
        "box_height": str(HIST_HEIGHT + 22), "label_y": str(HIST_HEIGHT + 13),
        "zero_y": f"{zero_y:.2f}", "top": fmt_number(top), "bottom": fmt_number(bottom),
    }


def input_section(item: InputFacts, picture: Picture | None, maps: dict[str, Picture],
                  anchors: dict[str, str]) -> dict:
    """One input: its picture, the prediction, and every layer's output."""
    top = item.predictions[0].probability if item.predictions else 1.0
    return {
        "name": item.name,
        "source": item.source,
        "shape": fmt_shape(item.shape),
        "picture": picture,
        "predictions": [{"rank": str(k + 1), "label": p.label, "index": str(p.class_index),
                         "probability": fmt_number(p.probability),
                         "bar": f"{100 * max(p.probability, 0.0) / (top or 1.0):.1f}%"}
                        for k, p in enumerate(item.predictions)],
        "maps": [activation_view(a, maps.get(a.layer), anchors.get(a.layer, ""))
                 for a in item.activations],
    }


def activation_view(activation, picture: Picture | None, anchor: str) -> dict:
    """One layer's output for one input: statistics, mosaic, and per-channel figures."""
    s = activation.stats
    dead = sum(1 for c in activation.channels if c.zero_fraction == 1.0)
    return {
        "layer": activation.layer,
        "anchor": anchor,
        "shape": fmt_shape(activation.shape),
        "mean": fmt_number(s.mean), "std": fmt_number(s.std),
        "min": fmt_number(s.min), "max": fmt_number(s.max),
        "zero_fraction": fmt_percent(s.zero_fraction),
        "dead": f"{dead} of {len(activation.channels)}" if activation.channels else "",
        "picture": picture,
        "channels": [{"index": str(i), "mean": fmt_number(c.mean),
                      "zero_fraction": fmt_percent(c.zero_fraction)}
                     for i, c in enumerate(activation.channels)] if picture else [],
    }


def kernel_scale_text(kernel_scale: str) -> str:
    """How kernel colours are scaled, in words."""
    if kernel_scale == "layer":
        return "each layer on its own symmetric scale (its largest absolute weight)"
    return f"a fixed scale of -{kernel_scale} to {kernel_scale} for every layer, as in the textbook"
