"""Repairs of model configs that the running Keras rejects, as one table of rules.

A file is first loaded as it was saved. Only when Keras refuses its config does a rule
apply, and only the rule made for that refusal: each rule recognises the error it fixes,
changes every layer or object it concerns, and is reported once with the error it fixed and
the layers it touched. A value a rule is not sure is harmless (`time_major=True`, say) is
never dropped: the load then fails honestly.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Callable

from reportgen.i18n import Joined, msg
from reportgen.load.keras.compat import MODEL_MODULES

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
class Refusal:
    """What Keras said it could not take: a class and the offending arguments."""

    class_name: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """One repair: the refusal it answers (`parse`), the classes and arguments it may drop
    (with the values it knows to be harmless), and why that is safe."""

    name: str
    parse: Callable[[str], Refusal | None]
    classes: frozenset[str]
    droppable: dict[str, Any]
    why: str


@dataclass(frozen=True)
class Repair:
    """A rule applied to a config: the Keras error it fixed and the layers it changed."""

    rule: str
    error: str
    change: str
    layers: tuple[str, ...]
    why: str


UNRECOGNISED = re.compile(r"Unrecognized keyword arguments passed to (\w+): (\{.*\})")
UNEXPECTED = re.compile(r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'")
NO_ARGUMENTS = re.compile(r"\b(\w+)\(\) takes no arguments")


def unrecognised_arguments(error: str) -> Refusal | None:
    """`Unrecognized keyword arguments passed to LSTM: {'time_major': False}`."""
    found = UNRECOGNISED.search(error)
    if not found:
        return None
    try:
        arguments = ast.literal_eval(found.group(2))
    except (ValueError, SyntaxError):
        return None
    return Refusal(found.group(1), tuple(sorted(arguments))) if isinstance(arguments, dict) \
        else None


def unexpected_argument(error: str) -> Refusal | None:
    """`GlorotUniform.__init__() got an unexpected keyword argument 'dtype'`, or for a class
    that takes none, `Zeros() takes no arguments` (then every argument the rule may drop)."""
    found = UNEXPECTED.search(error)
    if found:
        return Refusal(found.group(1), (found.group(2),))
    found = NO_ARGUMENTS.search(error)
    return Refusal(found.group(1), ()) if found else None


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


@dataclass(frozen=True)
class StructuralRule:
    """A repair that reshapes a config rather than dropping arguments: its name, why it is
    safe, and `fix(config, error)` -> (change, layers touched) or None."""

    name: str
    why: str
    fix: Callable[[Any, str], tuple[str, list[str]] | None]

    def apply(self, config: Any, error: str) -> Repair | None:
        done = self.fix(config, error)
        return None if not done or not done[1] else \
            Repair(self.name, error, done[0], tuple(dict.fromkeys(done[1])), self.why)


KERAS2_MODULE = re.compile(r"(?:parent module |No module named ')(keras(?:\.src)?\.engine\b[\w.]*)")


def fix_module_paths(config: Any, error: str) -> tuple[str, list[str]] | None:
    """Model classes saved under Keras 2's internal module paths, moved to this Keras's."""
    if not KERAS2_MODULE.search(error):
        return None
    touched = []
    for node, owner in config_objects(config):
        module = node.get("module")
        if isinstance(module, str) and re.match(r"keras(\.src)?\.engine\b", module) \
                and node["class_name"] in MODEL_MODULES:
            node["module"], node["registered_name"] = MODEL_MODULES[node["class_name"]]
            touched.append(owner)
    return msg("moved model classes from keras.engine modules to this Keras's"), touched


def fix_axis_lists(config: Any, error: str) -> tuple[str, list[str]] | None:
    """A normalisation axis saved as a one-element list, as the int this Keras takes."""
    if "not 'list'" not in error or "Normalization" not in error:
        return None
    touched = []
    for node, owner in config_objects(config):
        axis = node["config"].get("axis")
        if node["class_name"].endswith("Normalization") and isinstance(axis, list) \
                and len(axis) == 1 and isinstance(axis[0], int):
            node["config"]["axis"] = axis[0]
            touched.append(owner)
    return msg("changed axis [a] to a in normalisation layers"), touched


MISREAD_SHAPE = "Keras built the Sequential"


def misread_input_shape(config: Any, built: dict[str, tuple]) -> str | None:
    """The sentence that says a loaded Sequential's input shape is not the batch_input_shape
    its first layer was saved with, or None. Keras 3's legacy loader reads a Keras 2.0-2.3
    Sequential without an InputLayer this way without an error: [None, 6] becomes the input
    shape (None, None, 6). `built` gives the input shape of each loaded model by name."""
    for node, _ in config_objects(config):
        layers = node["config"].get("layers") if node["class_name"] == "Sequential" else None
        if not isinstance(layers, list) or not layers or not isinstance(layers[0], dict):
            continue
        first = layers[0].get("config")
        saved = first.get("batch_input_shape") if isinstance(first, dict) else None
        shape = built.get(node["config"].get("name"))
        if isinstance(saved, list) and shape is not None and \
                tuple(shape) != tuple(None if d is None else int(d) for d in saved):
            return (f"{MISREAD_SHAPE} {node['config'].get('name')!r} with the input shape "
                    f"{tuple(shape)}, not the batch_input_shape {tuple(saved)} of its first "
                    f"layer {first.get('name')!r}")
    return None


def fix_batch_input_shapes(config: Any, error: str) -> tuple[str, list[str]] | None:
    """`batch_input_shape` on a Sequential's first layer made into the InputLayer this Keras
    expects (the shape is kept: it is what the model reads), and dropped where an InputLayer
    already says it: when Keras refuses the argument, or reads it as another shape."""
    refusal = unrecognised_arguments(error)
    refused = refusal is not None and "batch_input_shape" in refusal.keys
    if not (refused or error.startswith(MISREAD_SHAPE) or _misbuilt(config, error)):
        return None
    touched = []
    for node, _ in config_objects(config):
        layers = node["config"].get("layers") if node["class_name"] == "Sequential" else None
        if isinstance(layers, list):
            touched += _batch_shapes_moved(layers)
    return msg("moved batch_input_shape into an InputLayer"), touched


def _batch_shapes_moved(layers: list) -> list[str]:
    """In one Sequential's layer list, every `batch_input_shape` dropped, the first layer's
    made into an InputLayer before it (unless one is there); the layers touched."""
    touched = []
    for k, layer in enumerate(list(layers)):
        settings = layer.get("config") if isinstance(layer, dict) else None
        if not isinstance(settings, dict) or "batch_input_shape" not in settings \
                or layer.get("class_name") == "InputLayer":  # an InputLayer's own shape
            continue
        shape = settings.pop("batch_input_shape")
        touched.append(str(settings.get("name", layer.get("class_name"))))
        has_input = any(isinstance(x, dict) and x.get("class_name") == "InputLayer"
                        for x in layers[:k])
        if k == 0 and not has_input:
            layers.insert(0, {"module": "keras.layers", "class_name": "InputLayer",
                              "config": {"batch_shape": shape,
                                         "dtype": settings.get("dtype", "float32"),
                                         "name": f"{settings.get('name', 'input')}_input"},
                              "registered_name": None})
    return touched


def _misbuilt(config: Any, error: str) -> bool:
    """Whether the error may come from a Sequential whose first layer says its Keras 2
    batch_input_shape: this Keras's legacy loader reads [None, 8] as the input shape
    (None, None, 8), and the layers after it fail in many ways (a kernel of the wrong rank,
    a Flatten with no known size, an InputLayer without a shape). Tried when no other rule
    answers the error; the load after it shows whether it was the cause."""
    return any(True for _ in _first_layers_with_batch_input_shape(config))


def _first_layers_with_batch_input_shape(config: Any):
    """The first layer of every Sequential in the config that says its batch_input_shape
    (a list) itself, without an InputLayer."""
    for node, _ in config_objects(config):
        layers = node["config"].get("layers") if node["class_name"] == "Sequential" else None
        if isinstance(layers, list) and layers and isinstance(layers[0], dict) \
                and layers[0].get("class_name") != "InputLayer" \
                and isinstance(layers[0].get("config"), dict) \
                and isinstance(layers[0]["config"].get("batch_input_shape"), list):
            yield layers[0]


def fix_layer_lists(config: Any, error: str) -> tuple[str, list[str]] | None:
    """A Sequential config saved as a bare list of layers (Keras 2.0-2.2), as the
    {"name", "layers"} object this Keras reads; the layers are the same."""
    if "pop expected at most 1 argument" not in error:
        return None
    touched = []
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("class_name") == "Sequential" and isinstance(node.get("config"), list):
                node["config"] = {"name": node.get("name", "sequential"), "layers": node["config"]}
                touched.append(str(node["config"]["name"]))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return msg("wrapped the Sequential layer list in a config object"), touched


STRUCTURAL_RULES = (
    StructuralRule("keras2-module-paths",
                   msg("Keras 2.13-2.15 saved model classes under keras.src.engine, which "
                       "this Keras calls keras.src.models; the class and its config are the "
                       "same"),
                   fix_module_paths),
    StructuralRule("axis-list", msg("Keras 2 saved a single normalisation axis as a list of "
                                    "one"),
                   fix_axis_lists),
    StructuralRule("sequential-layer-list",
                   msg("Keras 2.0-2.2 saved a Sequential's config as the bare list of its "
                       "layers"),
                   fix_layer_lists),
    StructuralRule("sequential-batch-input-shape",
                   msg("Keras 2 kept a Sequential's input shape on its first layer; this "
                       "Keras takes it from an InputLayer, with the same shape (read from "
                       "the first layer it gains an extra axis)"),
                   fix_batch_input_shapes),
)


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


def config_objects(tree: Any, owner: str = ""):
    """Every {"class_name": ..., "config": {...}} dict in a config tree, outermost first, with
    the name of the layer it belongs to (its own name for a layer; an initializer inside a
    layer belongs to that layer)."""
    if isinstance(tree, dict):
        if isinstance(tree.get("class_name"), str) and isinstance(tree.get("config"), dict):
            name = tree["config"].get("name")
            owner = name if isinstance(name, str) else owner
            yield tree, owner or tree["class_name"]
        for value in tree.values():
            yield from config_objects(value, owner)
    elif isinstance(tree, list):
        for value in tree:
            yield from config_objects(value, owner)
