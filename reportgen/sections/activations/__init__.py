"""Feature maps and prediction: every input run through the model (its files, or the
synthetic pattern), what each model output says for it, and for the drawn inputs each
drawn layer's outputs as one aligned grid, with their statistics per input and per channel;
the alerts about outputs (NaN/Inf, dead channels, near-uniform predictions)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from reportgen.analyse.activations import SampleActivation
from reportgen.analyse.output_alerts import KINDS as ACTIVATION_KINDS, activation_alerts
from reportgen.analyse.collect import collect_input
from reportgen.analyse.facts import InputFacts, all_layer_facts
from reportgen.draw.pictures import feature_grids, input_picture, map_layers, output_picture
from reportgen.i18n import N_
from reportgen.page.sidecar import plain
from reportgen.parallel import ordered_map
from reportgen.sections.base import MODEL, Evidence, Page, Section, toc_entry
from reportgen.sections.activations.maps_view import (input_heads, map_rows, other_outputs,
                                                 prediction_table)



@dataclass(frozen=True)
class ActivationsFacts:
    """Every input's facts (the drawn ones with their layers' outputs), the activations over
    all of them, the layers whose outputs are drawn, and how many inputs are drawn."""

    inputs: tuple[InputFacts, ...]
    summaries: tuple[SampleActivation, ...]
    drawn_layers: tuple[str, ...]
    n_drawn: int


def collect(evidence: Evidence) -> ActivationsFacts | None:
    """The inputs' facts from the model run; a note when the drawn layers are cut."""
    outputs = evidence.outputs
    if outputs is None or outputs.error:
        return None
    n_drawn = evidence.options.max_inputs
    specs = evidence.snapshot.outputs
    inputs = tuple(
        collect_input(s.name, s.source, s.arrays[0].shape,
                      {name: out[k] for name, out in outputs.drawn.items()} if k < n_drawn else {},
                      [(spec, out[k]) for spec, out in zip(specs, outputs.scores)],
                      list(evidence.labels), synthetic=all(s.synthetic),
                      shapes=tuple(array.shape for array in s.arrays))
        for k, s in enumerate(outputs.samples))
    drawn, cut_note = map_layers([(layer.name, layer.class_name)
                                  for layer in evidence.snapshot.layers
                                  if layer.name in outputs.drawn],
                                 evidence.options.max_map_layers)
    if cut_note:
        evidence.notes.append(cut_note)
    return ActivationsFacts(inputs, outputs.summaries, tuple(drawn), n_drawn)


def alerts(facts: ActivationsFacts | None, evidence: Evidence):
    """NaN/Inf outputs, dead channels (over the labelled sample when there is one) and
    near-uniform predictions."""
    if facts is None:
        return ()
    data = evidence.outputs.data
    summaries = data.activations if data is not None else facts.summaries
    synthetic = data is None and bool(facts.inputs) and \
        all(item.synthetic for item in facts.inputs)
    layers = {layer.path: layer for layer in all_layer_facts(evidence.facts["layers"])}
    return tuple(activation_alerts(facts.inputs, summaries, layers, synthetic))


def pictures(facts: ActivationsFacts | None, evidence: Evidence) -> dict:
    """The drawn inputs' pictures, and each drawn layer's grid of their outputs."""
    if facts is None:
        return {"inputs": [], "maps": {}}
    shown = evidence.outputs.samples[:facts.n_drawn]
    specs = evidence.snapshot.inputs
    return {"inputs": [input_pictures(s, specs) for s in shown],
            "maps": map_grids(facts.drawn_layers, evidence.outputs.drawn,
                              tuple(s.name for s in shown), evidence.options)}


def input_pictures(sample, specs) -> list:
    """The pictures of a sample's inputs that are images, named by input when there are
    several."""
    several = len(sample.arrays) > 1
    drawn = [input_picture(f"{spec.name}" if several else sample.name, array)
             for spec, array in zip(specs, sample.arrays)]
    return [picture for picture in drawn if picture is not None]


def map_grids(names, outputs: dict, input_names: tuple[str, ...], options) -> dict:
    """Each drawn layer's pictures, two layers at a time: its feature maps, one grid per
    drawn input; a sequence output (time x units) as a heatmap for a single input."""
    def draw(name):
        values = outputs[name]
        grids = feature_grids(list(values), name, options, input_names)
        if grids or len(values) != 1:
            return grids
        single = output_picture(name, values[0], options)
        return (single,) if single is not None else ()

    drawn = ordered_map(draw, list(names))
    return {name: pictures for name, pictures in zip(names, drawn) if pictures}


def view(facts: ActivationsFacts | None, drawn: dict, page: Page) -> dict | None:
    """The inputs, the prediction table, the drawn layers' grids and the other outputs."""
    if facts is None or not facts.inputs:
        return None
    n = len(drawn["inputs"])
    return {"inputs": input_heads(facts.inputs, drawn["inputs"]),
            "predictions": prediction_table(facts.inputs, n),
            "maps": map_rows(facts.inputs, n, drawn["maps"], facts.summaries, page.anchors,
                             page.by_layer),
            "other_outputs": other_outputs(facts.inputs, n, drawn["maps"], page.anchors),
            "feature_bar": page.bars["feature"]}


def toc(facts: ActivationsFacts | None, view_: dict | None, _page: Page) -> list[dict]:
    """The section, and each drawn input."""
    if view_ is None:
        return []
    return [toc_entry(N_("Feature maps"), "activations")] + [
        toc_entry(item["name"], item["anchor"], 0, 1) for item in view_["inputs"]]


def sidecar(facts: ActivationsFacts | None, _evidence: Evidence) -> dict:
    """The keys `inputs`, `activations` (per drawn input, every layer's output statistics),
    `sample_activations` (per layer and channel, over every input) and `predictions`."""
    inputs = facts.inputs if facts is not None else ()
    return {
        "inputs": [{"name": i.name, "source": i.source, "shape": list(i.shape),
                    "shapes": [list(shape) for shape in i.shapes]} for i in inputs],
        "activations": [activations_dict(i) for i in inputs if i.activations],
        "sample_activations": [{"layer": s.layer, "n_inputs": s.n_inputs,
                                "channel_means": list(s.channel_means),
                                "channel_zero_fractions": list(s.channel_zero_fractions),
                                "dead_channels": list(s.dead_channels),
                                "n_non_finite": s.n_non_finite}
                               for s in (facts.summaries if facts is not None else ())],
        "predictions": [{"input": i.name, "top": [dataclasses.asdict(p) for p in i.predictions],
                         "output_entropy": i.output_entropy,
                         "outputs": [output_dict(o) for o in i.outputs]} for i in inputs],
    }


def activations_dict(item: InputFacts) -> dict:
    """Every layer's output statistics for one input."""
    return {"input": item.name, "layers": [
        {"name": a.layer, "shape": list(a.shape), **plain(a.stats),
         "channels": [{"mean": c.mean, "zero_fraction": c.zero_fraction} for c in a.channels]}
        for a in item.activations]}


def output_dict(output) -> dict:
    """What one model output says for one input."""
    return {"name": output.output, "kind": output.kind,
            "top": [dataclasses.asdict(p) for p in output.top], "values": list(output.values),
            "n_values": output.n_values, "threshold": output.threshold,
            "above_threshold": list(output.above_threshold)}


SECTION = Section(name="activations", title=N_("Feature maps"), template="activations.html.j2",
                  needs=frozenset({MODEL}), kinds=ACTIVATION_KINDS, after=("layers",),
                  collect=collect, alerts=alerts, pictures=pictures, view=view, sidecar=sidecar,
                  toc=toc)
