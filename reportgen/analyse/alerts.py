"""Alerts: the findings a careful reader should not miss, each with a documented threshold.

Every kind has a name, the threshold it uses, and a one-line explanation; the report and
the JSON sidecar list both the kinds that were checked and the alerts that fired. Alerts
are computed from facts alone (pure functions), in model order.
"""

from __future__ import annotations


from reportgen.analyse.cam import CAM_KINDS
from reportgen.analyse.evaluation import EVALUATION_KINDS
from reportgen.analyse.facts import Alert, AlertKind, LayerFacts, ReportFacts, WeightFacts, all_layer_facts

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
    AlertKind("non_finite", "NaN or Inf values", "any NaN or Inf value",
              "NaN or infinite values in a weight or an activation poison every later "
              "computation; training has diverged or the file is damaged."),
    AlertKind("dead_channels", "Dead channels", "a channel that is exactly zero for every input",
              "A channel that outputs zero for every input given (a ReLU stuck below zero) "
              "no longer contributes to the prediction."),
    AlertKind("untrained", "Layer may not have trained",
              f"(|mean - init mean| + |std - init std|) / init std < {UNTRAINED_DISTANCE}",
              "The weights' statistics barely differ from a fresh initialisation of the same "
              "layer: it may not have trained (frozen, unreachable, or a tiny learning rate)."),
    AlertKind("exploding_weights", "Exploding weights",
              f"std above {EXPLODING_FACTOR:g}x, or largest |weight| above "
              f"{EXPLODING_REACH_FACTOR:g}x, the initialisation's",
              "Weights far outside the initialiser's range often come from a too-high learning "
              "rate or missing regularisation."),
    AlertKind("vanishing_weights", "Vanishing weights",
              f"std below {VANISHING_FACTOR:g}x the initialisation's",
              "Weights that shrank far below their initial spread carry little signal "
              "(strong weight decay, or a layer that collapsed)."),
    AlertKind("duplicate_filters", "Near-duplicate filters",
              f"cosine similarity above {DUPLICATE_COSINE} between two filters of a layer",
              "Filters that are almost the same waste capacity; many of them suggest the layer "
              "is larger than it needs to be or collapsed during training."),
    AlertKind("alpha_low", "Heavy-tailed spectrum (may be over-fitted)",
              f"power-law alpha of the spectrum of WᵀW below {ALPHA_LOW:g}",
              "In heavy-tailed self-regularisation theory (Martin & Mahoney; weightwatcher) a "
              "well-trained layer's alpha lies roughly in [2, 6]; below 2 the layer may be "
              "over-fitted to its training data.", heuristic=True),
    AlertKind("alpha_high", "Weakly structured spectrum (may be under-trained)",
              f"power-law alpha above {ALPHA_HIGH:g} (and a reliable fit)",
              "An alpha above 6 means the spectrum is close to that of a random matrix: the "
              "layer may have learned little structure.", heuristic=True),
    AlertKind("alpha_unreliable", "Power-law fit unreliable",
              f"alpha above {ALPHA_UNRELIABLE:g}, or Kolmogorov-Smirnov distance D above "
              f"{KS_UNRELIABLE:g}",
              "The spectrum is not power-law shaped enough for alpha to mean anything; ignore "
              "this layer's alpha.", heuristic=True),
    AlertKind("uniform_output", "Near-uniform prediction",
              f"normalised entropy of a softmax output above {UNIFORM_ENTROPY}",
              "The model is almost equally unsure of every class for this input: it has not "
              "learned this kind of input, or the input is scaled differently from training."),
    *EVALUATION_KINDS,
    *CAM_KINDS,
)


def find_alerts(facts: ReportFacts) -> tuple[Alert, ...]:
    """Every alert for a report, in model order, then per input."""
    found: list[Alert] = []
    layers = list(all_layer_facts(facts.layers))
    for layer in layers:
        found += weight_alerts(layer)
    found += activation_alerts(facts, {layer.path: layer for layer in layers})
    if facts.data is not None:
        found += [Alert(a.kind, a.layer, a.message, a.subject, a.values)
                  for a in facts.data.alerts]
    synthetic = bool(facts.inputs) and all(item.synthetic for item in facts.inputs)
    found += [Alert(a.kind, a.layer, a.message, a.subject, a.values, synthetic=synthetic)
              for a in facts.cam_alerts]
    return tuple(found)


def weight_alerts(layer: LayerFacts) -> list[Alert]:
    """Alerts about one layer's weights, trained against initialised."""
    found = []
    init = {w.name: w for w in layer.init or ()}
    for weight in layer.weights:
        s = weight.stats
        if s.n_nan or s.n_inf:
            found.append(Alert("non_finite", layer.path,
                               f"{weight.name}: {s.n_nan} NaN and {s.n_inf} Inf of {s.count:,} values",
                               weight.name, (("n_nan", s.n_nan), ("n_inf", s.n_inf),
                                             ("count", s.count))))
        if weight.similar_filter_pairs:
            found.append(Alert("duplicate_filters", layer.path,
                               f"{weight.name}: {_pairs(weight.similar_filter_pairs)} of filters "
                               f"with cosine similarity above {DUPLICATE_COSINE}", weight.name,
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
    text = f"{weight.name}: alpha {spectrum.alpha:.2f}, D {spectrum.ks_distance:.3f}"
    if spectrum.alpha > ALPHA_UNRELIABLE or spectrum.ks_distance > KS_UNRELIABLE:
        return [Alert("alpha_unreliable", path, text, weight.name, values)]
    if spectrum.alpha < ALPHA_LOW:
        return [Alert("alpha_low", path, text, weight.name, values)]
    if spectrum.alpha > ALPHA_HIGH:
        return [Alert("alpha_high", path, text, weight.name, values)]
    return []


def compared_to_init(path: str, weight: WeightFacts, fresh: WeightFacts) -> list[Alert]:
    """Untrained, exploding and vanishing checks of one kernel against its initialisation."""
    s, f = weight.stats, fresh.stats
    if None in (s.mean, s.std, s.max, s.min, f.mean, f.std, f.max, f.min) or not f.std:
        return []
    distance = (abs(s.mean - f.mean) + abs(s.std - f.std)) / f.std
    reach, fresh_reach = max(abs(s.min), abs(s.max)), max(abs(f.min), abs(f.max))
    if distance < UNTRAINED_DISTANCE:
        return [Alert("untrained", path, f"{weight.name}: distance {distance:.3f} from a fresh "
                                         f"initialisation (threshold {UNTRAINED_DISTANCE})",
                      weight.name, (("distance", distance),))]
    if s.std > EXPLODING_FACTOR * f.std or reach > EXPLODING_REACH_FACTOR * fresh_reach:
        return [Alert("exploding_weights", path,
                      f"{weight.name}: std {s.std:.4g} and largest |w| {reach:.4g} against "
                      f"{f.std:.4g} and {fresh_reach:.4g} at initialisation", weight.name,
                      (("std", s.std), ("reach", reach), ("init_std", f.std),
                       ("init_reach", fresh_reach)))]
    if s.std < VANISHING_FACTOR * f.std:
        return [Alert("vanishing_weights", path,
                      f"{weight.name}: std {s.std:.4g} against {f.std:.4g} at initialisation",
                      weight.name, (("std", s.std), ("init_std", f.std)))]
    return []


def activation_alerts(facts: ReportFacts, layers: dict[str, LayerFacts]) -> list[Alert]:
    """NaN/Inf and dead channels in the outputs, and near-uniform predictions."""
    found = []
    drawn = [item for item in facts.inputs if item.activations]
    if drawn:
        for k, first in enumerate(drawn[0].activations):
            per_input = [item.activations[k] for item in drawn]
            bad = sum(a.stats.n_nan + a.stats.n_inf for a in per_input)
            if bad:
                found.append(Alert("non_finite", first.layer,
                                   f"output: {bad} NaN or Inf values over {len(per_input)} input(s)",
                                   "output", (("n_non_finite", bad), ("n_inputs", len(per_input)))))
    # A labelled sample, when given, is what the dead-channel check rests on.
    summaries = facts.data.activations if facts.data is not None else facts.sample_activations
    synthetic = facts.data is None and bool(facts.inputs) and \
        all(item.synthetic for item in facts.inputs)
    for summary in summaries:
        if summary.dead_channels and _can_die(layers.get(summary.layer)):
            found.append(dead_channel_alert(summary, synthetic))
    for item in facts.inputs:
        if item.output_entropy is not None and item.output_entropy > UNIFORM_ENTROPY:
            found.append(Alert("uniform_output", "",
                               f"input {item.name}: normalised entropy {item.output_entropy:.3f}",
                               item.name, (("normalised_entropy", item.output_entropy),),
                               synthetic=item.synthetic))
    return found


def dead_channel_alert(summary, synthetic: bool) -> Alert:
    """Channels zero for every value of every input: on how many inputs that rests, and
    whether those were only the synthetic test pattern."""
    dead, n_channels = list(summary.dead_channels), len(summary.channel_means)
    basis = ("for the synthetic test pattern" if synthetic
             else f"for every one of the {summary.n_inputs} input(s)")
    return Alert("dead_channels", summary.layer,
                 f"{len(dead)} of {n_channels} channels are zero {basis} ({_few(dead)})",
                 "output", (("n_dead", len(dead)), ("n_channels", n_channels),
                            ("n_inputs", summary.n_inputs)), synthetic=synthetic)


def _pairs(n: int) -> str:
    """'1 pair', '3 pairs'."""
    return f"{n} pair" if n == 1 else f"{n} pairs"


def _can_die(layer: LayerFacts | None) -> bool:
    """Whether a layer's output channels are its own (not a pooled copy of another's)."""
    return layer is not None and (bool(layer.weights) or layer.class_name in ACTIVATION_CLASSES)


def _few(indices: list[int]) -> str:
    """Some channel numbers, for a message."""
    shown = ", ".join(str(i) for i in indices[:8])
    return f"channels {shown}" + (", ..." if len(indices) > 8 else "")
