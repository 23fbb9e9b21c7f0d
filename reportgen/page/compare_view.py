"""The comparison's view: facts and pictures become display strings the template only places."""

from __future__ import annotations

from reportgen.analyse.compare import (KINDS, CompareFacts, FileFacts, LayerChange,
                                       WeightChange)
from reportgen.analyse.compare_outputs import OutputComparison
from reportgen.analyse.layer_match import BY_NAME, BY_ORDER
from reportgen.draw.depth_chart import DepthChart, depth_chart
from reportgen.draw.pictures import Figure, Picture
from reportgen.i18n import N_, _, html_lang, ngettext
from reportgen.page.formatting import MISSING, fmt_bytes, fmt_int, fmt_number, fmt_percent
from reportgen.page.anchors import layer_anchors
from reportgen.page.figure_view import figure_view, number_figures

CHART_WIDTH = 760
SPECTRAL_NOTE = N_("λmax is the largest eigenvalue of WᵀW (the square of the largest singular "
                   "value, as weightwatcher reports it); alpha is the exponent of the power law "
                   "fitted to the tail of the eigenvalues (see the single report). An unchanged "
                   "weight's spectrum is computed once.")
MATCHED_BY = {BY_NAME: N_("matched by name"),
              BY_ORDER: N_("matched by order and weight shapes")}


def compare_view(facts: CompareFacts, figures: dict[str, list[Figure]],
                 bars: dict[str, Picture]) -> dict:
    """Everything the comparison template shows, as strings, lists and dicts."""
    anchors = layer_anchors([layer.path for layer in facts.layers])
    alerts_by_layer: dict[str, list] = {}
    for alert in facts.alerts:
        alerts_by_layer.setdefault(alert.layer, []).append(alert)
    kernels = [{"name": layer.path.replace("/", " / "), "anchor": f"kernels-{anchors[layer.path]}",
                "back": anchors[layer.path],
                "figures": [{**figure_view(f, bars), "scale_note": f.scale_note}
                            for f in figures[layer.path]]}
               for layer in facts.layers if figures.get(layer.path)]
    return {
        "title": _("reportgen compare: {a} vs {b}").format(a=facts.a.file_name,
                                                           b=facts.b.file_name),
        "html_lang": html_lang(),
        "name_a": facts.a.file_name, "name_b": facts.b.file_name,
        "verdict": verdict(facts),
        "alert_groups": alert_groups(facts, anchors),
        "files": file_rows(facts.a, facts.b),
        "chart": change_chart(facts.layers),
        "layers": [layer_rows(layer, anchors[layer.path], len(alerts_by_layer.get(layer.path, [])))
                   for layer in facts.layers],
        "unmatched": [{"path": u.path.replace("/", " / "), "reason": u.reason,
                       "a": ", ".join(u.weights_a) or MISSING,
                       "b": ", ".join(u.weights_b) or MISSING} for u in facts.unmatched],
        "kernels": number_figures(kernels),
        "outputs": outputs_view(facts.outputs) if facts.outputs else None,
        "outputs_note": facts.outputs_note,
        "spectral_note": _(SPECTRAL_NOTE),
        "toc": table_of_contents(facts, kernels),
        "generator": f"reportgen {facts.reportgen_version}",
        "generated_at": facts.generated_at,
    }


def verdict(facts: CompareFacts) -> list[str]:
    """A few plain sentences a reader takes away first."""
    layers = facts.layers
    changed = [layer for layer in layers if layer.changed]
    by_order = sum(1 for layer in layers if layer.matched_by == BY_ORDER)
    lines = [ngettext("{n} layer with weights matched ({by_name} by name, {by_order} by order "
                      "and weight shapes); {changed} changed, {same} identical; {unmatched} "
                      "unmatched.",
                      "{n} layers with weights matched ({by_name} by name, {by_order} by order "
                      "and weight shapes); {changed} changed, {same} identical; {unmatched} "
                      "unmatched.", len(layers)).format(
        n=len(layers), by_name=len(layers) - by_order, by_order=by_order, changed=len(changed),
        same=len(layers) - len(changed), unmatched=len(facts.unmatched))]
    ranked = [layer for layer in changed if layer.relative_change is not None]
    if ranked:
        top = max(ranked, key=lambda layer: layer.relative_change)
        lines.append(_("Largest relative change: {layer} (‖W_B − W_A‖ / ‖W_A‖ = {value}).").format(
            layer=top.path, value=fmt_number(top.relative_change)))
    outputs = facts.outputs
    if outputs is not None and outputs.accuracy_a is not None:
        lines.append(_("Accuracy on the labelled images: {a} for A, {b} for B.").format(
            a=fmt_percent(outputs.accuracy_a), b=fmt_percent(outputs.accuracy_b)))
    if outputs is not None and outputs.agreement is not None:
        lines.append(ngettext("Top class agrees on {share} of {n} input ({changed} changed).",
                              "Top class agrees on {share} of {n} inputs ({changed} changed).",
                              len(outputs.inputs)).format(
            share=fmt_percent(outputs.agreement), n=len(outputs.inputs),
            changed=len(outputs.changed)))
    lines.append(ngettext("{n} alert.", "{n} alerts.", len(facts.alerts)).format(
        n=len(facts.alerts)) if facts.alerts else _("No alert."))
    return lines


def alert_groups(facts: CompareFacts, anchors: dict[str, str]) -> list[dict]:
    """Alerts grouped by kind, each linking to its layer's rows."""
    groups = []
    for kind in KINDS:
        members = [{"layer": a.layer.replace("/", " / "), "anchor": anchors.get(a.layer, ""),
                    "message": a.message} for a in facts.alerts if a.kind == kind.name]
        if members:
            groups.append({"title": kind.title, "explanation": kind.explanation,
                           "threshold": kind.threshold, "count": str(len(members)),
                           "alerts": members})
    return groups


def file_rows(a: FileFacts, b: FileFacts) -> list[tuple[str, str, str]]:
    """The two files side by side: (label, A, B)."""
    return [
        (_("File"), a.file_name, b.file_name),
        (_("Size"), fmt_bytes(a.file_size), fmt_bytes(b.file_size)),
        ("SHA-256", a.sha256, b.sha256),
        (_("Format"), a.format, b.format),
        (_("Saved by Keras"), a.saved_by_keras_version, b.saved_by_keras_version),
        (_("Model class"), a.class_name or _("unknown"), b.class_name or _("unknown")),
        (_("Parameters"), fmt_int(a.n_params), fmt_int(b.n_params)),
    ]


def change_chart(layers: tuple[LayerChange, ...]) -> DepthChart | None:
    """The bar chart of each layer's relative change, in model order."""
    if not layers:
        return None
    return depth_chart([layer.relative_change for layer in layers],
                       [f"{layer.depth + 1}. {layer.path}" for layer in layers],
                       y_label="‖W_B − W_A‖ / ‖W_A‖", width=CHART_WIDTH)


def layer_rows(layer: LayerChange, anchor: str, n_alerts: int) -> dict:
    """A layer's summary row and one row per weight."""
    return {
        "anchor": anchor, "depth": str(layer.depth + 1),
        "name": layer.path.replace("/", " / "), "class_name": layer.class_name or _("unknown"),
        "name_b": layer.path_b.replace("/", " / ") if layer.path_b != layer.path else "",
        "matched_by": _(MATCHED_BY[layer.matched_by]),
        "status": _("changed") if layer.changed else _("identical"),
        "relative_change": fmt_number(layer.relative_change),
        "n_alerts": str(n_alerts) if n_alerts else "",
        "weights": [weight_row(w) for w in layer.weights],
    }


def weight_row(weight: WeightChange) -> dict:
    """One weight's numbers, formatted."""
    return {
        "name": weight.name, "shape": str(weight.shape),
        "norm_a": fmt_number(weight.norm_a), "diff_norm": fmt_number(weight.diff_norm),
        "relative_change": fmt_number(weight.relative_change),
        "cosine": fmt_number(weight.cosine, 6),
        "std_a": fmt_number(weight.std_a), "std_b": fmt_number(weight.std_b),
        "std_change": fmt_number(weight.std_change),
        "lambda_a": fmt_number(weight.spectrum_a.spectral_norm),
        "lambda_b": fmt_number(weight.spectrum_b.spectral_norm),
        "alpha_a": fmt_number(weight.spectrum_a.alpha, 3),
        "alpha_b": fmt_number(weight.spectrum_b.alpha, 3),
        "note": (ngettext("{n} NaN/Inf value: not compared", "{n} NaN/Inf values: not compared",
                          weight.n_non_finite).format(n=fmt_int(weight.n_non_finite))
                 if weight.n_non_finite else ""),
    }


def outputs_view(outputs: OutputComparison) -> dict:
    """Prediction agreement, the inputs whose top class changed, and CKA per layer."""
    return {
        "n": str(len(outputs.inputs)),
        "cut": (_("{n} of the sample's {total} images, evenly spaced through it, were run "
                  "(every layer output of each is kept for CKA).").format(n=fmt_int(len(outputs.inputs)),
                                                       total=fmt_int(outputs.n_available))
                if outputs.n_available and outputs.n_available > len(outputs.inputs) else ""),
        "accuracy": ([(_("accuracy of A"), fmt_percent(outputs.accuracy_a)),
                      (_("accuracy of B"), fmt_percent(outputs.accuracy_b))]
                     if outputs.accuracy_a is not None else []),
        "inputs": [{"name": name, "source": source} for name, source in outputs.inputs],
        "agreement": fmt_percent(outputs.agreement) if outputs.agreement is not None else "",
        "changed": [{"input": c.input, "class_a": str(c.class_a), "class_b": str(c.class_b),
                     "score_a": fmt_number(c.score_a), "score_b": fmt_number(c.score_b)}
                    for c in outputs.changed],
        "similarities": [{"layer": s.layer, "cka": fmt_number(s.cka, 4), "n": str(s.n),
                          "reason": s.reason} for s in outputs.similarities],
    }


def table_of_contents(facts: CompareFacts, kernels: list[dict]) -> list[dict]:
    """The navigation: the sections present."""
    toc = [(_("Summary"), "summary"), (_("Files"), "files"), (_("Change by depth"), "chart"),
           (_("Layers"), "layers")]
    toc += [(_("Unmatched layers"), "unmatched")] if facts.unmatched else []
    toc += [(_("Kernels"), "kernels")] if kernels else []
    toc += [(_("Outputs"), "outputs")] if facts.outputs or facts.outputs_note else []
    return [{"label": label, "anchor": anchor} for label, anchor in toc]
