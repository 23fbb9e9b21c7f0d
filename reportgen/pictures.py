"""The image stage: decide which pictures each layer and input gets, draw and encode them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen import images
from reportgen.encode import data_uri, png_bytes
from reportgen.snapshot import ModelSnapshot

KERNEL_RANKS = (3, 4, 5)


@dataclass(frozen=True)
class Picture:
    """An encoded image ready for an <img>: data URI, pixel size, alt text, caption."""

    uri: str
    width: int
    height: int
    alt: str
    caption: str


@dataclass(frozen=True)
class KernelPictures:
    """The pictures of one convolution kernel: trained, initialised, and as colour filters."""

    weight: str
    trained: Picture
    init: Picture | None
    colour: Picture | None
    vmax: float
    cut_note: str


@dataclass(frozen=True)
class Options:
    """The drawing options: caps and the kernel colour scale (a number, or 'layer')."""

    max_filters: int = 64
    max_channels: int = 64
    kernel_scale: str = "0.5"


def picture(rgba: np.ndarray, alt: str, caption: str = "") -> Picture:
    """Encode one RGBA array into a Picture."""
    return Picture(data_uri(png_bytes(rgba)), int(rgba.shape[1]), int(rgba.shape[0]), alt, caption)


def kernel_pictures(snapshot: ModelSnapshot, init: dict[str, list[np.ndarray]] | None,
                    options: Options) -> dict[str, list[KernelPictures]]:
    """Kernel mosaics of every convolution layer, keyed by layer name."""
    found: dict[str, list[KernelPictures]] = {}
    for layer in snapshot.layers:
        fresh = (init or {}).get(layer.name)
        for k, weight in enumerate(layer.weights):
            if weight.values.ndim not in KERNEL_RANKS:
                continue
            fresh_values = fresh[k] if fresh is not None and k < len(fresh) else None
            found.setdefault(layer.name, []).append(
                _one_kernel(layer.name, layer.class_name, weight.name, weight.values,
                            fresh_values, options))
    return found


def kernel_vmax(values: np.ndarray, kernel_scale: str) -> float:
    """The colour scale's half-range: fixed like the textbook's 0.5, or the layer's own reach."""
    if kernel_scale == "layer":
        finite = values[np.isfinite(values)]
        reach = float(np.abs(finite).max()) if finite.size else 0.0
        return reach or 1.0
    return float(kernel_scale)


def _one_kernel(layer_name: str, class_name: str, weight_name: str, values: np.ndarray,
                fresh: np.ndarray | None, options: Options) -> KernelPictures:
    """Draw the pictures of one kernel tensor."""
    vmax = kernel_vmax(values, options.kernel_scale)
    grid = images.kernel_grid(values, class_name, options.max_filters, options.max_channels)
    layout = f"rows: {grid.row_axis}, columns: {grid.col_axis}"
    if grid.n_rows_shown == 1:
        layout = f"one tile per {grid.col_axis.rstrip('s')}"
    trained = picture(images.kernel_image(grid, vmax),
                      f"{layer_name} {weight_name} after training, {layout}",
                      "trained")
    init = None
    if fresh is not None and fresh.shape == values.shape:
        fresh_grid = images.kernel_grid(fresh, class_name, options.max_filters,
                                        options.max_channels)
        init = picture(images.kernel_image(fresh_grid, vmax),
                       f"{layer_name} {weight_name} freshly initialised, {layout}",
                       "freshly initialised")
    colour = None
    if values.ndim == 4 and values.shape[2] == 3 and class_name == "Conv2D":
        colour = picture(images.colour_filters_image(values, options.max_filters),
                         f"{layer_name} filters as RGB pictures", "as colour filters")
    return KernelPictures(weight_name, trained, init, colour, vmax, _cut_note(grid, layout))


def _cut_note(grid: images.KernelGrid, layout: str) -> str:
    """Say what the mosaic shows, and what the caps left out."""
    parts = [layout]
    for axis, shown, total in ((grid.row_axis, grid.n_rows_shown, grid.n_rows_total),
                               (grid.col_axis, grid.n_cols_shown, grid.n_cols_total)):
        if shown < total:
            parts.append(f"showing {shown} of {total} {axis} (the first {shown})")
    return "; ".join(parts)


def feature_picture(layer_name: str, output: np.ndarray, options: Options) -> Picture | None:
    """The feature-map mosaic of one layer's (H, W, C) output, or None for other shapes."""
    if output.ndim != 3:
        return None
    n_channels = output.shape[-1]
    shown = min(n_channels, options.max_channels)
    caption = f"{n_channels} maps of {output.shape[0]}x{output.shape[1]}"
    if shown < n_channels:
        caption = f"showing {shown} of {n_channels} channels (the first {shown}), " \
                  f"maps of {output.shape[0]}x{output.shape[1]}"
    return picture(images.feature_image(output, options.max_channels),
                   f"feature maps of {layer_name}: {caption}, each map on its own scale",
                   caption)


def input_picture(name: str, array: np.ndarray) -> Picture:
    """The input as the model sees it."""
    return picture(images.input_image(array), f"input image {name}", name)


def colour_bars() -> dict[str, Picture]:
    """The colour bars the report's legends use."""
    return {
        "kernel": picture(images.colour_bar(images.KERNEL_CMAP), "kernel colour scale"),
        "feature": picture(images.colour_bar(images.FEATURE_CMAP), "feature map colour scale"),
    }
