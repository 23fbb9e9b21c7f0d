"""Convolution kernels as numpy mosaics: filters grouped by input channel, per-filter norms,
first-layer filters as colour pictures, and a Dense layer's units as the images they read.

Every weight is drawn at least 6 pixels wide, filters are 2 transparent pixels apart and
the groups of lines (one input channel each) 8 pixels apart, and a mosaic wraps within
640 pixels, so that trained and fresh mosaics sit side by side at 1:1. Small mosaics are
drawn larger (up to 24 px a tile) as long as they stay within 480 pixels of height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reportgen.draw.images import (FEATURE_TILE_PX, GAP, GRID_WIDTH, KERNEL_CMAP, Indexed,
                                   balanced_line, colourise, mosaic)
from reportgen.i18n import N_

WEIGHT_PX = 6           # the least a weight is drawn, so that a 3x3 kernel reads as 3x3
KERNEL_TILE_PX = 48     # the most a small kernel's tile is drawn: a 3x3 kernel at 16 px a weight
# A kernel mosaic may take the page's width: 32 filters of 48 px make the chapter's 2x16.
KERNEL_WIDTH = GRID_WIDTH
MOSAIC_HEIGHT = 480     # tiles shrink towards 6 px a weight while a mosaic is taller than this
GROUP_GAP = 8           # between the groups of lines of two input channels
KERNEL_GROUPS = 8       # input channels whose filters are drawn when there are more
TRANSPOSED_CONVS = {"Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"}


@dataclass(frozen=True)
class KernelGrid:
    """A kernel as tiles (groups, tiles per group, h, w): a group per entry of one axis
    (input channels; filters for a transposed convolution), a tile per entry of the other,
    and how many of each the caps left in."""

    tiles: np.ndarray
    group_axis: str
    tile_axis: str
    n_groups_shown: int
    n_groups_total: int
    n_tiles_shown: int
    n_tiles_total: int


def kernel_grid(kernel: np.ndarray, class_name: str, max_filters: int, max_channels: int,
                totals: tuple[int, int] | None = None) -> KernelGrid:
    """Arrange a convolution kernel (..., a, b) as groups of tiles, capped: the filters of
    the first 8 input channels at most (the norm image covers the rest).

    `totals` are the whole kernel's last two sizes when `kernel` is a cut of it. An axis
    of size 1 (one input channel, a depth multiplier of 1) makes one group of the other.
    """
    as_2d = spatial_2d(kernel)
    rows_total, cols_total = totals or as_2d.shape[2:]
    row_axis, col_axis = axis_names(class_name)
    row_cap, col_cap = axis_caps(class_name, max_filters, max_channels)
    if cols_total == 1 and rows_total > 1:
        n_tiles = min(as_2d.shape[2], row_cap)
        tiles = as_2d[:, :, :n_tiles, 0].transpose(2, 0, 1)[None]
        return KernelGrid(tiles, col_axis, row_axis, 1, 1, n_tiles, rows_total)
    n_groups = min(as_2d.shape[2], row_cap, KERNEL_GROUPS)
    n_tiles = min(as_2d.shape[3], col_cap)
    tiles = as_2d[:, :, :n_groups, :n_tiles].transpose(2, 3, 0, 1)
    return KernelGrid(tiles, row_axis, col_axis, n_groups, rows_total, n_tiles, cols_total)


def spatial_2d(kernel: np.ndarray) -> np.ndarray:
    """A 1-D, 2-D or 3-D convolution kernel as (h, w, a, b); 3-D depth slices sit side by side."""
    if kernel.ndim == 3:
        return kernel[None, :, :, :]
    if kernel.ndim == 5:
        depth, height, width = kernel.shape[:3]
        return kernel.transpose(1, 0, 2, 3, 4).reshape(height, depth * width, *kernel.shape[3:])
    return kernel


def axis_names(class_name: str) -> tuple[str, str]:
    """What a kernel's last two axes are (its rows and columns as a matrix)."""
    if class_name in ("DepthwiseConv2D", "DepthwiseConv1D"):
        return N_("input channels"), N_("depth multiplier")
    return (N_("filters"), N_("input channels")) if class_name in TRANSPOSED_CONVS \
        else (N_("input channels"), N_("filters"))


def axis_caps(class_name: str, max_filters: int, max_channels: int) -> tuple[int, int]:
    """The caps of a kernel's last two axes (--max-channels, --max-filters, in their order)."""
    if class_name in TRANSPOSED_CONVS:
        return max_filters, max_channels
    return max_channels, max_filters


def kernel_zoom(height: int, width: int) -> int:
    """The most pixels per weight: a small kernel's tile about 48 px, never under 6 px a
    weight, never wider than a mosaic."""
    zoom = max(WEIGHT_PX, KERNEL_TILE_PX // max(height, width, 1))
    return max(1, min(zoom, KERNEL_WIDTH // max(width, 1)))


def kernel_layout(n_groups: int, n_tiles: int, height: int, width: int) -> tuple[int, int]:
    """(pixels per weight, tiles per line): the largest zoom, from kernel_zoom down to 6 px
    a weight, at which the mosaic stays within 480 px of height (at 6 px it may not)."""
    top = kernel_zoom(height, width)
    for zoom in range(top, min(top, WEIGHT_PX) - 1, -1):
        per_line = balanced_line(n_tiles, width * zoom, KERNEL_WIDTH)
        lines = math.ceil(n_tiles / per_line)
        mosaic_height = n_groups * (lines * (height * zoom + GAP) - GAP) \
            + (n_groups - 1) * GROUP_GAP
        if mosaic_height <= MOSAIC_HEIGHT:
            break
    return zoom, per_line


def grouped_mosaic(tiles: np.ndarray, per_line: int, zoom: int) -> np.ndarray:
    """Tiles (groups, n, h, w) as lines of per_line tiles, each group's lines together:
    2 px (NaN) between tiles and lines, 8 px between groups. Tile k of every group sits in
    the same column, so the groups compare filter by filter."""
    n_groups, n, h, w = tiles.shape
    n_lines = math.ceil(n / per_line)
    padded = np.full((n_groups, n_lines * per_line, h, w), np.nan, np.float32)
    padded[:, :n] = tiles
    lines = mosaic(padded.reshape(-1, h, w), per_line, zoom, GAP)
    # Put back the gap mosaic() trims after the last line, then widen each group's own.
    lines = np.concatenate([lines, np.full((GAP, lines.shape[1]), np.nan, np.float32)])
    groups = lines.reshape(n_groups, -1, lines.shape[1])
    wider = np.full((n_groups, GROUP_GAP - GAP, lines.shape[1]), np.nan, np.float32)
    stacked = np.concatenate([groups, wider], axis=1).reshape(-1, lines.shape[1])
    return stacked[: stacked.shape[0] - GROUP_GAP]


def kernel_image(grid: KernelGrid, vmax: float, cmap: str = KERNEL_CMAP) -> Indexed:
    """The mosaic of a kernel grid on a colour scale symmetric around zero."""
    zoom, per_line = kernel_layout(*grid.tiles.shape)
    return colourise(grouped_mosaic(grid.tiles, per_line, zoom), -vmax, vmax, cmap)


def filter_norms(kernel: np.ndarray, max_rows: int, max_cols: int) -> np.ndarray:
    """The norm of every filter slice, ‖W[..., i, o]‖ over its spatial weights, as a
    (rows, columns) matrix of the kernel's last two axes, capped."""
    cut = spatial_2d(kernel)[:, :, :max_rows, :max_cols].astype(np.float64)
    return np.sqrt(np.square(cut).sum(axis=(0, 1)))


def pointwise_matrix(kernel: np.ndarray, max_rows: int, max_cols: int) -> np.ndarray:
    """A kernel of spatial size 1 (a 1x1 convolution) as the matrix it is: (rows, columns)."""
    return spatial_2d(kernel)[0, 0, :max_rows, :max_cols]


def colour_filters_image(kernel: np.ndarray, max_filters: int) -> np.ndarray:
    """A first layer's (h, w, 3, filters) kernel as RGB pictures, each filter scaled on its own."""
    filters = kernel[..., :max_filters].transpose(3, 0, 1, 2).astype(np.float32)
    zoom, per_line = kernel_layout(1, *filters.shape[:3])
    return rgba_mosaic(filters, zoom, per_line)


def unit_tiles(kernel: np.ndarray, image_shape: tuple[int, int, int],
               max_units: int) -> np.ndarray:
    """A Dense kernel's columns reshaped to the image it reads: what each unit looks for.

    (units, h, w, 3) for a colour image, else (units, h, w): the mean over the channels of
    an image with more than one.
    """
    height, width, n_channels = image_shape
    units = kernel[:, :max_units].T.reshape(-1, height, width, n_channels).astype(np.float32)
    return units if n_channels == 3 else units.mean(axis=3)


def unit_templates(tiles: np.ndarray, vmax: float) -> Indexed | np.ndarray:
    """Unit tiles as a mosaic, each about 56 px: colour tiles as RGB (each on its own
    range, no shared scale), others on the symmetric scale -vmax..vmax."""
    height, width = tiles.shape[1:3]
    zoom = math.ceil(FEATURE_TILE_PX / max(height, width))
    per_line = balanced_line(len(tiles), width * zoom)
    if tiles.ndim == 4:
        return rgba_mosaic(tiles, zoom, per_line)
    return colourise(mosaic(tiles, per_line, zoom, GAP), -vmax, vmax, KERNEL_CMAP)


def rgba_mosaic(signed_rgb: np.ndarray, zoom: int, per_line: int) -> np.ndarray:
    """(N, h, w, 3) signed weights as RGB pictures, zero grey and each picture on its own
    range, in an RGBA mosaic of per_line tiles a line with transparent gaps."""
    reach = np.abs(signed_rgb).max(axis=(1, 2, 3), keepdims=True)
    unit_rgb = 0.5 + signed_rgb / (2 * np.where(reach > 0, reach, 1.0))
    grid = mosaic(unit_rgb, per_line, zoom, GAP)
    alpha = np.where(np.isnan(grid[..., :1]), 0, 255)
    rgb = np.nan_to_num(grid) * 255
    return np.concatenate([rgb, alpha], axis=2).round().astype(np.uint8)
