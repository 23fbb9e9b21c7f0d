"""Kernel pictures of a convolution in A, in B, and of B − A, each drawn as the single report
draws a kernel (pictures.kernel_figure), retitled for the comparison."""

from __future__ import annotations

import dataclasses

import numpy as np

from reportgen.draw.kernels import KERNEL_GROUPS
from reportgen.draw.pictures import KERNEL_RANKS, Figure, kernel_figure
from reportgen.draw.scales import weight_scale
from reportgen.i18n import _
from reportgen.load.snapshot import LayerSnapshot
from reportgen.options import Options

# B − A on its own scale: the 99.5th percentile of |B − A|, so a few large changes do not
# wash out the rest.
DIFF_SCALE = "auto"


def is_convolution(layer: LayerSnapshot) -> bool:
    """Whether a layer is a convolution (its kernels are drawn)."""
    return "Conv" in layer.class_name


def kernel_figures(a: LayerSnapshot, b: LayerSnapshot, options: Options) -> list[Figure]:
    """For each kernel of a convolution that differs: its figure in A and in B on one colour
    scale (the options' kernel scale, taken over both), and the figure of B − A."""
    figures = []
    for weight_a, weight_b in zip(a.weights, b.weights):
        values_a, values_b = weight_a.values, weight_b.values
        if values_a.dtype.kind != "f" or values_a.ndim not in KERNEL_RANKS or 0 in values_a.shape:
            continue
        cap = max(options.max_filters, options.max_channels)
        shown = (Ellipsis, slice(0, cap), slice(0, cap))
        part_a, part_b = np.asarray(values_a[shown]), np.asarray(values_b[shown])
        if np.array_equal(part_a, part_b, equal_nan=True):
            continue
        figures += kernel_triple(a, weight_a.name, part_a, part_b, tuple(values_a.shape), options)
    return figures


def kernel_triple(layer: LayerSnapshot, name: str, part_a: np.ndarray, part_b: np.ndarray,
                  full_shape: tuple[int, ...], options: Options) -> list[Figure]:
    """The figures of one kernel (cut to the caps) in A, in B and of B − A."""
    shared = weight_scale(np.concatenate([part_a.ravel(), part_b.ravel()]),
                          options.kernel_scale, _("in A and B"))
    fixed = dataclasses.replace(options, kernel_scale=repr(shared.half_range))
    in_a = kernel_figure(layer, name, part_a, None, full_shape, fixed)
    in_b = kernel_figure(layer, name, part_b, None, full_shape, fixed)
    # The difference's mosaic only: the filters of the first input channels, no norm images.
    diff = (part_b - part_a)[..., :KERNEL_GROUPS, :]
    changed = kernel_figure(layer, name, diff, None, full_shape,
                            dataclasses.replace(options, kernel_scale=DIFF_SCALE))
    return [retitled(in_a, layer.path, _("{weight} in A").format(weight=name), "A", shared.note),
            retitled(in_b, layer.path, _("{weight} in B").format(weight=name), "B", shared.note),
            retitled(changed, layer.path, f"{name}: B − A", "B − A", changed.scale_note)]


def retitled(figure: Figure, path: str, title: str, label: str, scale_note: str) -> Figure:
    """The figure with the comparison's title and scale note; its first picture (the kernel
    itself: kernel_figure puts it first) captioned with `label`."""
    first, *rest = figure.pictures
    first = dataclasses.replace(first, caption=label, alt=f"{path} {title}")
    return dataclasses.replace(figure, title=title, pictures=(first, *rest),
                               scale_note=scale_note)
