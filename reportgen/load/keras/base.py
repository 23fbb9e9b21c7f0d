"""What every module of the Keras boundary shares: the Keras model inside a KerasModel, and
a walk over a model's layers, nested models' layers included."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from reportgen.load.keras.runtime import import_keras


# TensorFlow's pattern for a graph scope name: a compiled step of a model whose layer names
# break it fails while tracing, and leaves Keras's name-scope stack dirty for every model
# after it in the process, so such models are run eagerly from the start.
SCOPE_NAME = re.compile(r"^[A-Za-z0-9_.\\/>-]*$")


def traceable(model: Any) -> bool:
    """Whether every layer name (nested models' included) is a valid TensorFlow scope."""
    model = unwrap(model)
    stack = [model]
    while stack:
        layer = stack.pop()
        if not SCOPE_NAME.match(str(layer.name)):
            return False
        stack.extend(getattr(layer, "layers", ()) or ())
    return True


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
