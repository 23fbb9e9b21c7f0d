"""What each filter looks for: for the first --max-visualised filters of chosen convolution
layers (the first and the last by default, --visualise-layer to choose), the input that
maximises the filter's mean activation (load/keras/feature_vis.py: a Fourier
parameterisation, seeded jitter, scale and rotation, a fixed number of steps, so the same
file gives the same pictures), beside the same filter of the freshly initialised twin (the
chapter's comparison carried to the input space) and, with --data, its top real examples
and the ratio of the activation reached to the best real one's."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.draw import images
from reportgen.draw.figures import picture
from reportgen.i18n import N_, _
from reportgen.sections.base import GRADIENTS, Evidence, Page, Section

SEED = 0
PREVIEW_SIDE = 28  # a large optimised image is drawn averaged down to this side
SHOWN_SIDE = 74  # the pixels each picture is shown at (examples: half)
# The share of feature_vis's step budget each of the model and its twin gets (a small model
# keeps its 128 steps; ResNet50 gets 16-64).
BUDGET_SHARE = 0.4
EXAMPLE_IMAGES = 256  # sample images searched for each filter's top examples


@dataclass(frozen=True)
class FilterLook:
    """One filter: the activation its optimised input reaches, the twin's, and the best real
    example's (None without --data) with the indices of the top examples."""

    filter: int
    reached: float
    twin_reached: float
    best_real: float | None
    examples: tuple[int, ...]


@dataclass(frozen=True)
class LayerLooks:
    layer: str
    steps: int
    filters: tuple[FilterLook, ...]


@dataclass(frozen=True)
class FeaturesRun:
    """The facts of each layer, and the images: optimised (trained and twin) per layer, and
    the sample images the examples index."""

    layers: tuple[LayerLooks, ...]
    pictures: tuple  # per layer (trained images, twin images)
    examples: np.ndarray | None
    input_range: tuple[float, float]


def prepare(model, evidence: Evidence) -> list[str]:
    """The layers to visualise, checked before any work (a bad --visualise-layer is
    refused in one line)."""
    from reportgen.load.keras.gradients import visualised_layers

    return visualised_layers(model, list(evidence.values.get("visualise_layers") or ()))


def measure(model, evidence: Evidence) -> FeaturesRun | None:
    """Each layer's filters optimised on the model and on its re-initialised twin."""
    from reportgen.load.keras import cascade, feature_vis

    layers = evidence.prepared.get("features") or []
    outputs = evidence.outputs
    if not layers or outputs is None or outputs.error:
        return None
    real = _real_images(outputs)
    low, high = (float(real.min()), float(real.max())) if real is not None else (0.0, 1.0)
    twin = cascade.fully_randomised(model, SEED)
    n = int(evidence.values.get("max_visualised") or 8)
    looks, drawn = [], []
    for layer in layers:
        channels = feature_vis.channel_count(model, layer)
        filters = list(range(min(n, channels)))
        steps = feature_vis.steps_within(model, layer, len(filters),
                                         budget=feature_vis.STEP_BUDGET_MACS * BUDGET_SHARE)
        mine = feature_vis.visualise_filters(model, layer, filters, steps, SEED,
                                             input_range=(low, high))
        theirs = feature_vis.visualise_filters(twin, layer, filters, steps, SEED,
                                               input_range=(low, high))
        top = feature_vis.best_real_activation(model, layer, real, filters) \
            if real is not None and outputs.sample is not None else None
        looks.append(LayerLooks(layer, steps, tuple(
            FilterLook(f, float(mine.activations[k]), float(theirs.activations[k]),
                       float(top.values[k, 0]) if top is not None else None,
                       tuple(int(i) for i in top.indices[k]) if top is not None else ())
            for k, f in enumerate(filters))))
        drawn.append((mine.images, theirs.images))
    return FeaturesRun(tuple(looks), tuple(drawn),
                       real if outputs.sample is not None else None, (low, high))


def _real_images(outputs) -> np.ndarray | None:
    """The sample's first EXAMPLE_IMAGES images, else the inputs run (their range is the
    optimised images' range)."""
    if outputs.sample is not None:
        return outputs.sample.conformed(range(min(EXAMPLE_IMAGES, outputs.sample.n_images)))
    arrays = [s.arrays[0] for s in outputs.samples if s.arrays and s.arrays[0].ndim == 3]
    return np.stack(arrays) if arrays and len({a.shape for a in arrays}) == 1 else None


def collect(evidence: Evidence) -> tuple[LayerLooks, ...] | None:
    run = evidence.measured.get("features")
    return run.layers if run is not None else None


def pictures(facts, evidence: Evidence):
    """Per layer and filter: the optimised input, the twin's, and the top examples."""
    if facts is None:
        return ()
    run: FeaturesRun = evidence.measured["features"]
    drawn = []
    for layer, (mine, theirs) in zip(facts, run.pictures):
        drawn.append(tuple(
            (picture(preview(mine[k], run.input_range), _(
                "filter {f} of {layer}: its preferred input").format(f=look.filter,
                                                                     layer=layer.layer)),
             picture(preview(theirs[k], run.input_range),
                     _("the same filter freshly initialised")),
             tuple(picture(preview(run.examples[i], run.input_range),
                           _("sample image {i}").format(i=i)) for i in look.examples))
            for k, look in enumerate(layer.filters)))
    return tuple(drawn)


def preview(image: np.ndarray, input_range: tuple[float, float]):
    """An image as the section draws it: a small input as the report draws inputs; a large
    one (ResNet's 224 x 224) averaged down to at most PREVIEW_SIDE pixels a side, RGB at its
    input range (an optimised image is texture: 32 of them at full size weighed 4 MB)."""
    side = max(image.shape[:2])
    if side <= PREVIEW_SIDE * 2:
        return images.input_image(image)
    small = images.block_mean(image, -(-side // PREVIEW_SIDE))
    low, high = input_range
    unit = np.clip((small - low) / ((high - low) or 1.0), 0.0, 1.0)
    rgb = np.repeat(unit, 3, axis=2) if unit.shape[2] == 1 else unit[..., :3]
    return (rgb * 255).round().astype(np.uint8)


def view(facts, drawn, _page: Page) -> dict | None:
    if facts is None:
        return None
    return {"layers": [{"layer": layer.layer, "steps": layer.steps,
                        "filters": [_filter_view(look, pics, f"features-{n}-{look.filter}")
                                    for look, pics in zip(layer.filters, layer_pics)]}
                       for n, (layer, layer_pics) in enumerate(zip(facts, drawn))]}


def _filter_view(look: FilterLook, pics, anchor: str) -> dict:
    mine, theirs, examples = pics
    ratio = (f"{look.reached / look.best_real:.2f}×"
             if look.best_real not in (None, 0.0) else "—")
    return {"filter": look.filter, "mine": mine, "theirs": theirs, "examples": list(examples),
            "side": SHOWN_SIDE, "example_side": SHOWN_SIDE // 2, "id": anchor,
            "reached": f"{look.reached:.3g}", "twin": f"{look.twin_reached:.3g}",
            "best_real": "—" if look.best_real is None else f"{look.best_real:.3g}",
            "ratio": ratio}


def sidecar(facts, _evidence: Evidence) -> dict:
    """The key `feature_visualisation`: per layer the steps and per filter the activations."""
    if facts is None:
        return {"feature_visualisation": None}
    return {"feature_visualisation": {"seed": SEED, "layers": [
        {"layer": layer.layer, "steps": layer.steps,
         "filters": [{"filter": f.filter, "reached": f.reached, "twin_reached": f.twin_reached,
                      "best_real": f.best_real, "examples": list(f.examples)}
                     for f in layer.filters]} for layer in facts]}}


SECTION = Section(name="features", title=N_("What each filter looks for"),
                  template="features.html.j2", needs=frozenset({GRADIENTS}),
                  collect=collect, pictures=pictures, view=view, sidecar=sidecar,
                  prepare=prepare, measure=measure,
                  measuring=N_("finding the input each filter looks for"))
