"""The view of what the units respond to over a labelled sample: channels dead over the
whole sample, the per-class mean activation of the layer before the output, and the images
that drive each filter most (templates/sections/responses.html.j2)."""

from __future__ import annotations

from reportgen.analyse.activations import SampleActivation
from reportgen.analyse.class_activations import ClassActivationFacts
from reportgen.analyse.data_run import DataFacts
from reportgen.analyse.filter_examples import LayerExamples
from reportgen.analyse.receptive_field import FROM_CONFIG
from reportgen.draw.data_pictures import ResponsePictures
from reportgen.draw.evaluation_pictures import MAX_CLASS_ROWS
from reportgen.draw.filter_pictures import SMALL_INPUT_PX
from reportgen.draw.labelled_grid import LabelledGrid
from reportgen.i18n import _, localised, ngettext
from reportgen.page.formatting import fmt_int, fmt_percent

ANCHOR = "responses"
MAX_LISTED_DEAD = 12    # dead channel numbers written out per layer; the JSON has them all


def filter_examples_view(data: DataFacts, pictures: ResponsePictures,
                         anchor: str = ANCHOR) -> dict:
    """Everything the section shows, as strings and the pictures' plain data."""
    examples = data.filter_examples
    return {
        "anchor": anchor,
        "n_images": fmt_int(data.n_images),
        "lede": ngettext("Over the {n} image of the labelled sample.",
                         "Over all {n} images of the labelled sample.",
                         data.n_images).format(n=fmt_int(data.n_images)),
        "channels": [channel_row(s) for s in data.activations if s.channel_means],
        "dead_summary": dead_summary(data),
        "class_activations": (class_activation_view(data.class_activations,
                                                    pictures.class_activations, anchor)
                              if data.class_activations is not None
                              and pictures.class_activations is not None else None),
        "filters_lede": (_("For each of the first {max_filters} filters, the {k} of the "
                           "{n:,} images on which its feature map reaches its highest value, "
                           "strongest first.").format(max_filters=examples.max_filters,
                                                      k=examples.k, n=examples.n_samples)
                         + (f" {localised(examples.note)}" if examples.note else "")),
        "filter_layers": [layer_view(k, layer, grid, anchor) for k, (layer, grid)
                          in enumerate(zip(examples.layers, pictures.filters))],
    }


def dead_summary(data: DataFacts) -> str:
    """One line on the channels that are zero for every image of the sample."""
    layers = [s for s in data.activations if s.dead_channels]
    if not layers:
        return _("none is dead (zero for all {n:,} images)").format(n=data.n_images)
    n = sum(len(s.dead_channels) for s in layers)
    return ngettext("{n_dead:,} dead (zero for all {n:,} images) in {n_layers} layer",
                    "{n_dead:,} dead (zero for all {n:,} images) in {n_layers} layers",
                    len(layers)).format(n_dead=n, n=data.n_images, n_layers=len(layers))


def channel_row(summary: SampleActivation) -> dict:
    """One layer's channels over the whole sample: how many are dead, and which."""
    n = len(summary.channel_means)
    dead = summary.dead_channels
    listed = ", ".join(str(c) for c in dead[:MAX_LISTED_DEAD])
    more = (_(" and {n} more").format(n=len(dead) - MAX_LISTED_DEAD)
            if len(dead) > MAX_LISTED_DEAD else "")
    mean_zero = sum(summary.channel_zero_fractions) / n
    return {"layer": summary.layer, "channels": fmt_int(n),
            "dead": f"{len(dead)} ({fmt_percent(len(dead) / n)})",
            "dead_list": listed + more, "zeros": fmt_percent(mean_zero),
            "has_dead": bool(dead)}


def class_activation_view(facts: ClassActivationFacts, grid: LabelledGrid, anchor: str) -> dict:
    """The heatmap and what its rows, columns and colours are."""
    over = _(" (each channel averaged over its positions)") if facts.spatial_mean else ""
    n_classes = len(facts.class_counts)
    cut = (" " + _("Rows: the first {shown} of the {n:,} classes (the JSON has all).").format(
        shown=MAX_CLASS_ROWS, n=n_classes) if n_classes > MAX_CLASS_ROWS else "")
    return {"id": f"{anchor}-classes", "back": anchor, "grid": grid, "layer": facts.layer,
            "title": _("Mean activation per class: {layer}").format(layer=facts.layer),
            "caption": _("Mean output of {layer}{over} per true class, for the {shown} of its "
                         "{n:,} units whose class means differ most, grouped by the class that "
                         "drives each most. Each unit (column) is coloured on its own scale, "
                         "from its lowest class mean (dark) to its highest (yellow); hover a "
                         "cell for the value.").format(layer=facts.layer, over=over,
                                                       shown=len(facts.units),
                                                       n=facts.n_units) + cut}


def geometry_text(layer: LayerExamples) -> str:
    """How to read a tile: what the outline marks and where that came from."""
    g = layer.geometry
    size = f"{g.size[0]}×{g.size[1]}"
    step = (_("every {n:g} pixels").format(n=g.jump[0]) if g.jump[0] == g.jump[1] != 1
            else _("every pixel") if g.jump == (1, 1)
            else _("every {rows:g}×{cols:g} pixels").format(rows=g.jump[0], cols=g.jump[1]))
    shown = (_("whole images (the input is small)") if max(layer.input_size) <= SMALL_INPUT_PX
             else _("crops around the receptive field"))
    map_size = f"{layer.map_size[0]}×{layer.map_size[1]}"
    if g.source == FROM_CONFIG:
        return _("Map {map}; receptive field {size} pixels, one map position {step} (from the "
                 "model config). Tiles are {shown}; the outline marks the field around the "
                 "filter's maximum.").format(map=map_size, size=size, step=step, shown=shown)
    return _("Map {map}; the receptive field could not be read from the model config, so the "
             "outline marks the {size} block of input each map position stands for (input size "
             "/ map size); the real field is larger. Tiles are {shown}.").format(
                 map=map_size, size=size, shown=shown)


def layer_view(k: int, layer: LayerExamples, grid: LabelledGrid | None, anchor: str) -> dict:
    """One layer's mosaic (None when no value was finite) with its anchor and reading notes."""
    shown = len(layer.filters)
    cut = (_("the first {shown} of its {n:,} filters").format(shown=shown, n=layer.n_filters)
           if shown < layer.n_filters else
           ngettext("its {n} filter", "all {n} filters", shown).format(n=shown))
    return {"id": f"{anchor}-filters-{k}", "back": f"{anchor}-filters", "layer": layer.layer,
            "grid": grid, "shown": cut, "geometry": geometry_text(layer)}
