"""Weights files laid out by object path: Keras 3's `model.weights.h5` and the `.keras` zips
of TensorFlow/Keras 2.13-2.15, and the shards of a Keras 3 sharded save (sharded.py).

Both store each object's variables in a `vars` group at the object's path. Layers sit in a
container group — `layers` (Keras 3) or `_layer_checkpoint_dependencies` (Keras 2.13-2.15) —
under their class name in snake case, numbered in model order (`conv2d`, `conv2d_1`); a
subclassed model's sub-models sit under their attribute names (`enc`, `dec`); the
optimizer's and the metrics' variables sit beside the layers. Files saved on Windows by
2.13-2.15 joined the path with backslashes inside one group name
(`_layer_checkpoint_dependencies\\dense`), so both separators are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reportgen.i18n import msg
from reportgen.load.hdf5_source import is_tensor

CONTAINERS = ("layers", "_layer_checkpoint_dependencies")
# Training state stored beside the layers: listed as such, never as layers.
STATE = frozenset({"optimizer", "metrics", "compiled_metrics", "compiled_loss", "loss_tracker",
                   "_metrics", "seed_generator"})
VARS = "__vars__"


@dataclass(frozen=True)
class StoredObject:
    """A node of the object tree: its stored name, its numbered variables (datasets), and the
    objects below it (layers in a container, or attributes)."""

    stored: str
    variables: tuple[tuple[str, object], ...]
    layers: tuple["StoredObject", ...]
    attributes: tuple["StoredObject", ...]


@dataclass(frozen=True)
class StoredState:
    """Variables that are not a layer's (the optimizer's, a metric's): where and how many."""

    path: str
    n_tensors: int
    n_values: int


def is_object_layout(handle) -> bool:
    """Whether an HDF5 weights file is laid out by object path (not Keras 2's layer_names
    layout): it keeps `vars` groups, at its root or under a layer container."""
    if "layer_names" in handle.attrs or "model_weights" in handle:
        return False
    return "vars" in handle or any(_split(name)[0] in CONTAINERS for name in handle.keys())


def object_tree(*handles) -> StoredObject:
    """The objects of a file as a tree, from every `vars` group in it; given the shards of one
    sharded save, the objects of all of them, a group split over shards made whole again."""
    import h5py

    tree: dict = {}
    repeated: list[str] = []

    def visit(name: str, obj) -> None:
        parts = _split(name)
        if not isinstance(obj, h5py.Group) or parts[-1] != "vars":
            return
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[VARS] = _numbered(obj, node.get(VARS, ()), repeated)

    for handle in handles:
        handle.visititems(visit)
    if repeated:
        raise ValueError(msg("variable {name} is stored in more than one shard",
                             name=repeated[0]))
    # One file lists its groups by name; merged shards list them as the shards met them.
    return _node("", _by_name(tree) if len(handles) > 1 else tree)


def _split(name: str) -> list[str]:
    return [part for part in re.split(r"[/\\]", name) if part]


def _numbered(group, earlier: tuple = (), repeated: list | None = None
              ) -> tuple[tuple[str, object], ...]:
    """A `vars` group's datasets in the order they were saved (0, 1, 2, ...), after the ones
    `earlier` shards held of the same group; names met twice go to `repeated` (h5py would
    turn an exception raised in its visit into another)."""
    found = list(earlier) + [(key, group[key]) for key in group if is_tensor(group[key])]
    names = [key for key, _ in found]
    if repeated is not None and len(set(names)) < len(names):
        repeated.append(f"{group.name}/{next(k for k in names if names.count(k) > 1)}")
    return tuple(sorted(found, key=lambda item: (not item[0].isdigit(),
                                                 int(item[0]) if item[0].isdigit() else 0,
                                                 item[0])))


def _by_name(tree: dict) -> dict:
    """A tree's groups in name order, at every level (the order h5py lists one file's)."""
    return {key: value if key == VARS else _by_name(value)
            for key, value in sorted(tree.items())}


def _node(stored: str, tree: dict) -> StoredObject:
    layers: list[StoredObject] = []
    attributes: list[StoredObject] = []
    for key, value in tree.items():
        if key == VARS:
            continue
        if key in CONTAINERS:
            layers += [_node(name, sub) for name, sub in value.items() if name != VARS]
        else:
            attributes.append(_node(key, value))
    return StoredObject(stored, tree.get(VARS, ()), tuple(layers), tuple(attributes))


def stored_state(root: StoredObject, prefix: str = "") -> list[StoredState]:
    """The training state beside the layers: each STATE attribute's variables, summed."""
    found = []
    for item in root.attributes:
        if item.stored in STATE:
            tensors = list(_all_variables(item))
            found.append(StoredState(prefix + item.stored, len(tensors),
                                     sum(int(d.size) for _, d in tensors)))
    return found


def _all_variables(item: StoredObject):
    yield from item.variables
    for child in item.layers + item.attributes:
        yield from _all_variables(child)


# Attributes whose variables Keras orders otherwise than their names sort: a Bidirectional
# holds the forward layer's weights first. (The file lists groups by name, backward first.)
ATTRIBUTE_ORDER = ("forward_layer", "backward_layer")


def flattened(item: StoredObject, prefix: str = "") -> list[tuple[str, object]]:
    """Every variable of an object and of the objects inside it (a Bidirectional's cells,
    say), as (relative path, dataset), in the order the layer holds them."""
    found = [(f"{prefix}vars/{key}", dataset) for key, dataset in item.variables]
    children = item.layers + tuple(sorted(
        item.attributes, key=lambda child: ATTRIBUTE_ORDER.index(child.stored)
        if child.stored in ATTRIBUTE_ORDER else len(ATTRIBUTE_ORDER)))
    for child in children:
        found += flattened(child, f"{prefix}{child.stored}/")
    return found


def model_objects(item: StoredObject) -> tuple[StoredObject, ...]:
    """The objects of a model that are layers or sub-models: its container's layers, then
    the attributes that are not training state."""
    return item.layers + tuple(a for a in item.attributes if a.stored not in STATE)
