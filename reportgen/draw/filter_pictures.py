"""What each filter responds to, drawn: per layer one mosaic, a row per filter, its top-k
images across, each cut to the receptive field around the filter's maximum.

Small inputs (28x28 Fashion-MNIST, 32x32 CIFAR) are shown whole, because a 3x3 crop says
nothing: the receptive field is outlined on them instead. Larger inputs are cropped to the
receptive field, widened to at least MIN_CROP_PX of context; the outline marks the field
when the crop is wider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from reportgen.analyse.filter_examples import FilterExample, LayerExamples
from reportgen.draw import images
from reportgen.draw.figures import picture
from reportgen.draw.labelled_grid import GridCell, LabelledGrid, labelled_grid, spans
from reportgen.i18n import _

SMALL_INPUT_PX = 64     # inputs whose longer side is at most this are shown whole
MIN_CROP_PX = 32        # a crop shows at least this much context around the field
TILE_PX = 84            # what a tile's longer side aims for (whole-pixel zoom: 28 px x 3)
OUTLINE_RGB = (230, 60, 30)  # the receptive field's outline: orange-red, clear on grey


def window_size(field: tuple[int, int], input_size: tuple[int, int]) -> tuple[int, int]:
    """(height, width) of what a tile shows of an input: the whole of a small input, else
    the receptive field widened to MIN_CROP_PX, at most the image."""
    if max(input_size) <= SMALL_INPUT_PX:
        return input_size
    return tuple(min(max(f, MIN_CROP_PX), n) for f, n in zip(field, input_size))


def crop_window(box: tuple[int, int, int, int], input_size: tuple[int, int]
                ) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the part of the image shown for a receptive field box:
    window_size around the box's centre, shifted to lie inside the image, so every tile of
    a layer has the same size."""
    height, width = window_size((box[2] - box[0], box[3] - box[1]), input_size)
    top = _placed(box[0], box[2], height, input_size[0])
    left = _placed(box[1], box[3], width, input_size[1])
    return top, left, top + height, left + width


def _placed(start: int, end: int, side: int, n: int) -> int:
    """Where a window of `side` pixels starts to be centred on start..end inside 0..n."""
    return int(np.clip((start + end) // 2 - side // 2, 0, n - side))


def example_tile(image: np.ndarray, example: FilterExample, input_size: tuple[int, int],
                 zoom: int) -> np.ndarray:
    """One example as (h, w, 4) RGBA floats in 0..1: its window of the image (grey drawn as
    gray_r on the whole image's range, RGB as input_image draws it), zoomed, with the
    receptive field outlined where it is smaller than the window."""
    array = images.as_image(np.asarray(image, np.float32))
    top, left, bottom, right = crop_window(example.box, input_size)
    rgba = _coloured(array)[top:bottom, left:right]
    tile = rgba.repeat(zoom, axis=0).repeat(zoom, axis=1)
    box = (example.box[0] - top, example.box[1] - left, example.box[2] - top,
           example.box[3] - left)
    if box[2] - box[0] < bottom - top or box[3] - box[1] < right - left:
        _outline(tile, [v * zoom for v in box], (zoom + 1) // 2)
    return tile


def _coloured(array: np.ndarray) -> np.ndarray:
    """An (H, W, C) image as (H, W, 4) RGBA floats."""
    if array.shape[2] == 3:
        low, high = ((0.0, 1.0) if images.rgb_as_is(array)
                     else (float(array.min()), float(array.max())))
        rgb = (array - low) / ((high - low) or 1.0)
        return np.concatenate([rgb, np.ones(array.shape[:2] + (1,), np.float32)], axis=2)
    levels = images.colour_levels(array[:, :, 0], float(array.min()), float(array.max()))
    return images.colour_table(images.INPUT_CMAP)[levels].astype(np.float32) / 255


def _outline(tile: np.ndarray, box: Sequence[int], width: int) -> None:
    """Draw a ring `width` pixels wide just outside box into the tile (what lies outside
    the tile is left out), so the pixels the filter saw stay visible."""
    h, w = tile.shape[:2]
    top, left, bottom, right = box
    ring = np.zeros((h, w), bool)
    ring[max(top - width, 0):max(bottom + width, 0),
         max(left - width, 0):max(right + width, 0)] = True
    ring[max(top, 0):max(bottom, 0), max(left, 0):max(right, 0)] = False
    tile[ring] = np.array(OUTLINE_RGB + (255,), np.float32) / 255


def filter_mosaic(layer: LayerExamples, examples: Mapping[int, np.ndarray],
                  sources: Sequence[str]) -> LabelledGrid | None:
    """A layer's examples as one mosaic: a row per filter, the top-k images strongest first
    (a missing example is a gap); `examples` maps a sample index to its conformed image.
    None when no image gave any of the filters a finite value."""
    k = max((len(f.examples) for f in layer.filters), default=0)
    if k == 0:
        return None
    window = window_size(layer.geometry.size, layer.input_size)
    zoom = max(1, TILE_PX // max(window))
    h, w = window[0] * zoom, window[1] * zoom
    tiles = np.full((len(layer.filters) * k, h, w, 4), np.nan, np.float32)
    for row, facts in enumerate(layer.filters):
        for col, example in enumerate(facts.examples):
            tiles[row * k + col] = example_tile(examples[example.index], example,
                                                layer.input_size, zoom)
    grid = images.mosaic(tiles, max(k, 1), 1, images.GAP)
    gaps = np.isnan(grid[..., 3])
    rgba = (np.nan_to_num(grid) * 255).round().astype(np.uint8)
    rgba[gaps] = 0
    drawn = picture(rgba, _("The {k} images that drive each of the first {n} filters of "
                            "{layer} most").format(k=k, n=len(layer.filters), layer=layer.layer),
                    max_display=rgba.shape[1])
    cells = [GridCell(col * (w + images.GAP), row * (h + images.GAP), w, h,
                      _("filter {filter}, {source}: {value:.4g} at map row {row}, column "
                        "{col}").format(filter=facts.filter, source=sources[e.index],
                                        value=e.value, row=e.row, col=e.col))
             for row, facts in enumerate(layer.filters) for col, e in enumerate(facts.examples)]
    return labelled_grid(drawn, spans(len(layer.filters), h, images.GAP),
                         spans(k, w, images.GAP), [str(f.filter) for f in layer.filters],
                         [str(r + 1) for r in range(k)], _("filter"), _("strongest first"),
                         cells)
