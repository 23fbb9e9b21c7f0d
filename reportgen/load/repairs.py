"""Repairs of model configs that the running Keras rejects, as one table of rules.

A file is first loaded as it was saved. Only when Keras refuses its config does a rule
apply, and only the rule made for that refusal: each rule recognises the error it fixes,
changes every layer or object it concerns, and is reported once with the error it fixed and
the layers it touched. A value a rule is not sure is harmless (`time_major=True`, say) is
never dropped: the load then fails honestly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from reportgen.i18n import Joined, msg
from reportgen.load.repair_base import (Refusal, Repair, config_objects, unexpected_argument,
                                        unrecognised_arguments)
from reportgen.load.structural_repairs import STRUCTURAL_RULES, misread_input_shape

__all__ = ["RULES", "Repair", "merged", "misread_input_shape", "repair_for", "config_objects"]

RECURRENT = frozenset({"SimpleRNN", "LSTM", "GRU", "CuDNNLSTM", "CuDNNGRU", "ConvLSTM1D",
                       "ConvLSTM2D", "ConvLSTM3D"})
# Objects that live inside layer configs and that Keras 2.0-2.3 saved with a dtype.
CONFIG_OBJECTS = frozenset({
    "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
    "VarianceScaling", "RandomUniform", "RandomNormal", "TruncatedNormal", "Zeros", "Ones",
    "Constant", "Orthogonal", "Identity", "L1", "L2", "L1L2", "OrthogonalRegularizer",
    "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "RadialConstraint"})
ANY = object()  # any value may be dropped: the option has no effect on the computation


@dataclass(frozen=True)
class Rule:
    """One repair: the refusal it answers (`parse`), the classes and arguments it may drop
    (with the values it knows to be harmless), and why that is safe."""

    name: str
    parse: Callable[[str], Refusal | None]
    classes: frozenset[str]
    droppable: dict[str, Any]
    why: str


RULES: tuple[Rule, ...] = (
    Rule("recurrent-time-major", unrecognised_arguments, RECURRENT, {"time_major": (False,)},
         msg("Keras 2 saved time_major=False; Keras 3 recurrent layers are always "
             "batch-major")),
    Rule("depthwise-groups", unrecognised_arguments,
         frozenset({"DepthwiseConv1D", "DepthwiseConv2D"}), {"groups": (1,)},
         msg("Keras 2 saved groups=1 on depthwise convolutions, which take no groups "
             "argument")),
    Rule("batch-norm-options", unrecognised_arguments, frozenset({"BatchNormalization"}),
         {"fused": ANY, "virtual_batch_size": (None,), "adjustment": (None,),
          "renorm": (False,), "renorm_clipping": (None,), "renorm_momentum": ANY},
         msg("Keras 2 batch normalisation options that this Keras does not take; with these "
             "values they change nothing (fused only chose the implementation)")),
    Rule("object-dtype", unexpected_argument, CONFIG_OBJECTS, {"dtype": ANY},
         msg("Keras 2.0-2.3 saved a dtype in initializer, regularizer and constraint configs; "
             "Keras 3 takes the dtype from the layer")),
)


def repair_for(config: Any, error: str, shown: str | None = None) -> Repair | None:
    """Apply the rule that answers this Keras error to the config, in place; None when no
    rule does (or when a value the rule would drop is not known to be harmless).

    `error` is the whole text Keras raised (wrapped causes included), `shown` the sentence
    the report quotes (default: `error`).
    """
    repair = _drop_rule_for(config, error) or next(
        (found for fix in STRUCTURAL_RULES if (found := fix.apply(config, error))), None)
    return repair if repair is None or shown is None else \
        Repair(repair.rule, shown, repair.change, repair.layers, repair.why)


def _drop_rule_for(config: Any, error: str) -> Repair | None:
    """The first drop rule (RULES) that answers the error, applied."""
    for rule in RULES:
        refusal = rule.parse(error)
        if refusal is None or refusal.class_name not in rule.classes:
            continue
        if not set(refusal.keys) <= set(rule.droppable):
            continue
        nodes = [(node, owner) for node, owner in config_objects(config)
                 if node["class_name"] == refusal.class_name]
        if not nodes or any(not _harmless(node["config"], rule) for node, _ in nodes):
            return None
        return _dropped(rule, refusal.class_name, nodes, error)
    return None


def _dropped(rule, class_name: str, nodes: list, error: str) -> Repair | None:
    """The rule's droppable keys removed from every node of the class; None when none was
    there (the refusal is another problem)."""
    touched, dropped = [], set()
    for node, owner in nodes:
        present = [key for key in rule.droppable if key in node["config"]]
        for key in present:
            del node["config"][key]
        if present:
            touched.append(owner)
            dropped.update(present)
    if not touched:
        return None
    keys = ", ".join(sorted(dropped))
    return Repair(rule.name, error, msg("dropped {keys} from {class_name}", keys=keys,
                                        class_name=class_name),
                  tuple(dict.fromkeys(touched)), rule.why)


def merged(repairs: list[Repair]) -> tuple[Repair, ...]:
    """One repair per rule, in the order rules first applied: the changes, layers and errors
    of repeated applications (one per layer class) joined."""
    by_rule: dict[str, list[Repair]] = {}
    for repair in repairs:
        by_rule.setdefault(repair.rule, []).append(repair)
    return tuple(Repair(rule, "; ".join(dict.fromkeys(r.error for r in group)),
                        Joined("; ", dict.fromkeys(r.change for r in group)),
                        tuple(dict.fromkeys(name for r in group for name in r.layers)),
                        group[0].why)
                 for rule, group in by_rule.items())


def _harmless(settings: dict, rule: Rule) -> bool:
    """Whether every argument the rule would drop has a value known to change nothing."""
    return all(allowed is ANY or settings[key] in allowed
               for key, allowed in rule.droppable.items() if key in settings)
