"""The alerts about a model's outputs, each with its rule written down (docs/alerts.md):

- non_finite (error): NaN or Inf in a layer's output for a drawn input, once, at the first
  layer that has them (every later layer inherits them).
- dead_channels: channels zero for every value of every input. A warning only when it rests
  on real inputs, at least MIN_INPUTS of them, and half or more of the layer's channels are
  dead; otherwise a note with the count (a few dead ReLU units in a trained layer are common
  and cost only capacity; one image or the synthetic pattern proves nothing).
- uniform_output: a softmax output of normalised entropy above UNIFORM_ENTROPY. Per input,
  a note; over MIN_INPUTS real inputs or more, one alert, a warning when half or more of them
  are near-uniform.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reportgen.analyse.activations import SampleActivation
from reportgen.analyse.alert import ERROR, INPUTS, NOTE, WARNING, Alert, AlertKind
from reportgen.analyse.facts import InputFacts, LayerFacts
from reportgen.i18n import msg, nmsg

UNIFORM_ENTROPY = 0.95
MIN_INPUTS = 32          # real inputs an activation finding must rest on to be a warning
DEAD_SHARE = 0.5         # of a layer's channels dead, for a warning
UNIFORM_SHARE = 0.5      # of the real inputs near-uniform, for a warning
ACTIVATION_CLASSES = {"ReLU", "Activation", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU"}

KINDS = (
    AlertKind("dead_channels", msg("Dead channels"),
              msg("channels exactly zero for every input; a warning for half or more of a "
                  "layer's channels over {n} real inputs or more, else a note",
                  n=MIN_INPUTS),
              msg("A channel that outputs zero for every input given (a ReLU stuck below zero) "
                  "no longer contributes to the prediction."), needs=INPUTS),
    AlertKind("uniform_output", msg("Near-uniform prediction"),
              msg("normalised entropy of a softmax output above {limit}; a warning for half or "
                  "more of {n} real inputs or more, else a note", limit=UNIFORM_ENTROPY,
                  n=MIN_INPUTS),
              msg("The model is almost equally unsure of every class: it has not learned this "
                  "kind of input, or the input is scaled differently from training."),
              needs=INPUTS),
)


def activation_alerts(inputs: Sequence[InputFacts], summaries: Sequence[SampleActivation],
                      layers: Mapping[str, LayerFacts], synthetic: bool) -> list[Alert]:
    """NaN/Inf in the drawn inputs' outputs, dead channels over `summaries` (the labelled
    sample's when there is one; `synthetic` when they rest on the synthetic pattern only),
    and near-uniform predictions."""
    found = output_non_finite([item for item in inputs if item.activations])
    for summary in summaries:
        if summary.dead_channels and _can_die(layers.get(summary.layer)):
            found.append(dead_channel_alert(summary, synthetic))
    return found + uniform_alerts(inputs)


def uniform_alerts(inputs: Sequence[InputFacts]) -> list[Alert]:
    """Near-uniform softmax outputs: a note per input, or one alert over many real inputs."""
    uniform = [item for item in inputs
               if item.output_entropy is not None and item.output_entropy > UNIFORM_ENTROPY]
    real = [item for item in inputs if not item.synthetic and item.output_entropy is not None]
    if len(real) < MIN_INPUTS:
        return [Alert("uniform_output", NOTE, "",
                      msg("input {name}: normalised entropy {entropy:.3f}", name=item.name,
                          entropy=item.output_entropy),
                      item.name, (("normalised_entropy", item.output_entropy),),
                      UNIFORM_ENTROPY, synthetic=item.synthetic) for item in uniform]
    n_uniform = sum(1 for item in real if item.output_entropy > UNIFORM_ENTROPY)
    if not n_uniform:
        return []
    severity = WARNING if n_uniform >= UNIFORM_SHARE * len(real) else NOTE
    return [Alert("uniform_output", severity, "",
                  msg("{n_uniform} of {n} inputs have a near-uniform prediction",
                      n_uniform=n_uniform, n=len(real)), "",
                  (("n_uniform", n_uniform), ("n_inputs", len(real))), UNIFORM_ENTROPY)]


def output_non_finite(drawn: Sequence[InputFacts]) -> list[Alert]:
    """NaN or Inf values in a layer's output, over the drawn inputs: one error at the first
    layer (in model order) that has them, since every layer after it inherits them, with how
    many later layers do."""
    counts = [(first.layer, sum(item.activations[k].stats.n_nan + item.activations[k].stats.n_inf
                                for item in drawn))
              for k, first in enumerate(drawn[0].activations if drawn else ())]
    bad = [(layer, n) for layer, n in counts if n]
    if not bad:
        return []
    (layer, n_bad), after = bad[0], len(bad) - 1
    text = nmsg("output: {bad} NaN or Inf values over {n} input",
                "output: {bad} NaN or Inf values over {n} inputs", len(drawn), bad=n_bad)
    if after:
        text += msg("; carried on to {after} later layers", after=after)
    return [Alert("non_finite", ERROR, layer, text, "output",
                  (("n_non_finite", n_bad), ("n_inputs", len(drawn)), ("n_layers_after", after)))]


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
    evidenced = not synthetic and summary.n_inputs >= MIN_INPUTS
    severity = WARNING if evidenced and len(dead) >= DEAD_SHARE * n_channels else NOTE
    return Alert("dead_channels", severity, summary.layer, text,
                 "output", (("n_dead", len(dead)), ("n_channels", n_channels),
                            ("n_inputs", summary.n_inputs)), DEAD_SHARE, synthetic=synthetic)


def _can_die(layer: LayerFacts | None) -> bool:
    """Whether a layer's output channels are its own (not a pooled copy of another's)."""
    return layer is not None and (bool(layer.weights) or layer.class_name in ACTIVATION_CLASSES)


def _few(indices: list[int]) -> str:
    """Some channel numbers, for a message."""
    shown = ", ".join(str(i) for i in indices[:8]) + (", ..." if len(indices) > 8 else "")
    return msg("channels {indices}", indices=shown)
