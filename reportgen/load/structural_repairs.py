"""The structural repairs: configs reshaped (not arguments dropped) so that this Keras reads
what an older Keras wrote. Each fix recognises the refusal it answers and returns the change
and the layers it touched, or None (load/repairs.py applies them)."""

from __future__ import annotations

import re
from typing import Any

from reportgen.i18n import msg
from reportgen.load.keras.compat import MODEL_MODULES
from reportgen.load.repair_base import StructuralRule, config_objects, unrecognised_arguments

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


def sequential_layer_lists(tree: Any):
    """(node, its layer list) of every Sequential in a config, outermost first, whether its
    config is {"name", "layers"} or the bare list of layers Keras 2.0-2.2 saved."""
    if isinstance(tree, dict):
        settings = tree.get("config")
        layers = settings if isinstance(settings, list) else \
            settings.get("layers") if isinstance(settings, dict) else None
        if tree.get("class_name") == "Sequential" and isinstance(layers, list):
            yield tree, layers
        for value in tree.values():
            yield from sequential_layer_lists(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from sequential_layer_lists(value)


def _name(node: dict) -> str | None:
    settings = node.get("config")
    return settings.get("name") if isinstance(settings, dict) else node.get("name")


def misread_input_shape(config: Any, built: dict[str, tuple]) -> str | None:
    """The sentence that says a loaded Sequential's input shape is not the batch_input_shape
    its first layer was saved with, or None. Keras 3's legacy loader reads a Keras 2.0-2.3
    Sequential without an InputLayer this way without an error: [None, 6] becomes the input
    shape (None, None, 6). `built` gives the input shape of each loaded model by name."""
    for node, layers in sequential_layer_lists(config):
        if not layers or not isinstance(layers[0], dict):
            continue
        first = layers[0].get("config")
        saved = first.get("batch_input_shape") if isinstance(first, dict) else None
        shape = built.get(_name(node))
        if isinstance(saved, list) and shape is not None and \
                tuple(shape) != tuple(None if d is None else int(d) for d in saved):
            return (f"{MISREAD_SHAPE} {_name(node)!r} with the input shape "
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
    for _node, layers in sequential_layer_lists(config):
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
    for _node, layers in sequential_layer_lists(config):
        if layers and isinstance(layers[0], dict) \
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


GRU_BIAS = re.compile(r"gru_cell/bias\. Weight expects shape \(2, (\d+)\)\. Received saved "
                      r"weight with shape \((\d+),\)")


def fix_gru_reset_after(config: Any, error: str) -> tuple[str, list[str]] | None:
    """GRUs saved before Keras 2.2 had no reset_after (they reset before the recurrent
    product, with one bias of 3·units): said as reset_after=False, which is that GRU. Only
    when Keras refuses the stored (3·units,) bias, and only for GRUs that do not say."""
    found = GRU_BIAS.search(error)
    if not found or found.group(1) != found.group(2):
        return None
    touched = []
    for node, owner in config_objects(config):
        if node["class_name"] in ("GRU", "GRUCell") and "reset_after" not in node["config"]:
            node["config"]["reset_after"] = False
            touched.append(owner)
    return msg("set reset_after=False on GRUs saved without it"), touched


NOT_LOCATED = re.compile(r"Could not locate class '(\w+)'")


def fix_wrapped_modules(config: Any, error: str) -> tuple[str, list[str]] | None:
    """Layers inside wrappers (Bidirectional, TimeDistributed) that Keras 2 saved as a bare
    {"class_name", "config"}: given this Keras's module for its own layer classes, which is
    what Keras 2 meant. Never for a class that is not one of keras.layers' (a custom layer
    stays refused)."""
    from reportgen.load.keras.runtime import is_builtin_layer

    found = NOT_LOCATED.search(error)
    if not found or not is_builtin_layer(found.group(1)):
        return None
    touched = []
    for node, owner in config_objects(config):
        if node["class_name"] == found.group(1) and "module" not in node:
            node["module"], node["registered_name"] = "keras.layers", None
            touched.append(owner)
    return msg("gave wrapped {class_name} layers the module keras.layers",
               class_name=found.group(1)), touched


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
    StructuralRule("gru-reset-after",
                   msg("Keras 2.0-2.1 GRUs reset the state before the recurrent product and "
                       "stored one bias of 3·units, which is reset_after=False; this Keras "
                       "defaults to reset_after=True, whose bias has another shape"),
                   fix_gru_reset_after),
    StructuralRule("wrapped-layer-module",
                   msg("Keras 2 saved the layer inside a wrapper (Bidirectional, "
                       "TimeDistributed) without a module; this Keras looks wrapped layers up "
                       "by module, and keras.layers is where its own classes are"),
                   fix_wrapped_modules),
)


