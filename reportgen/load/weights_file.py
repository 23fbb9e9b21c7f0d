"""Read a model file's weights straight from HDF5, without TensorFlow or Keras.

This serves the weights-only report: for checkpoints Keras cannot rebuild (custom or
Lambda layers, configs from another era, `save_weights` files) and for the fast
`--weights-only` option. Tensors stay on disk as h5py datasets until a stage reads one, so
a large file is never held in memory at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from pathlib import Path
from typing import Iterator

import numpy as np

from reportgen.errors import ReportInputError, one_line
from reportgen.load.hdf5_source import hdf5_source
from reportgen.load.model_file import READ_ERRORS, ModelFile, printable, read_config
from reportgen.load.snapshot import (LayerSnapshot, ModelSnapshot, TensorSpec, WeightArray,
                                     weight_display_names)

FROZEN_NAMES = ("moving_mean", "moving_variance")
# The order in which Keras 3 layers create their variables ("vars/0", "vars/1", ...).
VARIABLE_NAMES = {
    "Dense": ("kernel", "bias"), "EinsumDense": ("kernel", "bias"),
    "Conv1D": ("kernel", "bias"), "Conv2D": ("kernel", "bias"), "Conv3D": ("kernel", "bias"),
    "Conv1DTranspose": ("kernel", "bias"), "Conv2DTranspose": ("kernel", "bias"),
    "Conv3DTranspose": ("kernel", "bias"),
    "DepthwiseConv1D": ("kernel", "bias"), "DepthwiseConv2D": ("kernel", "bias"),
    "SeparableConv1D": ("depthwise_kernel", "pointwise_kernel", "bias"),
    "SeparableConv2D": ("depthwise_kernel", "pointwise_kernel", "bias"),
    "BatchNormalization": ("gamma", "beta", "moving_mean", "moving_variance"),
    "LayerNormalization": ("gamma", "beta"),
    "Embedding": ("embeddings",),
    "SimpleRNN": ("kernel", "recurrent_kernel", "bias"),
    "LSTM": ("kernel", "recurrent_kernel", "bias"),
    "GRU": ("kernel", "recurrent_kernel", "bias"),
    "PReLU": ("alpha",),
}
OPTIONAL = {"bias": "use_bias", "gamma": "scale", "beta": "center"}


@contextlib.contextmanager
def open_weights(model_file: ModelFile, config: dict | None = None) -> Iterator[ModelSnapshot]:
    """A snapshot whose tensors are read from the file on demand, valid inside the block.

    The layers are laid out by the file's own config, or by `config` when given (the
    architecture a weights-only file belongs to).
    """
    import h5py

    config = config if config is not None else read_config(model_file)
    with contextlib.ExitStack() as stack:
        try:
            source = hdf5_source(model_file.path, model_file.format, stack)
            handle = stack.enter_context(h5py.File(source, "r"))
            snapshot = snapshot_from_hdf5(handle, config)
        except READ_ERRORS as exc:
            raise ReportInputError(
                f"{model_file.path}: cannot read the weights: {one_line(exc)}") from exc
        yield guarded(snapshot, model_file.path)


class StoredArray:
    """An HDF5 dataset read on demand. A read that fails (a corrupt compressed chunk, say)
    is the file's fault, not a bug: it ends the run with one line naming the tensor."""

    def __init__(self, dataset, file_path: Path):
        self.dataset, self.file_path = dataset, file_path
        self.shape = tuple(dataset.shape)
        self.dtype = dataset.dtype
        self.ndim = len(self.shape)
        self.size = int(dataset.size)

    def __array__(self, dtype=None, copy=None):
        values = self[()]
        return values if dtype is None else values.astype(dtype)

    def __getitem__(self, key):
        try:
            return np.asarray(self.dataset[key])
        except READ_ERRORS as exc:
            raise ReportInputError(f"{self.file_path}: cannot read tensor {self.dataset.name}: "
                                   f"{one_line(exc)}") from exc


def guarded(snapshot: ModelSnapshot, file_path: Path) -> ModelSnapshot:
    """The snapshot with every dataset behind a StoredArray."""
    def layer(item: LayerSnapshot) -> LayerSnapshot:
        weights = tuple(dataclasses.replace(w, values=StoredArray(w.values, file_path))
                        for w in item.weights)
        return dataclasses.replace(item, weights=weights,
                                   children=tuple(layer(c) for c in item.children))

    return dataclasses.replace(snapshot, layers=tuple(layer(item) for item in snapshot.layers))


def snapshot_from_hdf5(handle, config: dict | None) -> ModelSnapshot:
    """Lay out the layers of a legacy (Keras 2 style) or Keras 3 weights file."""
    configs = layer_configs(config)
    if "layers" in handle and isinstance(handle["layers"], _group_type()):
        layers = keras3_layers(handle["layers"], configs, prefix="")
    else:
        root = handle["model_weights"] if "model_weights" in handle else handle
        layers = legacy_layers(root, configs)
    if not any(layer.weights or layer.children for layer in layers):
        raise ValueError("no weights found in the file")
    return ModelSnapshot(
        class_name=str((config or {}).get("class_name", "")),
        layers=tuple(layers),
        inputs=config_inputs(config),
    )


def _group_type():
    import h5py

    return h5py.Group


def legacy_layers(root, configs: dict[str, dict]) -> list[LayerSnapshot]:
    """Layers of an HDF5 file written by Keras 2 (or Keras 3's legacy writer), in saved order.

    A model used as a layer (a Sequential inside a Sequential, a MobileNet inside a
    Teachable Machine export) keeps all its inner layers' weights in one group; they are
    put back under the inner layers named in `weight_names` ("Conv1/kernel:0").
    """
    names = [_text(n) for n in root.attrs.get("layer_names", [])]
    if not names:
        raise ValueError("no layer_names attribute: not a Keras weights file")
    layers = []
    for name in names:
        group = root[name]
        paths = [_text(n) for n in group.attrs.get("weight_names", [])]
        datasets = [group[p] for p in paths]
        if not all(_is_tensor(d) for d in datasets):
            raise ValueError(f"layer {name!r} lists weights that are not numeric arrays")
        config = configs.get(name)
        if _is_model(config) or _owners(paths, name) - {name}:
            layers.append(nested_layer(name, config, list(zip(paths, datasets)), name))
            continue
        short = weight_display_names([legacy_weight_name(p, name) for p in paths])
        layers.append(_layer(name, config, list(zip(short, datasets)), name))
    return layers


MODEL_CLASSES = ("Sequential", "Functional", "Model")


def _is_model(config: dict | None) -> bool:
    return (config or {}).get("class_name") in MODEL_CLASSES


def _owner(path: str, fallback: str) -> str:
    """The layer a saved weight belongs to: the path part before the variable's name."""
    parts = re.sub(r":\d+$", "", path).split("/")
    return parts[-2] if len(parts) >= 2 else fallback


def _owners(paths: list[str], layer_name: str) -> set[str]:
    return {_owner(p, layer_name) for p in paths}


def nested_layer(name: str, config: dict | None, weights: list[tuple[str, object]],
                 path: str) -> LayerSnapshot:
    """A model used as a layer, its weights handed to the inner layers that own them: in the
    config's order and nesting when the file has a config, else in the order saved."""
    by_owner: dict[str, list[tuple[str, object]]] = {}
    for weight_path, dataset in weights:
        by_owner.setdefault(_owner(weight_path, name), []).append((weight_path, dataset))
    children = _nested_children(config, by_owner, path)
    placed = {leaf for leaf in _leaf_names(children)}
    children += [_weighted_layer(owner, None, found, f"{path}/{owner}")
                 for owner, found in by_owner.items() if owner not in placed]
    return _layer(name, config, [], path, tuple(children))


def _nested_children(config: dict | None, by_owner: dict, path: str) -> list[LayerSnapshot]:
    """The inner layers a model config lists, each with the weights saved for it."""
    children = []
    for inner_name, inner in layer_configs(config).items():
        inner_path = f"{path}/{inner_name}"
        if _is_model(inner):
            children.append(_layer(inner_name, inner, [], inner_path,
                                   tuple(_nested_children(inner, by_owner, inner_path))))
        else:
            children.append(_weighted_layer(inner_name, inner, by_owner.get(inner_name, []),
                                            inner_path))
    return children


def _weighted_layer(name: str, config: dict | None, found: list[tuple[str, object]],
                    path: str) -> LayerSnapshot:
    short = weight_display_names([legacy_weight_name(p, name) for p, _ in found])
    return _layer(name, config, list(zip(short, [d for _, d in found])), path)


def _leaf_names(layers: list[LayerSnapshot]):
    for layer in layers:
        yield layer.name
        yield from _leaf_names(list(layer.children))


def legacy_weight_name(path: str, layer_name: str) -> str:
    """'model/conv2d/kernel:0' -> 'kernel': the weight's path inside its layer."""
    path = re.sub(r":\d+$", "", path)
    marker = f"{layer_name}/"
    return path.split(marker, 1)[1] if marker in path else path.rsplit("/", 1)[-1]


def keras3_layers(group, configs: dict[str, dict], prefix: str) -> list[LayerSnapshot]:
    """Layers of a Keras 3 weights file, nested models recursively.

    Keras 3 stores each layer under its class name in snake case, numbered in model order
    (`layers/conv2d_1/vars/0`), not under the layer's own name; the config gives the order
    and the real names. Without a config, the stored names are all there is.
    """
    placed = stored_names(configs) if configs else {}
    # Groups the config does not account for are still reported, under their stored names.
    placed.update({n: n for n in sorted(group) if n not in placed.values()})
    layers = []
    for name, stored in placed.items():
        if stored not in group:
            continue
        node = group[stored]
        config = configs.get(name) or _guessed_config(stored)
        if "layers" in node and isinstance(node["layers"], _group_type()):
            children = keras3_layers(node["layers"], layer_configs(config), f"{prefix}{name}/")
            layers.append(_layer(name, config, [], prefix + name, tuple(children)))
            continue
        found = _datasets_below(node)
        names = keras3_names(config, [path for path, _ in found])
        layers.append(_layer(name, config, list(zip(names, [d for _, d in found])),
                             prefix + name))
    return layers


def stored_names(configs: dict[str, dict]) -> dict[str, str]:
    """Each layer's name -> the group Keras 3 stored it under (class in snake case, numbered)."""
    used: dict[str, int] = {}
    placed = {}
    for name, config in configs.items():
        stored = snake_case(str(config.get("class_name", "")))
        if stored in used:
            used[stored] += 1
            stored = f"{stored}_{used[stored]}"
        else:
            used[stored] = 0
        placed[name] = stored
    return placed


def snake_case(class_name: str) -> str:
    """Keras's own rule: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _guessed_config(stored: str) -> dict | None:
    """With no config, the class a stored group name stands for, when it is a known one."""
    base = re.sub(r"_\d+$", "", stored)
    for class_name in VARIABLE_NAMES:
        if snake_case(class_name) == base:
            return {"class_name": class_name, "config": {}}
    return None


def _datasets_below(node) -> list[tuple[str, object]]:
    """Every numeric dataset under a layer's group, as (relative path, dataset), in order."""
    found = []
    node.visititems(lambda path, obj: found.append((path, obj)) if _is_tensor(obj) else None)
    return sorted(found, key=lambda item: [int(p) if p.isdigit() else p
                                           for p in item[0].split("/")])


def keras3_names(config: dict | None, paths: list[str]) -> list[str]:
    """Names for a layer's numbered variables, from its class; the paths when unknown."""
    if config is None:
        return paths
    candidates = VARIABLE_NAMES.get(config.get("class_name", ""), ())
    settings = config.get("config", {})
    names = [n for n in candidates if settings.get(OPTIONAL.get(n, ""), True) is not False]
    return names if len(names) == len(paths) else paths


def _layer(name: str, config: dict | None, weights: list, path: str,
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
        input_shape=_without_batch(build.get("input_shape")),
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
            shape = _without_batch(settings.get(key))
            if shape is not None:
                dtype = settings.get("dtype")
                found.append(TensorSpec(name=name, shape=shape,
                                        dtype=dtype if isinstance(dtype, str) else "float32"))
                break
        if found and (config or {}).get("class_name") == "Sequential":
            break
    return tuple(found)


def _without_batch(shape) -> tuple[int | None, ...] | None:
    """A saved shape list without its batch axis."""
    if not isinstance(shape, list) or not shape:
        return None
    return tuple(d if isinstance(d, int) else None for d in shape[1:])


def _is_tensor(obj) -> bool:
    """Whether an HDF5 object is a numeric array (a weight), not a group or text."""
    return hasattr(obj, "shape") and hasattr(obj, "dtype") and obj.dtype.kind in "biuf"


def _text(value) -> str:
    """An HDF5 string attribute as str."""
    return printable(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
