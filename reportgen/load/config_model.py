"""What a model config says without Keras: its layers (nested models too), inputs, and each
layer's class and settings; shapes it does not give stay unknown."""

from __future__ import annotations

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
                         layers=config_layers(config, ""), inputs=config_inputs(config))


def config_layers(config: dict | None, prefix: str) -> tuple[LayerSnapshot, ...]:
    """The layers a (model) config lists, nested models' own layers as their children."""
    return tuple(layer_snapshot(name, layer, [], prefix + name,
                                config_layers(layer, f"{prefix}{name}/") if is_model(layer)
                                else ())
                 for name, layer in layer_configs(config).items())
