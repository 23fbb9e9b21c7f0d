"""The alerts about weights and activations: the findings a careful reader should not miss,
each with a documented threshold (analyse/alert.py has the type; evaluation.py and cam.py
hold the kinds of their own sections).

Every kind has a name, the threshold it uses, and a one-line explanation; the report and
the JSON sidecar list both the kinds that were checked and the alerts that fired. Alerts
are computed from facts alone (pure functions), in model order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reportgen.analyse.activations import SampleActivation
from reportgen.analyse.alert import ERROR, INIT, INPUTS, NOTE, WARNING, Alert, AlertKind
from reportgen.analyse.facts import InputFacts, LayerFacts, WeightFacts
from reportgen.i18n import msg, nmsg

UNTRAINED_DISTANCE = 0.05
EXPLODING_FACTOR = 10.0
EXPLODING_REACH_FACTOR = 100.0
VANISHING_FACTOR = 0.1
DUPLICATE_COSINE = 0.99
UNIFORM_ENTROPY = 0.95
ALPHA_LOW, ALPHA_HIGH, ALPHA_UNRELIABLE = 2.0, 6.0, 8.0
KS_UNRELIABLE = 0.2
ACTIVATION_CLASSES = {"ReLU", "Activation", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU"}


KINDS = (
    AlertKind("non_finite", msg("NaN or Inf values"), msg("any NaN or Inf value"),
              msg("NaN or infinite values in a weight or an activation poison every later "
                  "computation; training has diverged or the file is damaged."),
              severity=ERROR),
    AlertKind("dead_channels", msg("Dead channels"),
              msg("a channel that is exactly zero for every input"),
              msg("A channel that outputs zero for every input given (a ReLU stuck below zero) "
                  "no longer contributes to the prediction."), needs=INPUTS),
    AlertKind("untrained", msg("Layer may not have trained"),
              msg("(|mean - init mean| + |std - init std|) / init std < {limit}",
                  limit=UNTRAINED_DISTANCE),
              msg("The weights' statistics barely differ from a fresh initialisation of the "
                  "same layer: it may not have trained (frozen, unreachable, or a tiny learning "
                  "rate)."), needs=INIT),
    AlertKind("exploding_weights", msg("Exploding weights"),
              msg("std above {factor:g}x, or largest |weight| above {reach:g}x, the "
                  "initialisation's", factor=EXPLODING_FACTOR, reach=EXPLODING_REACH_FACTOR),
              msg("Weights far outside the initialiser's range often come from a too-high "
                  "learning rate or missing regularisation."), needs=INIT),
    AlertKind("vanishing_weights", msg("Vanishing weights"),
              msg("std below {factor:g}x the initialisation's", factor=VANISHING_FACTOR),
              msg("Weights that shrank far below their initial spread carry little signal "
                  "(strong weight decay, or a layer that collapsed)."), needs=INIT),
    AlertKind("duplicate_filters", msg("Near-duplicate filters"),
              msg("cosine similarity above {limit} between two filters of a layer",
                  limit=DUPLICATE_COSINE),
              msg("Filters that are almost the same waste capacity; many of them suggest the "
                  "layer is larger than it needs to be or collapsed during training.")),
    AlertKind("alpha_low", msg("Heavy-tailed spectrum (may be over-fitted)"),
              msg("power-law alpha of the spectrum of WᵀW below {limit:g}", limit=ALPHA_LOW),
              msg("In heavy-tailed self-regularisation theory (Martin & Mahoney; weightwatcher) "
                  "a well-trained layer's alpha lies roughly in [2, 6]; below 2 the layer may be "
                  "over-fitted to its training data."), heuristic=True, severity=NOTE),
    AlertKind("alpha_high", msg("Weakly structured spectrum (may be under-trained)"),
              msg("power-law alpha above {limit:g} (and a reliable fit)", limit=ALPHA_HIGH),
              msg("An alpha above 6 means the spectrum is close to that of a random matrix: the "
                  "layer may have learned little structure."), heuristic=True, severity=NOTE),
    AlertKind("alpha_unreliable", msg("Power-law fit unreliable"),
              msg("alpha above {alpha:g}, or Kolmogorov-Smirnov distance D above {ks:g}",
                  alpha=ALPHA_UNRELIABLE, ks=KS_UNRELIABLE),
              msg("The spectrum is not power-law shaped enough for alpha to mean anything; "
                  "ignore this layer's alpha."), heuristic=True, severity=NOTE),
    AlertKind("uniform_output", msg("Near-uniform prediction"),
              msg("normalised entropy of a softmax output above {limit}", limit=UNIFORM_ENTROPY),
              msg("The model is almost equally unsure of every class for this input: it has "
                  "not learned this kind of input, or the input is scaled differently from "
                  "training."), needs=INPUTS),
)


def weight_alerts(layer: LayerFacts) -> list[Alert]:
    """Alerts about one layer's weights, trained against initialised."""
    found = []
    init = {w.name: w for w in layer.init or ()}
    for weight in layer.weights:
        s = weight.stats
        if s.n_nan or s.n_inf:
            found.append(Alert("non_finite", ERROR, layer.path,
                               msg("{weight}: {n_nan} NaN and {n_inf} Inf of {count:,} values",
                                   weight=weight.name, n_nan=s.n_nan, n_inf=s.n_inf,
                                   count=s.count),
                               weight.name, (("n_nan", s.n_nan), ("n_inf", s.n_inf),
                                             ("count", s.count))))
        if weight.similar_filter_pairs:
            found.append(Alert("duplicate_filters", WARNING, layer.path,
                               nmsg("{weight}: {n} pair of filters with cosine similarity "
                                    "above {limit}",
                                    "{weight}: {n} pairs of filters with cosine similarity "
                                    "above {limit}", weight.similar_filter_pairs,
                                    weight=weight.name, limit=DUPLICATE_COSINE), weight.name,
                               (("pairs", weight.similar_filter_pairs),
                                ("max_cosine", weight.max_filter_cosine or 0.0))))
        if weight.name in init and len(weight.shape) >= 2:
            found += compared_to_init(layer.path, weight, init[weight.name])
        found += spectral_alerts(layer.path, weight)
    return found


def spectral_alerts(path: str, weight: WeightFacts) -> list[Alert]:
    """The heuristic reading of a weight's power-law alpha (an unreliable fit overrides it)."""
    spectrum = weight.spectral
    if spectrum is None or spectrum.alpha is None:
        return []
    values = (("alpha", spectrum.alpha), ("ks_distance", spectrum.ks_distance),
              ("n_tail", spectrum.n_tail))
    text = msg("{weight}: alpha {alpha:.2f}, D {ks:.3f}", weight=weight.name,
               alpha=spectrum.alpha, ks=spectrum.ks_distance)
    if spectrum.alpha > ALPHA_UNRELIABLE or spectrum.ks_distance > KS_UNRELIABLE:
        return [Alert("alpha_unreliable", NOTE, path, text, weight.name, values)]
    if spectrum.alpha < ALPHA_LOW:
        return [Alert("alpha_low", NOTE, path, text, weight.name, values)]
    if spectrum.alpha > ALPHA_HIGH:
        return [Alert("alpha_high", NOTE, path, text, weight.name, values)]
    return []


def compared_to_init(path: str, weight: WeightFacts, fresh: WeightFacts) -> list[Alert]:
    """Untrained, exploding and vanishing checks of one kernel against its initialisation."""
    s, f = weight.stats, fresh.stats
    if None in (s.mean, s.std, s.max, s.min, f.mean, f.std, f.max, f.min) or not f.std:
        return []
    distance = (abs(s.mean - f.mean) + abs(s.std - f.std)) / f.std
    reach, fresh_reach = max(abs(s.min), abs(s.max)), max(abs(f.min), abs(f.max))
    if distance < UNTRAINED_DISTANCE:
        return [Alert("untrained", WARNING, path, msg("{weight}: distance {distance:.3f} from a fresh "
                                             "initialisation (threshold {limit})",
                                             weight=weight.name, distance=distance,
                                             limit=UNTRAINED_DISTANCE),
                      weight.name, (("distance", distance),))]
    if s.std > EXPLODING_FACTOR * f.std or reach > EXPLODING_REACH_FACTOR * fresh_reach:
        return [Alert("exploding_weights", WARNING, path,
                      msg("{weight}: std {std:.4g} and largest |w| {reach:.4g} against "
                          "{init_std:.4g} and {init_reach:.4g} at initialisation",
                          weight=weight.name, std=s.std, reach=reach, init_std=f.std,
                          init_reach=fresh_reach), weight.name,
                      (("std", s.std), ("reach", reach), ("init_std", f.std),
                       ("init_reach", fresh_reach)))]
    if s.std < VANISHING_FACTOR * f.std:
        return [Alert("vanishing_weights", WARNING, path,
                      msg("{weight}: std {std:.4g} against {init_std:.4g} at initialisation",
                          weight=weight.name, std=s.std, init_std=f.std),
                      weight.name, (("std", s.std), ("init_std", f.std)))]
    return []


def activation_alerts(inputs: Sequence[InputFacts], summaries: Sequence[SampleActivation],
                      layers: Mapping[str, LayerFacts], synthetic: bool) -> list[Alert]:
    """NaN/Inf in the drawn inputs' outputs, dead channels over `summaries` (the labelled
    sample's when there is one; `synthetic` when they rest on the synthetic pattern only),
    and near-uniform predictions."""
    found = output_non_finite([item for item in inputs if item.activations])
    for summary in summaries:
        if summary.dead_channels and _can_die(layers.get(summary.layer)):
            found.append(dead_channel_alert(summary, synthetic))
    for item in inputs:
        if item.output_entropy is not None and item.output_entropy > UNIFORM_ENTROPY:
            found.append(Alert("uniform_output", NOTE if item.synthetic else WARNING, "",
                               msg("input {name}: normalised entropy {entropy:.3f}",
                                   name=item.name, entropy=item.output_entropy),
                               item.name, (("normalised_entropy", item.output_entropy),),
                               synthetic=item.synthetic))
    return found


def output_non_finite(drawn: Sequence[InputFacts]) -> list[Alert]:
    """NaN or Inf values in a layer's output, over the drawn inputs."""
    found = []
    for k, first in enumerate(drawn[0].activations if drawn else ()):
        per_input = [item.activations[k] for item in drawn]
        bad = sum(a.stats.n_nan + a.stats.n_inf for a in per_input)
        if bad:
            found.append(Alert("non_finite", ERROR, first.layer,
                               nmsg("output: {bad} NaN or Inf values over {n} input",
                                    "output: {bad} NaN or Inf values over {n} inputs",
                                    len(per_input), bad=bad),
                               "output", (("n_non_finite", bad), ("n_inputs", len(per_input)))))
    return found


def dead_channel_alert(summary, synthetic: bool) -> Alert:
    """Channels zero for every value of every input: on how many inputs that rests, and
    whether those were only the synthetic test pattern."""
    dead, n_channels = list(summary.dead_channels), len(summary.channel_means)
    if synthetic:
        text = msg("{n_dead} of {n_channels} channels are zero for the synthetic test pattern "
                   "({channels})", n_dead=len(dead), n_channels=n_channels, channels=_few(dead))
    else:
        text = nmsg("{n_dead} of {n_channels} channels are zero for the one input ({channels})",
                    "{n_dead} of {n_channels} channels are zero for every one of the {n} inputs "
                    "({channels})", summary.n_inputs, n_dead=len(dead), n_channels=n_channels,
                    channels=_few(dead))
    return Alert("dead_channels", NOTE if synthetic else WARNING, summary.layer, text,
                 "output", (("n_dead", len(dead)), ("n_channels", n_channels),
                            ("n_inputs", summary.n_inputs)), synthetic=synthetic)


def _can_die(layer: LayerFacts | None) -> bool:
    """Whether a layer's output channels are its own (not a pooled copy of another's)."""
    return layer is not None and (bool(layer.weights) or layer.class_name in ACTIVATION_CLASSES)


def _few(indices: list[int]) -> str:
    """Some channel numbers, for a message."""
    shown = ", ".join(str(i) for i in indices[:8]) + (", ..." if len(indices) > 8 else "")
    return msg("channels {indices}", indices=shown)
