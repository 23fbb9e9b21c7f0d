"""The view stage: facts and pictures become display strings the template only places."""

from __future__ import annotations

import json
import re

from reportgen.analyse.alerts import KINDS
from reportgen.analyse.cam import CAM_KINDS
from reportgen.analyse.evaluation import EVALUATION_KINDS
from reportgen.analyse.facts import Alert, LayerFacts, ReportFacts, WeightFacts, all_layer_facts
from reportgen.i18n import N_, _, html_lang, localised, ngettext
from reportgen.page.formatting import fmt_bytes, fmt_int, fmt_number, fmt_percent, fmt_shape
from reportgen.draw.graph_layout import Layout
from reportgen.draw.labelled_grid import named_columns
from reportgen.draw.pictures import MAX_FRESH_MOSAICS, Figure, Picture, kernel_layers
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

STAT_COLUMNS = (("mean", N_("mean")), ("std", N_("std")), ("min", N_("min")), ("max", N_("max")),
                ("p1", N_("1st pct")), ("p50", N_("median")), ("p99", N_("99th pct")))
KINDS_BY_NAME = {kind.name: kind for kind in KINDS}
OPEN_GROUP = 6  # alert groups longer than this start collapsed
VERDICT_INPUTS = 3  # inputs whose prediction the summary names
UNKNOWN = N_("unknown")  # what a weights-only file does not say
OPEN_SECTIONS = 12  # layer sections start open up to this many layers with weights
# What a weights-only report can still check: no initialisation, no activations.
WEIGHTS_ONLY_CHECKS = {"non_finite", "duplicate_filters", "alpha_low", "alpha_high",
                       "alpha_unreliable"}
ARCHITECTURE_ONLY_MISSING = N_("No weights were read, so there are no statistics, weight "
                                "pictures, activations or predictions: only the layers and the "
                                "config the file describes.")
MAX_CONFIG_CHARS = 200_000
WEIGHTS_ONLY_MISSING = N_("Without a rebuilt model there is no comparison with a fresh "
                           "initialisation, no feature maps and no prediction; every weight, its "
                           "statistics, histogram and images are here.")
MODE_NAMES = {"full": N_("full"), "weights-only": N_("weights-only"),
              "architecture-only": N_("architecture-only")}
STATUS_NAMES = {"alert": N_("alert"), "ok": N_("ok"), "not checked": N_("not checked")}


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
    # Fresh spectra beside the fresh kernel pictures: for the first MAX_FRESH_MOSAICS layers
    # with kernels (the report's note says so).
    fresh = set(kernel_layers((layer.path, [w.shape for w in layer.weights])
                              for layer in weighted)[:MAX_FRESH_MOSAICS])
    sections = [layer_section(layer, anchors[layer.path], figures.get(layer.path, []), bars,
                              alerts_by_layer.get(layer.path, []), opened,
                              layer.path in fresh)
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
        "mode": _(MODE_NAMES.get(facts.mode, facts.mode)),
        "html_lang": html_lang(),
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
        "stat_headers": [_(label) for _key, label in STAT_COLUMNS],
        "has_init": any(layer.init is not None for layer in layers),
        "overview_legend": overview_legend(any(layer.init is not None for layer in layers),
                                           bool(dead_shares(facts))),
        "weights_legend": weights_legend(any(layer.init is not None for layer in layers)),
        "generator": f"reportgen {facts.model.reportgen_version}",
    }


def banner(facts: ReportFacts) -> dict | None:
    """Why this report is less than full, and what that leaves out; None for a full one."""
    if facts.mode == "weights-only":
        return {"title": _("Weights-only report."), "reason": facts.weights_only_reason,
                "missing": _(WEIGHTS_ONLY_MISSING)}
    if facts.mode == "architecture-only":
        return {"title": _("Architecture-only report."),
                "reason": facts.architecture_only_reason,
                "missing": _(ARCHITECTURE_ONLY_MISSING)}
    return None


def stored_state_notes(facts: ReportFacts) -> list[str]:
    """Training state the file keeps beside the weights (optimizer, metrics), named as such."""
    return [_("The file also keeps {path} state ({n_tensors} tensors, {n_values} values); it "
              "is training state, not a layer.").format(path=path, n_tensors=fmt_int(n_tensors),
                                                        n_values=fmt_int(n_values))
            for path, n_tensors, n_values in facts.stored_state]


def config_text(config: dict | None) -> str:
    """The model config as indented JSON for the page, cut at MAX_CONFIG_CHARS (stated)."""
    if config is None:
        return ""
    text = json.dumps(config, indent=1, ensure_ascii=False, default=str)
    if len(text) <= MAX_CONFIG_CHARS:
        return text
    return text[:MAX_CONFIG_CHARS] + "\n... " + _(
        "(cut at {shown} of {total} characters; the JSON sidecar has all of it)").format(
        shown=fmt_int(MAX_CONFIG_CHARS), total=fmt_int(len(text)))


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
        (_("Model file"), m.file_name),
        (_("File size"), fmt_bytes(m.file_size)),
        ("SHA-256", m.sha256),
        (_("Format"), m.format),
        (_("Saved by Keras"), m.saved_by_keras_version),
    ]
    if m.architecture_file_name:
        rows += [(_("Architecture from"),
                  _("{file} (SHA-256 {sha256}); the weights from {weights}").format(
                      file=m.architecture_file_name, sha256=m.architecture_sha256,
                      weights=m.file_name))]
    rows += [
        (_("Read with"), ", ".join(f"{lib} {version}" for lib, version in m.read_with)
         + f", reportgen {m.reportgen_version}"),
        (_("Generated"), m.generated_at),
        (_("Model class"), m.class_name or _(UNKNOWN)),
        (_("Parameters"), _("{total} ({trainable} trainable, {frozen} non-trainable)").format(
            total=fmt_int(m.n_params), trainable=fmt_int(m.n_trainable_params),
            frozen=fmt_int(m.n_non_trainable_params))
         if facts.mode != "architecture-only" else _("unknown (no weights were read)")),
    ]
    rows += _tensor_rows(_("Input shape"), _("Input {name}"), m.inputs, m.input_shape)
    rows += _tensor_rows(_("Output shape"), _("Output {name}"), m.outputs, m.output_shape)
    return rows


def _tensor_rows(label: str, named: str, tensors: tuple,
                 shape: str | None) -> list[tuple[str, str]]:
    """One row for a single input (or output) by its shape (`label`); one per tensor when
    there are several, each named (`named`, a text with {name})."""
    if len(tensors) <= 1:
        return [(label, shape or _(UNKNOWN))]
    return [(named.format(name=name), f"{tensor_shape or _(UNKNOWN)} {dtype}")
            for name, tensor_shape, dtype in tensors]


def repair_view(repair) -> dict:
    """One repair rule applied: what changed where, why, and the error it answered."""
    return {"change": repair.change, "layers": ", ".join(repair.layers), "why": repair.why,
            "error": repair.error, "rule": repair.rule}


def alert_view(alert: Alert, anchors: dict[str, str]) -> dict:
    """One alert line, linking to the layer's section (or its output, for a layer without
    weights)."""
    kind = KINDS_BY_NAME[alert.kind]
    return {"kind": alert.kind, "title": localised(kind.title),
            "layer": alert.layer.replace("/", " / "),
            "anchor": anchors.get(alert.layer, ""), "message": localised(alert.message),
            "explanation": localised(kind.explanation), "subject": alert.subject}


def alert_groups(rows: list[dict]) -> list[dict]:
    """Alerts grouped by kind, in the order of KINDS; long groups start collapsed."""
    groups = []
    for kind in KINDS:
        members = [row for row in rows if row["kind"] == kind.name]
        if members:
            groups.append({"title": localised(kind.title),
                           "explanation": localised(kind.explanation),
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
        rows.append({"title": localised(kind.title), "status": _(STATUS_NAMES[status]),
                     "status_class": status.replace(" ", "-"),
                     "count": ngettext("{n} alert", "{n} alerts", n).format(n=n) if n else "",
                     "threshold": _("{threshold} (a heuristic)").format(
                         threshold=localised(kind.threshold))
                     if kind.heuristic else localised(kind.threshold),
                     "explanation": localised(kind.explanation)})
    return rows


def verdict(facts: ReportFacts) -> list[str]:
    """A few plain sentences a reader takes away first."""
    layers = list(all_layer_facts(facts.layers))
    n_weighted = sum(1 for layer in layers if layer.weights)
    lines = [ngettext("{n} layer, {n_weighted} with weights, {n_params} parameters.",
                      "{n} layers, {n_weighted} with weights, {n_params} parameters.",
                      len(layers)).format(n=len(layers), n_weighted=n_weighted,
                                          n_params=fmt_int(facts.model.n_params))
             if facts.mode != "architecture-only" else
             ngettext("{n} layer.", "{n} layers.", len(layers)).format(n=len(layers))]
    alerts = [a for a in facts.alerts if not a.synthetic]
    if alerts:
        kinds = sorted({localised(KINDS_BY_NAME[a.kind].title).lower() for a in alerts})
        lines.append(ngettext("{n} alert: {kinds}.", "{n} alerts: {kinds}.", len(alerts))
                     .format(n=len(alerts), kinds="; ".join(kinds)))
    elif facts.mode == "architecture-only":
        lines.append(_("No weights were read, so no check could run."))
    else:
        lines.append(_("No alert: every check below passed."))
    evaluation = facts.data.evaluation if facts.data is not None else None
    if evaluation is not None:
        lines.append(_("Accuracy on the labelled sample: {accuracy} of {n} images (95 % "
                       "interval {low} to {high}).").format(
            accuracy=fmt_percent(evaluation.accuracy.value), n=fmt_int(evaluation.n_samples),
            low=fmt_percent(evaluation.accuracy.low), high=fmt_percent(evaluation.accuracy.high)))
    predicted = [item for item in facts.inputs if item.predictions]
    for item in predicted[:VERDICT_INPUTS]:
        top = item.predictions[0]
        lines.append(_("Input {name}: predicted {label} ({probability}).").format(
            name=item.name, label=top.label, probability=fmt_number(top.probability)))
    if len(predicted) > VERDICT_INPUTS:
        lines.append(ngettext("… and {n} more input: every prediction is in the table under "
                              "Feature maps and prediction.", "… and {n} more inputs: every "
                              "prediction is in the table under Feature maps and prediction.",
                              len(predicted) - VERDICT_INPUTS).format(
            n=len(predicted) - VERDICT_INPUTS))
    return lines


def table_of_contents(facts: ReportFacts, layers: list[LayerFacts], anchors: dict[str, str],
                      alerts_by_layer: dict[str, list[dict]], n_drawn: int) -> list[dict]:
    """The navigation: sections, each layer with weights (alerts counted), each input."""
    def entry(label, anchor, n_alerts=0, depth=0):
        return {"label": label, "anchor": anchor, "alerts": str(n_alerts) if n_alerts else "",
                "depth": str(depth)}

    toc = [entry(_("Summary"), "summary", sum(1 for a in facts.alerts if not a.synthetic))]
    toc += [entry(_("Overview"), "overview")] if any(layer.weights for layer in layers) else []
    toc += [entry(_("Architecture"), "architecture")] if facts.graph is not None else []
    toc += [entry(_("Layers"), "layers"), entry(_("Weights"), "weights")]
    weighted = [layer for layer in layers if layer.weights]
    if len(weighted) <= OPEN_SECTIONS:  # a big model's layers are listed by the overview
        toc += [entry(layer.path.replace("/", " / "), anchors[layer.path],
                      len(alerts_by_layer.get(layer.path, [])), 1) for layer in weighted]
    if facts.data is not None:
        toc += [entry(_("Evaluation"), "evaluation"), entry(_("What the units respond to"),
                                                            "responses")]
    if facts.cam is not None:
        toc.append(entry(_("Where the model looks"), "cam"))
    if facts.inputs:
        toc.append(entry(_("Feature maps"), "activations"))
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
                                          "grid": named_columns(picture),
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
        "class_name": layer.class_name or _(UNKNOWN),
        "output_shape": layer.output_shape or _(UNKNOWN),
        "n_params": fmt_int(layer.n_params),
        "trainable": _("yes") if layer.trainable else _("no"),
        "activation": layer.activation or "",
    }


def layer_section(layer: LayerFacts, anchor: str, figures: list[Figure],
                  bars: dict[str, Picture], alerts: list[dict], opened: bool = True,
                  fresh_spectra: bool = True) -> dict:
    """The section of a layer with weights: alerts, tables, histograms, charts and images."""
    init_by_name = {w.name: w for w in layer.init or ()}
    return {
        "alerts": alerts,
        "open": opened,
        "n_alerts": str(len(alerts)) if alerts else "",
        "name": layer.path.replace("/", " / "),
        "anchor": anchor,
        "class_name": layer.class_name or _(UNKNOWN),
        "n_params": fmt_int(layer.n_params),
        "params_text": ngettext("{n} parameter", "{n} parameters", layer.n_params).format(
            n=fmt_int(layer.n_params)),
        "weights": [weight_view(w, init_by_name.get(w.name), fresh_spectra)
                    for w in layer.weights],
        # A closed (big-model) section charts gamma and beta only; the table has the rest.
        "series": [series_view(s) for s in layer.series
                   if opened or s.name.split(" ", 1)[0] in ("gamma", "beta")],
        "figures": [figure_view(f, bars) for f in figures],
    }


def weight_view(weight: WeightFacts, init: WeightFacts | None,
                fresh_spectrum: bool = True) -> dict:
    """One weight tensor: its statistics trained and initialised, and a histogram."""
    return {
        "name": weight.name,
        "shape": fmt_shape(weight.shape),
        "dtype": weight.dtype,
        "count": fmt_int(weight.stats.count),
        "count_text": ngettext("{n} value", "{n} values", weight.stats.count).format(
            n=fmt_int(weight.stats.count)),
        "trainable": _("trainable") if weight.trainable else _("non-trainable"),
        "sampled": (_("percentiles and histogram from every {step}th value").format(
            step=weight.sample_step) if weight.sample_step > 1 else ""),
        "rows": [stat_row(_("trained"), weight)]
        + ([stat_row(_("initialised"), init)] if init else []),
        "distribution": weight_chart(weight, init),
        # Past the first layers of a big model, the trained spectrum only (the numbers say
        # the rest).
        "spectrum": spectral_view(weight, init, draw_init=fresh_spectrum),
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
        return _("each layer on its own scale, symmetric around zero, from a robust maximum of "
                 "its weights (given beside each picture); --kernel-scale 0.5 gives the "
                 "textbook's fixed -0.5 to 0.5")
    if kernel_scale == "layer":
        return _("each layer on its own symmetric scale (its largest absolute weight)")
    return _("a fixed scale of -{scale} to {scale} for every layer, as in the "
             "textbook").format(scale=kernel_scale)


def overview_legend(has_init: bool, has_dead: bool) -> str:
    """What the overview's columns are, for the columns it has (and, with the change from
    initialisation, how to read it)."""
    text = _overview_columns(has_init, has_dead)
    if has_init:
        text += " " + _("Two independent draws of the same initialiser are √2 ≈ 1.41 apart: a "
                        "change near 1.41 says the weights are as far from this fresh draw as "
                        "any random weights would be, not that the layer trained (the check "
                        "'Layer may not have trained' compares their statistics instead).")
    return text


def _overview_columns(has_init: bool, has_dead: bool) -> str:
    """The overview's columns, in a sentence."""
    if has_init and has_dead:
        return _("One row per layer with weights: the spread of its main weight, how far it "
                 "moved from a fresh initialisation (‖W − W₀‖ / ‖W₀‖), the share of its "
                 "channels that are zero for every input given, and its alerts. Names link to "
                 "the layer's section.")
    if has_init:
        return _("One row per layer with weights: the spread of its main weight, how far it "
                 "moved from a fresh initialisation (‖W − W₀‖ / ‖W₀‖), and its alerts. Names "
                 "link to the layer's section.")
    if has_dead:
        return _("One row per layer with weights: the spread of its main weight, the share of "
                 "its channels that are zero for every input given, and its alerts. Names link "
                 "to the layer's section.")
    return _("One row per layer with weights: the spread of its main weight, and its alerts. "
             "Names link to the layer's section.")


def weights_legend(has_init: bool) -> str:
    """What the weights section shows, with or without an initialisation to compare with."""
    if has_init:
        return _("Every weight tensor after training, beside the same layer freshly "
                 "initialised from its own config (the textbook's \"no_training_model\"): its "
                 "statistics, the distribution of its values (trained and initialised on one "
                 "count scale, or two panels when their peaks differ more than tenfold), the "
                 "spectrum of WᵀW for weights that mix channels, and its pictures.")
    return _("Every weight tensor after training: its statistics, the distribution of its "
             "values, the spectrum of WᵀW for weights that mix channels, and its pictures.")
