"""The layers: every layer's facts (its weights' statistics trained and freshly initialised,
collected here for the sections that show them), the table like model.summary(), and the
JSON's `layers` with every number."""

from __future__ import annotations

import dataclasses
import json

from reportgen.analyse.collect import collect_layer, tested_together
from reportgen.analyse.facts import LayerFacts, WeightFacts, all_layer_facts
from reportgen.analyse.stats import size_of
from reportgen.i18n import N_, _
from reportgen.page.formatting import fmt_int
from reportgen.page.sidecar import plain
from reportgen.parallel import ordered_map
from reportgen.sections.base import Evidence, Page, Section

UNKNOWN = N_("unknown")
MAX_CONFIG_CHARS = 200_000


def collect(evidence: Evidence) -> tuple[LayerFacts, ...]:
    """Every layer's facts, two layers at a time, the largest first, in the model's order."""
    init, dim = evidence.init, evidence.options.spectral_max_dim
    return tested_together(tuple(ordered_map(lambda item: collect_layer(item[0], item[1], init,
                                                                        dim),
                                             enumerate(evidence.snapshot.layers),
                                             cost=lambda item: n_values(item[1]))))


def n_values(layer) -> int:
    """How many weight values a layer (with its children) holds: its share of the work."""
    return sum(size_of(w.values) for w in layer.weights) + \
        sum(n_values(child) for child in layer.children)


def view(facts: tuple[LayerFacts, ...], _pictures, page: Page) -> dict:
    """The table's rows and the stored config."""
    return {"rows": [layer_row(layer, page.anchors[layer.path], page.warned(layer.path))
                     for layer in all_layer_facts(facts)],
            "model_config": config_text(page.facts.model_config)}


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


def sidecar(facts: tuple[LayerFacts, ...] | None, _evidence: Evidence) -> dict:
    """The key `layers`: every layer with its trained and initial weight statistics."""
    return {"layers": [layer_dict(layer) for layer in facts or ()]}


def layer_dict(layer: LayerFacts) -> dict:
    """One layer, with its trained and initial weight statistics."""
    return {
        "index": layer.index, "name": layer.name, "class_name": layer.class_name or None,
        "output_shape": layer.output_shape, "params": layer.n_params,
        "trainable": layer.trainable, "activation": layer.activation, "path": layer.path,
        "weights": [weight_dict(w) for w in layer.weights],
        "init": None if layer.init is None else [weight_dict(w) for w in layer.init],
        "series": [dataclasses.asdict(s) for s in layer.series],
        "layers": [layer_dict(child) for child in layer.children],
    }


def weight_dict(weight: WeightFacts) -> dict:
    """A weight tensor: name, shape, dtype and its statistics under their own names."""
    return {
        "name": weight.name, "shape": list(weight.shape), "dtype": weight.dtype,
        "trainable": weight.trainable, "sample_step": weight.sample_step,
        **plain(weight.stats),
        "histogram": {"edges": list(weight.histogram.edges),
                      "counts": list(weight.histogram.counts)},
        "max_filter_cosine": weight.max_filter_cosine,
        "similar_filter_pairs": weight.similar_filter_pairs,
        "relative_change": weight.relative_change,
        "spectral": spectral_dict(weight.spectral),
        "init_test": init_test_dict(weight.init_test),
    }


def init_test_dict(test) -> dict | None:
    """The kernel held against its fresh initialisation (analyse/init_test.py); null without
    one."""
    if test is None:
        return None
    return {"n": test.n, "n_fresh": test.n_fresh, "fresh_reach": test.fresh_reach,
            "share_outside": test.share_outside, "outside_threshold": test.outside_threshold,
            "ks_distance": test.ks_distance, "ks_threshold": test.ks_threshold,
            "alpha": test.alpha, "n_tests": test.n_tests, "judged": test.judged,
            "trained": test.trained}


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


SECTION = Section(name="layers", title=N_("Layers"), template="layers.html.j2", collect=collect,
                  view=view, sidecar=sidecar)
