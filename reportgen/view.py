"""The view stage: facts and pictures become display strings the template only places."""

from __future__ import annotations

import re

from reportgen.facts import Histogram, InputFacts, LayerFacts, ReportFacts, WeightFacts
from reportgen.formatting import fmt_bytes, fmt_int, fmt_number, fmt_percent, fmt_shape
from reportgen.pictures import KernelPictures, Picture

STAT_COLUMNS = (("mean", "mean"), ("std", "std"), ("min", "min"), ("max", "max"),
                ("p1", "1st pct"), ("p50", "median"), ("p99", "99th pct"))
HIST_WIDTH, HIST_HEIGHT = 320, 90


def report_view(facts: ReportFacts, kernels: dict[str, list[KernelPictures]],
                inputs: list[tuple[Picture, dict[str, Picture]]],
                bars: dict[str, Picture]) -> dict:
    """Everything the report template shows, as strings, lists and dicts."""
    anchors = layer_anchors([layer.name for layer in facts.layers])
    return {
        "title": f"reportgen: {facts.model.file_name}",
        "model_name": facts.model.file_name,
        "mode": facts.mode,
        "summary": model_summary(facts),
        "notes": list(facts.notes),
        "layer_rows": [layer_row(layer, anchors[layer.name]) for layer in facts.layers],
        "layers": [layer_section(layer, anchors[layer.name], kernels.get(layer.name, []))
                   for layer in facts.layers if layer.weights],
        "inputs": [input_section(item, picture, maps, anchors)
                   for item, (picture, maps) in zip(facts.inputs, inputs)],
        "kernel_bar": bars["kernel"],
        "feature_bar": bars["feature"],
        "kernel_scale": kernel_scale_text(facts.kernel_scale),
        "stat_headers": [label for _, label in STAT_COLUMNS],
        "has_init": any(layer.init is not None for layer in facts.layers),
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
        ("Read with", f"Keras {m.keras_version}, TensorFlow {m.tensorflow_version}, "
                      f"reportgen {m.reportgen_version}"),
        ("Generated", m.generated_at),
        ("Model class", m.class_name),
        ("Parameters", f"{fmt_int(m.n_params)} ({fmt_int(m.n_trainable_params)} trainable, "
                       f"{fmt_int(m.n_non_trainable_params)} non-trainable)"),
        ("Input shape", m.input_shape),
        ("Output shape", m.output_shape),
    ]


def layer_row(layer: LayerFacts, anchor: str) -> dict:
    """One row of the model.summary()-like layer table."""
    return {
        "index": str(layer.index),
        "name": layer.name,
        "anchor": anchor if layer.weights else "",
        "class_name": layer.class_name,
        "output_shape": layer.output_shape,
        "n_params": fmt_int(layer.n_params),
        "trainable": "yes" if layer.trainable else "no",
        "activation": layer.activation or "",
    }


def layer_section(layer: LayerFacts, anchor: str, kernels: list[KernelPictures]) -> dict:
    """The section of a layer with weights: tables, histograms, kernel mosaics."""
    init_by_name = {w.name: w for w in layer.init or ()}
    return {
        "name": layer.name,
        "anchor": anchor,
        "class_name": layer.class_name,
        "n_params": fmt_int(layer.n_params),
        "has_init": layer.init is not None,
        "weights": [weight_view(w, init_by_name.get(w.name)) for w in layer.weights],
        "kernels": [kernel_view(k) for k in kernels],
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


def kernel_view(kernel: KernelPictures) -> dict:
    """A kernel's mosaics with their legend."""
    return {
        "weight": kernel.weight,
        "pictures": [p for p in (kernel.trained, kernel.init, kernel.colour) if p is not None],
        "note": kernel.cut_note,
        "low": fmt_number(-kernel.vmax),
        "high": fmt_number(kernel.vmax),
    }


def input_section(item: InputFacts, picture: Picture, maps: dict[str, Picture],
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
