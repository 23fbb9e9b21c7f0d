"""The image stage: decide which pictures each layer and input gets, draw and encode them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from reportgen.draw import images
from reportgen.draw.encode import data_uri, png_bytes
from reportgen.parallel import ordered_map
from reportgen.options import Options
from reportgen.load.snapshot import LayerSnapshot, ModelSnapshot, all_layers

KERNEL_RANKS = (3, 4, 5)
RECURRENT = {"SimpleRNN", "LSTM", "GRU", "Bidirectional"}
GATES = {4: ("input", "forget", "cell", "output"), 3: ("update", "reset", "candidate")}
MAX_MATRIX_ROWS = 256


@dataclass(frozen=True)
class Picture:
    """An encoded image ready for an <img>: data URI, pixel size, alt text, caption."""

    uri: str
    width: int
    height: int
    alt: str
    caption: str


@dataclass(frozen=True)
class Figure:
    """Pictures of one weight tensor with their colour scale (`bar` names the colour bar)."""

    title: str
    pictures: tuple[Picture, ...]
    note: str
    bar: str
    low: float
    high: float


MAP_CLASSES = ("Conv", "Pool", "ReLU", "Activation", "ELU", "LSTM", "GRU", "RNN",
               "Bidirectional", "Embedding")


def map_layers(layers: list[tuple[str, str]], cap: int) -> tuple[list[str], str]:
    """Which layers' outputs get a picture: convolution, pooling, activation and recurrent
    layers, at most `cap` of them spread evenly through the model; and a note on any cut."""
    eligible = [name for name, class_name in layers
                if any(part in class_name for part in MAP_CLASSES)]
    if len(eligible) <= cap:
        return eligible, ""
    picks = sorted(set(np.linspace(0, len(eligible) - 1, cap).round().astype(int)))
    chosen = [eligible[k] for k in picks]
    return chosen, (f"Feature maps are drawn for {len(chosen)} of the {len(eligible)} "
                    f"convolution, pooling, activation and recurrent layers, spread evenly "
                    f"through the model (--max-map-layers); statistics cover every layer.")


def picture(image: images.Indexed | np.ndarray, alt: str, caption: str = "") -> Picture:
    """Encode one image (palette or RGBA) into a Picture."""
    height, width = image.shape[:2]
    return Picture(data_uri(png_bytes(image)), int(width), int(height), alt, caption)


def layer_figures(snapshot: ModelSnapshot, init: dict[str, list] | None,
                  options: Options) -> dict[str, list[Figure]]:
    """The weight pictures of every layer that has a natural one, keyed by layer path.

    Weights may be read on demand (h5py datasets, Keras variables): each picture reads only
    the slice it shows.
    """
    flat = list(all_layers(snapshot.layers))

    def figures_of(k: int) -> list[Figure]:
        layer = flat[k]
        # Only kernel mosaics show the initialisation: rebuild no other layer for pictures.
        has_kernel = any(len(w.values.shape) in KERNEL_RANKS for w in layer.weights)
        fresh = init.get(layer.path) if init is not None and has_kernel else None
        previous = flat[k - 1] if k else None
        drawn = (weight_figure(layer, weight.name, weight.values,
                               fresh[i] if fresh is not None and i < len(fresh) else None,
                               previous, options)
                 for i, weight in enumerate(layer.weights))
        return [figure for figure in drawn if figure is not None]

    return {layer.path: figures
            for layer, figures in zip(flat, ordered_map(figures_of, range(len(flat))))
            if figures}


def weight_figure(layer: LayerSnapshot, name: str, values, fresh, previous: LayerSnapshot | None,
                  options: Options) -> Figure | None:
    """The picture that reads naturally for this kind of weight, or None."""
    if values.dtype.kind != "f" or 0 in values.shape:
        return None
    if values.ndim in KERNEL_RANKS:
        cap = max(options.max_filters, options.max_channels)
        shown = (Ellipsis, slice(0, cap), slice(0, cap))
        return kernel_figure(layer, name, np.asarray(values[shown]),
                             np.asarray(fresh[shown]) if fresh is not None
                             and fresh.shape == values.shape else None,
                             tuple(values.shape), options)
    if values.ndim != 2:
        return None
    if layer.class_name in RECURRENT and name.endswith("kernel"):
        return recurrent_figure(layer, name, np.asarray(values[:MAX_MATRIX_ROWS]),
                                tuple(values.shape))
    image_shape = _flattened_image(previous, values.shape[0])
    if layer.class_name == "Dense" and name == "kernel" and image_shape is not None:
        return templates_figure(layer, np.asarray(values[:, :options.max_filters]),
                                image_shape, int(values.shape[1]), options)
    return matrix_figure(layer, name, np.asarray(values[:MAX_MATRIX_ROWS, :MAX_MATRIX_ROWS]),
                         tuple(values.shape))


def kernel_vmax(values: np.ndarray, kernel_scale: str) -> float:
    """The colour scale's half-range: fixed like the textbook's 0.5, or the reach of the
    weights shown."""
    if kernel_scale == "layer":
        return own_reach(values)
    return float(kernel_scale)


def own_reach(values: np.ndarray) -> float:
    """The largest absolute finite value, for a scale symmetric around zero."""
    finite = values[np.isfinite(values)]
    return float(np.abs(finite).max()) if finite.size and np.abs(finite).max() > 0 else 1.0


def kernel_figure(layer: LayerSnapshot, name: str, values: np.ndarray,
                  fresh: np.ndarray | None, full_shape: tuple[int, ...],
                  options: Options) -> Figure:
    """A convolution kernel as a mosaic of filters x input channels, trained beside initial.

    `values` is the kernel cut to the caps; `full_shape` the whole kernel's, for the note.
    """
    vmax = kernel_vmax(values, options.kernel_scale)
    grid = images.kernel_grid(values, layer.class_name, options.max_filters, options.max_channels)
    grid = dataclasses.replace(grid, n_rows_total=full_shape[-2], n_cols_total=full_shape[-1])
    layout = f"rows: {grid.row_axis}, columns: {grid.col_axis}"
    if grid.n_rows_shown == 1:
        layout = f"one tile per {grid.col_axis.rstrip('s')}"
    pictures = [picture(images.kernel_image(grid, vmax),
                        f"{layer.name} {name} after training, {layout}", "trained")]
    if fresh is not None:
        fresh_grid = images.kernel_grid(fresh, layer.class_name, options.max_filters,
                                        options.max_channels)
        pictures.append(picture(images.kernel_image(fresh_grid, vmax),
                                f"{layer.name} {name} freshly initialised, {layout}",
                                "freshly initialised"))
    if len(full_shape) == 4 and full_shape[2] == 3 and layer.class_name == "Conv2D":
        pictures.append(picture(images.colour_filters_image(values, options.max_filters),
                                f"{layer.name} filters as RGB pictures", "as colour filters"))
    return Figure(f"{name} as images", tuple(pictures), _cut_note(grid, layout), "kernel",
                  -vmax, vmax)


def _cut_note(grid: images.KernelGrid, layout: str) -> str:
    """Say what the mosaic shows, and what the caps left out."""
    parts = [layout]
    for axis, shown, total in ((grid.row_axis, grid.n_rows_shown, grid.n_rows_total),
                               (grid.col_axis, grid.n_cols_shown, grid.n_cols_total)):
        if shown < total:
            parts.append(f"showing {shown} of {total} {axis} (the first {shown})")
    return "; ".join(parts)


def recurrent_figure(layer: LayerSnapshot, name: str, values: np.ndarray,
                     full_shape: tuple[int, int]) -> Figure:
    """A recurrent (or input) kernel as heatmaps, one per gate (`values`: its first rows)."""
    n_gates = _gate_count(layer)
    gate_names = GATES.get(n_gates, ())
    tiles = images.matrix_tiles(values, n_gates, MAX_MATRIX_ROWS, MAX_MATRIX_ROWS)
    vmax = own_reach(values)
    note = f"rows: {'units' if 'recurrent' in name else 'inputs'}, columns: units"
    if gate_names:
        note += "; gates left to right: " + ", ".join(gate_names)
    note += _rows_cut(full_shape[0], full_shape[1] // n_gates)
    return Figure(f"{name} per gate", (picture(images.matrix_image(tiles, vmax),
                                               f"{layer.name} {name} heatmap per gate", ""),),
                  note, "kernel", -vmax, vmax)


def _gate_count(layer: LayerSnapshot) -> int:
    """How many gates a recurrent layer's kernels hold: columns over units."""
    for weight in layer.weights:
        if weight.name.endswith("recurrent_kernel") and weight.values.shape[0]:
            return max(1, weight.values.shape[1] // weight.values.shape[0])
    return 1


def _rows_cut(n_rows: int, n_cols: int) -> str:
    """The cut a heatmap's row and column caps made, in words."""
    cut = []
    if n_rows > MAX_MATRIX_ROWS:
        cut.append(f"showing {MAX_MATRIX_ROWS} of {n_rows} rows (the first)")
    if n_cols > MAX_MATRIX_ROWS:
        cut.append(f"showing {MAX_MATRIX_ROWS} of {n_cols} columns (the first)")
    return "".join(f"; {c}" for c in cut)


def _flattened_image(previous: LayerSnapshot | None, n_inputs: int) -> tuple[int, int, int] | None:
    """The image a Dense layer reads when the layer before it flattens one."""
    if previous is None or previous.class_name != "Flatten" or not previous.input_shape:
        return None
    shape = previous.input_shape
    if len(shape) == 2:
        shape = shape + (1,)
    if len(shape) != 3 or None in shape or int(np.prod(shape)) != n_inputs:
        return None
    return int(shape[0]), int(shape[1]), int(shape[2])


def templates_figure(layer: LayerSnapshot, values: np.ndarray,
                     image_shape: tuple[int, int, int], n_units: int,
                     options: Options) -> Figure:
    """Each unit's weights shown as the image it reads: what each neuron looks for.

    `values` holds the first units' columns only; `n_units` is how many there are.
    """
    shown = min(n_units, options.max_filters)
    height, width, n_channels = image_shape
    note = f"one tile per unit: its {values.shape[0]} weights as a {height}x{width} image"
    if n_channels > 3:
        note += f", averaged over the {n_channels} channels"
    if n_channels == 3:
        note += ", each unit scaled to its own range"
    if shown < n_units:
        note += f"; showing {shown} of {n_units} units (the first {shown})"
    image, vmax = images.unit_templates(values, image_shape, options.max_filters)
    return Figure("kernel as unit templates",
                  (picture(image, f"{layer.name} kernel: each unit's weights as an image", ""),),
                  note, "kernel" if vmax else "", -(vmax or 0.0), vmax or 0.0)


def matrix_figure(layer: LayerSnapshot, name: str, values: np.ndarray,
                  full_shape: tuple[int, int]) -> Figure:
    """A 2-D weight matrix (Dense kernel, embeddings) as one heatmap (`values`: the part shown)."""
    tiles = images.matrix_tiles(values, 1, MAX_MATRIX_ROWS, MAX_MATRIX_ROWS)
    vmax = own_reach(values)
    note = "rows: inputs, columns: units" if name == "kernel" else "rows: index, columns: vector"
    note += _rows_cut(*full_shape)
    return Figure(f"{name} as a heatmap",
                  (picture(images.matrix_image(tiles, vmax), f"{layer.name} {name} heatmap", ""),),
                  note, "kernel", -vmax, vmax)


def output_picture(layer_name: str, output: np.ndarray, options: Options) -> Picture | None:
    """One layer's output for one input: maps for (H, W, C), a heatmap for (time, units)."""
    if output.ndim == 3 and output.dtype.kind == "f":
        return feature_picture(layer_name, output, options)
    if output.ndim == 2 and output.dtype.kind == "f" and min(output.shape) > 0:
        caption = f"{output.shape[0]} steps (down) x {output.shape[1]} units (across)"
        if output.shape[1] > options.max_channels:
            caption += f", showing {options.max_channels} of {output.shape[1]} units (the first)"
        return picture(images.sequence_image(output, options.max_channels),
                       f"output of {layer_name} over time: {caption}", caption)
    return None


def feature_picture(layer_name: str, output: np.ndarray, options: Options) -> Picture:
    """The feature-map mosaic of one layer's (H, W, C) output."""
    n_channels = output.shape[-1]
    shown = min(n_channels, options.max_channels)
    caption = f"{n_channels} maps of {output.shape[0]}x{output.shape[1]}"
    if shown < n_channels:
        caption = f"showing {shown} of {n_channels} channels (the first {shown}), " \
                  f"maps of {output.shape[0]}x{output.shape[1]}"
    factor = images.shrink_factor(output.shape[0], output.shape[1])
    if factor > 1:
        caption += f", each averaged down {factor}x"
    return picture(images.feature_image(output, options.max_channels),
                   f"feature maps of {layer_name}: {caption}, each map on its own scale",
                   caption)


def input_picture(name: str, array: np.ndarray) -> Picture | None:
    """The input as the model sees it, when it is an image."""
    if array.dtype.kind != "f" or array.ndim not in (1, 3) or (array.ndim == 3 and
                                                              array.shape[2] not in (1, 3)):
        return None
    if array.ndim == 1 and round(np.sqrt(array.size)) ** 2 != array.size:
        return None
    return picture(images.input_image(array), f"input image {name}", name)


def colour_bars() -> dict[str, Picture]:
    """The colour bars the report's legends use."""
    return {
        "kernel": picture(images.colour_bar(images.KERNEL_CMAP), "kernel colour scale"),
        "feature": picture(images.colour_bar(images.FEATURE_CMAP), "feature map colour scale"),
    }
