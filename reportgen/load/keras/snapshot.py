"""A Keras model read into plain data (load/snapshot.py's ModelSnapshot): its layers, their
weights as read-on-demand arrays, its inputs and outputs; its config; what stands for the file
of a model in memory; and a model held as it stood at one moment (the training callback's)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reportgen.i18n import msg
from reportgen.load.keras.compat import producer
from reportgen.load.keras.base import unwrap
from reportgen.load.keras.runtime import import_keras, read_with
from reportgen.load.model_file import ModelFile
from reportgen.load.snapshot import (LayerSnapshot, ModelSnapshot, TensorSpec, WeightArray,
                                     weight_display_names)

# Variables up to this many values are read whole for a slice (16 MB of float32).
SLICE_WHOLE_VALUES = 1 << 22


class VariableArray:
    """A Keras variable seen as a read-on-demand array, like an h5py dataset.

    Snapshots hold these instead of copies, so a large model's weights are not duplicated
    in memory: a stage reads one tensor (or the slice it draws) at a time.
    """

    def __init__(self, variable):
        self.variable = variable
        self.shape = tuple(int(d) for d in variable.shape)
        self.dtype = np.dtype(str(variable.dtype))
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape, dtype=np.int64))

    def __array__(self, dtype=None, copy=None):
        values = np.asarray(self.variable.numpy())
        return values if dtype is None else values.astype(dtype)

    def __getitem__(self, key):
        # A TensorFlow slice costs about 0.6 ms; reading a small variable whole costs less.
        if self.size <= SLICE_WHOLE_VALUES:
            return np.asarray(self.variable.numpy())[key]
        return np.asarray(self.variable[key])


def memory_model_file(model) -> ModelFile:
    """What stands for the file of a model that lives in memory: its name, the size and the
    SHA-256 of its weights' bytes (in order), and the Keras that holds it."""
    model = unwrap(model)
    return _memory_file(model.name, [variable.numpy() for variable in model.weights])


def _memory_file(name: str, weights) -> ModelFile:
    """memory_model_file of the weights given (arrays, in the model's order)."""
    digest = hashlib.sha256()
    size = 0
    for values in weights:
        values = np.ascontiguousarray(values)
        digest.update(values)
        size += values.nbytes
    return ModelFile(path=Path(name), format=msg("in-memory Keras model (not saved)"),
                     size=size, sha256=digest.hexdigest(),
                     saved_by_keras_version=msg("not saved (in memory, Keras {version})",
                                                version=import_keras().__version__),
                     in_memory=True)


@dataclass(frozen=True)
class HeldModel:
    """A model in memory as it stood at one moment, in plain data: its snapshot with copies
    of its weights (`weights`: all of them in the model's order), its config and the
    libraries that hold it. A thread can report on it while the model itself trains on (the
    training callback's)."""

    name: str
    snapshot: ModelSnapshot
    config: dict | None
    weights: tuple[np.ndarray, ...]
    read_with: tuple[tuple[str, str], ...]

    def model_file(self) -> ModelFile:
        """What stands for its file, as memory_model_file says it of the live model."""
        return _memory_file(self.name, self.weights)


def hold(model, copy: bool = True) -> HeldModel:
    """The model as it stands now, every weight copied (the one cost in the caller's
    thread; hashing and everything else can wait for the reporting thread); with
    copy=False, a view that reads the live weights when asked (for a model that stands
    still meanwhile: no second copy of a large model)."""
    model = unwrap(model)
    held = snapshot(model)
    if not copy:
        return HeldModel(model.name, held, model_config(model),
                         tuple(VariableArray(v) for v in model.weights), read_with())
    copies = {id(variable): np.array(variable.numpy()) for variable in model.weights}
    return HeldModel(model.name, dataclasses.replace(held, layers=tuple(
        _with_copies(layer, copies) for layer in held.layers)), model_config(model),
        tuple(copies[id(variable)] for variable in model.weights), read_with())


def _with_copies(layer: LayerSnapshot, copies: dict) -> LayerSnapshot:
    """A layer snapshot whose weights are the copies, by variable, instead of the variables."""
    return dataclasses.replace(
        layer,
        weights=tuple(dataclasses.replace(w, values=copies[id(w.values.variable)])
                      for w in layer.weights),
        children=tuple(_with_copies(child, copies) for child in layer.children))


def model_config(model) -> dict | None:
    """The model's config in the form saved files hold, as plain JSON data (for the graph)."""
    model = unwrap(model)
    try:
        return json.loads(json.dumps({"class_name": type(model).__name__,
                                      "config": model.get_config()}, default=str))
    except (NotImplementedError, TypeError, ValueError):
        return None  # a model whose config cannot be written has no graph


def snapshot(model) -> ModelSnapshot:
    """Read the model's layers, weights, inputs and outputs into plain data."""
    model = unwrap(model)
    limit = _token_limit(model)
    return ModelSnapshot(
        class_name=type(model).__name__,
        layers=tuple(_layer_snapshot(layer, "") for layer in model.layers),
        inputs=tuple(TensorSpec(name=_tensor_name(tensor, f"input_{k}"),
                                shape=_shape_without_batch(tensor.shape),
                                dtype=str(tensor.dtype),
                                token_limit=limit if "int" in str(tensor.dtype) else None)
                     for k, tensor in enumerate(model.inputs)),
        outputs=tuple(TensorSpec(name=_tensor_name(tensor, f"output_{k}"),
                                 shape=_shape_without_batch(tensor.shape),
                                 dtype=str(tensor.dtype), activation=_made_by_activation(tensor))
                      for k, tensor in enumerate(model.outputs)),
    )


def _tensor_name(tensor, default: str) -> str:
    """A model input's or output's name: the layer that makes it."""
    return str(getattr(producer(tensor), "name", "") or default)


def _made_by_activation(tensor) -> str:
    """The activation of the layer that makes an output ("softmax", "sigmoid", ...), or ""."""
    layer = producer(tensor)
    if layer is None:
        return ""
    if type(layer).__name__ == "Softmax":
        return "softmax"
    try:
        activation = layer.get_config().get("activation")
    except (AttributeError, NotImplementedError, TypeError):
        return ""
    return activation if isinstance(activation, str) else ""


def _token_limit(model) -> int | None:
    """For models that start with an Embedding: the number of valid token ids."""
    dims = [layer.get_config().get("input_dim") for layer in model.layers
            if type(layer).__name__ == "Embedding"]
    return int(min(dims)) if dims and all(isinstance(d, int) for d in dims) else None


def _layer_snapshot(layer, prefix: str) -> LayerSnapshot:
    """One layer's summary fields and weights; a nested model's layers become its children."""
    config = layer.get_config()
    path = f"{prefix}{layer.name}"
    nested = isinstance(layer, import_keras().Model)
    return LayerSnapshot(
        name=layer.name,
        class_name=type(layer).__name__,
        output_shape=_output_shape_text(layer),
        n_params=int(layer.count_params()) if layer.built else 0,
        trainable=bool(layer.trainable),
        activation=str(config.get("activation") or "") if isinstance(config, dict) else "",
        weights=() if nested else tuple(
            WeightArray(name=name, values=VariableArray(w), trainable=bool(w.trainable))
            for name, w in zip(weight_names(layer), layer.weights)),
        path=path,
        input_shape=_input_shape(layer),
        children=tuple(_layer_snapshot(inner, path + "/") for inner in layer.layers)
        if nested else (),
    )


def weight_names(layer) -> list[str]:
    """The layer's weight names, from their paths inside the layer."""
    marker = f"{layer.name}/"
    return weight_display_names([w.path.split(marker, 1)[-1] for w in layer.weights])


def _input_shape(layer) -> tuple[int | None, ...] | None:
    """The layer's input shape without the batch axis, when it has one input."""
    try:
        shape = layer.input.shape
    except (AttributeError, ValueError):
        return None
    return _shape_without_batch(shape) if isinstance(shape, tuple) else None


def _output_shape_text(layer) -> str:
    """The layer's output shape as model.summary() writes it."""
    try:
        return str(tuple(layer.output.shape))
    except (AttributeError, ValueError):
        return "multiple"


def _shape_without_batch(shape) -> tuple[int | None, ...]:
    """A tensor shape without its leading batch axis."""
    return tuple(None if d is None else int(d) for d in tuple(shape)[1:])


