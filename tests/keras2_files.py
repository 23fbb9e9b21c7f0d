"""Write model files the way Keras 2.x (tf.keras 2.4) wrote them, from models built here.

Keras 3 cannot write these itself, so the tests turn a Keras 3 model's config into the
Keras 2 form (`inbound_nodes` as lists, `batch_input_shape` on InputLayers, bare
`{"class_name", "config"}` objects, dtypes as strings, `groups` on depthwise convolutions,
a BatchNormalization axis as a list) and write the HDF5 layout of Keras 2's `model.save`:
`model_weights/<top-level layer>` groups whose `weight_names` are the TF2 variable names
("Conv1/kernel:0"), trainable weights first. Keras 2.0.x often saved each variable under a
numbered copy of its layer's scope ("conv2d_1_1/kernel:0" in group conv2d_1):
`doubled_variable_name` writes that layout.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py

KERAS_VERSION = b"2.4.0"


def keras2_value(value):
    """Keras 3 serialised objects as Keras 2 wrote them."""
    if isinstance(value, dict):
        if "class_name" in value and "config" in value and "module" in value:
            if value["class_name"] == "DTypePolicy":
                return value["config"]["name"]
            settings = {k: v for k, v in keras2_value(value["config"]).items()
                        if k not in ("input_axes", "output_axes")}
            return {"class_name": value["class_name"], "config": settings}
        return {k: keras2_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [keras2_value(v) for v in value]
    return value


def keras2_layer_config(class_name: str, settings: dict) -> dict:
    """One layer's settings in the Keras 2.4 form."""
    settings = keras2_value(settings)
    if class_name == "InputLayer":
        return {"batch_input_shape": settings.get("batch_shape"),
                "dtype": settings.get("dtype", "float32"), "sparse": False, "ragged": False,
                "name": settings["name"]}
    if class_name == "DepthwiseConv2D":
        settings["groups"] = 1
    if class_name == "BatchNormalization" and isinstance(settings.get("axis"), int):
        settings["axis"] = [settings["axis"]]
    return settings


def keras2_inbound(nodes) -> list:
    """Keras 3 inbound nodes ({"args": [...]}) as Keras 2's [[name, node, tensor, {}], ...]."""
    converted = []
    for node in nodes:
        tensors = []

        def collect(item):
            if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
                history = item["config"]["keras_history"]
                tensors.append([history[0], history[1], history[2], {}])
            elif isinstance(item, (list, tuple)):
                for inner in item:
                    collect(inner)

        collect(node["args"])
        converted.append(tensors)
    return converted


def keras2_config(config: dict, functional_name: str = "Functional") -> dict:
    """A whole Keras 3 model config ({"class_name", "config"}) in the Keras 2.4 form."""
    class_name, settings = config["class_name"], config["config"]
    if class_name == "Sequential":
        return {"class_name": "Sequential",
                "config": {"name": settings["name"],
                           "layers": [_entry(layer, False, functional_name)
                                      for layer in settings["layers"]]}}
    return {"class_name": functional_name,
            "config": {"name": settings["name"],
                       "layers": [_entry(layer, True, functional_name)
                                  for layer in settings["layers"]],
                       "input_layers": settings["input_layers"],
                       "output_layers": settings["output_layers"]}}


def _entry(layer: dict, functional: bool, functional_name: str) -> dict:
    class_name = layer["class_name"]
    if class_name in ("Sequential", "Functional"):
        entry = keras2_config(layer, functional_name)
    else:
        entry = {"class_name": class_name,
                 "config": keras2_layer_config(class_name, layer["config"])}
    if functional:
        entry["name"] = layer["config"].get("name", layer.get("name"))
        entry["inbound_nodes"] = keras2_inbound(layer.get("inbound_nodes", []))
    return entry


def variable_name(weight) -> str:
    """A TF2 variable name as Keras 2 saved it: owning layer / variable :0 (a Bidirectional's
    by the direction that owns it, forward_lstm/kernel:0, as its two cells share names)."""
    parts = weight.path.split("/")
    direction = [part for part in parts if part.startswith(("forward_", "backward_"))]
    owner = direction[0] if direction else parts[-2]
    return f"{owner}/{parts[-1]}:0"


def doubled_variable_name(weight) -> str:
    """A variable name as Keras 2.0.x saved it when TensorFlow had already seen its layer's
    name scope and numbered the second one: conv2d_1's kernel as "conv2d_1_1/kernel:0"."""
    owner, variable = weight.path.split("/")[-2:]
    return f"{owner}_1/{variable}:0"


def save_keras2_h5(model, path: Path, edit=None, naming=variable_name,
                   keras_version: bytes = KERAS_VERSION) -> Path:
    """Save a Keras 3 model as Keras 2.4's `model.save("x.h5")` would have; `edit(config)`
    may change the Keras 2 config first; `naming(weight)` gives each variable's saved name
    (Keras 2.0.x's: doubled_variable_name)."""
    config = keras2_config(json.loads(json.dumps({"class_name": type(model).__name__,
                                                  "config": model.get_config()})))
    if edit is not None:
        edit(config)
    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = keras_version
        handle.attrs["backend"] = b"tensorflow"
        handle.attrs["model_config"] = json.dumps(config).encode("utf-8")
        weights = handle.create_group("model_weights")
        tops = [layer for layer in model.layers]
        weights.attrs["layer_names"] = [layer.name.encode() for layer in tops]
        weights.attrs["backend"] = b"tensorflow"
        weights.attrs["keras_version"] = keras_version
        for layer in tops:
            group = weights.create_group(layer.name)
            ordered = list(layer.trainable_weights) + list(layer.non_trainable_weights)
            names = [naming(w) for w in ordered]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, weight in zip(names, ordered):
                group.create_dataset(name, data=weight.numpy())
    return path


def first_layer_shapes(config: dict, names: tuple[str, ...] | None = None) -> dict:
    """A Keras 2 config edited the way Keras 2.0-2.3 and Teachable Machine wrote Sequentials:
    no InputLayer, the input shape kept as the first layer's `batch_input_shape` (for the
    Sequentials called `names`, default every one)."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            layers = node.get("config", {}).get("layers") if node.get("class_name") == \
                "Sequential" and isinstance(node.get("config"), dict) else None
            if isinstance(layers, list) and len(layers) > 1 and \
                    layers[0].get("class_name") == "InputLayer" and \
                    (names is None or node["config"]["name"] in names):
                shape = layers.pop(0)["config"]["batch_input_shape"]
                layers[0]["config"]["batch_input_shape"] = shape
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return config


def bare_layer_list(config: dict) -> dict:
    """A Sequential's Keras 2 config as Keras 2.0-2.2 wrote it: the bare list of its layers,
    the input shape on the first of them (no InputLayer)."""
    first_layer_shapes(config)
    config["config"] = config["config"]["layers"]
    return config


def keras20_cnn(seed: int = 5):
    """A small CNN named as Keras 2.0 named layers (numbered from 1), its weights moved away
    from their initialisation as after training."""
    import keras

    keras.utils.set_random_seed(seed)
    layers = keras.layers
    model = keras.Sequential([keras.Input((12, 12, 1)),
                              layers.Conv2D(6, 3, activation="relu", name="conv2d_1"),
                              layers.MaxPooling2D(2, name="max_pooling2d_1"),
                              layers.Conv2D(5, 3, activation="relu", name="conv2d_2"),
                              layers.Flatten(name="flatten_1"),
                              layers.Dense(4, activation="softmax", name="dense_1")],
                             name="sequential_1")
    for layer in model.layers:
        layer.set_weights([w * 3 + 0.01 for w in layer.get_weights()])
    return model


def save_keras20_h5(model, path: Path) -> Path:
    """Save a Sequential as Keras 2.0.8's `model.save("x.h5")` wrote it: the config a bare
    list of layers, every variable under a numbered copy of its layer's scope."""
    return save_keras2_h5(model, path, bare_layer_list, doubled_variable_name, b"2.0.8")


def mobilenet_like(side: int = 32):
    """A small functional model with MobileNet's layer names and block structure."""
    import keras

    layers = keras.layers
    x = inputs = keras.Input((side, side, 3), name="input_1")
    x = layers.ZeroPadding2D(((0, 1), (0, 1)), name="Conv1_pad")(x)
    x = layers.Conv2D(8, 3, strides=2, use_bias=False, name="Conv1")(x)
    x = layers.BatchNormalization(name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    y = layers.DepthwiseConv2D(3, padding="same", use_bias=False,
                               name="expanded_conv_depthwise")(x)
    y = layers.BatchNormalization(name="expanded_conv_depthwise_BN")(y)
    y = layers.ReLU(6.0, name="expanded_conv_depthwise_relu")(y)
    y = layers.Conv2D(8, 1, use_bias=False, name="expanded_conv_project")(y)
    y = layers.BatchNormalization(name="expanded_conv_project_BN")(y)
    x = layers.Add(name="block_1_add")([x, y])
    x = layers.Conv2D(16, 1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    return keras.Model(inputs, x, name="model1")


def teachable_machine_like(n_classes: int = 3, side: int = 32):
    """A Teachable Machine export's structure, as ../shared/data/teachable-machine-layout.md
    describes real ones: an outer Sequential (its own InputLayer) of a feature Sequential
    (InputLayer `model1_input`, the MobileNet functional `model1`, global pooling) and a head
    Sequential with its own InputLayer (`dense_Dense1_input`), a relu Dense with
    VarianceScaling(fan_in, truncated_normal) and a softmax Dense without bias."""
    import keras

    keras.utils.set_random_seed(11)
    layers = keras.layers
    base = mobilenet_like(side)
    features = keras.Sequential([
        keras.Input((side, side, 3), name="model1_input"), base,
        layers.GlobalAveragePooling2D(name="global_average_pooling2d_GlobalAveragePooling2D1"),
    ], name="sequential_1")
    head = keras.Sequential([
        keras.Input((base.output_shape[-1],), name="dense_Dense1_input"),
        layers.Dense(10, activation="relu", name="dense_Dense1",
                     kernel_initializer=keras.initializers.VarianceScaling(
                         1.0, "fan_in", "truncated_normal")),
        layers.Dense(n_classes, activation="softmax", use_bias=False, name="dense_Dense2"),
    ], name="sequential_3")
    model = keras.Sequential([keras.Input((side, side, 3), name="sequential_1_input"),
                              features, head], name="sequential_4")
    for layer in model.layers:  # moved away from the initialisation, as after training
        layer.set_weights([w * 1.5 + 0.01 for w in layer.get_weights()])
    return model


def as_teachable_machine_wrote_it(config: dict) -> dict:
    """Keras 2.4 as Teachable Machine's exporter ran it: the head's first Dense repeats the
    batch_input_shape of the head's InputLayer."""
    head = config["config"]["layers"][2]["config"]["layers"]
    head[1]["config"]["batch_input_shape"] = head[0]["config"]["batch_input_shape"]
    return config


KERAS_213_MODULES = {"Functional": "keras.src.engine.functional", "Model": "keras.src.engine.training",
                     "Sequential": "keras"}
OBJECT_MODULES = {"initializer": "keras.initializers", "regularizer": "keras.regularizers",
                  "constraint": "keras.constraints"}


def keras213_object(value, key: str = ""):
    """A Keras 2 form config as Keras 2.13-2.15's zip saving wrote it: every object with
    `module` and `registered_name`, a Functional model under its internal module path."""
    if isinstance(value, list):
        return [keras213_object(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "class_name" in value and "config" in value:
        class_name = value["class_name"]
        kind = next((k for k in OBJECT_MODULES if key.endswith(k)), "")
        module = KERAS_213_MODULES.get(class_name) or OBJECT_MODULES.get(kind, "keras.layers")
        converted = {"module": module, "class_name": class_name,
                     "config": {k: keras213_object(v, k) for k, v in value["config"].items()},
                     "registered_name": class_name if module.startswith("keras.src") else None}
        for extra in ("name", "inbound_nodes"):
            if extra in value:
                converted[extra] = value[extra]
        return converted
    return {k: keras213_object(v, k) for k, v in value.items()}


def object_path_groups(model, prefix: str, sep: str = "/") -> list[tuple[str, list]]:
    """(group path, variables) of every layer as Keras 2.13-2.15 saved them: by attribute
    path, layers under `_layer_checkpoint_dependencies` by snake-cased class and index."""
    import re

    found, used = [], {}
    for layer in model.layers:
        snake = re.sub(r"([a-z])([A-Z])", r"\1_\2",
                       re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", type(layer).__name__)).lower()
        used[snake] = used.get(snake, -1) + 1
        name = snake if used[snake] == 0 else f"{snake}_{used[snake]}"
        path = f"{prefix}_layer_checkpoint_dependencies{sep}{name}"
        if hasattr(layer, "layers"):
            found += object_path_groups(layer, path + sep, sep)
            found.append((path, []))
        elif hasattr(layer, "forward_layer"):
            # A Bidirectional owns no variables: its two recurrent layers' cells do. The file
            # lists the groups by name, backward before forward.
            found += [(f"{path}{sep}{side}{sep}cell", list(getattr(layer, side).cell.weights))
                      for side in ("backward_layer", "forward_layer")]
        elif hasattr(layer, "cell"):
            found.append((f"{path}{sep}cell", list(layer.cell.weights)))
        else:
            found.append((path, list(layer.trainable_weights) +
                          list(layer.non_trainable_weights)))
    return found


def save_keras213_zip(model, path: Path, keras_version: str = "2.13.1", sep: str = "/",
                      weights: bytes | None = None) -> Path:
    """A .keras file as TensorFlow/Keras 2.13-2.15 wrote it (config.json, metadata.json and
    an object-path model.weights.h5 with optimizer and metrics groups beside the layers);
    `weights` replaces the weights member (None: written from the model)."""
    import io
    import zipfile

    legacy = keras2_config(json.loads(json.dumps({"class_name": type(model).__name__,
                                                  "config": model.get_config()})))
    config = keras213_object(legacy)
    config["compile_config"] = {"optimizer": "adam", "loss": "sparse_categorical_crossentropy",
                                "metrics": ["accuracy"]}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        handle.create_group("vars")
        for group_path, variables in object_path_groups(model, "", sep):
            group = handle.require_group(group_path).require_group("vars")
            for k, variable in enumerate(variables):
                group.create_dataset(str(k), data=variable.numpy())
        optimizer = handle.create_group("optimizer").create_group("vars")
        optimizer.create_dataset("0", data=7)  # iterations
        for k, variable in enumerate(model.trainable_weights):
            optimizer.create_dataset(str(k + 1), data=variable.numpy() * 0)
        mean = handle.create_group("metrics").create_group("mean").create_group("vars")
        mean.create_dataset("0", data=1.5)
        mean.create_dataset("1", data=3.0)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": keras_version,
                                                      "date_saved": "2023-09-01@10:00:00"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", buffer.getvalue() if weights is None else weights)
    return path
