"""With --style book, the textbook chapter (혼자 공부하는 머신러닝+딥러닝, 8-3) step by step:
each step's code, where the report shows its result, this model's number, and the number
the chapter's notebook printed for its own model, for the reader to set side by side."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.analyse.facts import LayerFacts, all_layer_facts
from reportgen.i18n import N_, _
from reportgen.page.formatting import fmt_number, fmt_shape
from reportgen.sections.base import WEIGHTS, Evidence, Page, Section

# What the chapter printed for its model (best-cnn-model.keras; ../shared/data/README.md):
# its 8 layers, the first convolution's weight shapes, mean and std, a fresh twin's std, and
# the shapes of the two feature-map outputs it draws.
BOOK = {"layers": "8", "shapes": "(3, 3, 1, 32), (32,)", "mean_std": "-0.01438, 0.2335",
        "fresh_std": "0.0846", "histogram": "288", "filters": "2 x 16",
        "maps": "(1, 28, 28, 32), (1, 14, 14, 64)"}
CONVOLUTIONS = ("Conv2D",)
FILTERS_STEP = 4  # the index of the filters' step in steps()


@dataclass(frozen=True)
class ChapterFacts:
    """The model's numbers for the chapter's steps: its top-level layers, its first two 2-D
    convolutions (the chapter's conv and conv_1) with their paths and output shapes."""

    n_layers: int
    convs: tuple[LayerFacts, ...]


def collect(evidence: Evidence) -> ChapterFacts | None:
    """The chapter's facts, with --style book only."""
    if evidence.options.style != "book":
        return None
    layers = evidence.facts["layers"]
    convs = tuple(layer for layer in all_layer_facts(layers)
                  if layer.class_name in CONVOLUTIONS and layer.weights)[:2]
    return ChapterFacts(len(layers), convs)


def steps(facts: ChapterFacts) -> list[dict]:
    """The chapter's steps: its code, what it shows, this model's value, the chapter's, and
    the layer (path) where the report shows it ("" for the layer list)."""
    first = facts.convs[0] if facts.convs else None
    kernel = first.weights[0] if first is not None else None
    fresh = first.init[0] if first is not None and first.init else None
    maps = ", ".join(f"(1, {layer.output_shape.strip('()').split(', ', 1)[-1]})"
                     for layer in facts.convs if layer.output_shape)
    found = [("model.layers", N_("the layers"), str(facts.n_layers), "layers", ""),
             ("conv.weights[0].shape, conv.weights[1].shape", N_("the weights' shapes"),
              ", ".join(fmt_shape(w.shape) for w in first.weights) if first else "",
              "shapes", "weights"),
             ("conv_weights.mean(), conv_weights.std()", N_("mean and standard deviation"),
              f"{fmt_number(kernel.stats.mean)}, {fmt_number(kernel.stats.std)}"
              if kernel else "", "mean_std", "weights"),
             ("plt.hist(conv_weights.reshape(-1, 1))", N_("the histogram of the weights"),
              str(kernel.stats.count) if kernel else "", "histogram", "weights"),
             ("plt.imshow(conv_weights[:, :, 0, i*16 + j], vmin=-0.5, vmax=0.5)",
              N_("the filters, 2 rows of 16"), "", "filters", "weights"),
             ("no_training_model … no_training_weights.std()",
              N_("the same layer freshly initialised"),
              fmt_number(fresh.stats.std) if fresh else "", "fresh_std", "weights"),
             ("keras.Model(model.inputs, conv.output).predict(…)",
              N_("the feature maps, 4 x 8 and 8 x 8"), maps, "maps", "maps")]
    return [{"code": code, "what": what, "ours": ours, "book": BOOK[key], "where": where}
            for code, what, ours, key, where in found]


def view(facts: ChapterFacts | None, _pictures, page: Page) -> dict | None:
    """The steps, each linked to its place in the report."""
    if facts is None:
        return None
    first = facts.convs[0].path if facts.convs else ""
    places = {"": "#layers",
              "weights": f"#{page.anchors[first]}" if first in page.anchors else "#weights",
              "maps": f"#act-{page.anchors[first]}" if first in page.anchors
              else "#activations"}
    rows = steps(facts)
    # The filters' layout is the one the weights section drew.
    rows[FILTERS_STEP]["ours"] = drawn_grid(page.pictures.get("weights"), first)
    return {"steps": [{**step, "what": _(step["what"]), "href": places[step["where"]],
                       "number": str(k)} for k, step in enumerate(rows, 1)]}


def drawn_grid(weight_pictures, layer: str) -> str:
    """The rows x columns of the layer's kernel mosaic as drawn ("2 x 16"), "" if none."""
    for figure in (weight_pictures or {}).get(layer, ()):
        for picture in getattr(figure, "pictures", ()):
            if picture.drawn is not None and picture.drawn.kind == "kernel":
                return "{} x {}".format(*picture.drawn.grid)
    return ""


def sidecar(facts: ChapterFacts | None, _evidence: Evidence) -> dict:
    """The key `chapter`: the steps with this model's and the chapter's values (null
    without --style book)."""
    if facts is None:
        return {"chapter": None}
    return {"chapter": [{"code": s["code"], "this_model": s["ours"], "chapter": s["book"]}
                        for s in steps(facts)]}


SECTION = Section(name="chapter", title=N_("The chapter, step by step"),
                  template="chapter.html.j2", needs=frozenset({WEIGHTS}), after=("layers",),
                  collect=collect, view=view, sidecar=sidecar)
