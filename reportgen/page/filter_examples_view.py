"""The view of what the units respond to over a labelled sample: channels dead over the
whole sample, the per-class mean activation of the layer before the output, and the images
that drive each filter most (templates/filter_examples.html.j2)."""

from __future__ import annotations

from reportgen.analyse.activations import SampleActivation
from reportgen.analyse.class_activations import ClassActivationFacts
from reportgen.analyse.data_run import DataFacts
from reportgen.analyse.filter_examples import LayerExamples
from reportgen.analyse.receptive_field import FROM_CONFIG
from reportgen.draw.data_pictures import DataPictures
from reportgen.draw.evaluation_pictures import MAX_CLASS_ROWS
from reportgen.draw.filter_pictures import SMALL_INPUT_PX
from reportgen.draw.labelled_grid import LabelledGrid
from reportgen.page.formatting import fmt_int, fmt_percent

ANCHOR = "responses"
MAX_LISTED_DEAD = 12    # dead channel numbers written out per layer; the JSON has them all


def filter_examples_view(data: DataFacts, pictures: DataPictures, anchor: str = ANCHOR) -> dict:
    """Everything the section shows, as strings and the pictures' plain data."""
    examples = data.filter_examples
    return {
        "anchor": anchor,
        "n_images": fmt_int(data.n_images),
        "channels": [channel_row(s) for s in data.activations if s.channel_means],
        "dead_summary": dead_summary(data),
        "class_activations": (class_activation_view(data.class_activations,
                                                    pictures.class_activations, anchor)
                              if data.class_activations is not None
                              and pictures.class_activations is not None else None),
        "filters_lede": (f"For each of the first {examples.max_filters} filters, the "
                         f"{examples.k} of the {examples.n_samples:,} images on which its "
                         "feature map reaches its highest value, strongest first."
                         + (f" {examples.note}" if examples.note else "")),
        "filter_layers": [layer_view(k, layer, grid, anchor) for k, (layer, grid)
                          in enumerate(zip(examples.layers, pictures.filters))],
    }


def dead_summary(data: DataFacts) -> str:
    """One line on the channels that are zero for every image of the sample."""
    layers = [s for s in data.activations if s.dead_channels]
    if not layers:
        return f"none is dead (zero for all {data.n_images:,} images)"
    n = sum(len(s.dead_channels) for s in layers)
    return (f"{n:,} dead (zero for all {data.n_images:,} images) in {len(layers)} layer"
            f"{'s' if len(layers) != 1 else ''}")


def channel_row(summary: SampleActivation) -> dict:
    """One layer's channels over the whole sample: how many are dead, and which."""
    n = len(summary.channel_means)
    dead = summary.dead_channels
    listed = ", ".join(str(c) for c in dead[:MAX_LISTED_DEAD])
    more = f" and {len(dead) - MAX_LISTED_DEAD} more" if len(dead) > MAX_LISTED_DEAD else ""
    mean_zero = sum(summary.channel_zero_fractions) / n
    return {"layer": summary.layer, "channels": fmt_int(n),
            "dead": f"{len(dead)} ({fmt_percent(len(dead) / n)})",
            "dead_list": listed + more, "zeros": fmt_percent(mean_zero),
            "has_dead": bool(dead)}


def class_activation_view(facts: ClassActivationFacts, grid: LabelledGrid, anchor: str) -> dict:
    """The heatmap and what its rows, columns and colours are."""
    over = " (each channel averaged over its positions)" if facts.spatial_mean else ""
    n_classes = len(facts.class_counts)
    cut = (f" Rows: the first {MAX_CLASS_ROWS} of the {n_classes:,} classes (the JSON has all)."
           if n_classes > MAX_CLASS_ROWS else "")
    return {"id": f"{anchor}-classes", "back": anchor, "grid": grid, "layer": facts.layer,
            "caption": (f"Mean output of {facts.layer}{over} per true class, for the "
                        f"{len(facts.units)} of its {facts.n_units:,} units whose class means "
                        "differ most, grouped by the class that drives each most. Each unit "
                        "(column) is coloured on its own scale, from its lowest class mean "
                        "(dark) to its highest (yellow); hover a cell for the value." + cut)}


def geometry_text(layer: LayerExamples) -> str:
    """How to read a tile: what the outline marks and where that came from."""
    g = layer.geometry
    size = f"{g.size[0]}×{g.size[1]}"
    step = (f"every {g.jump[0]:g} pixels" if g.jump[0] == g.jump[1] != 1 else "every pixel"
            if g.jump == (1, 1) else f"every {g.jump[0]:g}×{g.jump[1]:g} pixels")
    shown = ("whole images (the input is small)" if max(layer.input_size) <= SMALL_INPUT_PX
             else "crops around the receptive field")
    if g.source == FROM_CONFIG:
        return (f"Map {layer.map_size[0]}×{layer.map_size[1]}; receptive field {size} pixels, "
                f"one map position {step} (from the model config). Tiles are "
                f"{shown}; the outline marks the field around the filter's maximum.")
    return (f"Map {layer.map_size[0]}×{layer.map_size[1]}; the receptive field could not be "
            f"read from the model config, so the outline marks the {size} block of input each "
            f"map position stands for (input size / map size); the real field is larger. "
            f"Tiles are {shown}.")


def layer_view(k: int, layer: LayerExamples, grid: LabelledGrid | None, anchor: str) -> dict:
    """One layer's mosaic (None when no value was finite) with its anchor and reading notes."""
    shown = len(layer.filters)
    cut = (f"the first {shown} of its {layer.n_filters:,} filters" if shown < layer.n_filters
           else f"all {shown} filters")
    return {"id": f"{anchor}-filters-{k}", "back": f"{anchor}-filters", "layer": layer.layer,
            "grid": grid, "shown": cut, "geometry": geometry_text(layer)}
