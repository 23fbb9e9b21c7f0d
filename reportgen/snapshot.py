"""A model read into plain Python and numpy: the hand-off from loading to fact collection.

Loading code (Keras today, a direct HDF5 reader later) fills these; everything downstream
works on them and never touches a Keras object.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WeightArray:
    """One weight tensor as read from the model."""

    name: str
    values: np.ndarray
    trainable: bool


@dataclass(frozen=True)
class LayerSnapshot:
    """One layer: the summary fields and its weight tensors in the model's order."""

    name: str
    class_name: str
    output_shape: str
    n_params: int
    trainable: bool
    activation: str
    weights: tuple[WeightArray, ...]


@dataclass(frozen=True)
class ModelSnapshot:
    """A model's layers in order, with its input and output shapes (batch axis dropped)."""

    class_name: str
    layers: tuple[LayerSnapshot, ...]
    input_shape: tuple[int | None, ...]
    output_shape: tuple[int | None, ...]
