"""Grad-CAM and Grad-CAM++ for the drawn inputs, end to end: choose the layer, take the
gradients (load/keras_gradients.py), make the maps and their facts (analyse/cam.py) and
pictures (draw/cam_pictures.py). One section of the report, as a unit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.analyse.cam import (METHODS, CamAlert, CamFacts, cam_alerts, cam_facts,
                                   cam_maps, cam_requests)
from reportgen.draw.cam_pictures import CamPictures, cam_pictures
from reportgen.i18n import msg


@dataclass(frozen=True)
class Explained:
    """The Grad-CAM section's facts, alerts and pictures, or why there is none."""

    facts: CamFacts | None
    alerts: tuple[CamAlert, ...] = ()
    pictures: tuple[CamPictures, ...] = ()
    reason: str = ""


def check_cam_layer(model, cam_layer: str | None) -> str | None:
    """The layer Grad-CAM will explain, checked before the heavy work (a bad --cam-layer is
    a one-line refusal); None for a model that is not an image classifier."""
    from reportgen.load.keras_gradients import cam_target

    return cam_target(model, cam_layer)


@dataclass(frozen=True)
class CamItem:
    """An image to explain: its name, the class the model gave it, and its true class when a
    label says it (a mistake of the labelled sample)."""

    name: str
    image: np.ndarray
    top: int
    true: int | None = None


def top_class(row: np.ndarray) -> int:
    """The class a first-output row predicts (one sigmoid unit: whether it is above 0.5)."""
    row = np.asarray(row)
    return int(row[0] > 0.5) if row.size == 1 else int(np.argmax(row))


def explain(model, layer: str | None, chosen: str, items: list[CamItem],
            labels: list[str]) -> Explained:
    """Maps of each item's top class (and of its true class where that differs), both
    methods from one set of gradients."""
    from reportgen.load.keras_gradients import cam_gradients

    if layer is None:
        return Explained(None, reason=msg("the model is not an image classifier with a "
                                          "convolution whose output is larger than 1 x 1"))
    if not items:
        return Explained(None, reason=msg("no input was run"))
    # One batch of gradients: images of another size (a model with an open input size)
    # are left out.
    items = [item for item in items if item.image.shape == items[0].image.shape]
    images, names = [item.image for item in items], [item.name for item in items]
    requests = cam_requests([item.top for item in items], [item.true for item in items])
    batch = np.stack(images)
    gradients = cam_gradients(model, layer, batch[[r.input_index for r in requests]],
                              [r.class_index for r in requests])
    size = tuple(batch.shape[1:3])
    map_sets = [cam_maps(gradients.activations, gradients.gradients, method, size)
                for method in METHODS]
    facts = cam_facts(gradients.layer, chosen, gradients.activations.shape[1:],
                      gradients.score, requests, gradients.scores, map_sets, names, labels)
    return Explained(facts, cam_alerts(facts), cam_pictures(images, facts, requests, map_sets))
