"""The overview section's view: one row per layer with weights, so that the whole model's
health reads in one screen (a few for ResNet50)."""

from __future__ import annotations

from reportgen.analyse.facts import LayerFacts, ReportFacts, WeightFacts
from reportgen.analyse.alerts import ALPHA_HIGH, ALPHA_LOW, ALPHA_UNRELIABLE, KS_UNRELIABLE
from reportgen.i18n import _
from reportgen.page.formatting import fmt_int, fmt_number, fmt_percent


def main_weight(layer: LayerFacts) -> WeightFacts | None:
    """The weight that stands for a layer: its kernel (the first matrix or larger), else its
    first weight."""
    matrices = [w for w in layer.weights if len(w.shape) >= 2]
    return (matrices or list(layer.weights) or [None])[0]


def dead_shares(facts: ReportFacts) -> dict[str, float]:
    """Per layer, the share of channels that are zero for every real input: over the labelled
    sample when there is one (what the dead-channel alert rests on then), else over the
    --input files (none for the synthetic pattern: that says nothing about the model)."""
    if facts.data is not None and facts.data.activations:
        summaries = facts.data.activations
    elif not facts.inputs or any(item.synthetic for item in facts.inputs):
        return {}
    else:
        summaries = facts.sample_activations
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
    if spectrum.alpha > ALPHA_UNRELIABLE or spectrum.ks_distance > KS_UNRELIABLE:
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
            "n_alerts": str(len(alerts)) if alerts else "",
        })
    return rows
