"""The weights section's view: for every layer with weights, its alerts, each weight's
statistics (trained beside initialised), its distribution and spectrum, and its pictures."""

from __future__ import annotations

from reportgen.analyse.facts import LayerFacts, WeightFacts
from reportgen.draw.figures import Figure, Picture
from reportgen.i18n import N_, _, ngettext
from reportgen.page.formatting import fmt_int, fmt_number, fmt_percent, fmt_shape
from reportgen.page.figure_view import figure_view
from reportgen.sections.alert_rows import badge
from reportgen.sections.weights.charts import series_view, spectral_view, weight_chart

STAT_COLUMNS = (("mean", N_("mean")), ("std", N_("std")), ("min", N_("min")), ("max", N_("max")),
                ("p1", N_("1st pct")), ("p50", N_("median")), ("p99", N_("99th pct")))
UNKNOWN = N_("unknown")


def layer_section(layer: LayerFacts, anchor: str, figures: list[Figure],
                  bars: dict[str, Picture], alerts: list[dict], opened: bool = True,
                  fresh_spectra: bool = True) -> dict:
    """The section of a layer with weights: alerts, tables, histograms, charts and images."""
    init_by_name = {w.name: w for w in layer.init or ()}
    return {
        "alerts": alerts,
        "open": opened,
        "n_alerts": badge(alerts),
        "name": layer.path.replace("/", " / "),
        "anchor": anchor,
        "class_name": layer.class_name or _(UNKNOWN),
        "n_params": fmt_int(layer.n_params),
        "params_text": ngettext("{n} parameter", "{n} parameters", layer.n_params).format(
            n=fmt_int(layer.n_params)),
        "weights": [weight_view(w, init_by_name.get(w.name), fresh_spectra)
                    for w in layer.weights],
        # A closed (big-model) section charts gamma and beta only; the table has the rest.
        "series": [series_view(s) for s in layer.series
                   if opened or s.name.split(" ", 1)[0] in ("gamma", "beta")],
        "figures": [figure_view(f, bars) for f in figures],
    }


def weight_view(weight: WeightFacts, init: WeightFacts | None,
                fresh_spectrum: bool = True) -> dict:
    """One weight tensor: its statistics trained and initialised, and a histogram."""
    return {
        "name": weight.name,
        "shape": fmt_shape(weight.shape),
        "dtype": weight.dtype,
        "count": fmt_int(weight.stats.count),
        "count_text": ngettext("{n} value", "{n} values", weight.stats.count).format(
            n=fmt_int(weight.stats.count)),
        "trainable": _("trainable") if weight.trainable else _("non-trainable"),
        "sampled": (_("percentiles and histogram from every {step}th value").format(
            step=weight.sample_step) if weight.sample_step > 1 else ""),
        "rows": [stat_row(_("trained"), weight)]
        + ([stat_row(_("initialised"), init)] if init else []),
        "distribution": weight_chart(weight, init),
        # Past the first layers of a big model, the trained spectrum only (the numbers say
        # the rest).
        "spectrum": spectral_view(weight, init, draw_init=fresh_spectrum),
    }


def stat_row(label: str, weight: WeightFacts) -> dict:
    """One row of a weight's statistics table."""
    s = weight.stats
    return {
        "label": label,
        "cells": [fmt_number(getattr(s, key)) for key, _ in STAT_COLUMNS],
        "zero_fraction": fmt_percent(s.zero_fraction),
        "l2_norm": fmt_number(s.l2_norm),
        "n_nan": fmt_int(s.n_nan),
        "n_inf": fmt_int(s.n_inf),
    }


def kernel_scale_text(kernel_scale: str, style: str = "default") -> str:
    """How kernel colours are scaled, in words, and in which style."""
    if style == "book":
        return _("the textbook's style (--style book): viridis from -0.5 to 0.5 for every "
                 "layer, as its imshow(vmin=-0.5, vmax=0.5)")
    if kernel_scale == "auto":
        return _("each layer on its own scale, symmetric around zero, from a robust maximum of "
                 "its weights (given beside each picture); --kernel-scale 0.5 gives the "
                 "textbook's fixed -0.5 to 0.5")
    if kernel_scale == "layer":
        return _("each layer on its own symmetric scale (its largest absolute weight)")
    return _("a fixed scale of -{scale} to {scale} for every layer, as in the "
             "textbook").format(scale=kernel_scale)


def weights_legend(has_init: bool) -> str:
    """What the weights section shows, with or without an initialisation to compare with."""
    if has_init:
        return _("Every weight tensor after training, beside the same layer freshly "
                 "initialised from its own config (the textbook's \"no_training_model\"): its "
                 "statistics, the distribution of its values (trained and initialised on one "
                 "count scale, or two panels when their peaks differ more than tenfold), the "
                 "spectrum of WᵀW for weights that mix channels, and its pictures.")
    return _("Every weight tensor after training: its statistics, the distribution of its "
             "values, the spectrum of WᵀW for weights that mix channels, and its pictures.")
