"""The figure of a convolution kernel: its filters grouped by input channel, trained beside
freshly initialised on one colour scale, the norm of every filter slice when only a few
input channels' filters are drawn, a 1x1 kernel as the matrix it is, and a first layer's
filters as colour pictures."""

from __future__ import annotations

import numpy as np

from reportgen.draw import heatmaps, images, kernels
from reportgen.draw.figures import Axes, Figure, Picture, picture
from reportgen.draw.scales import Scale, tensor_scale
from reportgen.load.snapshot import LayerSnapshot
from reportgen.options import Options


def kernel_figure(layer: LayerSnapshot, name: str, values: np.ndarray,
                  fresh: np.ndarray | None, full_shape: tuple[int, ...],
                  options: Options) -> Figure:
    """A convolution kernel as a mosaic of filters grouped by input channel, trained
    beside initial, on one colour scale; a 1x1 kernel as a matrix.

    `values` is the kernel cut to the caps; `full_shape` the whole kernel's, for the note.
    """
    scale = tensor_scale(values, full_shape, options.kernel_scale)
    if int(np.prod(full_shape[:-2])) == 1:
        return pointwise_figure(layer, name, values, fresh, full_shape, options, scale)
    grid = kernels.kernel_grid(values, layer.class_name, options.max_filters,
                               options.max_channels, full_shape[-2:])
    vmax = scale.half_range
    pictures = [picture(kernels.kernel_image(grid, vmax),
                        f"{layer.name} {name} after training, {_layout(grid)}", "trained")]
    if fresh is not None:
        fresh_grid = kernels.kernel_grid(fresh, layer.class_name, options.max_filters,
                                         options.max_channels, full_shape[-2:])
        pictures.append(picture(kernels.kernel_image(fresh_grid, vmax),
                                f"{layer.name} {name} freshly initialised, {_layout(grid)}",
                                "freshly initialised"))
    note = "; ".join([_layout(grid)] + _grid_cuts(grid))
    if _needs_norms(grid, values):
        norm_pictures, norm_note = norm_figures(layer, name, values, fresh, full_shape, options)
        pictures += norm_pictures
        note += "; " + norm_note
    if len(full_shape) == 4 and full_shape[2] == 3 and layer.class_name == "Conv2D":
        pictures.append(picture(kernels.colour_filters_image(values, options.max_filters),
                                f"{layer.name} filters as RGB pictures", "as colour filters"))
    return Figure(f"{name} as images", tuple(pictures), note, "kernel", -vmax, vmax,
                  scale.note)


def _layout(grid: kernels.KernelGrid) -> str:
    """How a kernel mosaic is laid out, in words."""
    tile = grid.tile_axis.removesuffix("s")
    if grid.n_groups_total == 1:
        return f"one tile per {tile}"
    return (f"one group of lines per {grid.group_axis.removesuffix('s')} (wider gaps "
            f"between groups), one tile per {tile}, in the same column in every group")


def _grid_cuts(grid: kernels.KernelGrid) -> list[str]:
    """What a kernel mosaic's caps left out, in words."""
    cuts = []
    if grid.n_tiles_shown < grid.n_tiles_total:
        cuts.append(cut(grid.tile_axis, grid.n_tiles_shown, grid.n_tiles_total))
    if grid.n_groups_shown < grid.n_groups_total:
        cuts.append(f"the {grid.tile_axis} of the first {grid.n_groups_shown} of "
                    f"{grid.n_groups_total} {grid.group_axis} are drawn")
    return cuts


def cut(axis: str, shown: int, total: int) -> str:
    """One axis's cut in words."""
    return f"showing {shown} of {total} {axis} (the first {shown})"


def _needs_norms(grid: kernels.KernelGrid, values: np.ndarray) -> bool:
    """Whether more input channels were read than the mosaic draws the filters of (the
    norm image then shows them all)."""
    rows_read = min(values.shape[-2], grid.n_groups_total)
    return grid.n_groups_total > 1 and rows_read > grid.n_groups_shown


def norm_figures(layer: LayerSnapshot, name: str, values: np.ndarray, fresh: np.ndarray | None,
                 full_shape: tuple[int, ...], options: Options) -> tuple[list[Picture], str]:
    """The norm of every filter slice, ‖W[:, :, i, o]‖, for all input channels i x filters o
    read, trained and fresh on one scale from 0: what the mosaic of a few channels leaves out."""
    row_axis, col_axis = kernels.axis_names(layer.class_name)
    row_cap, col_cap = kernels.axis_caps(layer.class_name, options.max_filters,
                                         options.max_channels)
    drawn = [("after training", "trained norms", values)]
    if fresh is not None:
        drawn.append(("freshly initialised", "fresh norms", fresh))
    norms = [kernels.filter_norms(v, row_cap, col_cap) for _, _, v in drawn]
    top = max(float(np.nanmax(n)) for n in norms) or 1.0
    rows, cols = norms[0].shape
    axes = Axes(row_axis, col_axis)
    pictures = [picture(heatmaps.heatmap_image(n[None], 0.0, top, images.FEATURE_CMAP),
                        f"{layer.name} {name} {when}: norm of each filter slice, rows: "
                        f"{row_axis}, columns: {col_axis}",
                        f"{caption}, 0 to {top:.3g}", axes)
                for (when, caption, _), n in zip(drawn, norms)]
    note = (f"the norm images give ‖{name}[…, i, o]‖ for every one of the {rows} {row_axis} "
            f"(rows) x {cols} {col_axis} (columns), coloured from 0 to {top:.3g} on the "
            f"feature-map scale")
    for axis, shown, total in ((row_axis, rows, full_shape[-2]), (col_axis, cols, full_shape[-1])):
        if shown < total:
            note += f" ({cut(axis, shown, total)})"
    return pictures, note


def pointwise_figure(layer: LayerSnapshot, name: str, values: np.ndarray,
                     fresh: np.ndarray | None, full_shape: tuple[int, ...], options: Options,
                     scale: Scale) -> Figure:
    """A kernel of spatial size 1 (a 1x1 convolution) as the matrix it is: a heatmap of
    input channels x filters, trained beside fresh."""
    row_axis, col_axis = kernels.axis_names(layer.class_name)
    row_cap, col_cap = kernels.axis_caps(layer.class_name, options.max_filters,
                                         options.max_channels)
    vmax = scale.half_range
    drawn = [("after training", "trained", values)]
    if fresh is not None:
        drawn.append(("freshly initialised", "freshly initialised", fresh))
    matrices = [kernels.pointwise_matrix(v, row_cap, col_cap) for _, _, v in drawn]
    pictures = tuple(picture(heatmaps.heatmap_image(m[None], -vmax, vmax, images.KERNEL_CMAP),
                             f"{layer.name} {name} {when}: rows: {row_axis}, columns: "
                             f"{col_axis}", caption, Axes(row_axis, col_axis))
                     for (when, caption, _), m in zip(drawn, matrices))
    rows, cols = matrices[0].shape
    note = f"a 1x1 kernel is a matrix: rows: {row_axis}, columns: {col_axis}"
    note += "".join(f"; {cut(axis, shown, total)}" for axis, shown, total in
                    ((row_axis, rows, full_shape[-2]), (col_axis, cols, full_shape[-1]))
                    if shown < total)
    return Figure(f"{name} as a heatmap", pictures, note, "kernel", -vmax, vmax, scale.note)
