"""What the units respond to over a labelled sample (--data): channels (and Dense units)
dead over the whole sample, the per-class mean activation of the layer before the output,
and for the first convolutions the sample images that drive each filter most, with the
receptive field outlined."""

from __future__ import annotations

import dataclasses

from reportgen.analyse.data_run import DataFacts
from reportgen.analyse.filter_examples import FilterExamplesFacts
from reportgen.draw.data_pictures import response_images
from reportgen.i18n import N_
from reportgen.sections.base import SAMPLE, Evidence, Page, Section
from reportgen.sections.responses.responses_view import filter_examples_view


def collect(evidence: Evidence) -> DataFacts | None:
    """The labelled sample's facts, as the model run gathered them."""
    return evidence.outputs.data if evidence.outputs is not None else None


def pictures(data: DataFacts | None, evidence: Evidence):
    """The filters' example mosaics and the per-class activation heatmap."""
    return response_images(data, evidence.outputs.sample) if data is not None else None


def view(data: DataFacts | None, drawn, _page: Page) -> dict | None:
    """Everything the section shows (None without a labelled sample)."""
    return filter_examples_view(data, drawn) if data is not None else None


def sidecar(data: DataFacts | None, _evidence: Evidence) -> dict:
    """The keys `filter_examples` and `class_activations` (null without a sample)."""
    if data is None:
        return {"filter_examples": None, "class_activations": None}
    return {"filter_examples": filter_examples_dict(data.filter_examples),
            "class_activations": (dataclasses.asdict(data.class_activations)
                                  if data.class_activations is not None else None)}


def filter_examples_dict(facts: FilterExamplesFacts) -> dict:
    """Per layer, per filter: sample indices, activation values, map positions and the
    input boxes, as parallel lists (compact for 16 filters x k)."""
    return {
        "k": facts.k, "max_filters": facts.max_filters, "n_samples": facts.n_samples,
        "note": facts.note,
        "layers": [{
            "layer": layer.layer, "n_filters": layer.n_filters, "map_size": list(layer.map_size),
            "input_size": list(layer.input_size),
            "receptive_field": dataclasses.asdict(layer.geometry),
            "filters": [{"filter": f.filter,
                         "indices": [e.index for e in f.examples],
                         "values": [e.value for e in f.examples],
                         "positions": [[e.row, e.col] for e in f.examples],
                         "boxes": [list(e.box) for e in f.examples]}
                        for f in layer.filters],
        } for layer in facts.layers],
    }


SECTION = Section(name="responses", title=N_("What the units respond to"),
                  template="responses.html.j2", needs=frozenset({SAMPLE}), collect=collect,
                  pictures=pictures, view=view, sidecar=sidecar)
