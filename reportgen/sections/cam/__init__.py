"""Where the model looks: Grad-CAM and Grad-CAM++ of each drawn input's top class, and of the
labelled sample's most confident mistakes (their top and their true class), with the border
alert. The gradients are taken during the model run (`measure`); the model is never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.analyse.cam import (CAM_KINDS, METHODS, CamFacts, MapSet, cam_alerts, cam_facts,
                                   cam_maps, cam_requests)
from reportgen.draw.cam_pictures import cam_bar, cam_pictures
from reportgen.i18n import N_, msg
from reportgen.sections.base import GRADIENTS, Evidence, Page, Section
from reportgen.sections.cam.cam_view import cam_section, cam_sidecar

# The most confident mistakes of a labelled sample that Grad-CAM explains (top and true
# class each), after the drawn inputs.
CAM_MISTAKES = 6
KIND_NAMES = frozenset(kind.name for kind in CAM_KINDS)


@dataclass(frozen=True)
class CamItem:
    """An image to explain: its name, the class the model gave it, and its true class when a
    label says it (a mistake of the labelled sample)."""

    name: str
    image: np.ndarray
    top: int
    true: int | None = None


@dataclass(frozen=True)
class CamRun:
    """What the model run measured: the facts of every map, and what draws them (the images,
    the requests, the maps of each method); or why there are none."""

    facts: CamFacts | None
    images: tuple = ()
    requests: tuple = ()
    map_sets: tuple[MapSet, ...] = ()
    reason: str = ""


def prepare(model, evidence: Evidence) -> str | None:
    """The layer Grad-CAM will explain, checked before the heavy work (a bad --cam-layer is
    a one-line refusal); None for a model that is not an image classifier."""
    from reportgen.load.keras.gradients import cam_target

    return cam_target(model, evidence.values.get("cam_layer"))


def top_class(row: np.ndarray) -> int:
    """The class a first-output row predicts (one sigmoid unit: whether it is above 0.5)."""
    row = np.asarray(row)
    return int(row[0] > 0.5) if row.size == 1 else int(np.argmax(row))


def items_of(evidence: Evidence) -> list[CamItem]:
    """The drawn inputs with their top class, then the sample's most confident mistakes."""
    outputs = evidence.outputs
    if outputs is None or len(evidence.model.inputs) > 1:
        return []
    shown = outputs.samples[:evidence.options.max_inputs]
    items = [CamItem(s.name, s.arrays[0], top_class(row))
             for s, row in zip(shown, outputs.scores[0] if outputs.scores else [])]
    data = outputs.data
    mistakes = data.evaluation.mistakes[:CAM_MISTAKES] \
        if data is not None and data.evaluation is not None else ()
    images = outputs.sample.conformed([m.index for m in mistakes]) if mistakes else []
    return items + [CamItem(outputs.sample.sources[m.index], image, m.predicted, m.true)
                    for m, image in zip(mistakes, images)]


def measure(model, evidence: Evidence) -> CamRun:
    """Maps of each item's top class (and of its true class where that differs), both
    methods from one set of gradients."""
    from reportgen.load.keras.gradients import cam_gradients

    layer = evidence.prepared.get("cam")
    items = items_of(evidence)
    if layer is None:
        return CamRun(None, reason=msg("the model is not an image classifier with a "
                                       "convolution whose output is larger than 1 x 1"))
    if not items:
        return CamRun(None, reason=msg("no input was run"))
    # One batch of gradients: images of another size (a model with an open input size)
    # are left out.
    items = [item for item in items if item.image.shape == items[0].image.shape]
    requests = cam_requests([item.top for item in items], [item.true for item in items])
    batch = np.stack([item.image for item in items])
    gradients = cam_gradients(model, layer, batch[[r.input_index for r in requests]],
                              [r.class_index for r in requests])
    map_sets = tuple(cam_maps(gradients.activations, gradients.gradients, method,
                              tuple(batch.shape[1:3])) for method in METHODS)
    chosen = "--cam-layer" if evidence.values.get("cam_layer") else "automatic"
    facts = cam_facts(gradients.layer, chosen, gradients.activations.shape[1:],
                      gradients.score, requests, gradients.scores, map_sets,
                      [item.name for item in items], list(evidence.labels))
    return CamRun(facts, tuple(item.image for item in items), requests, map_sets)


def collect(evidence: Evidence) -> CamFacts | None:
    """The facts of every map the model run made."""
    run = evidence.measured.get("cam")
    return run.facts if run is not None else None


def alerts(facts: CamFacts | None, _evidence: Evidence):
    """The border alert, from the Grad-CAM maps of the top predictions."""
    return cam_alerts(facts) if facts is not None else ()


def pictures(facts: CamFacts | None, evidence: Evidence):
    """Each explained input, plain and with every map over it."""
    if facts is None:
        return ()
    run = evidence.measured["cam"]
    return cam_pictures(list(run.images), facts, run.requests, run.map_sets)


def view(facts: CamFacts | None, drawn, page: Page) -> dict | None:
    """Everything the section shows (None without maps)."""
    if facts is None:
        return None
    return cam_section(facts, drawn, [row for row in page.alert_rows
                                      if row["kind"] in KIND_NAMES], cam_bar())


def sidecar(facts: CamFacts | None, evidence: Evidence) -> dict:
    """The key `cam`: the layer, how it was chosen, the score, and per input and map its
    class, method and statistics (or why there are none)."""
    run = evidence.measured.get("cam")
    return {"cam": cam_sidecar(facts, [a for a in evidence.alerts if a.kind in KIND_NAMES],
                               run.reason if run is not None else "")}


SECTION = Section(name="cam", title=N_("Where the model looks"), template="cam.html.j2",
                  needs=frozenset({GRADIENTS}), kinds=CAM_KINDS, collect=collect,
                  alerts=alerts, pictures=pictures, view=view, sidecar=sidecar,
                  prepare=prepare, measure=measure,
                  measuring=N_("explaining the predictions (Grad-CAM)"))
