"""Charts of a layer's weights for the page: a histogram (or a dot strip for a few values),
per-channel series around their reference value, and the eigenvalue spectra, trained beside
freshly initialised. The geometry comes from reportgen/draw/charts.py and
diagnostic_charts.py; this module chooses which chart each fact gets."""

from __future__ import annotations

from reportgen.analyse.facts import Series, WeightFacts
from reportgen.analyse.spectral import SpectralFacts
from reportgen.draw.charts import dot_strip_chart, histogram_chart, series_chart
from reportgen.draw.diagnostic_charts import PowerLawTail, spectral_chart, spectral_limits
from reportgen.i18n import _, localised
from reportgen.page.formatting import fmt_number

FEW_VALUES = 20  # below this many values a histogram says little: one dot per value
# The value each per-channel statistic of a normalisation starts from.
REFERENCES = {"gamma": 1.0, "moving_variance": 1.0, "beta": 0.0, "moving_mean": 0.0}


def weight_chart(weight: WeightFacts, init: WeightFacts | None) -> dict:
    """The distribution chart of one weight: its kind (for the macro) and its geometry."""
    if weight.values and (init is None or init.values):
        return {"dots": True, "chart": dot_strip_chart(weight.values,
                                                         init.values if init else None,
                                                         weight.name)}
    return {"dots": False,
            "chart": histogram_chart(weight.histogram.edges, weight.histogram.counts,
                                     init.histogram.counts if init else None, weight.name)}


def series_view(series: Series) -> dict:
    """A per-index chart drawn around the value the statistic starts from."""
    reference = REFERENCES.get(series.name.split(" ", 1)[0])
    shown = (_("first {shown} of {total}").format(shown=len(series.values), total=series.total)
             if len(series.values) < series.total else
             _("{n} values").format(n=series.total))
    name = localised(series.name)
    return {"name": name, "shown": shown, "chart": series_chart(series.values, reference, name)}


def spectral_view(weight: WeightFacts, init: WeightFacts | None,
                  draw_init: bool = True) -> dict | None:
    """The eigenvalue spectrum of a weight and (when `draw_init`) of its fresh initialisation
    on shared axes, with the numbers of both fits; None for a weight that mixes no
    channels."""
    trained = weight.spectral
    if trained is None:
        return None
    fresh = init.spectral if init is not None else None
    pairs = [(s, _tail(s)) for s in (trained, fresh if draw_init else None)
             if s is not None and s.histogram]
    limits = spectral_limits(*[(s.histogram.edges, s.histogram.counts, tail)
                               for s, tail in pairs]) if pairs else None
    charts = [spectral_chart(s.histogram.edges, s.histogram.counts, tail, label, limits)
              for (s, tail), label in zip(pairs, (_("trained"), _("initialised")))]
    return {"charts": charts, "facts": spectral_text(trained),
            "init_facts": spectral_text(fresh) if fresh is not None else ""}


def _tail(spectrum: SpectralFacts) -> PowerLawTail | None:
    if spectrum.alpha is None:
        return None
    return PowerLawTail(spectrum.alpha, spectrum.xmin, spectrum.spectral_norm,
                        spectrum.tail_density)


def spectral_text(spectrum: SpectralFacts) -> str:
    """The numbers of one spectrum in a line, or why there are none."""
    if spectrum.reason:
        return localised(spectrum.reason)
    return _("alpha {alpha} (D {ks}, {n_tail} of {n} eigenvalues in the tail), spectral norm "
             "{norm}, stable rank {stable_rank}, alpha-hat {alpha_hat}, MP soft rank "
             "{soft_rank}").format(alpha=fmt_number(spectrum.alpha),
                                   ks=fmt_number(spectrum.ks_distance), n_tail=spectrum.n_tail,
                                   n=spectrum.n_eigenvalues,
                                   norm=fmt_number(spectrum.spectral_norm),
                                   stable_rank=fmt_number(spectrum.stable_rank),
                                   alpha_hat=fmt_number(spectrum.alpha_hat),
                                   soft_rank=fmt_number(spectrum.mp_softrank))
