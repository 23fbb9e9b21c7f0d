"""The weights section: every weight tensor of every layer, trained beside freshly
initialised (statistics, distribution, spectrum), its pictures (kernel mosaics, heatmaps,
unit templates), and the alerts about weights (NaN/Inf, untrained, exploding, vanishing,
near-duplicate filters, power-law spectra)."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.analyse.weight_alerts import (KINDS, model_untrained, normalised_layers,
                                             weight_alerts)
from reportgen.analyse.facts import LayerFacts, all_layer_facts
from reportgen.draw.pictures import MAX_FRESH_MOSAICS, kernel_layers, layer_figures
from reportgen.i18n import N_, _, msg
from reportgen.option_types import BOOK_KERNEL_SCALE
from reportgen.sections.base import WEIGHTS, Evidence, Page, Section, toc_entry
from reportgen.page.figure_view import number_figures
from reportgen.sections.weights.layer_view import (STAT_COLUMNS, kernel_scale_text, layer_section,
                                             weights_legend)

OPEN_SECTIONS = 12  # layer sections start open up to this many layers with weights
FRESH_CUT_NOTE = N_("Kernel pictures and spectra of the freshly initialised layer are drawn for "
                    "the first {shown} layers with kernels; the statistics compare every layer "
                    "with its initialisation.")


@dataclass(frozen=True)
class WeightsFacts:
    """The layers' facts (collected by the layers section), the kernel colour scale asked
    for, and the layers whose kernels are drawn beside their fresh initialisation."""

    layers: tuple[LayerFacts, ...]
    kernel_scale: str
    fresh: frozenset[str]
    style: str = "default"


def collect(evidence: Evidence) -> WeightsFacts:
    """The weights' part of the layers' facts; a note when the fresh kernels drawn are cut."""
    layers = evidence.facts["layers"]
    kernels = kernel_layers((layer.path, [w.shape for w in layer.weights])
                            for layer in all_layer_facts(layers) if layer.weights)
    if evidence.mode == "full" and len(kernels) > MAX_FRESH_MOSAICS:
        evidence.notes.append(msg(FRESH_CUT_NOTE, shown=MAX_FRESH_MOSAICS))
    scale = BOOK_KERNEL_SCALE if evidence.options.style == "book" \
        else evidence.options.kernel_scale
    return WeightsFacts(layers, scale, frozenset(kernels[:MAX_FRESH_MOSAICS]),
                        evidence.options.style)


def alerts(facts: WeightsFacts, evidence: Evidence):
    """Every layer's weight alerts, in model order (a kernel normalised right after is not
    judged by its scale); then the model's, when none of its layers trained."""
    layers = list(all_layer_facts(facts.layers))
    normalised = normalised_layers(evidence.facts.get("architecture"),
                                   {layer.path: layer.class_name for layer in layers})
    found = [alert for layer in layers
             for alert in weight_alerts(layer, layer.path in normalised)]
    return tuple(model_untrained(layers, found) + found)


def pictures(_layers, evidence: Evidence) -> dict:
    """Every layer's weight pictures by path (an output layer's columns named by --labels)."""
    snapshot = evidence.snapshot
    labels = ({snapshot.outputs[0].name: tuple(evidence.labels)}
              if evidence.labels and snapshot.outputs else {})
    return layer_figures(snapshot, evidence.init, evidence.options, labels)


def view(facts: WeightsFacts, figures: dict, page: Page) -> dict:
    """A section per layer with weights (closed for a big model), and the legends."""
    weighted = [layer for layer in all_layer_facts(facts.layers) if layer.weights]
    opened = len(weighted) <= OPEN_SECTIONS
    sections = [layer_section(layer, page.anchors[layer.path], figures.get(layer.path, []),
                              page.bars, page.alerts_of(layer.path), opened,
                              layer.path in facts.fresh)
                for layer in weighted]
    has_init = any(layer.init is not None for layer in all_layer_facts(facts.layers))
    return {"layers": number_figures(sections),
            "legend": weights_legend(has_init),
            "kernel_scale": kernel_scale_text(facts.kernel_scale, facts.style),
            "stat_headers": [_(label) for _key, label in STAT_COLUMNS]}


def toc(facts: WeightsFacts, _view, page: Page) -> list[dict]:
    """The section, and each layer with weights (alerts counted) for a model that is not big."""
    weighted = [layer for layer in all_layer_facts(facts.layers) if layer.weights]
    entries = [toc_entry(N_("Weights"), "weights")]
    if len(weighted) <= OPEN_SECTIONS:  # a big model's layers are listed by the overview
        entries += [toc_entry(layer.path.replace("/", " / "), page.anchors[layer.path],
                              page.warned(layer.path), 1) for layer in weighted]
    return entries


SECTION = Section(name="weights", title=N_("Weights"), template="weights.html.j2",
                  needs=frozenset({WEIGHTS}), kinds=KINDS, after=("layers", "architecture"),
                  collect=collect, alerts=alerts, pictures=pictures, view=view, toc=toc)
