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

from reportgen.errors import ReportInputError, WeightsUnreadable, one_line
from reportgen.i18n import msg
from reportgen.load.config_model import (config_inputs, layer_configs, layer_snapshot,
                                         with_output_shapes)
from reportgen.load.hdf5_source import hdf5_source
from reportgen.load.legacy_layout import legacy_layers
from reportgen.load.object_layout import (StoredObject, StoredState, flattened, is_object_layout,
                                          model_objects, object_tree, stored_state)
from reportgen.load.model_file import READ_ERRORS, ModelFile, read_config
from reportgen.load.snapshot import LayerSnapshot, ModelSnapshot

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
            handles = [stack.enter_context(h5py.File(source, "r"))
                       for source in hdf5_sources(model_file, stack)]
            snapshot = snapshot_from_hdf5(handles, config)
        except READ_ERRORS as exc:
            raise WeightsUnreadable(msg("{path}: {problem}", path=str(model_file.path),
                                        problem=msg("cannot read the weights: {error}",
                                                    error=one_line(exc)))) from exc
        yield guarded(snapshot, model_file.path, by_shard=bool(model_file.shards))


def hdf5_sources(model_file: ModelFile, stack: contextlib.ExitStack) -> list:
    """What h5py opens: every shard of a sharded save, else the file's one HDF5 source."""
    if model_file.shards:
        return [str(shard) for shard in model_file.shards]
    return [hdf5_source(model_file.path, model_file.format, stack)]


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
            raise ReportInputError(msg("{path}: cannot read tensor {tensor}: {error}",
                                       path=str(self.file_path), tensor=self.dataset.name,
                                       error=one_line(exc))) from exc


def guarded(snapshot: ModelSnapshot, file_path: Path, by_shard: bool = False) -> ModelSnapshot:
    """The snapshot with every dataset behind a StoredArray; `by_shard`: a failed read names
    the shard it came from rather than the index."""
    def layer(item: LayerSnapshot) -> LayerSnapshot:
        weights = tuple(dataclasses.replace(w, values=StoredArray(
            w.values, Path(w.values.file.filename) if by_shard else file_path))
            for w in item.weights)
        return dataclasses.replace(item, weights=weights,
                                   children=tuple(layer(c) for c in item.children))

    return dataclasses.replace(snapshot, layers=tuple(layer(item) for item in snapshot.layers))


def snapshot_from_hdf5(handles: list, config: dict | None) -> ModelSnapshot:
    """Lay out the layers of a legacy (Keras 2 style) or Keras 3 weights file, or of the
    shards of a Keras 3 sharded save (always laid out by object path)."""
    configs = layer_configs(config)
    state: list[StoredState] = []
    if len(handles) > 1 or is_object_layout(handles[0]):
        tree = object_tree(*handles)
        layers = object_layers(tree, configs, prefix="")
        state = stored_state(tree)
    else:
        handle = handles[0]
        root = handle["model_weights"] if "model_weights" in handle else handle
        layers = legacy_layers(root, configs)
    if not any(layer.weights or layer.children for layer in layers):
        raise ValueError(msg("no weights found in the file"))
    return ModelSnapshot(
        class_name=str((config or {}).get("class_name", "")),
        layers=with_output_shapes(tuple(layers), config),
        inputs=config_inputs(config),
        stored_state=tuple((s.path, s.n_tensors, s.n_values) for s in state),
    )


def object_layers(item: StoredObject, configs: dict[str, dict], prefix: str) -> list[LayerSnapshot]:
    """Layers of a file laid out by object path (object_layout.py), nested models recursively.

    Layers are stored under their class name in snake case, numbered in model order
    (`conv2d_1`), not under their own names; the config gives the order and the real names.
    Without a config, the stored names are all there is.
    """
    objects = {obj.stored: obj for obj in model_objects(item)}
    placed = paired_by_order(stored_names(configs), objects) if configs else {}
    # Objects the config does not account for are still reported, under their stored names.
    placed.update({n: n for n in objects if n not in placed.values()})
    layers = []
    for name, stored in placed.items():
        obj = objects.get(stored)
        if obj is None:
            continue
        config = configs.get(name) or _guessed_config(stored)
        if obj.layers:
            children = object_layers(obj, layer_configs(config), f"{prefix}{name}/")
            layers.append(layer_snapshot(name, config, [], prefix + name, tuple(children)))
            continue
        found = flattened(obj)
        names = keras3_names(config, [path for path, _ in found])
        layers.append(layer_snapshot(name, config, list(zip(names, [d for _, d in found])),
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


def paired_by_order(placed: dict[str, str], objects: dict) -> dict[str, str]:
    """Each layer's stored group, when the file numbers a class's groups with gaps: Keras
    2.13-2.15 counted objects the config does not list (groups `dense`, `dense_2`, `dense_4`
    for the config's dense_3, dense_4, dense_5), so the expected `dense_1` is missing and
    `dense_2` is another layer. Then the layers of each class are paired with its groups in
    order, as Keras 2.13 paired them itself; a class whose counts differ keeps the names."""
    if all(stored in objects for stored in placed.values()):
        return placed
    groups: dict[str, list[str]] = {}
    for stored in sorted(objects, key=_numbered_key):
        groups.setdefault(_base(stored), []).append(stored)
    layers: dict[str, list[str]] = {}
    for name, stored in placed.items():
        layers.setdefault(_base(stored), []).append(name)
    paired = dict(placed)
    for base, names in layers.items():
        if len(groups.get(base, ())) == len(names):
            paired.update(zip(names, groups[base]))
    return paired


def _base(stored: str) -> str:
    return re.sub(r"_\d+$", "", stored)


def _numbered_key(stored: str) -> tuple[str, int]:
    found = re.search(r"_(\d+)$", stored)
    return _base(stored), int(found.group(1)) if found else 0


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


def keras3_names(config: dict | None, paths: list[str]) -> list[str]:
    """Names for a layer's numbered variables, from its class; the paths when unknown."""
    if config is None:
        return paths
    candidates = VARIABLE_NAMES.get(config.get("class_name", ""), ())
    settings = config.get("config", {})
    names = [n for n in candidates if settings.get(OPTIONAL.get(n, ""), True) is not False]
    return names if len(names) == len(paths) else paths
