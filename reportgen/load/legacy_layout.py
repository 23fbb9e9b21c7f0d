"""The HDF5 layout of Keras 2's `model.save("x.h5")` and `save_weights` (and Keras 3's legacy
writer): `model_weights/<layer>` groups listed in `layer_names`, each with `weight_names`."""

from __future__ import annotations

import re

from reportgen.i18n import msg
from reportgen.load.hdf5_source import is_tensor
from reportgen.load.config_model import is_model, layer_configs, layer_snapshot
from reportgen.load.model_file import printable
from reportgen.load.snapshot import LayerSnapshot, weight_display_names


def legacy_layers(root, configs: dict[str, dict]) -> list[LayerSnapshot]:
    """Layers of an HDF5 file written by Keras 2 (or Keras 3's legacy writer), in saved order.

    A model used as a layer (a Sequential inside a Sequential, a MobileNet inside a
    Teachable Machine export) keeps all its inner layers' weights in one group; they are
    put back under the inner layers named in `weight_names` ("Conv1/kernel:0").
    """
    names = [_text(n) for n in root.attrs.get("layer_names", [])]
    if not names:
        raise ValueError(msg("no layer_names attribute: not a Keras weights file"))
    layers = []
    for name in names:
        group = root[name]
        saved = [_text(n) for n in group.attrs.get("weight_names", [])]
        datasets = [group[p] for p in saved]
        if not all(is_tensor(d) for d in datasets):
            raise ValueError(msg("layer {name!r} lists weights that are not numeric arrays",
                                 name=name))
        config = configs.get(name)
        known = {name, *_inner_names(config)}
        paths = [undoubled(p, known) for p in saved]
        if is_model(config) or _owners(paths, name) - {name}:
            layers.append(nestedlayer_snapshot(name, config, list(zip(paths, datasets)), name))
            continue
        short = weight_display_names([legacy_weight_name(p, name) for p in paths])
        layers.append(layer_snapshot(name, config, list(zip(short, datasets)), name))
    return layers


def undoubled(path: str, names: set[str]) -> str:
    """A saved weight's path with every numbered copy of a layer's scope put back to the
    layer's name: 'conv2d_1_1/kernel:0' of layer conv2d_1 -> 'conv2d_1/kernel:0'.

    Keras 2.0.x created a layer's variables in a TensorFlow name scope of the layer's name
    that TensorFlow had often seen already, and so numbered: left as saved, every such
    layer would look like a model holding a layer conv2d_1_1. Only names in `names` (the
    layer's own, and its inner layers' when it is a model) are put back, so a layer really
    called conv2d_1_1 keeps its name.
    """
    *scopes, variable = path.split("/")
    return "/".join([_layer_of_scope(scope, names) for scope in scopes] + [variable])


def _layer_of_scope(scope: str, names: set[str]) -> str:
    base = re.sub(r"_\d+$", "", scope)
    return base if scope not in names and base in names else scope


def _inner_names(config: dict | None):
    """The names of the layers a model config holds, nested models' layers too."""
    for inner_name, inner in layer_configs(config).items():
        yield inner_name
        yield from _inner_names(inner)


def _owner(path: str, fallback: str) -> str:
    """The layer a saved weight belongs to: the path part before the variable's name."""
    parts = re.sub(r":\d+$", "", path).split("/")
    return parts[-2] if len(parts) >= 2 else fallback


def _owners(paths: list[str], layer_name: str) -> set[str]:
    return {_owner(p, layer_name) for p in paths}


def nestedlayer_snapshot(name: str, config: dict | None, weights: list[tuple[str, object]],
                 path: str) -> LayerSnapshot:
    """A model used as a layer, its weights handed to the inner layers that own them: in the
    config's order and nesting when the file has a config, else in the order saved."""
    by_owner: dict[str, list[tuple[str, object]]] = {}
    for weight_path, dataset in weights:
        by_owner.setdefault(_owner(weight_path, name), []).append((weight_path, dataset))
    children = _nested_children(config, by_owner, path)
    placed = {leaf for leaf in _leaf_names(children)}
    children += [_weightedlayer_snapshot(owner, None, found, f"{path}/{owner}")
                 for owner, found in by_owner.items() if owner not in placed]
    return layer_snapshot(name, config, [], path, tuple(children))


def _nested_children(config: dict | None, by_owner: dict, path: str) -> list[LayerSnapshot]:
    """The inner layers a model config lists, each with the weights saved for it."""
    children = []
    for inner_name, inner in layer_configs(config).items():
        inner_path = f"{path}/{inner_name}"
        if is_model(inner):
            children.append(layer_snapshot(inner_name, inner, [], inner_path,
                                   tuple(_nested_children(inner, by_owner, inner_path))))
        else:
            children.append(_weightedlayer_snapshot(inner_name, inner, by_owner.get(inner_name, []),
                                            inner_path))
    return children


def _weightedlayer_snapshot(name: str, config: dict | None, found: list[tuple[str, object]],
                    path: str) -> LayerSnapshot:
    short = weight_display_names([legacy_weight_name(p, name) for p, _ in found])
    return layer_snapshot(name, config, list(zip(short, [d for _, d in found])), path)


def _leaf_names(layers: list[LayerSnapshot]):
    for layer in layers:
        yield layer.name
        yield from _leaf_names(list(layer.children))


def legacy_weight_name(path: str, layer_name: str) -> str:
    """'model/conv2d/kernel:0' -> 'kernel': the weight's path inside its layer."""
    path = re.sub(r":\d+$", "", path)
    marker = f"{layer_name}/"
    return path.split(marker, 1)[1] if marker in path else path.rsplit("/", 1)[-1]


def _text(value) -> str:
    """An HDF5 string attribute as str."""
    return printable(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
