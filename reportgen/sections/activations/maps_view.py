"""The feature-map section's view: the drawn inputs side by side with what the model said for
each, then per drawn layer its feature maps (one grid per input, eight maps a row), with the layer's statistics per input and per channel over every input."""

from __future__ import annotations

from reportgen.analyse.activations import SampleActivation
from reportgen.analyse.facts import InputFacts, OutputPrediction
from reportgen.draw.figures import Picture
from reportgen.i18n import N_, _, ngettext
from reportgen.page.formatting import fmt_number, fmt_percent, fmt_shape
from reportgen.page.picture_text import axes_text


def input_heads(inputs: tuple[InputFacts, ...], pictures: list[list[Picture]]) -> list[dict]:
    """Each drawn input: its pictures (named for the enlarged view) and source."""
    return [{"anchor": f"input-{k}", "name": item.name, "source": item.source,
             "title": _("Input: {name}").format(name=item.name),
             "source_text": (item.source if item.synthetic else
                             _("from {source}").format(source=item.source)),
             "shape": fmt_shape(item.shape), "outputs": output_views(item),
             "pictures": [{"picture": p, "id": f"input-{k}-picture-{j}", "back": f"input-{k}"}
                          for j, p in enumerate(pics)]}
            for k, (item, pics) in enumerate(zip(inputs, pictures))]


def prediction_table(inputs: tuple[InputFacts, ...], n_drawn: int) -> dict:
    """What every drawn input got from the first output, in one table: a column per rank."""
    drawn = inputs[:n_drawn]
    firsts = [item.outputs[0] for item in drawn if item.outputs]
    if not firsts or not any(o.top for o in firsts):
        return {}
    ranks = max(len(o.top) for o in firsts)
    return {"caption": _caption(firsts[0]),
            "ranks": [str(r + 1) for r in range(ranks)],
            "rows": [{"name": item.name, "anchor": f"input-{k}",
                      "cells": [f"{p.label} ({fmt_number(p.probability)})" for p in
                                item.outputs[0].top] + [""] * (ranks - len(item.outputs[0].top))}
                     for k, item in enumerate(drawn) if item.outputs]}


def _caption(output: OutputPrediction) -> str:
    """What the prediction table shows, for the kind of the first output."""
    if output.kind == "sigmoid":
        return _("Each input's class (positive if the probability is above "
                 "{threshold:g})").format(threshold=output.threshold)
    return {"softmax": _("Top predictions of each input"),
            "multi-label sigmoid": _("Each input's labels by probability")}.get(output.kind, "")


OUTPUT_KINDS = {"softmax": N_("top classes"), "sigmoid": N_("probability of the positive class"),
                "multi-label sigmoid": N_("labels, each with its own probability"),
                "regression": N_("output values")}


def output_views(item: InputFacts) -> list[dict]:
    """Every output of one input, read by its kind (the regression values, or the classes)."""
    several = len(item.outputs) > 1
    views = []
    for o in item.outputs:
        kind = _(OUTPUT_KINDS[o.kind]) if o.kind in OUTPUT_KINDS else o.kind
        if o.threshold is not None:
            kind = _("{kind} (threshold {threshold:g})").format(kind=kind, threshold=o.threshold)
        views.append({
            "caption": f"{o.output}: {kind}" if several else kind[0].upper() + kind[1:],
            "numbers": ", ".join(fmt_number(v) for v in o.values),
            "shown": (_("first {shown} of {total}").format(shown=len(o.values), total=o.n_values)
                      if len(o.values) < o.n_values else f"{o.n_values}") if o.values else "",
            "top": ", ".join(f"{p.label} ({fmt_number(p.probability)})" for p in o.top),
            "above": ", ".join(o.above_threshold)})
    return views


def map_rows(inputs: tuple[InputFacts, ...], n_drawn: int,
             grids: dict[str, tuple[Picture, ...]],
             summaries: tuple[SampleActivation, ...], anchors: dict[str, str],
             alerts_by_layer: dict[str, list[dict]]) -> list[dict]:
    """One entry per layer whose output was recorded: its grid, statistics per drawn input,
    and its channels over every input."""
    drawn = [item for item in inputs[:n_drawn] if item.activations]
    if not drawn:
        return []
    by_layer = {s.layer: s for s in summaries}
    rows = []
    for k, first in enumerate(drawn[0].activations):
        name = first.layer
        anchor = f"act-{anchors.get(name, name)}"
        pictures = grids.get(name)
        if not pictures:
            continue  # no picture: the layer is a row of other_outputs
        rows.append({
            "layer": name, "anchor": anchor, "shape": fmt_shape(first.shape),
            "pictures": [{"picture": picture, "id": f"{anchor}-grid-{j}", "back": anchor,
                          "input": item.name if len(pictures) > 1 else ""}
                         for j, (picture, item) in enumerate(zip(pictures, drawn))],
            "axes": axes_text(pictures[0]),
            "per_input": [{"name": item.name, "mean": fmt_number(a.stats.mean),
                           "std": fmt_number(a.stats.std), "min": fmt_number(a.stats.min),
                           "max": fmt_number(a.stats.max),
                           "zeros": fmt_percent(a.stats.zero_fraction)}
                          for item in drawn for a in [item.activations[k]]],
            "alerts": [r for r in alerts_by_layer.get(name, []) if r["subject"] == "output"],
            **channel_view(by_layer.get(name)),
        })
    return rows


def other_outputs(inputs: tuple[InputFacts, ...], n_drawn: int,
                  grids: dict[str, tuple[Picture, ...]],
                  anchors: dict[str, str]) -> list[dict]:
    """The outputs of the layers without a picture, one compact row per layer and input."""
    drawn = [item for item in inputs[:n_drawn] if item.activations]
    rows = []
    for k, first in enumerate(drawn[0].activations if drawn else ()):
        if first.layer in grids:
            continue
        for j, item in enumerate(drawn):
            a = item.activations[k]
            anchor = f"act-{anchors.get(first.layer, first.layer)}" if j == 0 else ""
            rows.append({"layer": first.layer, "anchor": anchor,
                         "input": item.name, "shape": fmt_shape(a.shape),
                         "mean": fmt_number(a.stats.mean), "std": fmt_number(a.stats.std),
                         "min": fmt_number(a.stats.min), "max": fmt_number(a.stats.max),
                         "zeros": fmt_percent(a.stats.zero_fraction)})
    return rows


def channel_view(summary: SampleActivation | None) -> dict:
    """Each channel's mean and zero share over every input given, dead ones marked."""
    if summary is None:
        return {"channels": [], "over": ""}
    dead = set(summary.dead_channels)
    return {"over": ngettext("over {n} input; {n_dead} of {n_channels} channels zero for it",
                             "over {n} inputs; {n_dead} of {n_channels} channels zero for "
                             "every one", summary.n_inputs).format(
                                 n=summary.n_inputs, n_dead=len(dead),
                                 n_channels=len(summary.channel_means)),
            "channels": [{"index": str(c), "mean": fmt_number(mean),
                          "zero_fraction": fmt_percent(zeros), "dead": c in dead}
                         for c, (mean, zeros) in enumerate(zip(summary.channel_means,
                                                               summary.channel_zero_fractions))]}
