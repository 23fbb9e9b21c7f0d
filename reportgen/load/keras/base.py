"""What every module of the Keras boundary shares: the Keras model inside a KerasModel, and
a walk over a model's layers, nested models' layers included."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reportgen.load.keras.runtime import import_keras


def unwrap(model: Any) -> Any:
    """The Keras model inside a KerasModel (a Keras model as it is)."""
    return getattr(model, "_model", model)


@dataclass(frozen=True)
class Placed:
    """A layer and its path (`base/Conv_1` inside a nested model)."""

    path: str
    layer: object


def walk(layers, prefix: str = ""):
    """Every layer with its path, nested models' layers after their model."""
    for layer in layers:
        path = f"{prefix}{layer.name}"
        yield Placed(path, layer)
        if isinstance(layer, import_keras().Model):
            yield from walk(layer.layers, path + "/")
