"""What the image stage hands on: encoded pictures with their sizes and axes, and the
figures of a weight tensor with their colour scale."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.draw.encode import data_uri, png_bytes
from reportgen.draw.images import Indexed

DISPLAY_WIDTH = 640     # pictures are shown at most this wide; the PNG keeps its pixels


@dataclass(frozen=True)
class Axes:
    """What a heatmap's or a grid's rows and columns are, with their names when they are
    few enough to write (class names under an output layer's columns, input names)."""

    rows: str
    columns: str
    row_labels: tuple[str, ...] = ()
    column_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Drawn:
    """What a picture shows, for the sidecar's `figures`: its kind ("feature maps",
    "kernel"), the layer (and input or weight), how many items of how many it shows, its
    grid (rows, columns), colour map and scale."""

    kind: str
    layer: str
    shown: int
    total: int
    grid: tuple[int, int]
    colour_map: str
    scale: str
    of: str = ""  # the input (feature maps) or the weight (kernels) it is of


@dataclass(frozen=True)
class Picture:
    """An encoded image ready for an <img>: data URI, pixel size, alt text, caption.

    `display_width` x `display_height` is the size to show it at in the page (the PNG's
    own size, or smaller to fit the screen; 0 when not given: the PNG's size); the full
    size is for the enlarged view. `axes` names a heatmap's or grid's rows and columns.
    """

    uri: str
    width: int
    height: int
    alt: str
    caption: str
    display_width: int = 0
    display_height: int = 0
    axes: Axes | None = None
    drawn: Drawn | None = None


@dataclass(frozen=True)
class Figure:
    """Pictures of one weight tensor with their colour scale (`bar` names the colour bar):
    `low`..`high`, chosen as `scale_note` says."""

    title: str
    pictures: tuple[Picture, ...]
    note: str
    bar: str
    low: float
    high: float
    scale_note: str = ""
    # How many of the first pictures the colour bar explains (0: all of them); the bar is
    # placed right after them, not under pictures in other colours (a kernel's filter norms).
    n_on_bar: int = 0


def picture(image: Indexed | np.ndarray, alt: str, caption: str = "",
            axes: Axes | None = None, max_display: int = DISPLAY_WIDTH,
            drawn: Drawn | None = None) -> Picture:
    """Encode one image (palette or RGBA) into a Picture shown at most max_display wide."""
    height, width = (int(n) for n in image.shape[:2])
    shown = min(width, max_display)
    return Picture(data_uri(png_bytes(image)), width, height, alt, caption,
                   shown, max(1, round(height * shown / width)), axes, drawn)
