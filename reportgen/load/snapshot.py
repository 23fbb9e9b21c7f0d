"""A model read into plain Python and numpy: the hand-off from loading to fact collection.

Loading code (Keras today, a direct HDF5 reader later) fills these; everything downstream
works on them and never touches a Keras object.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WeightArray:
    """One weight tensor as read from the model.

    `values` is a numpy array, or an array-like read on demand (an h5py dataset) so that
    a large file is never held in memory all at once; `np.asarray(values)` reads it.
    """

    name: str
    values: np.ndarray
    trainable: bool


@dataclass(frozen=True)
class TensorSpec:
    """A model input or output: name, shape without the batch axis (None for a free size;
    the whole shape None when unknown), dtype; for an output, the activation of the layer
    that makes it; for a token-id input, how many ids are valid."""

    name: str
    shape: tuple[int | None, ...] | None
    dtype: str = "float32"
    activation: str = ""
    token_limit: int | None = None


@dataclass(frozen=True)
class LayerSnapshot:
    """One layer: the summary fields and its weight tensors in the model's order.

    `output_shape` is the text Keras prints, or None when the file does not say (a
    weights-only read); `class_name` is "unknown" then too.
    """

    name: str
    class_name: str
    output_shape: str | None
    n_params: int
    trainable: bool
    activation: str
    weights: tuple[WeightArray, ...]
    path: str = ""
    input_shape: tuple[int | None, ...] | None = None
    children: tuple["LayerSnapshot", ...] = ()


@dataclass(frozen=True)
class ModelSnapshot:
    """A model's layers in order, with its inputs and outputs (empty when unknown)."""

    class_name: str
    layers: tuple[LayerSnapshot, ...]
    inputs: tuple[TensorSpec, ...] = ()
    outputs: tuple[TensorSpec, ...] = ()
    # Training state stored beside the weights (optimizer, metrics): (path, tensors, values).
    stored_state: tuple[tuple[str, int, int], ...] = ()

    @property
    def output_width(self) -> int:
        """The width of the first output (1 when unknown)."""
        shape = self.outputs[0].shape if self.outputs else None
        return int(shape[-1]) if shape and shape[-1] else 1

    @property
    def n_classes(self) -> int:
        """The classes the first output tells apart: 2 for a single sigmoid."""
        return 2 if self.output_width == 1 else self.output_width


def all_layers(layers: tuple[LayerSnapshot, ...]):
    """Every layer, nested models' layers right after their model, in model order."""
    for layer in layers:
        yield layer
        yield from all_layers(layer.children)


def weight_display_names(paths: list[str]) -> list[str]:
    """Weight names as a reader knows them: 'kernel' where unique in the layer, else the path.

    Both readers (Keras and HDF5) name weights this way, so their reports agree.
    """
    short = [p.rsplit("/", 1)[-1] for p in paths]
    return short if len(set(short)) == len(short) else list(paths)
