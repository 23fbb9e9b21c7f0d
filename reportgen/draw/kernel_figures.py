"""The figure of a convolution kernel: its filters grouped by input channel, trained beside
freshly initialised on one colour scale, the norm of every filter slice when only a few
input channels' filters are drawn, a 1x1 kernel as the matrix it is, and a first layer's
filters as colour pictures."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.draw import heatmaps, images, kernels
from reportgen.draw.figures import Axes, Drawn, Figure, Picture, picture
from reportgen.draw.scales import Scale, tensor_scale
from reportgen.i18n import N_, _
from reportgen.load.snapshot import LayerSnapshot
from reportgen.option_types import BOOK_KERNEL_SCALE
from reportgen.options import Options


def kernel_figure(layer: LayerSnapshot, name: str, values: np.ndarray,
                  fresh: np.ndarray | None, full_shape: tuple[int, ...],
                  options: Options) -> Figure:
    """A convolution kernel as a mosaic of filters grouped by input channel, trained
    beside initial, on one colour scale; a 1x1 kernel as a matrix.

    `values` is the kernel cut to the caps; `full_shape` the whole kernel's, for the note.
    """
    look = kernel_look(options)
    scale = look.fixed or tensor_scale(values, full_shape, look.scale)
    if int(np.prod(full_shape[:-2])) == 1:
        return pointwise_figure(layer, name, values, fresh, full_shape, options, scale)
    grid = kernels.kernel_grid(values, layer.class_name, options.max_filters,
                               options.max_channels, full_shape[-2:])
    vmax = scale.half_range
    drawn = kernel_drawn(layer.name, name, grid, vmax, look.cmap)
    pictures = [picture(kernels.kernel_image(grid, vmax, look.cmap),
                        _("{layer} {name} after training, {layout}").format(
                            layer=layer.name, name=name, layout=_layout(grid)), _("trained"),
                        max_display=kernels.KERNEL_WIDTH, drawn=drawn)]
    if fresh is not None:
        pictures.append(fresh_kernel_picture(layer, name, fresh, full_shape, options, vmax))
    # i18n: the separator of the clauses of a kernel picture's note
    separator = _("; ")
    note = separator.join([_layout(grid)] + _grid_cuts(grid))
    if _needs_norms(grid, values):
        norm_pictures, norm_note = norm_figures(layer, name, values, fresh, full_shape, options)
        pictures += norm_pictures
        note += separator + norm_note
    if len(full_shape) == 4 and full_shape[2] == 3 and layer.class_name == "Conv2D":
        pictures.append(picture(kernels.colour_filters_image(values, options.max_filters),
                                _("{layer} filters as RGB pictures").format(layer=layer.name),
                                _("as colour filters")))
    return Figure(_("{name} as images").format(name=name), tuple(pictures), note, look.bar,
                  -vmax, vmax, scale.note, n_on_bar=1 + (fresh is not None))


# One of each kernel axis (kernels.axis_names gives the axes, plural).
SINGULAR = {"input channels": N_("input channel"), "filters": N_("filter"),
            "depth multiplier": N_("depth multiplier")}


def _layout(grid: kernels.KernelGrid) -> str:
    """How a kernel mosaic is laid out, in words."""
    tile = _(SINGULAR.get(grid.tile_axis, grid.tile_axis))
    if grid.n_groups_total == 1:
        return _("one tile per {tile}").format(tile=tile)
    return _("one group of lines per {group} (wider gaps between groups), one tile per "
             "{tile}, in the same column in every group").format(
                 group=_(SINGULAR.get(grid.group_axis, grid.group_axis)), tile=tile)


def _grid_cuts(grid: kernels.KernelGrid) -> list[str]:
    """What a kernel mosaic's caps left out, in words."""
    cuts = []
    if grid.n_tiles_shown < grid.n_tiles_total:
        cuts.append(cut(grid.tile_axis, grid.n_tiles_shown, grid.n_tiles_total))
    if grid.n_groups_shown < grid.n_groups_total:
        cuts.append(_("the {tiles} of the first {shown} of {total} {groups} are drawn").format(
            tiles=_(grid.tile_axis), shown=grid.n_groups_shown, total=grid.n_groups_total,
            groups=_(grid.group_axis)))
    return cuts


def cut(axis: str, shown: int, total: int) -> str:
    """One axis's cut in words."""
    return _("showing {shown} of {total} {axis} (the first {shown})").format(
        shown=shown, total=total, axis=_(axis))


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
    drawn = [(_("after training"), _("trained norms"), values)]
    if fresh is not None:
        drawn.append((_("freshly initialised"), _("fresh norms"), fresh))
    norms = [kernels.filter_norms(v, row_cap, col_cap) for _when, _caption, v in drawn]
    top = max(float(np.nanmax(n)) for n in norms) or 1.0
    rows, cols = norms[0].shape
    axes = Axes(_(row_axis), _(col_axis))
    pictures = [picture(heatmaps.heatmap_image(n[None], 0.0, top, images.FEATURE_CMAP),
                        _("{layer} {name} {when}: norm of each filter slice, rows: {rows}, "
                          "columns: {columns}").format(layer=layer.name, name=name, when=when,
                                                       rows=_(row_axis), columns=_(col_axis)),
                        _("{caption}, 0 to {top:.3g}").format(caption=caption, top=top), axes)
                for (when, caption, _v), n in zip(drawn, norms)]
    note = _("the norm images give ‖{name}[…, i, o]‖ for every one of the {rows} {row_axis} "
             "(rows) x {cols} {col_axis} (columns), coloured from 0 to {top:.3g} on the "
             "feature-map scale").format(name=name, rows=rows, row_axis=_(row_axis), cols=cols,
                                         col_axis=_(col_axis), top=top)
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
    drawn = [(_("after training"), _("trained"), values)]
    if fresh is not None:
        drawn.append((_("freshly initialised"), _("freshly initialised"), fresh))
    matrices = [kernels.pointwise_matrix(v, row_cap, col_cap) for _when, _caption, v in drawn]
    pictures = tuple(picture(heatmaps.heatmap_image(m[None], -vmax, vmax, images.KERNEL_CMAP),
                             _("{layer} {name} {when}: rows: {rows}, columns: {columns}").format(
                                 layer=layer.name, name=name, when=when, rows=_(row_axis),
                                 columns=_(col_axis)),
                             caption, Axes(_(row_axis), _(col_axis)))
                     for (when, caption, _v), m in zip(drawn, matrices))
    rows, cols = matrices[0].shape
    note = _("a 1x1 kernel is a matrix: rows: {rows}, columns: {columns}").format(
        rows=_(row_axis), columns=_(col_axis))
    note += "".join(_("; ") + cut(axis, shown, total) for axis, shown, total in
                    ((row_axis, rows, full_shape[-2]), (col_axis, cols, full_shape[-1]))
                    if shown < total)
    return Figure(_("{name} as a heatmap").format(name=name), pictures, note, "kernel", -vmax,
                  vmax, scale.note)


def fresh_kernel_picture(layer, name: str, fresh: np.ndarray, full_shape: tuple,
                         options: Options, vmax: float) -> Picture:
    """The freshly initialised twin's mosaic, on the trained kernel's scale."""
    grid = kernels.kernel_grid(fresh, layer.class_name, options.max_filters,
                               options.max_channels, full_shape[-2:])
    cmap = kernel_look(options).cmap
    return picture(kernels.kernel_image(grid, vmax, cmap),
                   _("{layer} {name} freshly initialised, {layout}").format(
                       layer=layer.name, name=name, layout=_layout(grid)),
                   _("freshly initialised"), max_display=kernels.KERNEL_WIDTH,
                   drawn=kernel_drawn(layer.name, name, grid, vmax, cmap, "fresh kernel"))


def kernel_drawn(layer: str, weight: str, grid: kernels.KernelGrid, vmax: float, cmap: str,
                 kind: str = "kernel") -> Drawn:
    """What a kernel mosaic shows: its tiles of all of them, in rows of its layout."""
    zoom, per_line = kernels.kernel_layout(*grid.tiles.shape)
    lines = grid.n_groups_shown * -(-grid.n_tiles_shown // per_line)
    return Drawn(kind, layer, grid.n_groups_shown * grid.n_tiles_shown,
                 grid.n_groups_total * grid.n_tiles_total,
                 (lines, min(per_line, grid.n_tiles_shown)), cmap,
                 f"symmetric, -{vmax:.4g} to {vmax:.4g}", weight)


@dataclass(frozen=True)
class KernelLook:
    """How kernel mosaics are coloured: the --kernel-scale rule, the colour map, and the
    name of the colour bar that explains them."""

    scale: str
    cmap: str
    bar: str
    fixed: Scale | None = None  # a scale the style sets, whatever the weights


def kernel_look(options: Options) -> KernelLook:
    """The default look (diverging colours, zero white, at --kernel-scale), or with --style
    book the chapter's: viridis at exactly -0.5..0.5, its imshow(vmin=-0.5, vmax=0.5)."""
    if options.style == "book":
        return KernelLook(BOOK_KERNEL_SCALE, images.FEATURE_CMAP, "kernel-book",
                          Scale(float(BOOK_KERNEL_SCALE), _("fixed by --style book, as the "
                                                            "textbook's imshow(vmin=-0.5, "
                                                            "vmax=0.5)")))
    return KernelLook(options.kernel_scale, images.KERNEL_CMAP, "kernel")
