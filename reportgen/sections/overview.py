"""The overview: one row per layer with weights, so that the whole model's health reads in
one screen (a few for ResNet50): the spread of its main weight, how far it moved from a fresh
initialisation, the share of its channels dead over real inputs, its alpha and its alerts."""

from __future__ import annotations

from reportgen.analyse.weight_alerts import ALPHA_HIGH, ALPHA_LOW, meaningful_fit
from reportgen.analyse.facts import LayerFacts, WeightFacts, all_layer_facts
from reportgen.i18n import N_, _
from reportgen.page.formatting import fmt_int, fmt_number, fmt_percent
from reportgen.sections.alert_rows import badge
from reportgen.sections.base import WEIGHTS, Evidence, Page, Section


def main_weight(layer: LayerFacts) -> WeightFacts | None:
    """The weight that stands for a layer: its kernel (the first matrix or larger), else its
    first weight."""
    matrices = [w for w in layer.weights if len(w.shape) >= 2]
    return (matrices or list(layer.weights) or [None])[0]


def collect(evidence: Evidence) -> dict[str, float]:
    """Per layer, the share of channels that are zero for every real input: over the labelled
    sample when there is one (what the dead-channel alert rests on then), else over the
    --input files (none for the synthetic pattern: that says nothing about the model)."""
    outputs = evidence.outputs
    activations = evidence.facts.get("activations")
    inputs = activations.inputs if activations is not None else ()
    if outputs is not None and outputs.data is not None and outputs.data.activations:
        summaries = outputs.data.activations
    elif not inputs or any(item.synthetic for item in inputs) or outputs is None:
        return {}
    else:
        summaries = outputs.summaries
    return {s.layer: len(s.dead_channels) / len(s.channel_means)
            for s in summaries if s.channel_means}


def alpha_cell(weight: WeightFacts) -> dict:
    """The main weight's power-law alpha, with the band its thresholds put it in (a CSS
    class), or why there is none."""
    spectrum = weight.spectral
    if spectrum is None:
        return {"alpha": "", "alpha_class": "", "alpha_title": ""}
    if spectrum.alpha is None:
        return {"alpha": _("n/a"), "alpha_class": "alpha-na",
                "alpha_title": spectrum.reason or ""}
    if not meaningful_fit(spectrum):
        band = "alpha-unreliable"
    elif spectrum.alpha < ALPHA_LOW:
        band = "alpha-low"
    elif spectrum.alpha > ALPHA_HIGH:
        band = "alpha-high"
    else:
        band = "alpha-ok"
    return {"alpha": f"{spectrum.alpha:.2f}", "alpha_class": band,
            "alpha_title": _("D {ks:.3f}, {n} eigenvalues in the tail, xmin {xmin}").format(
                ks=spectrum.ks_distance, n=spectrum.n_tail, xmin=fmt_number(spectrum.xmin))}


def overview_rows(layers: list[LayerFacts], anchors: dict[str, str],
                  alerts_by_layer: dict[str, list[dict]],
                  dead: dict[str, float]) -> list[dict]:
    """A row per layer with weights: class, shape, size, spread, movement, dead share, alerts."""
    rows = []
    for layer in layers:
        weight = main_weight(layer)
        if weight is None:
            continue
        alerts = alerts_by_layer.get(layer.path, [])
        rows.append({
            "name": layer.path.replace("/", " / "),
            "anchor": anchors.get(layer.path, ""),
            "class_name": layer.class_name or _("unknown"),
            "output_shape": layer.output_shape or _("unknown"),
            "n_params": fmt_int(layer.n_params),
            "weight": weight.name,
            "std": fmt_number(weight.stats.std),
            "change": fmt_number(weight.relative_change) if weight.relative_change is not None
            else "",
            "dead": fmt_percent(dead[layer.path]) if layer.path in dead else "",
            **alpha_cell(weight),
            "alerts": ", ".join(sorted({a["title"].lower() for a in alerts})),
            "n_alerts": badge(alerts),
        })
    return rows


def view(dead: dict[str, float], _pictures, page: Page) -> dict | None:
    """The rows, and a legend for the columns there are (None without a layer with weights)."""
    layers = list(all_layer_facts(page.facts.section("layers") or ()))
    rows = overview_rows(layers, page.anchors, page.by_layer, dead)
    if not rows:
        return None
    has_init = any(layer.init is not None for layer in layers)
    return {"rows": rows, "has_init": has_init, "has_dead": bool(dead),
            "legend": overview_legend(has_init, bool(dead))}


def overview_legend(has_init: bool, has_dead: bool) -> str:
    """What the overview's columns are, for the columns it has (and, with the change from
    initialisation, how to read it)."""
    text = _overview_columns(has_init, has_dead)
    if has_init:
        text += " " + _("Two independent draws of the same initialiser are √2 ≈ 1.41 apart: a "
                        "change near 1.41 says the weights are as far from this fresh draw as "
                        "any random weights would be, not that the layer trained (the check "
                        "'Layer did not train' compares their distributions instead).")
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


SECTION = Section(name="overview", title=N_("Overview"), template="overview.html.j2",
                  needs=frozenset({WEIGHTS}), after=("layers", "activations", "evaluation"),
                  collect=collect, view=view)
