"""The labelled sample's part of the JSON sidecar: every number of its sections, in full
precision, as plain JSON (no NaN: what is undefined is null)."""

from __future__ import annotations

import dataclasses

from reportgen.analyse.data_run import DataFacts
from reportgen.analyse.filter_examples import FilterExamplesFacts


def data_sidecar(data: DataFacts) -> dict:
    """The keys `labelled_sample`, `evaluation` (null when the outputs were not
    probabilities), `filter_examples` and `class_activations` (null without one)."""
    return {
        "labelled_sample": {
            "description": data.description, "n_images": data.n_images,
            "class_names": list(data.class_names), "evaluation_error": data.evaluation_error,
            "activations": [dataclasses.asdict(s) for s in data.activations],
        },
        "evaluation": (dataclasses.asdict(data.evaluation) | {
            "alerts": [{"kind": a.kind, "subject": a.subject, "message": a.message,
                        "values": dict(a.values), "threshold": a.threshold}
                       for a in data.alerts]}
            if data.evaluation is not None else None),
        "filter_examples": filter_examples_dict(data.filter_examples),
        "class_activations": (dataclasses.asdict(data.class_activations)
                              if data.class_activations is not None else None),
    }


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
