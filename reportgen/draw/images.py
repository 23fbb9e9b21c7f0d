"""Images as numpy arrays: mosaics of feature maps and inputs, coloured with a lookup table.

A mosaic is built in one vectorised step (never a plot per filter) and stays a plain
array until encode.py turns it into PNG bytes, so tests can inspect every pixel. Kernel
mosaics are in kernels.py, heatmaps in heatmaps.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from reportgen.draw.colourmaps import TABLES

KERNEL_CMAP = "RdBu_r"
FEATURE_CMAP = "viridis"
INPUT_CMAP = "gray_r"       # the chapter's imshow(..., cmap='gray_r'): dark ink on white
N_COLOURS = 256             # entries of a matplotlib colormap's table
MOSAIC_WIDTH = 640          # a mosaic fits the page's column at 1:1, trained beside fresh
GRID_WIDTH = 960            # the widest picture the page shows at 1:1 (its column is 1,122 px)
GAP = 2                     # transparent pixels between tiles
FEATURE_TILE_PX = 56        # the least a feature map's longer side is drawn
INPUT_PX = 224              # what an input image's longer side aims for
MAX_ZOOM = 16
MAP_COLUMNS = 8             # feature maps a row, as the chapter's 4x8 and 8x8 figures


@lru_cache(maxsize=None)
def colour_table(cmap_name: str) -> np.ndarray:
    """A 256x4 uint8 RGBA lookup table of a matplotlib colormap (frozen in colourmaps.py)."""
    rgb = np.frombuffer(bytes.fromhex(TABLES[cmap_name]), dtype=np.uint8).reshape(256, 3)
    return np.concatenate([rgb, np.full((256, 1), 255, np.uint8)], axis=1)


@dataclass(frozen=True)
class Indexed:
    """A colour-mapped image: palette indices and a palette of at most 256 RGBA colours.

    Encoded as an 8-bit palette PNG, lossless and several times smaller than RGBA.
    """

    indices: np.ndarray
    palette: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.indices.shape

    def rgba(self) -> np.ndarray:
        """The image as (H, W, 4) RGBA, for inspection."""
        return self.palette[self.indices]


def colour_levels(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """The table entry matplotlib's imshow(vmin=, vmax=) gives each value: floor(256 u) of
    u = (v - vmin) / (vmax - vmin), below and above the range the end colours.

    The arithmetic follows matplotlib's Normalize, which works in place in the data's float
    type with vmin and vmax as given (a Python float as float64, a numpy float32 as it is),
    so that a value on a boundary between two colours falls on the same side. NaN gets 0
    (its pixel is a gap).
    """
    data = np.asarray(values)
    dtype = np.float64 if data.dtype == np.float64 else np.float32
    low, high = (v if isinstance(v, np.floating) else np.float64(v) for v in (vmin, vmax))
    span = high - low
    if not span > 0:
        return np.zeros(data.shape, np.uint8)  # matplotlib draws all of it as vmin
    unit = ((data.astype(dtype) - low).astype(dtype) / span).astype(dtype)
    levels = np.clip(np.floor(unit * dtype(N_COLOURS)), 0, N_COLOURS - 1)
    return np.nan_to_num(levels, nan=0.0).astype(np.uint8)


def colourise(values: np.ndarray, vmin: float, vmax: float, cmap_name: str) -> Indexed:
    """Map a 2-D float array to a colormap as matplotlib does; NaN (the gaps between tiles)
    is transparent."""
    gaps = np.isnan(values)
    return indexed(colour_levels(values, vmin, vmax), gaps, cmap_name)


def indexed(levels: np.ndarray, gaps: np.ndarray, cmap_name: str) -> Indexed:
    """A palette image of table levels: the colours the image uses, then transparent.

    A palette PNG holds 256 colours. Only a picture that uses all 256 colours of the table
    and has gaps needs one more: then the level most alike its neighbour below shares that
    neighbour's entry (a difference of one step in one channel for matplotlib's tables).
    """
    table = colour_table(cmap_name)
    used = np.bincount(levels[~gaps], minlength=N_COLOURS) > 0
    has_gaps = bool(gaps.any())
    if has_gaps and used.all():
        used[most_alike_level(cmap_name)] = False
    entries = np.flatnonzero(used)
    # Each level goes to the entry at or below it; only a dropped level has none of its own.
    lookup = np.maximum(np.searchsorted(entries, np.arange(N_COLOURS), side="right") - 1, 0)
    indices = lookup[levels].astype(np.uint8)
    palette = table[entries]
    if has_gaps:
        indices[gaps] = len(entries)
        palette = np.concatenate([palette, np.zeros((1, 4), np.uint8)])
    return Indexed(indices, palette)


@lru_cache(maxsize=None)
def most_alike_level(cmap_name: str) -> int:
    """The level (1..255) whose colour differs least from the one below it."""
    table = colour_table(cmap_name)[:, :3].astype(int)
    return int(np.argmin(np.abs(np.diff(table, axis=0)).max(axis=1))) + 1


def fitting(width: int, tile_px: int, gap: int = GAP) -> int:
    """How many tiles of tile_px fit side by side in `width` pixels (at least one)."""
    return max(1, (width + gap) // (tile_px + gap))


def balanced_line(n_tiles: int, tile_px: int, width: int = MOSAIC_WIDTH) -> int:
    """Tiles per line when n_tiles wrap within `width`: the lines as even as they can be
    (32 filters make 2 lines of 16, as the textbook draws them, not 24 and 8)."""
    n_lines = math.ceil(n_tiles / fitting(width, tile_px))
    return max(1, math.ceil(n_tiles / max(n_lines, 1)))


def mosaic(tiles: np.ndarray, n_cols: int, scale: int, gap: int) -> np.ndarray:
    """Tiles (N, h, w[, c]) laid out n_cols wide, upscaled by whole pixels, gaps filled with NaN."""
    n, h, w = tiles.shape[:3]
    extra = tiles.shape[3:]
    n_rows = math.ceil(n / n_cols)
    big_h, big_w = h * scale, w * scale
    framed = np.full((n_rows * n_cols, big_h + gap, big_w + gap) + extra, np.nan, np.float32)
    framed[:n, :big_h, :big_w] = tiles.repeat(scale, axis=1).repeat(scale, axis=2)
    grid = framed.reshape((n_rows, n_cols, big_h + gap, big_w + gap) + extra).swapaxes(1, 2)
    grid = grid.reshape((n_rows * (big_h + gap), n_cols * (big_w + gap)) + extra)
    return grid[: grid.shape[0] - gap, : grid.shape[1] - gap]


def map_zoom(height: int, width: int) -> tuple[int, int]:
    """(up, down): a feature map is drawn `up` times larger or averaged `down` times smaller,
    whole factors that put its longer side between 56 and 111 pixels, whatever the layer
    (a 30x30 map is drawn 2x like a 28x28 one, not 1:1)."""
    side = max(height, width, 1)
    if side < FEATURE_TILE_PX:
        return math.ceil(FEATURE_TILE_PX / side), 1
    return 1, side // FEATURE_TILE_PX


def averaged_down(maps: np.ndarray, down: int) -> np.ndarray:
    """(N, H, W) maps averaged over down x down blocks (the ragged edge is dropped)."""
    if down == 1:
        return maps
    n, h, w = maps.shape
    h_out, w_out = max(h // down, 1), max(w // down, 1)
    dh, dw = min(down, h), min(down, w)
    blocks = maps[:, : h_out * dh, : w_out * dw].reshape(n, h_out, dh, w_out, dw)
    return blocks.mean(axis=(2, 4))


def unit_range(maps: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Maps stretched to 0..1 over `axes` (each map on its own scale, as imshow does);
    a flat map is all 0, the lowest colour."""
    low = maps.min(axis=axes, keepdims=True)
    span = maps.max(axis=axes, keepdims=True) - low
    return np.where(span > 0, (maps - low) / np.where(span > 0, span, 1.0), 0.0)


def feature_image(activation: np.ndarray, max_channels: int) -> Indexed:
    """The channels of an (H, W, C) feature map as the chapter draws them: every channel up
    to max_channels, MAP_COLUMNS a row (32 make 4x8, 64 make 8x8), each map on its own
    scale, every tile 56-111 pixels (see map_zoom)."""
    up, down = map_zoom(*activation.shape[:2])
    maps = activation[..., :max_channels].transpose(2, 0, 1).astype(np.float32)
    unit = unit_range(averaged_down(maps, down), axes=(1, 2))
    return colourise(mosaic(unit, min(len(unit), MAP_COLUMNS), up, GAP), 0.0, 1.0,
                     FEATURE_CMAP)


def input_zoom(height: int, width: int) -> int:
    """Whole-pixel upscaling that brings an input image to about 224 pixels."""
    return int(max(1, min(INPUT_PX // max(height, width, 1), MAX_ZOOM)))


def as_image(array: np.ndarray) -> np.ndarray:
    """A model input as (H, W, C); a flat vector of a square's size (MNIST as 784) as its square."""
    if array.ndim == 3:
        return array
    side = max(1, int(round(math.sqrt(array.size))))
    return array.reshape(side, -1, 1)


def rgb_as_is(image: np.ndarray) -> bool:
    """Whether RGB values are drawn as they are: imshow's 0..1 range (otherwise stretched)."""
    return bool(np.min(image) >= 0.0 and np.max(image) <= 1.0)


def input_image(array: np.ndarray) -> Indexed | np.ndarray:
    """A model input as the chapter draws it: one channel with gray_r stretched from its
    lowest value (white) to its highest (black), as imshow(..., cmap='gray_r') does; RGB as
    RGB, as it is when within 0..1 and stretched to its own range otherwise."""
    image = as_image(array).astype(np.float32)
    zoom = input_zoom(*image.shape[:2])
    if image.shape[2] == 3:
        low, high = (0.0, 1.0) if rgb_as_is(image) else (float(image.min()), float(image.max()))
        unit = (image - low) / ((high - low) or 1.0)
        rgb = (mosaic(unit[None], 1, zoom, gap=0) * 255).round().astype(np.uint8)
        return np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    big = mosaic(image[None, :, :, 0], 1, zoom, gap=0)
    return colourise(big, image.min(), image.max(), INPUT_CMAP)


def sequence_image(activation: np.ndarray, max_channels: int) -> Indexed:
    """A (time, units) output as a heatmap: time down, units across, on its own range."""
    values = activation[:, :max_channels].astype(np.float32)
    low, high = float(values.min()), float(values.max())
    unit = (values - low) / ((high - low) or 1.0)
    scale = max(1, min(8, GRID_WIDTH // values.shape[1], 400 // values.shape[0]))
    return colourise(mosaic(unit[None], 1, scale, gap=0), 0.0, 1.0, FEATURE_CMAP)


def colour_bar(cmap_name: str, width: int = 256, height: int = 12) -> Indexed:
    """A horizontal strip of a colormap, low values on the left."""
    ramp = np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))
    return colourise(ramp, 0.0, 1.0, cmap_name)


def block_mean(image: np.ndarray, step: int) -> np.ndarray:
    """An (H, W[, C]) image averaged over step x step blocks (a ragged edge dropped): the
    cheap way to draw a large input small."""
    h, w = image.shape[0] // step * step, image.shape[1] // step * step
    shape = (h // step, step, w // step, step) + tuple(image.shape[2:])
    return image[:h, :w].reshape(shape).mean(axis=(1, 3))
