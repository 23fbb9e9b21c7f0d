"""The view stage: facts and pictures become display strings the template only places."""

from __future__ import annotations

import json
import re

from reportgen.analyse.alerts import KINDS
from reportgen.analyse.cam import CAM_KINDS
from reportgen.analyse.evaluation import EVALUATION_KINDS
from reportgen.analyse.facts import Alert, LayerFacts, ReportFacts, WeightFacts, all_layer_facts
from reportgen.page.formatting import fmt_bytes, fmt_int, fmt_number, fmt_percent, fmt_shape
from reportgen.draw.graph_layout import Layout
from reportgen.draw.pictures import Figure, Picture
from reportgen.page.chart_views import series_view, spectral_view, weight_chart
from reportgen.draw.cam_pictures import cam_bar
from reportgen.draw.data_pictures import DataPictures
from reportgen.page.cam_view import cam_section
from reportgen.page.evaluation_view import evaluation_view
from reportgen.page.filter_examples_view import filter_examples_view
from reportgen.page.graph_view import graph_view
from reportgen.page.maps_view import (axes_text, input_heads, map_rows, other_outputs,
                                        prediction_table)
from reportgen.page.overview_view import dead_shares, overview_rows

STAT_COLUMNS = (("mean", "mean"), ("std", "std"), ("min", "min"), ("max", "max"),
                ("p1", "1st pct"), ("p50", "median"), ("p99", "99th pct"))
KINDS_BY_NAME = {kind.name: kind for kind in KINDS}
OPEN_GROUP = 6  # alert groups longer than this start collapsed
UNKNOWN = "unknown"  # what a weights-only file does not say
OPEN_SECTIONS = 12  # layer sections start open up to this many layers with weights
# What a weights-only report can still check: no initialisation, no activations.
WEIGHTS_ONLY_CHECKS = {"non_finite", "duplicate_filters", "alpha_low", "alpha_high",
                       "alpha_unreliable"}
ARCHITECTURE_ONLY_MISSING = ("No weights were read, so there are no statistics, weight "
                             "pictures, activations or predictions: only the layers and the "
                             "config the file describes.")
MAX_CONFIG_CHARS = 200_000
WEIGHTS_ONLY_MISSING = ("Without a rebuilt model there is no comparison with a fresh "
                        "initialisation, no feature maps and no prediction; every weight, its "
                        "statistics, histogram and images are here.")


def report_view(facts: ReportFacts, figures: dict[str, list[Figure]],
                inputs: list[list[Picture]], maps: dict[str, Picture],
                bars: dict[str, Picture], graph: Layout | None = None,
                data: DataPictures | None = None, cam: tuple = ()) -> dict:
    """Everything the report template shows, as strings, lists and dicts."""
    layers = list(all_layer_facts(facts.layers))
    anchors = layer_anchors([layer.path for layer in layers])
    # Every layer has a place to link to: its weights section, or its row of the table.
    places = {layer.path: anchors[layer.path] if layer.weights else f"row-{anchors[layer.path]}"
              for layer in layers}
    alerts_by_layer: dict[str, list[dict]] = {}
    targets = {layer.path: anchors[layer.path] if layer.weights else
               (f"act-{anchors[layer.path]}" if facts.inputs else "") for layer in layers}
    alert_rows = [alert_view(a, targets) for a in facts.alerts]
    for alert, row in zip(facts.alerts, alert_rows):
        alerts_by_layer.setdefault(alert.layer, []).append(row)
    weighted = [layer for layer in layers if layer.weights]
    # Sections of big models start closed: the page stays short; the overview links open them.
    opened = len(weighted) <= OPEN_SECTIONS
    sections = [layer_section(layer, anchors[layer.path], figures.get(layer.path, []), bars,
                              alerts_by_layer.get(layer.path, []), opened)
                for layer in weighted]
    numbered = number_figures(sections)
    model_alerts = [row for row, alert in zip(alert_rows, facts.alerts) if not alert.synthetic]
    return {
        "overview": overview_rows(layers, anchors, alerts_by_layer, dead_shares(facts)),
        "has_dead": bool(dead_shares(facts)),
        "graph": graph_view(graph, places, {layer.path: layer.output_shape or ""
                                            for layer in layers}) if graph else None,
        "title": f"reportgen: {facts.model.file_name}",
        "model_name": facts.model.file_name,
        "mode": facts.mode,
        "banner": banner(facts),
        "summary": model_summary(facts),
        "notes": list(facts.notes) + stored_state_notes(facts),
        "model_config": config_text(facts.model_config),
        "repairs": [repair_view(r) for r in facts.repairs],
        "layer_rows": [layer_row(layer, anchors[layer.path],
                                 len(alerts_by_layer.get(layer.path, [])))
                       for layer in layers],
        "layers": numbered,
        "inputs": input_heads(facts.inputs, inputs),
        "predictions": prediction_table(facts.inputs, len(inputs)),
        "maps": map_rows(facts.inputs, len(inputs), maps, facts.sample_activations, anchors,
                         alerts_by_layer),
        "other_outputs": other_outputs(facts.inputs, len(inputs), maps, anchors),
        "evaluation": evaluation_view(facts.data, data.evaluation if data else None)
        if facts.data is not None else None,
        "responses": filter_examples_view(facts.data, data)
        if facts.data is not None and data is not None else None,
        "cam": cam_section(facts.cam, cam, facts.cam_alerts, cam_bar())
        if facts.cam is not None else None,
        "checks": check_rows(facts),
        "alert_groups": alert_groups(model_alerts),
        "synthetic_alerts": [row for row, alert in zip(alert_rows, facts.alerts)
                             if alert.synthetic],
        "synthetic_count": str(sum(1 for alert in facts.alerts if alert.synthetic)),
        "verdict": verdict(facts),
        "toc": table_of_contents(facts, layers, anchors, alerts_by_layer, len(inputs)),
        "feature_bar": bars["feature"],
        "kernel_scale": kernel_scale_text(facts.kernel_scale),
        "stat_headers": [label for _, label in STAT_COLUMNS],
        "has_init": any(layer.init is not None for layer in layers),
        "generator": f"reportgen {facts.model.reportgen_version}",
    }


def banner(facts: ReportFacts) -> dict | None:
    """Why this report is less than full, and what that leaves out; None for a full one."""
    if facts.mode == "weights-only":
        return {"title": "Weights-only report.", "reason": facts.weights_only_reason,
                "missing": WEIGHTS_ONLY_MISSING}
    if facts.mode == "architecture-only":
        return {"title": "Architecture-only report.", "reason": facts.architecture_only_reason,
                "missing": ARCHITECTURE_ONLY_MISSING}
    return None


def stored_state_notes(facts: ReportFacts) -> list[str]:
    """Training state the file keeps beside the weights (optimizer, metrics), named as such."""
    return [f"The file also keeps {path} state ({fmt_int(n_tensors)} tensors, "
            f"{fmt_int(n_values)} values); it is training state, not a layer."
            for path, n_tensors, n_values in facts.stored_state]


def config_text(config: dict | None) -> str:
    """The model config as indented JSON for the page, cut at MAX_CONFIG_CHARS (stated)."""
    if config is None:
        return ""
    text = json.dumps(config, indent=1, ensure_ascii=False, default=str)
    if len(text) <= MAX_CONFIG_CHARS:
        return text
    return (text[:MAX_CONFIG_CHARS] + f"\n... (cut at {MAX_CONFIG_CHARS:,} of {len(text):,} "
            f"characters; the JSON sidecar has all of it)")


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
    """The header's label/value pairs; what the file does not say is "unknown"."""
    m = facts.model
    rows = [
        ("Model file", m.file_name),
        ("File size", fmt_bytes(m.file_size)),
        ("SHA-256", m.sha256),
        ("Format", m.format),
        ("Saved by Keras", m.saved_by_keras_version),
    ]
    if m.architecture_file_name:
        rows += [("Architecture from", f"{m.architecture_file_name} (SHA-256 "
                                       f"{m.architecture_sha256}); the weights from "
                                       f"{m.file_name}")]
    rows += [
        ("Read with", ", ".join(f"{lib} {version}" for lib, version in m.read_with)
         + f", reportgen {m.reportgen_version}"),
        ("Generated", m.generated_at),
        ("Model class", m.class_name or UNKNOWN),
        ("Parameters", f"{fmt_int(m.n_params)} ({fmt_int(m.n_trainable_params)} trainable, "
                       f"{fmt_int(m.n_non_trainable_params)} non-trainable)"
         if facts.mode != "architecture-only" else f"{UNKNOWN} (no weights were read)"),
    ]
    rows += _tensor_rows("Input", m.inputs, m.input_shape)
    rows += _tensor_rows("Output", m.outputs, m.output_shape)
    return rows


def _tensor_rows(kind: str, tensors: tuple, shape: str | None) -> list[tuple[str, str]]:
    """One row for a single input (or output) by its shape; one per tensor when there are
    several, each named."""
    if len(tensors) <= 1:
        return [(f"{kind} shape", shape or UNKNOWN)]
    return [(f"{kind} {name}", f"{tensor_shape or UNKNOWN} {dtype}")
            for name, tensor_shape, dtype in tensors]


def repair_view(repair) -> dict:
    """One repair rule applied: what changed where, why, and the error it answered."""
    return {"change": repair.change, "layers": ", ".join(repair.layers), "why": repair.why,
            "error": repair.error, "rule": repair.rule}


def alert_view(alert: Alert, anchors: dict[str, str]) -> dict:
    """One alert line, linking to the layer's section (or its output, for a layer without
    weights)."""
    kind = KINDS_BY_NAME[alert.kind]
    return {"kind": alert.kind, "title": kind.title, "layer": alert.layer.replace("/", " / "),
            "anchor": anchors.get(alert.layer, ""), "message": alert.message,
            "explanation": kind.explanation, "subject": alert.subject}


def alert_groups(rows: list[dict]) -> list[dict]:
    """Alerts grouped by kind, in the order of KINDS; long groups start collapsed."""
    groups = []
    for kind in KINDS:
        members = [row for row in rows if row["kind"] == kind.name]
        if members:
            groups.append({"title": kind.title, "explanation": kind.explanation,
                           "count": str(len(members)), "open": len(members) <= OPEN_GROUP,
                           "alerts": members})
    return groups


def check_rows(facts: ReportFacts) -> list[dict]:
    """Every alert kind, whether it was checked, and how many alerts it raised."""
    rows = []
    for kind in KINDS:
        n = sum(1 for a in facts.alerts if a.kind == kind.name and not a.synthetic)
        if kind in EVALUATION_KINDS:  # these rest on a labelled sample (--data)
            checked = facts.data is not None and facts.data.evaluation is not None
        elif kind in CAM_KINDS:
            checked = facts.cam is not None
        else:
            checked = facts.mode == "full" or (facts.mode == "weights-only"
                                               and kind.name in WEIGHTS_ONLY_CHECKS)
        status = ("alert" if n else "ok") if checked else "not checked"
        rows.append({"title": kind.title, "status": status,
                     "status_class": status.replace(" ", "-"),
                     "count": f"{n} alert{'s' if n != 1 else ''}" if n else "",
                     "threshold": kind.threshold + (" (a heuristic)" if kind.heuristic else ""),
                     "explanation": kind.explanation})
    return rows


def verdict(facts: ReportFacts) -> list[str]:
    """A few plain sentences a reader takes away first."""
    layers = list(all_layer_facts(facts.layers))
    n_weighted = sum(1 for layer in layers if layer.weights)
    lines = [f"{len(layers)} layers, {n_weighted} with weights, "
             f"{fmt_int(facts.model.n_params)} parameters."
             if facts.mode != "architecture-only" else f"{len(layers)} layers."]
    alerts = [a for a in facts.alerts if not a.synthetic]
    if alerts:
        kinds = sorted({KINDS_BY_NAME[a.kind].title.lower() for a in alerts})
        lines.append(f"{len(alerts)} alert{'s' if len(alerts) > 1 else ''}: "
                     + "; ".join(kinds) + ".")
    elif facts.mode == "architecture-only":
        lines.append("No weights were read, so no check could run.")
    else:
        lines.append("No alert: every check below passed.")
    for item in facts.inputs[:3]:
        if item.predictions:
            top = item.predictions[0]
            lines.append(f"Input {item.name}: predicted {top.label} "
                         f"({fmt_number(top.probability)}).")
    return lines


def table_of_contents(facts: ReportFacts, layers: list[LayerFacts], anchors: dict[str, str],
                      alerts_by_layer: dict[str, list[dict]], n_drawn: int) -> list[dict]:
    """The navigation: sections, each layer with weights (alerts counted), each input."""
    def entry(label, anchor, n_alerts=0, depth=0):
        return {"label": label, "anchor": anchor, "alerts": str(n_alerts) if n_alerts else "",
                "depth": str(depth)}

    toc = [entry("Summary", "summary", sum(1 for a in facts.alerts if not a.synthetic))]
    toc += [entry("Overview", "overview")] if any(layer.weights for layer in layers) else []
    toc += [entry("Architecture", "architecture")] if facts.graph is not None else []
    toc += [entry("Layers", "layers"), entry("Weights", "weights")]
    weighted = [layer for layer in layers if layer.weights]
    if len(weighted) <= OPEN_SECTIONS:  # a big model's layers are listed by the overview
        toc += [entry(layer.path.replace("/", " / "), anchors[layer.path],
                      len(alerts_by_layer.get(layer.path, [])), 1) for layer in weighted]
    if facts.data is not None:
        toc += [entry("Evaluation", "evaluation"), entry("What the units respond to",
                                                         "responses")]
    if facts.cam is not None:
        toc.append(entry("Where the model looks", "cam"))
    if facts.inputs:
        toc.append(entry("Feature maps", "activations"))
        toc += [entry(item.name, f"input-{k}", 0, 1)
                for k, item in enumerate(facts.inputs[:n_drawn])]
    return toc


def number_figures(sections: list[dict]) -> list[dict]:
    """Give every weight picture a stable id, so it can be opened at full size."""
    n = 0
    for section in sections:
        for figure in section["figures"]:
            figure["entries"] = []
            for picture in figure["pictures"]:
                n += 1
                figure["entries"].append({"picture": picture, "id": f"fig-{n}",
                                          "back": section["anchor"],
                                          "axes": axes_text(picture)})
    return sections


def layer_row(layer: LayerFacts, anchor: str, n_alerts: int = 0) -> dict:
    """One row of the model.summary()-like layer table; nested layers show their path."""
    return {
        "alerts": str(n_alerts) if n_alerts else "",
        "index": str(layer.index),
        "name": layer.path.replace("/", " / "),
        "anchor": anchor if layer.weights else "",
        "row_id": f"row-{anchor}",
        "nested": "/" in layer.path,
        "class_name": layer.class_name or UNKNOWN,
        "output_shape": layer.output_shape or UNKNOWN,
        "n_params": fmt_int(layer.n_params),
        "trainable": "yes" if layer.trainable else "no",
        "activation": layer.activation or "",
    }


def layer_section(layer: LayerFacts, anchor: str, figures: list[Figure],
                  bars: dict[str, Picture], alerts: list[dict], opened: bool = True) -> dict:
    """The section of a layer with weights: alerts, tables, histograms, charts and images."""
    init_by_name = {w.name: w for w in layer.init or ()}
    return {
        "alerts": alerts,
        "open": opened,
        "n_alerts": str(len(alerts)) if alerts else "",
        "name": layer.path.replace("/", " / "),
        "anchor": anchor,
        "class_name": layer.class_name or UNKNOWN,
        "n_params": fmt_int(layer.n_params),
        "weights": [weight_view(w, init_by_name.get(w.name), opened) for w in layer.weights],
        # A closed (big-model) section charts gamma and beta only; the table has the rest.
        "series": [series_view(s) for s in layer.series
                   if opened or s.name.split(" ", 1)[0] in ("gamma", "beta")],
        "figures": [figure_view(f, bars) for f in figures],
    }


def weight_view(weight: WeightFacts, init: WeightFacts | None, opened: bool = True) -> dict:
    """One weight tensor: its statistics trained and initialised, and a histogram."""
    return {
        "name": weight.name,
        "shape": fmt_shape(weight.shape),
        "dtype": weight.dtype,
        "count": fmt_int(weight.stats.count),
        "trainable": "trainable" if weight.trainable else "non-trainable",
        "sampled": (f"percentiles and histogram from every {weight.sample_step}th value"
                    if weight.sample_step > 1 else ""),
        "rows": [stat_row("trained", weight)] + ([stat_row("initialised", init)] if init else []),
        "distribution": weight_chart(weight, init),
        # A closed section draws the trained spectrum only (the numbers say the rest).
        "spectrum": spectral_view(weight, init, draw_init=opened),
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


def figure_view(figure: Figure, bars: dict[str, Picture]) -> dict:
    """A weight's pictures with their colour legend and how its scale was chosen."""
    return {
        "title": figure.title,
        "pictures": list(figure.pictures),
        "note": figure.note,
        "scale_note": figure.scale_note,
        "bar": bars.get(figure.bar),
        "low": fmt_number(figure.low),
        "high": fmt_number(figure.high),
    }


def kernel_scale_text(kernel_scale: str) -> str:
    """How kernel colours are scaled, in words."""
    if kernel_scale == "auto":
        return ("each layer on its own scale, symmetric around zero, from a robust maximum of "
                "its weights (given beside each picture); --kernel-scale 0.5 gives the "
                "textbook's fixed -0.5 to 0.5")
    if kernel_scale == "layer":
        return "each layer on its own symmetric scale (its largest absolute weight)"
    return f"a fixed scale of -{kernel_scale} to {kernel_scale} for every layer, as in the textbook"
