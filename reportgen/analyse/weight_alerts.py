"""The alerts about weights, each with its rule and threshold written down (docs/alerts.md
says why each is what it is, and benchmarks/alerts.py holds every rule to healthy models and
to planted defects).

- non_finite (error): any NaN or Inf value.
- untrained (warning): a kernel indistinguishable from a fresh draw of its initialiser
  (analyse/init_test.py: no values beyond the draw's reach, and the two distributions not
  told apart by a Kolmogorov–Smirnov test at α = 0.001 for the whole model).
- model_untrained (error): every judged kernel of the model is so.
- exploding_weights / vanishing_weights (warning): the spread grew (shrank) by a factor of
  10 against the fresh draw's AND the values are large (small) in absolute terms; never for a
  kernel whose output is normalised right after (BatchNormalization and the like), whose
  scale is then free.
- duplicate_filters (note): a heuristic.
- alpha_low / alpha_high (note): heuristics, only where the power-law fit is meaningful.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportgen.analyse.alert import ERROR, INIT, NOTE, WARNING, Alert, AlertKind
from reportgen.analyse.facts import LayerFacts, WeightFacts
from reportgen.analyse.init_test import ALPHA, OUTSIDE_SHARE
from reportgen.i18n import msg, nmsg

SCALE_FACTOR = 10.0        # the spread grew (shrank) at least tenfold against the fresh draw
LARGE_WEIGHT = 10.0        # and the largest |w| is at least this (a weight of 10 is huge)
SMALL_WEIGHT = 1e-2        # or, shrinking, the largest |w| is at most this
DUPLICATE_COSINE = 0.99
ALPHA_LOW, ALPHA_HIGH = 2.0, 6.0
# A power-law fit means something only on enough eigenvalues, a long enough tail and a good
# fit (Clauset et al. warn against fits on small tails; weightwatcher's reliable band).
FIT_EIGENVALUES, FIT_TAIL, FIT_KS = 100, 20, 0.1
# Layers that undo a kernel's scale: their output does not depend on it.
NORMALISATIONS = {"BatchNormalization", "LayerNormalization", "GroupNormalization",
                  "UnitNormalization"}

KINDS = (
    AlertKind("non_finite", msg("NaN or Inf values"), msg("any NaN or Inf value"),
              msg("NaN or infinite values in a weight or an activation poison every later "
                  "computation; training has diverged or the file is damaged."),
              severity=ERROR),
    AlertKind("model_untrained", msg("The model is untrained"),
              msg("every judged kernel indistinguishable from a fresh initialisation (see "
                  "'Layer did not train')"),
              msg("Nothing in the weights shows training: an untrained model, a model saved "
                  "before training, or one whose weights were re-initialised."),
              severity=ERROR, needs=INIT),
    AlertKind("untrained", msg("Layer did not train"),
              msg("no evidence of training against a fresh draw of the initialiser: the values "
                  "beyond its largest |w| no more than chance allows (C(n, k)/C(n+m, k) above "
                  "α/2) or no more than {share:g} %, and a two-sample Kolmogorov–Smirnov "
                  "distance below c(α/2)·√((n+m)/(n·m)); α = {alpha:g} for the whole model, "
                  "split over its tested kernels; kernels of 100 values or more",
                  share=100 * OUTSIDE_SHARE, alpha=ALPHA),
              msg("The kernel's values cannot be told apart from a fresh draw of its own "
                  "initialiser: the layer was frozen, unreachable, or re-initialised."),
              needs=INIT),
    AlertKind("exploding_weights", msg("Exploding weights"),
              msg("std above {factor:g}x the initialisation's and largest |w| above {large:g}; "
                  "not for a kernel normalised right after", factor=SCALE_FACTOR,
                  large=LARGE_WEIGHT),
              msg("Weights far outside the initialiser's range often come from a too-high "
                  "learning rate or missing regularisation."), needs=INIT),
    AlertKind("vanishing_weights", msg("Vanishing weights"),
              msg("std below 1/{factor:g} of the initialisation's and largest |w| below "
                  "{small:g}; not for a kernel normalised right after", factor=SCALE_FACTOR,
                  small=SMALL_WEIGHT),
              msg("Weights that shrank far below their initial spread carry little signal "
                  "(strong weight decay, or a layer that collapsed)."), needs=INIT),
    AlertKind("duplicate_filters", msg("Near-duplicate filters"),
              msg("cosine similarity above {limit} between two filters of a layer",
                  limit=DUPLICATE_COSINE),
              msg("A heuristic: filters that are almost the same waste capacity; many of them "
                  "suggest the layer is larger than it needs to be."), heuristic=True,
              severity=NOTE),
    AlertKind("alpha_low", msg("Heavy-tailed spectrum (may be over-fitted)"),
              msg("power-law alpha of the spectrum of WᵀW below {limit:g}, on a fit of at "
                  "least {n} eigenvalues, a tail of {tail} and D at most {ks:g}",
                  limit=ALPHA_LOW, n=FIT_EIGENVALUES, tail=FIT_TAIL, ks=FIT_KS),
              msg("A heuristic (heavy-tailed self-regularisation, Martin & Mahoney; "
                  "weightwatcher): a well-trained layer's alpha lies roughly in [2, 6]; below "
                  "2 the layer may be over-fitted."), heuristic=True, severity=NOTE),
    AlertKind("alpha_high", msg("Weakly structured spectrum (may be under-trained)"),
              msg("power-law alpha above {limit:g}, on a fit as above", limit=ALPHA_HIGH),
              msg("A heuristic: an alpha above 6 means the spectrum is close to that of a "
                  "random matrix, so the layer may have learned little structure."),
              heuristic=True, severity=NOTE),
)


def weight_alerts(layer: LayerFacts, normalised: bool = False) -> list[Alert]:
    """Alerts about one layer's weights; `normalised`: its output is normalised right after,
    so the scale of its kernel is free."""
    found = []
    init = {w.name: w for w in layer.init or ()}
    for weight in layer.weights:
        found += non_finite(layer.path, weight) + duplicates(layer.path, weight)
        if weight.name in init and len(weight.shape) >= 2:
            found += compared_to_init(layer.path, weight, init[weight.name], normalised)
        found += spectral_alerts(layer.path, weight)
    return found


def non_finite(path: str, weight: WeightFacts) -> list[Alert]:
    """NaN or Inf values in a weight."""
    s = weight.stats
    if not (s.n_nan or s.n_inf):
        return []
    return [Alert("non_finite", ERROR, path,
                  msg("{weight}: {n_nan} NaN and {n_inf} Inf of {count:,} values",
                      weight=weight.name, n_nan=s.n_nan, n_inf=s.n_inf, count=s.count),
                  weight.name, (("n_nan", s.n_nan), ("n_inf", s.n_inf), ("count", s.count)))]


def duplicates(path: str, weight: WeightFacts) -> list[Alert]:
    """Pairs of near-identical filters."""
    if not weight.similar_filter_pairs:
        return []
    return [Alert("duplicate_filters", NOTE, path,
                  nmsg("{weight}: {n} pair of filters with cosine similarity above {limit}",
                       "{weight}: {n} pairs of filters with cosine similarity above {limit}",
                       weight.similar_filter_pairs, weight=weight.name, limit=DUPLICATE_COSINE),
                  weight.name, (("pairs", weight.similar_filter_pairs),
                                ("max_cosine", weight.max_filter_cosine or 0.0)),
                  DUPLICATE_COSINE)]


def spectral_alerts(path: str, weight: WeightFacts) -> list[Alert]:
    """The heuristic reading of a weight's power-law alpha, where the fit means something."""
    spectrum = weight.spectral
    if spectrum is None or spectrum.alpha is None or not meaningful_fit(spectrum):
        return []
    values = (("alpha", spectrum.alpha), ("ks_distance", spectrum.ks_distance),
              ("n_tail", spectrum.n_tail), ("n_eigenvalues", spectrum.n_eigenvalues))
    text = msg("{weight}: alpha {alpha:.2f}, D {ks:.3f}, tail of {n_tail} of {n} eigenvalues",
               weight=weight.name, alpha=spectrum.alpha, ks=spectrum.ks_distance,
               n_tail=spectrum.n_tail, n=spectrum.n_eigenvalues)
    if spectrum.alpha < ALPHA_LOW:
        return [Alert("alpha_low", NOTE, path, text, weight.name, values, ALPHA_LOW)]
    if spectrum.alpha > ALPHA_HIGH:
        return [Alert("alpha_high", NOTE, path, text, weight.name, values, ALPHA_HIGH)]
    return []


def meaningful_fit(spectrum) -> bool:
    """Enough eigenvalues, a long enough tail and a close fit (FIT_*)."""
    return (spectrum.n_eigenvalues or 0) >= FIT_EIGENVALUES and \
        (spectrum.n_tail or 0) >= FIT_TAIL and spectrum.ks_distance <= FIT_KS


def compared_to_init(path: str, weight: WeightFacts, fresh: WeightFacts,
                     normalised: bool) -> list[Alert]:
    """Untrained, exploding and vanishing checks of one kernel against its initialisation."""
    test = weight.init_test
    if test is not None and test.judged and not test.trained:
        return [Alert("untrained", WARNING, path,
                      msg("{weight}: {share:.2%} of {n:,} values beyond the fresh draw's largest "
                          "|w| {reach:.4g}, and Kolmogorov–Smirnov D {ks:.4f} below {limit:.4f}",
                          weight=weight.name, share=test.share_outside, n=test.n,
                          reach=test.fresh_reach, ks=test.ks_distance, limit=test.ks_threshold),
                      weight.name, (("share_outside", test.share_outside),
                                    ("ks_distance", test.ks_distance), ("n", test.n),
                                    ("n_fresh", test.n_fresh), ("alpha", test.alpha)),
                      test.ks_threshold)]
    return [] if normalised else scale_alerts(path, weight, fresh)


def scale_alerts(path: str, weight: WeightFacts, fresh: WeightFacts) -> list[Alert]:
    """Exploding or vanishing spread: relative to the fresh draw and large (small) in
    absolute terms."""
    s, f = weight.stats, fresh.stats
    if None in (s.std, s.max, s.min, f.std) or not f.std:
        return []
    reach = max(abs(s.min), abs(s.max))
    values = (("std", s.std), ("reach", reach), ("init_std", f.std))
    text = msg("{weight}: std {std:.4g} against {init_std:.4g} at initialisation, largest |w| "
               "{reach:.4g}", weight=weight.name, std=s.std, init_std=f.std, reach=reach)
    if s.std > SCALE_FACTOR * f.std and reach > LARGE_WEIGHT:
        return [Alert("exploding_weights", WARNING, path, text, weight.name, values)]
    if s.std < f.std / SCALE_FACTOR and reach < SMALL_WEIGHT:
        return [Alert("vanishing_weights", WARNING, path, text, weight.name, values)]
    return []


def model_untrained(layers: Sequence[LayerFacts], alerts: Sequence[Alert]) -> list[Alert]:
    """The error when every layer with a judged kernel is untrained (at least one)."""
    judged = [layer.path for layer in layers
              if any(w.init_test is not None and w.init_test.judged for w in layer.weights)]
    untrained = {a.layer for a in alerts if a.kind == "untrained"}
    if not judged or not set(judged) <= untrained:
        return []
    return [Alert("model_untrained", ERROR, "",
                  nmsg("{n} of {n} layer with weights is indistinguishable from a fresh "
                       "initialisation", "{n} of {n} layers with weights are indistinguishable "
                       "from a fresh initialisation", len(judged)),
                  "", (("n_layers", len(judged)), ("n_untrained", len(judged))))]


def normalised_layers(graph, class_of: dict[str, str]) -> set[str]:
    """The layers (paths) every one of whose successors in the graph is a normalisation."""
    if graph is None:
        return set()
    after: dict[str, list[str]] = {}
    for edge in graph.edges:
        after.setdefault(edge.source, []).append(edge.target)
    return {path for path, targets in after.items()
            if targets and all(class_of.get(t) in NORMALISATIONS for t in targets)}
