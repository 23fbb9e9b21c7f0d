"""Known differences between Keras 2 and Keras 3 model configs, as one table of repair rules.

A checkpoint saved by Keras 2.x may carry arguments Keras 3 refuses. Each rule names the
layer classes it applies to, the config key, and what it does; every repair applied is
returned as a sentence for the report ("LSTM lstm_1: dropped time_major=False").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

RECURRENT = frozenset({"SimpleRNN", "LSTM", "GRU", "CuDNNLSTM", "CuDNNGRU", "ConvLSTM1D",
                       "ConvLSTM2D", "ConvLSTM3D"})


@dataclass(frozen=True)
class Rule:
    """One repair: for layers of these classes, change this config key as `fix` says."""

    classes: frozenset[str]
    key: str
    fix: Callable[[Any], tuple[bool, Any]]  # value -> (keep the key?, new value)
    why: str


def drop(_value: Any) -> tuple[bool, Any]:
    """Remove the key."""
    return False, None


def single_axis(value: Any) -> tuple[bool, Any]:
    """Keras 2 saved a normalisation axis as a one-element list; Keras 3 wants an int."""
    if isinstance(value, list) and len(value) == 1:
        return True, value[0]
    return True, value


RULES: tuple[Rule, ...] = (
    Rule(RECURRENT, "time_major", drop, "Keras 3 recurrent layers are always batch-major"),
    Rule(frozenset({"DepthwiseConv2D", "DepthwiseConv1D"}), "groups", drop,
         "Keras 3 depthwise convolutions take no groups argument"),
    Rule(frozenset({"BatchNormalization"}), "axis", single_axis,
         "Keras 3 takes a single normalisation axis"),
    *(Rule(frozenset({"BatchNormalization"}), key, drop,
           "Keras 3 batch normalisation has no such option")
      for key in ("fused", "renorm", "renorm_clipping", "renorm_momentum",
                  "virtual_batch_size", "adjustment")),
)


def repair_config(config: Any) -> list[str]:
    """Apply every rule to a model config in place (nested layers too); describe each change."""
    applied: list[str] = []
    for node in layer_nodes(config):
        class_name, layer_config = node["class_name"], node["config"]
        for rule in RULES:
            if class_name not in rule.classes or rule.key not in layer_config:
                continue
            old = layer_config[rule.key]
            keep, new = rule.fix(old)
            if keep and new == old:
                continue
            name = layer_config.get("name", "?")
            if keep:
                layer_config[rule.key] = new
                applied.append(f"{class_name} {name}: changed {rule.key}={old!r} to {new!r} "
                               f"({rule.why})")
            else:
                del layer_config[rule.key]
                applied.append(f"{class_name} {name}: dropped {rule.key}={old!r} ({rule.why})")
    return applied


def layer_nodes(tree: Any):
    """Every {"class_name": ..., "config": {...}} dict in a config tree, outermost first."""
    if isinstance(tree, dict):
        if isinstance(tree.get("class_name"), str) and isinstance(tree.get("config"), dict):
            yield tree
        for value in tree.values():
            yield from layer_nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from layer_nodes(value)
