"""The image stage: decide which pictures each layer and input gets, draw and encode them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from reportgen.draw import heatmaps, images, kernels
from reportgen.draw.figures import Axes, Drawn, Figure, Picture, picture
from reportgen.draw.kernel_figures import kernel_figure
from reportgen.draw.scales import tensor_scale, weight_scale
from reportgen.i18n import N_, _, msg
from reportgen.parallel import ordered_map
from reportgen.options import Options
from reportgen.load.snapshot import LayerSnapshot, ModelSnapshot, all_layers

KERNEL_RANKS = (3, 4, 5)
RECURRENT = {"SimpleRNN", "LSTM", "GRU", "Bidirectional"}
GATES = {4: (N_("input"), N_("forget"), N_("cell"), N_("output")),
         3: (N_("update"), N_("reset"), N_("candidate"))}
MAX_MATRIX_ROWS = 256
MAX_MATRIX_COLS = 128   # columns (units, classes) a heatmap draws: 2,048x1,000 would cost 170 kB
MAX_FRESH_MOSAICS = 12  # kernel layers drawn beside their fresh initialisation
MAX_LABELS = 30         # more column names than this cannot be written under a heatmap
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
    return chosen, msg("Feature maps are drawn for {shown} of the {total} convolution, "
                       "pooling, activation and recurrent layers, spread evenly through the "
                       "model (--max-map-layers); statistics cover every layer.",
                       shown=len(chosen), total=len(eligible))


def kernel_layers(layers: Iterable[tuple[str, Iterable[tuple]]]) -> list[str]:
    """The paths, in order, of the layers (given as path and weight shapes) with a kernel:
    the first MAX_FRESH_MOSAICS of them are drawn beside their fresh initialisation."""
    return [path for path, shapes in layers
            if any(len(shape) in KERNEL_RANKS for shape in shapes)]


def layer_figures(snapshot: ModelSnapshot, init: dict[str, list] | None, options: Options,
                  column_labels: Mapping[str, tuple[str, ...]] | None = None
                  ) -> dict[str, list[Figure]]:
    """The weight pictures of every layer that has a natural one, keyed by layer path.

    `column_labels` names the units of layers by path (the class names of the output
    layer, from --labels), for the columns of their heatmaps. Weights may be read on
    demand (h5py datasets, Keras variables): each picture reads only the slice it shows.
    """
    flat = list(all_layers(snapshot.layers))
    labels = column_labels or {}
    # Only kernel mosaics show the initialisation, and only for the first layers that have
    # one: beside every kernel of a ResNet50 they would double the page (the statistics
    # still compare every layer with its initialisation).
    fresh_drawn = set(kernel_layers((layer.path, [w.values.shape for w in layer.weights])
                                    for layer in flat)[:MAX_FRESH_MOSAICS])

    def figures_of(k: int) -> list[Figure]:
        layer = flat[k]
        fresh = init.get(layer.path) if init is not None and layer.path in fresh_drawn else None
        previous = flat[k - 1] if k else None
        drawn = (weight_figure(layer, weight.name, weight.values,
                               fresh[i] if fresh is not None and i < len(fresh) else None,
                               previous, options, labels.get(layer.path, ()))
                 for i, weight in enumerate(layer.weights))
        return [figure for figure in drawn if figure is not None]

    return {layer.path: figures
            for layer, figures in zip(flat, ordered_map(figures_of, range(len(flat))))
            if figures}


def weight_figure(layer: LayerSnapshot, name: str, values, fresh, previous: LayerSnapshot | None,
                  options: Options, unit_names: tuple[str, ...] = ()) -> Figure | None:
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
                                tuple(values.shape), options)
    image_shape = _flattened_image(previous, values.shape[0])
    if layer.class_name == "Dense" and name == "kernel" and image_shape is not None:
        return templates_figure(layer, np.asarray(values[:, :options.max_filters]),
                                image_shape, int(values.shape[1]), options)
    return matrix_figure(layer, name, np.asarray(values[:MAX_MATRIX_ROWS, :MAX_MATRIX_COLS]),
                         tuple(values.shape), options, unit_names)


def recurrent_figure(layer: LayerSnapshot, name: str, values: np.ndarray,
                     full_shape: tuple[int, int], options: Options) -> Figure:
    """A recurrent (or input) kernel as heatmaps, one per gate (`values`: its first rows)."""
    n_gates = _gate_count(layer)
    gate_names = GATES.get(n_gates, ())
    tiles = heatmaps.matrix_tiles(values, n_gates, MAX_MATRIX_ROWS, MAX_MATRIX_COLS)
    scale = tensor_scale(values, full_shape, options.kernel_scale)
    vmax = scale.half_range
    rows = _("units") if "recurrent" in name else _("inputs")
    note = _("rows: {rows}, columns: {columns}").format(rows=rows, columns=_("units"))
    if gate_names:
        note += _("; gates left to right: {gates}").format(
            gates=", ".join(_(gate) for gate in gate_names))
    note += _rows_cut(full_shape[0], full_shape[1] // n_gates)
    image = heatmaps.heatmap_image(tiles, -vmax, vmax, images.KERNEL_CMAP)
    return Figure(_("{name} per gate").format(name=name),
                  (picture(image, _("{layer} {name} heatmap per gate").format(
                      layer=layer.name, name=name), "", Axes(rows, _("units"))),),
                  note, "kernel", -vmax, vmax, scale.note)


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
        cut.append(_("showing {shown} of {total} rows (the first)").format(
            shown=MAX_MATRIX_ROWS, total=n_rows))
    if n_cols > MAX_MATRIX_COLS:
        cut.append(_("showing {shown} of {total} columns (the first)").format(
            shown=MAX_MATRIX_COLS, total=n_cols))
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
    note = _("one tile per unit: its {n} weights as a {height}x{width} image").format(
        n=values.shape[0], height=height, width=width)
    if n_channels > 3:
        note += _(", averaged over the {n} channels").format(n=n_channels)
    if n_channels == 3:
        note += _(", each unit scaled to its own range")
    if shown < n_units:
        note += _("; showing {shown} of {total} units (the first {shown})").format(
            shown=shown, total=n_units)
    alt = _("{layer} kernel: each unit's weights as an image").format(layer=layer.name)
    tiles = kernels.unit_tiles(values, image_shape, options.max_filters)
    if n_channels == 3:
        return Figure(_("kernel as unit templates"),
                      (picture(kernels.unit_templates(tiles, 0.0), alt, ""),), note, "", 0.0, 0.0)
    # The scale of what is drawn: channel means are far smaller than single weights.
    drawn = _("in the templates drawn") if n_channels == 1 else _("in the channel means drawn")
    scale = weight_scale(tiles, options.kernel_scale, drawn)
    vmax = scale.half_range
    return Figure(_("kernel as unit templates"),
                  (picture(kernels.unit_templates(tiles, vmax), alt, ""),), note, "kernel",
                  -vmax, vmax, scale.note)


def matrix_figure(layer: LayerSnapshot, name: str, values: np.ndarray,
                  full_shape: tuple[int, int], options: Options,
                  unit_names: tuple[str, ...] = ()) -> Figure:
    """A 2-D weight matrix (Dense kernel, embeddings) as one heatmap (`values`: the part
    shown); the columns named by unit_names (an output layer's classes, one per unit) when
    at most 30 are shown."""
    tiles = heatmaps.matrix_tiles(values, 1, MAX_MATRIX_ROWS, MAX_MATRIX_COLS)
    scale = tensor_scale(values, full_shape, options.kernel_scale)
    vmax = scale.half_range
    rows, columns = (_("inputs"), _("units")) if name == "kernel" else (_("index"), _("vector"))
    n_cols = tiles.shape[2]
    names = tuple(unit_names[:n_cols]) if len(unit_names) == full_shape[1] else ()
    axes = Axes(rows, columns, column_labels=names if n_cols <= MAX_LABELS else ())
    note = _("rows: {rows}, columns: {columns}").format(rows=rows, columns=columns) \
        + _rows_cut(*full_shape)
    if names and n_cols > MAX_LABELS:
        note += _("; the {n} column names are not written (more than {limit})").format(
            n=n_cols, limit=MAX_LABELS)
    image = heatmaps.heatmap_image(tiles, -vmax, vmax, images.KERNEL_CMAP)
    return Figure(_("{name} as a heatmap").format(name=name),
                  (picture(image, _("{layer} {name} heatmap, rows: {rows}, columns: "
                                    "{columns}").format(layer=layer.name, name=name, rows=rows,
                                                        columns=columns), "", axes),),
                  note, "kernel", -vmax, vmax, scale.note)


def output_picture(layer_name: str, output: np.ndarray, options: Options) -> Picture | None:
    """One layer's output for one input: maps for (H, W, C), a heatmap for (time, units)."""
    if output.ndim == 3 and output.dtype.kind == "f":
        return feature_picture(layer_name, output, options)
    if output.ndim == 2 and output.dtype.kind == "f" and min(output.shape) > 0:
        caption = _("{steps} steps (down) x {units} units (across)").format(
            steps=output.shape[0], units=output.shape[1])
        if output.shape[1] > options.max_channels:
            caption += _(", showing {shown} of {total} units (the first)").format(
                shown=options.max_channels, total=output.shape[1])
        return picture(images.sequence_image(output, options.max_channels),
                       _("output of {layer} over time: {caption}").format(
                           layer=layer_name, caption=caption), caption,
                       Axes(_("steps"), _("units")))
    return None


def zoom_text(height: int, width: int) -> str:
    """How a layer's maps are drawn, for the caption: "drawn 2x (56 px)"."""
    up, down = images.map_zoom(height, width)
    if up > 1:
        return _("drawn {zoom}x ({px} px)").format(zoom=up, px=up * max(height, width))
    if down > 1:
        return _("averaged down {zoom}x ({px} px)").format(zoom=down,
                                                          px=max(height, width) // down)
    return _("drawn 1:1")


def feature_picture(layer_name: str, output: np.ndarray, options: Options,
                    input_name: str = "") -> Picture:
    """The feature maps of one layer's (H, W, C) output for one input: every channel up to
    --max-channels, eight a row (the chapter's 4x8 and 8x8 figures), each map on its own
    scale like the chapter's imshow; rows named by their channels."""
    height, width, n_channels = output.shape
    shown = min(n_channels, options.max_channels)
    caption = _("{n} maps of {height}x{width}").format(n=n_channels, height=height, width=width)
    if shown < n_channels:
        caption = _("showing {shown} of {total} channels (the first {shown}; --max-channels "
                    "sets how many), maps of {height}x{width}").format(
                        shown=shown, total=n_channels, height=height, width=width)
    caption += ", " + zoom_text(height, width)
    columns = images.MAP_COLUMNS
    rows = tuple(f"{k}-{min(k + columns, shown) - 1}" for k in range(0, shown, columns))
    axes = Axes(_("channels"), _("channel in the row"), row_labels=rows,
                column_labels=tuple(f"+{c}" for c in range(min(columns, shown))))
    what = _("feature maps of {layer}").format(layer=layer_name)
    if input_name:
        what = _("feature maps of {layer} for {input}").format(layer=layer_name,
                                                               input=input_name)
    drawn = Drawn("feature maps", layer_name, shown, n_channels,
                  (len(rows), min(columns, shown)), images.FEATURE_CMAP,
                  "each map from its lowest to its highest value", input_name)
    return picture(images.feature_image(output, shown),
                   _("{what}: {caption}, each map on its own scale").format(what=what,
                                                                            caption=caption),
                   caption, axes, max_display=images.GRID_WIDTH, drawn=drawn)


def feature_grids(outputs: list[np.ndarray], layer_name: str, options: Options,
                  input_names: tuple[str, ...] = ()) -> tuple[Picture, ...]:
    """One layer's (H, W, C) outputs, one grid per input (see feature_picture); () when the
    outputs are not feature maps."""
    if not outputs or outputs[0].ndim != 3 or outputs[0].dtype.kind != "f":
        return ()
    names = tuple(input_names) if len(input_names) == len(outputs) else ("",) * len(outputs)
    return tuple(feature_picture(layer_name, output, options, name)
                 for output, name in zip(outputs, names))


def input_picture(name: str, array: np.ndarray) -> Picture | None:
    """The input as the model sees it, when it is an image, its colour scale in the caption."""
    if array.dtype.kind != "f" or array.ndim not in (1, 3) or (array.ndim == 3 and
                                                              array.shape[2] not in (1, 3)):
        return None
    if array.ndim == 1 and round(np.sqrt(array.size)) ** 2 != array.size:
        return None
    image = images.as_image(array)
    low, high = float(np.min(image)), float(np.max(image))
    if image.shape[2] == 3:
        how = (_("RGB as it is (values {low:.3g} to {high:.3g})") if images.rgb_as_is(image)
               else _("RGB stretched from its lowest value {low:.3g} to its highest "
                      "{high:.3g}")).format(low=low, high=high)
    else:
        how = _("{low:.3g} white to {high:.3g} black (gray_r)").format(low=low, high=high)
    return picture(images.input_image(array), _("input image {name}: {how}").format(
        name=name, how=how), f"{name}: {how}")


def colour_bars() -> dict[str, Picture]:
    """The colour bars the report's legends use."""
    return {
        "kernel": picture(images.colour_bar(images.KERNEL_CMAP), _("kernel colour scale")),
        "kernel-book": picture(images.colour_bar(images.FEATURE_CMAP),
                               _("kernel colour scale")),
        "feature": picture(images.colour_bar(images.FEATURE_CMAP),
                           _("feature map colour scale")),
        "input": picture(images.colour_bar(images.INPUT_CMAP), _("input colour scale")),
    }
