"""Grad-CAM pictures: each drawn input as the report draws it, and beside it the same image
with a map over it (turbo, a perceptual rainbow that keeps low and high apart, at 45 %
opacity so the image stays readable under it), plus the colour bar they share.

Pixel arithmetic on whole arrays (no plotting library); the blend is RGB, encoded by
encode.py like every other picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.analyse.cam import CamFacts, CamMapFacts, CamRequest, MapSet
from reportgen.draw import images
from reportgen.draw.figures import Picture, picture
from reportgen.i18n import _

CAM_CMAP = "turbo"
OVERLAY_ALPHA = 0.45


@dataclass(frozen=True)
class CamPictures:
    """One drawn input: the plain image, and an overlay per map of its CamInputFacts, in
    the same order (None where the map is all zero or could not be made: nothing to show)."""

    plain: Picture
    overlays: tuple[Picture | None, ...]


def base_rgb(image: np.ndarray) -> np.ndarray:
    """An (H, W, C) model input as the report draws it (gray_r, or RGB), enlarged by whole
    pixels to about 224 pixels: (H*z, W*z, 3) uint8."""
    drawn = images.input_image(image)
    rgba = drawn.rgba() if isinstance(drawn, images.Indexed) else drawn
    return rgba[..., :3]


def overlay_rgb(image: np.ndarray, unit_map: np.ndarray,
                alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """The input with a (H, W) map in 0..1 blended over it at `alpha`: each map pixel drawn
    over the same input pixel, enlarged alike; (H*z, W*z, 3) uint8."""
    base = base_rgb(image).astype(np.float32)
    zoom = base.shape[0] // unit_map.shape[0]
    levels = images.colour_levels(unit_map.repeat(zoom, axis=0).repeat(zoom, axis=1), 0.0, 1.0)
    colours = images.colour_table(CAM_CMAP)[levels][..., :3].astype(np.float32)
    return np.round((1.0 - alpha) * base + alpha * colours).astype(np.uint8)


def cam_pictures(inputs: Sequence[np.ndarray], facts: CamFacts,
                 requests: Sequence[CamRequest],
                 map_sets: Sequence[MapSet]) -> tuple[CamPictures, ...]:
    """The pictures of every input in `facts`, from the drawn inputs (the rows the requests
    point at) and the maps cam_facts read, in its order: per request, per method."""
    rows_of: dict[int, list[int]] = {}
    for row, request in enumerate(requests):
        rows_of.setdefault(request.input_index, []).append(row)
    drawn = []
    for item in facts.inputs:
        image = inputs[item.index]
        units = [maps.unit[row] for row in rows_of[item.index] for maps in map_sets]
        drawn.append(CamPictures(
            picture(images.input_image(image), _("input {name}").format(name=item.name)),
            tuple(None if m.stats is None else
                  picture(overlay_rgb(image, unit), _alt(m, item.name))
                  for m, unit in zip(item.maps, units))))
    return tuple(drawn)


def _alt(m: CamMapFacts, name: str) -> str:
    """What an overlay shows, for screen readers."""
    label = (f"{m.class_label} ({m.class_index})" if m.class_label
             else _("class {index}").format(index=m.class_index))
    return _("{method} map of {label} over input {name}; most in the {quadrant}").format(
        method=m.method, label=label, name=name, quadrant=_(m.stats.quadrant))


def cam_bar() -> Picture:
    """The maps' colour bar: 0 (no evidence) on the left, each map's own peak on the right."""
    return picture(images.colour_bar(CAM_CMAP), _("Grad-CAM colour scale, from 0 to the map's "
                                                  "peak"))
