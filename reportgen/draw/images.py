"""Images as numpy arrays: kernel and feature-map mosaics, coloured with a lookup table.

A mosaic is built in one vectorised step (never a plot per filter) and stays a plain
array until encode.py turns it into PNG bytes, so tests can inspect every pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from reportgen.draw.colourmaps import TABLES

KERNEL_CMAP = "RdBu_r"
FEATURE_CMAP = "viridis"
INPUT_CMAP = "gray"
MAX_MOSAIC_WIDTH = 1200
KERNEL_TILE_PX = 24
FEATURE_TILE_PX = 56
WRAP_COLUMNS = 16
TRANSPOSED_CONVS = {"Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"}


@dataclass(frozen=True)
class KernelGrid:
    """A kernel arranged as a grid of 2-D tiles, and what was cut to fit the caps."""

    tiles: np.ndarray
    n_cols: int
    row_axis: str
    col_axis: str
    n_rows_shown: int
    n_rows_total: int
    n_cols_shown: int
    n_cols_total: int


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


LEVELS = 255  # colour levels; palette entry 255 is the transparent gap colour
TRANSPARENT = 255


@lru_cache(maxsize=None)
def palette(cmap_name: str) -> np.ndarray:
    """255 colours sampled evenly from a colormap's table, then the transparent colour."""
    picks = np.round(np.linspace(0, 255, LEVELS)).astype(int)
    return np.concatenate([colour_table(cmap_name)[picks], np.zeros((1, 4), np.uint8)])


def colourise(values: np.ndarray, vmin: float, vmax: float, cmap_name: str) -> Indexed:
    """Map a 2-D float array to palette colours; NaN (the gaps between tiles) is transparent."""
    span = (vmax - vmin) or 1.0
    unit = np.clip((np.nan_to_num(values, nan=vmin) - vmin) / span, 0.0, 1.0)
    indices = (unit * (LEVELS - 1)).round().astype(np.uint8)
    indices[np.isnan(values)] = TRANSPARENT
    return Indexed(indices, palette(cmap_name))


def tile_scale(tile_h: int, tile_w: int, n_cols: int, target_px: int, gap: int) -> int:
    """Whole-pixel upscaling that makes tiles about target_px big within the width cap."""
    by_target = target_px // max(tile_h, tile_w)
    by_width = (MAX_MOSAIC_WIDTH // max(n_cols, 1) - gap) // max(tile_w, 1)
    return int(max(1, min(by_target, by_width, 16)))


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


def kernel_grid(kernel: np.ndarray, class_name: str, max_filters: int,
                max_channels: int) -> KernelGrid:
    """Arrange a convolution kernel (..., a, b) as tiles: one per (a, b) pair, capped."""
    as_2d = _spatial_2d(kernel)
    filters_last = class_name not in TRANSPOSED_CONVS
    row_cap, col_cap = (max_channels, max_filters) if filters_last else (max_filters, max_channels)
    n_rows_total, n_cols_total = as_2d.shape[2], as_2d.shape[3]
    n_rows, n_cols = min(n_rows_total, row_cap), min(n_cols_total, col_cap)
    cut = as_2d[:, :, :n_rows, :n_cols]
    tiles = cut.transpose(2, 3, 0, 1).reshape(n_rows * n_cols, cut.shape[0], cut.shape[1])
    row_axis, col_axis = _axis_names(class_name, filters_last)
    return KernelGrid(
        tiles=tiles,
        n_cols=min(n_cols, WRAP_COLUMNS) if n_rows == 1 else n_cols,
        row_axis=row_axis, col_axis=col_axis,
        n_rows_shown=n_rows, n_rows_total=n_rows_total,
        n_cols_shown=n_cols, n_cols_total=n_cols_total,
    )


def _spatial_2d(kernel: np.ndarray) -> np.ndarray:
    """A 1-D, 2-D or 3-D convolution kernel as (h, w, a, b); 3-D depth slices sit side by side."""
    if kernel.ndim == 3:
        return kernel[None, :, :, :]
    if kernel.ndim == 5:
        depth, height, width = kernel.shape[:3]
        return kernel.transpose(1, 0, 2, 3, 4).reshape(height, depth * width, *kernel.shape[3:])
    return kernel


def _axis_names(class_name: str, filters_last: bool) -> tuple[str, str]:
    """What the rows and the columns of a kernel mosaic are."""
    if class_name == "DepthwiseConv2D" or class_name == "DepthwiseConv1D":
        return "input channels", "depth multiplier"
    return ("input channels", "filters") if filters_last else ("filters", "input channels")


def kernel_image(grid: KernelGrid, vmax: float) -> Indexed:
    """The RGBA mosaic of a kernel grid on a colour scale symmetric around zero."""
    h, w = grid.tiles.shape[1:]
    scale = tile_scale(h, w, grid.n_cols, KERNEL_TILE_PX, gap=2)
    return colourise(mosaic(grid.tiles, grid.n_cols, scale, gap=2), -vmax, vmax, KERNEL_CMAP)


def colour_filters_image(kernel: np.ndarray, max_filters: int) -> np.ndarray:
    """A first layer's (h, w, 3, filters) kernel as RGB pictures, each filter scaled on its own."""
    filters = kernel[..., :max_filters].transpose(3, 0, 1, 2).astype(np.float32)
    return _rgba_mosaic(filters, KERNEL_TILE_PX)


def feature_image(activation: np.ndarray, max_channels: int) -> Indexed:
    """The channels of an (H, W, C) feature map as a mosaic, each map on its own scale.

    Maps larger than a tile are averaged down by a whole factor (see shrink_factor).
    """
    maps = activation[..., :max_channels].transpose(2, 0, 1).astype(np.float32)
    factor = shrink_factor(maps.shape[1], maps.shape[2])
    if factor > 1:
        n, h, w = maps.shape
        maps = maps[:, : h // factor * factor, : w // factor * factor]
        maps = maps.reshape(n, h // factor, factor, w // factor, factor).mean(axis=(2, 4))
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    unit = np.where(span > 0, (maps - low) / np.where(span > 0, span, 1.0), 0.0)
    n_cols = 8 if len(unit) <= 64 else WRAP_COLUMNS
    n_cols = min(n_cols, len(unit))
    scale = tile_scale(unit.shape[1], unit.shape[2], n_cols, FEATURE_TILE_PX, gap=2)
    return colourise(mosaic(unit, n_cols, scale, gap=2), 0.0, 1.0, FEATURE_CMAP)


def shrink_factor(height: int, width: int) -> int:
    """How much a feature map is averaged down so that its tile stays about 56 pixels."""
    return max(1, math.ceil(max(height, width) / FEATURE_TILE_PX))


def input_image(array: np.ndarray) -> Indexed | np.ndarray:
    """A model input (H, W, C) as the picture the model sees, stretched to its own range."""
    image = array if array.ndim == 3 else array.reshape(_square_side(array.size), -1, 1)
    low, high = float(np.min(image)), float(np.max(image))
    unit = (image - low) / ((high - low) or 1.0)
    scale = tile_scale(unit.shape[0], unit.shape[1], 1, 4 * FEATURE_TILE_PX, gap=0)
    big = mosaic(unit[None], 1, scale, gap=0)
    if big.ndim == 3 and big.shape[2] == 3:
        rgb = (big * 255).round().astype(np.uint8)
        return np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    return colourise(big[..., 0], 0.0, 1.0, INPUT_CMAP)


def _square_side(size: int) -> int:
    """The side of a square image with `size` pixels (a flattened MNIST-like input)."""
    return max(1, int(round(math.sqrt(size))))


def matrix_tiles(matrix: np.ndarray, n_parts: int, max_rows: int, max_cols: int) -> np.ndarray:
    """A 2-D weight matrix split into n_parts column blocks (gates), each capped: (n, rows, cols)."""
    part = matrix.shape[1] // n_parts
    blocks = matrix[:max_rows, : part * n_parts].reshape(min(matrix.shape[0], max_rows),
                                                          n_parts, part)
    return blocks[:, :, :max_cols].transpose(1, 0, 2)


def matrix_image(tiles: np.ndarray, vmax: float, cmap_name: str = KERNEL_CMAP) -> Indexed:
    """Heatmaps of (n, rows, cols) tiles side by side, each cell a few pixels wide."""
    n, rows, cols = tiles.shape
    scale = max(1, min(8, (MAX_MOSAIC_WIDTH // max(n, 1) - 4) // max(cols, 1),
                       600 // max(rows, 1)))
    return colourise(mosaic(tiles, n, scale, gap=4), -vmax, vmax, cmap_name)


def unit_templates(kernel: np.ndarray, image_shape: tuple[int, int, int],
                   max_units: int) -> tuple[Indexed | np.ndarray, float | None]:
    """A Dense kernel's columns reshaped to the image it reads: what each unit looks for.

    One tile per unit; colour images as RGB (each unit on its own range, no shared scale),
    others on one scale symmetric around zero, returned with the mosaic. Images with more
    than 3 channels show the mean over channels.
    """
    height, width, n_channels = image_shape
    units = kernel[:, :max_units].T.reshape(-1, height, width, n_channels).astype(np.float32)
    if n_channels == 3:
        return _rgba_mosaic(units, FEATURE_TILE_PX), None
    tiles = units.mean(axis=3)
    vmax = float(np.abs(tiles).max()) or 1.0
    n_cols = min(len(tiles), WRAP_COLUMNS)
    scale = tile_scale(height, width, n_cols, FEATURE_TILE_PX, gap=2)
    return colourise(mosaic(tiles, n_cols, scale, gap=2), -vmax, vmax, KERNEL_CMAP), vmax


def _rgba_mosaic(signed_rgb: np.ndarray, target_px: int) -> np.ndarray:
    """(N, h, w, 3) signed weights as RGB pictures, zero grey and each picture on its own
    range, in an RGBA mosaic with transparent gaps."""
    reach = np.abs(signed_rgb).max(axis=(1, 2, 3), keepdims=True)
    unit_rgb = 0.5 + signed_rgb / (2 * np.where(reach > 0, reach, 1.0))
    n_cols = min(len(unit_rgb), WRAP_COLUMNS)
    scale = tile_scale(unit_rgb.shape[1], unit_rgb.shape[2], n_cols, target_px, gap=2)
    grid = mosaic(unit_rgb, n_cols, scale, gap=2)
    alpha = np.where(np.isnan(grid[..., :1]), 0, 255)
    rgb = np.nan_to_num(grid) * 255
    return np.concatenate([rgb, alpha], axis=2).round().astype(np.uint8)


def sequence_image(activation: np.ndarray, max_channels: int) -> Indexed:
    """A (time, units) output as a heatmap: time down, units across, on its own range."""
    values = activation[:, :max_channels].astype(np.float32)
    low, high = float(values.min()), float(values.max())
    unit = (values - low) / ((high - low) or 1.0)
    scale = max(1, min(8, MAX_MOSAIC_WIDTH // values.shape[1], 400 // values.shape[0]))
    return colourise(mosaic(unit[None], 1, scale, gap=0), 0.0, 1.0, FEATURE_CMAP)


def colour_bar(cmap_name: str, width: int = 256, height: int = 12) -> Indexed:
    """A horizontal RGBA strip of a colormap, low values on the left."""
    ramp = np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))
    return colourise(ramp, 0.0, 1.0, cmap_name)
