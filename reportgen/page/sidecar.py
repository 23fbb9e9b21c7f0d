"""The JSON sidecar: every number of the report, for scripts. Its keys are a public contract."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np

from reportgen.analyse.alerts import KINDS
from reportgen.i18n import current_language
from reportgen.page.cam_view import cam_sidecar
from reportgen.page.data_sidecar import data_sidecar
from reportgen.analyse.facts import (ActivationFacts, InputFacts, LayerFacts, OutputPrediction,
                             ReportFacts, TensorStats, WeightFacts)

SCHEMA_VERSION = 1


def sidecar_dict(facts: ReportFacts, settings: dict) -> dict:
    """The sidecar's content as plain JSON-ready data."""
    m = facts.model
    return {
        "schema_version": SCHEMA_VERSION,
        "lang": current_language(),
        "mode": facts.mode,
        "weights_only_reason": facts.weights_only_reason or None,
        "forward_error": facts.forward_error or None,
        "architecture_only_reason": facts.architecture_only_reason or None,
        "repairs": [repair_sentence(r) for r in facts.repairs],
        "repair_details": [{"rule": r.rule, "error": r.error, "change": r.change,
                            "layers": list(r.layers), "why": r.why} for r in facts.repairs],
        "trusted": facts.trusted,
        "generated_at": m.generated_at,
        "generator": {"name": "reportgen", "version": m.reportgen_version},
        "model": {
            "file": m.file_name,
            "file_size": m.file_size,
            "sha256": m.sha256,
            "format": m.format,
            "saved_by_keras_version": m.saved_by_keras_version,
            "read_with": dict(m.read_with),
            "class_name": m.class_name or None,
            "params": ({"total": m.n_params, "trainable": m.n_trainable_params,
                        "non_trainable": m.n_non_trainable_params}
                       if facts.mode != "architecture-only" else None),
            "input_shape": m.input_shape,
            "output_shape": m.output_shape,
            "inputs": [{"name": n, "shape": s, "dtype": d} for n, s, d in m.inputs],
            "outputs": [{"name": n, "shape": s, "dtype": d} for n, s, d in m.outputs],
            "architecture_from": ({"file": m.architecture_file_name,
                                   "sha256": m.architecture_sha256}
                                  if m.architecture_file_name else None),
        },
        "settings": settings,
        "model_config": facts.model_config if facts.mode != "full" else None,
        "stored_state": [{"path": path, "tensors": n_tensors, "values": n_values}
                         for path, n_tensors, n_values in facts.stored_state],
        "graph": graph_dict(facts.graph),
        "cam": cam_sidecar(facts.cam, facts.cam_alerts, facts.cam_reason),
        **(data_sidecar(facts.data) if facts.data is not None else
           {"labelled_sample": None, "evaluation": None, "filter_examples": None,
            "class_activations": None}),
        "alert_kinds": [dataclasses.asdict(kind) for kind in KINDS],
        "alerts": [{"kind": a.kind, "layer": a.layer, "message": a.message,
                    "subject": a.subject, "values": dict(a.values), "synthetic": a.synthetic}
                   for a in facts.alerts],
        "notes": list(facts.notes),
        "layers": [layer_dict(layer) for layer in facts.layers],
        "inputs": [{"name": i.name, "source": i.source, "shape": list(i.shape),
                    "shapes": [list(shape) for shape in i.shapes]} for i in facts.inputs],
        "activations": [activations_dict(i) for i in facts.inputs if i.activations],
        "sample_activations": [{"layer": s.layer, "n_inputs": s.n_inputs,
                                "channel_means": list(s.channel_means),
                                "channel_zero_fractions": list(s.channel_zero_fractions),
                                "dead_channels": list(s.dead_channels),
                                "n_non_finite": s.n_non_finite}
                               for s in facts.sample_activations],
        "predictions": [{"input": i.name, "top": [dataclasses.asdict(p) for p in i.predictions],
                         "output_entropy": i.output_entropy,
                         "outputs": [output_dict(o) for o in i.outputs]}
                        for i in facts.inputs],
    }


def graph_dict(graph) -> dict | None:
    """The architecture graph: layers by path, edges as [source, target], nested models."""
    if graph is None:
        return None
    return {"nodes": [{"path": n.path, "name": n.name, "class_name": n.class_name,
                       "cluster": n.cluster or None} for n in graph.nodes],
            "edges": [[e.source, e.target] for e in graph.edges],
            "clusters": [{"path": c.path, "class_name": c.class_name} for c in graph.clusters],
            "n_unread": graph.n_unread}


def repair_sentence(repair) -> str:
    """One repair as the sentence the report shows."""
    return (f"{repair.change} in {', '.join(repair.layers)}: {repair.why} "
            f"(Keras said: {repair.error})")


def output_dict(output: OutputPrediction) -> dict:
    """What one model output says for one input."""
    return {"name": output.output, "kind": output.kind,
            "top": [dataclasses.asdict(p) for p in output.top], "values": list(output.values),
            "n_values": output.n_values, "threshold": output.threshold,
            "above_threshold": list(output.above_threshold)}


def layer_dict(layer: LayerFacts) -> dict:
    """One layer, with its trained and initial weight statistics."""
    return {
        "index": layer.index,
        "name": layer.name,
        "class_name": layer.class_name or None,
        "output_shape": layer.output_shape,
        "params": layer.n_params,
        "trainable": layer.trainable,
        "activation": layer.activation,
        "path": layer.path,
        "weights": [weight_dict(w) for w in layer.weights],
        "init": None if layer.init is None else [weight_dict(w) for w in layer.init],
        "series": [dataclasses.asdict(s) for s in layer.series],
        "layers": [layer_dict(child) for child in layer.children],
    }


def weight_dict(weight: WeightFacts) -> dict:
    """A weight tensor: name, shape, dtype and its statistics under their own names."""
    return {
        "name": weight.name,
        "shape": list(weight.shape),
        "dtype": weight.dtype,
        "trainable": weight.trainable,
        "sample_step": weight.sample_step,
        **plain(weight.stats),
        "histogram": {"edges": list(weight.histogram.edges),
                      "counts": list(weight.histogram.counts)},
        "max_filter_cosine": weight.max_filter_cosine,
        "similar_filter_pairs": weight.similar_filter_pairs,
        "relative_change": weight.relative_change,
        "spectral": spectral_dict(weight.spectral),
    }


def spectral_dict(spectral) -> dict | None:
    """A weight's spectrum: every number of spectral.SpectralFacts, the histogram as
    {edges, counts} on log-spaced bins; null for a weight without a channel-mixing matrix."""
    if spectral is None:
        return None
    names = ("reason", "n_matrices", "n_eigenvalues", "n_near_zero", "spectral_norm",
             "stable_rank", "alpha", "xmin", "ks_distance", "n_tail", "alpha_hat",
             "mp_softrank", "tail_density")
    found = {name: getattr(spectral, name) for name in names}
    found["matrix_shape"] = list(spectral.matrix_shape)
    found["histogram"] = ({"edges": list(spectral.histogram.edges),
                           "counts": list(spectral.histogram.counts)}
                          if spectral.histogram is not None else None)
    return found


def activations_dict(item: InputFacts) -> dict:
    """Every layer's output statistics for one input."""
    return {"input": item.name, "layers": [activation_dict(a) for a in item.activations]}


def activation_dict(activation: ActivationFacts) -> dict:
    """One layer's output for one input: shape, statistics and per-channel figures."""
    return {
        "name": activation.layer,
        "shape": list(activation.shape),
        **plain(activation.stats),
        "channels": [{"mean": c.mean, "zero_fraction": c.zero_fraction}
                     for c in activation.channels],
    }


STAT_FIELDS = tuple(field.name for field in dataclasses.fields(TensorStats))


def plain(stats: TensorStats) -> dict:
    """Statistics under their own names (dataclasses.asdict deep-copies, slowly)."""
    return {name: getattr(stats, name) for name in STAT_FIELDS}


def sidecar_text(facts: ReportFacts, settings: dict) -> str:
    """The sidecar as strict, compact JSON (see strict_json)."""
    return strict_json(sidecar_dict(facts, settings))


# A string (skipped whole: names from a model file may say "NaN") or a bare non-finite number.
_STRING_OR_NON_FINITE = re.compile(r'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')


def strict_json(data) -> str:
    """Data as strict, compact JSON, every NaN or infinite number written as null (JSON has
    no NaN); numpy scalars become Python numbers, tuples lists, a Message its English text
    (the JSON is language-neutral).

    Compact and without a Python walk over the data, because only then does Python's C
    encoder do all the work (a ResNet50 sidecar took seconds indented, 1.6 s walked). The
    encoder refuses non-finite numbers, which a healthy model has none of; only when there
    are some is the text scanned and each written as null (0.4 s for ResNet50's 9.6 MB, whose
    alert explanations say "NaN" in words: scanning whenever the text holds the word cost
    that on every report).
    """
    compact = {"separators": (",", ":"), "default": _plain_number}
    try:
        return json.dumps(data, allow_nan=False, **compact) + "\n"
    except ValueError:
        text = json.dumps(data, **compact)
    return _STRING_OR_NON_FINITE.sub(lambda found: "null" if found.group(1)
                                     else found.group(0), text) + "\n"


def _plain_number(value):
    """A numpy scalar as the Python number the encoder writes."""
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON data")
