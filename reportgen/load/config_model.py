"""What a model config says without Keras: its layers (nested models too), inputs, and each
layer's class and settings; shapes it does not give stay unknown."""

from __future__ import annotations

import dataclasses
import re

from reportgen.load.snapshot import LayerSnapshot, ModelSnapshot, TensorSpec, WeightArray

# The variables Keras layers keep as non-trainable state, by name: a file without a built
# model does not say which weights train, so the split is inferred from these names
# (batch normalisation's moving and renorm statistics, Normalization's adapted statistics).
FROZEN_NAMES = ("moving_mean", "moving_variance", "moving_stddev", "renorm_mean",
                "renorm_stddev", "mean", "variance", "count")
MODEL_CLASSES = ("Sequential", "Functional", "Model")


def is_model(config: dict | None) -> bool:
    """Whether a layer config is a model used as a layer."""
    return (config or {}).get("class_name") in MODEL_CLASSES


def layer_snapshot(name: str, config: dict | None, weights: list, path: str,
           children: tuple = ()) -> LayerSnapshot:
    """One layer of a weights-only snapshot."""
    settings = (config or {}).get("config", {})
    trainable = settings.get("trainable", True) is not False
    arrays = tuple(WeightArray(n, d, trainable and n.rsplit("/", 1)[-1] not in FROZEN_NAMES)
                   for n, d in weights)
    build = (config or {}).get("build_config") or {}
    return LayerSnapshot(
        name=name,
        class_name=str((config or {}).get("class_name", "")),
        output_shape=None,
        n_params=sum(int(w.values.size) for w in arrays) + sum(c.n_params for c in children),
        trainable=trainable,
        activation=str(settings.get("activation") or ""),
        weights=arrays,
        path=path,
        input_shape=without_batch(build.get("input_shape")),
        children=children,
    )


def layer_configs(config: dict | None) -> dict[str, dict]:
    """The layer configs of a model config, by layer name, in model order."""
    inner = (config or {}).get("config", {})
    layers = inner.get("layers", []) if isinstance(inner, dict) else []
    found = {}
    for layer in layers if isinstance(layers, list) else []:
        if isinstance(layer, dict) and isinstance(layer.get("config"), dict):
            found[str(layer["config"].get("name", layer.get("name", "")))] = layer
    return found


def config_inputs(config: dict | None) -> tuple[TensorSpec, ...]:
    """The model's inputs as its config declares them (InputLayers, or a Sequential's first
    layer's batch shape); () when the config does not say."""
    found = []
    for name, layer in layer_configs(config).items():
        settings = layer["config"]
        for key in ("batch_shape", "batch_input_shape"):
            shape = without_batch(settings.get(key))
            if shape is not None:
                dtype = settings.get("dtype")
                found.append(TensorSpec(name=name, shape=shape,
                                        dtype=dtype if isinstance(dtype, str) else "float32"))
                break
        if found and (config or {}).get("class_name") == "Sequential":
            break
    return tuple(found)


def without_batch(shape) -> tuple[int | None, ...] | None:
    """A saved shape list without its batch axis."""
    if not isinstance(shape, list) or not shape:
        return None
    return tuple(d if isinstance(d, int) else None for d in shape[1:])


def architecture_snapshot(config: dict) -> ModelSnapshot:
    """The model a config describes, without weights: its layers (nested ones as children)
    with their classes and settings, and its inputs."""
    return ModelSnapshot(class_name=str(config.get("class_name", "")),
                         layers=with_output_shapes(config_layers(config, ""), config),
                         inputs=config_inputs(config))


def with_output_shapes(layers: tuple[LayerSnapshot, ...], config: dict | None):
    """The top-level layers given the output shapes their config shows (config_output_shapes)."""
    shapes = config_output_shapes(config)
    return tuple(dataclasses.replace(layer, output_shape=shapes[layer.name])
                 if layer.output_shape is None and layer.name in shapes else layer
                 for layer in layers)


def config_layers(config: dict | None, prefix: str) -> tuple[LayerSnapshot, ...]:
    """The layers a (model) config lists, nested models' own layers as their children."""
    return tuple(layer_snapshot(name, layer, [], prefix + name,
                                config_layers(layer, f"{prefix}{name}/") if is_model(layer)
                                else ())
                 for name, layer in layer_configs(config).items())


def config_output_shapes(config: dict | None) -> dict[str, str]:
    """Each layer's output shape as far as a Keras 3 config shows it, without running
    anything: the input shape recorded in the build_config of the one layer it feeds (the
    next layer of a Sequential; in a functional model, each layer whose single input it
    makes). Layers whose output no recorded input shows are left out."""
    layers = layer_configs(config)
    fed: dict[str, list] = {}
    if (config or {}).get("class_name") == "Sequential":
        names = list(layers)
        for producer, consumer in zip(names, names[1:]):
            fed.setdefault(producer, []).append(layers[consumer])
    else:
        for layer in layers.values():
            sources = _inbound_layers(layer.get("inbound_nodes"))
            if len(sources) == 1:
                fed.setdefault(sources[0], []).append(layer)
    found = {}
    for producer, consumers in fed.items():
        shapes = {_shape_text((c.get("build_config") or {}).get("input_shape"))
                  for c in consumers}
        if len(shapes) == 1 and None not in shapes:
            found[producer] = shapes.pop()
    return found


def _inbound_layers(nodes) -> list[str]:
    """The layers whose outputs a Keras 3 layer config's inbound nodes read."""
    found: list[str] = []

    def visit(item):
        if isinstance(item, dict):
            history = item.get("config", {}).get("keras_history") \
                if item.get("class_name") == "__keras_tensor__" else None
            if isinstance(history, list) and history and isinstance(history[0], str):
                found.append(history[0])
                return
            for value in item.values():
                visit(value)
        elif isinstance(item, list):
            for value in item:
                visit(value)

    visit(nodes or [])
    return found


def _shape_text(shape) -> str | None:
    """A recorded shape list as Keras prints it: (None, 10, 8); None for anything else."""
    if not isinstance(shape, list) or not all(d is None or isinstance(d, int) for d in shape):
        return None
    return str(tuple(shape))


UNKNOWN_CLASS = re.compile(r"(?:Could not locate class|Unknown layer:?) '([\w.>]+)'")


def custom_layers(config: dict | None, refusal: str) -> list[dict]:
    """The layers of a config whose class is not Keras's own: registered by a package
    (`registered_name` "package>Name"), from a module outside Keras, or the class Keras said
    it could not find. Each as {name, path, class_name, registered_name, config} (its stored
    settings, as data: nothing of it is run)."""
    named = set(UNKNOWN_CLASS.findall(refusal or ""))
    found = []

    def visit(model_config, prefix):
        for name, layer in layer_configs(model_config).items():
            registered = layer.get("registered_name")
            module = layer.get("module")
            class_name = layer.get("class_name")  # a damaged file may lack it
            if (isinstance(registered, str) and ">" in registered) or class_name in named \
                    or registered in named \
                    or (isinstance(module, str) and not module.startswith("keras")):
                found.append({"name": name, "path": prefix + name,
                              "class_name": str(class_name),
                              "registered_name": registered if isinstance(registered, str)
                              else None, "config": layer["config"]})
            if is_model(layer):
                visit(layer, f"{prefix}{name}/")

    visit(config, "")
    return found
