"""How the model organises its inputs: the layer before the output over the labelled sample,
projected to 2-D (PCA, or t-SNE with --projection tsne), one dot per input coloured by its
true class with its mistakes ringed, and beside it a cross-validated linear probe's accuracy
and the silhouette by class (analyse/representation.py)."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from reportgen.analyse.representation import RepresentationFacts, representation_facts, scaled
from reportgen.draw.scatter import MARGIN, SIDE, scatter_chart
from reportgen.i18n import N_, _
from reportgen.page.formatting import fmt_int, fmt_percent
from reportgen.sections.base import SAMPLE, Evidence, Page, Section


def collect(evidence: Evidence) -> RepresentationFacts | None:
    """The map of the kept inputs (None without an evaluated sample)."""
    outputs = evidence.outputs
    data = outputs.data if outputs is not None else None
    if data is None or data.representation is None or data.predicted is None:
        return None
    indices, vectors = data.representation
    if len(indices) < 4:
        return None
    n_classes = data.evaluation.n_classes
    names = data.class_names or tuple(str(k) for k in range(n_classes))
    return representation_facts(vectors, outputs.sample.labels[indices],
                                data.predicted[indices], names,
                                evidence.values.get("projection") or "pca")


def pictures(facts: RepresentationFacts | None, _evidence: Evidence):
    if facts is None:
        return None
    xy = scaled(facts.points.xy, SIDE, SIDE, MARGIN)
    return scatter_chart(xy, facts.points.true, facts.points.mistake)


def view(facts: RepresentationFacts | None, chart, page: Page) -> dict | None:
    """The map, its legend and the two separability numbers."""
    if facts is None:
        return None
    probe, sil = facts.probe, facts.silhouette
    layer = page.facts.section("evaluation").class_activations
    method = _("PCA (the two directions of largest variance)") \
        if facts.projection.method == "pca" else _("t-SNE (neighbourhoods kept, distances not)")
    return {
        "lede": _("The output of {layer} for {n} inputs of the labelled sample, placed in 2-D by "
                  "{method}; {drawn} dots drawn, coloured by true class, mistakes ringed.").format(
            layer=layer.layer if layer is not None else "?", n=fmt_int(facts.n_inputs),
            method=method, drawn=fmt_int(len(facts.points.index))),
        "chart": chart,
        "classes": [{"kind": f"s{k % 10}", "name": name}
                    for k, name in enumerate(facts.class_names)],
        "probe": _("{accuracy} ± {std} over {folds} folds of {n} inputs (always the largest "
                   "class: {majority})").format(
            accuracy=fmt_percent(probe.accuracy), std=fmt_percent(probe.accuracy_std),
            folds=probe.folds, n=fmt_int(probe.n_inputs), majority=fmt_percent(
                probe.majority_rate)) if probe.accuracy is not None else _("not measured"),
        "silhouette": f"{sil.value:.3f}" if sil is not None else _("not measured"),
        "mistakes": fmt_int(facts.n_mistakes)}


def sidecar(facts: RepresentationFacts | None, _evidence: Evidence) -> dict:
    """The key `representation`: the projection's method, the probe, the silhouette, and the
    drawn points (index, x, y, true, predicted)."""
    if facts is None:
        return {"representation": None}
    points = facts.points
    return {"representation": {
        "method": facts.projection.method,
        "explained_variance_ratio": facts.projection.explained_variance_ratio,
        "n_inputs": facts.n_inputs, "n_dims": facts.n_dims, "n_mistakes": facts.n_mistakes,
        "probe": asdict(facts.probe),
        "silhouette": asdict(facts.silhouette) if facts.silhouette is not None else None,
        "points": {"index": points.index.tolist(), "x": np.round(points.x, 4).tolist(),
                   "y": np.round(points.y, 4).tolist(), "true": points.true.tolist(),
                   "predicted": points.predicted.tolist()}}}


SECTION = Section(name="representation", title=N_("How the model organises its inputs"),
                  template="representation.html.j2", needs=frozenset({SAMPLE}),
                  after=("evaluation",), collect=collect, pictures=pictures, view=view,
                  sidecar=sidecar)
