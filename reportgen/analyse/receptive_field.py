"""Where in the input a position of a 2-D feature map looks: its receptive field.

Read from the model config: the layers on the way from the input to the chosen layer (for
a functional model, each layer's first input followed back) are composed with the usual
recurrence (size grows by (kernel - 1) x jump, jump multiplies by the stride, the centre
of the first position moves by the padding). Layers that are not convolutions, pooling,
padding or cropping are taken not to move anything (batch normalisation, activations,
dropout, merges). The map size the recurrence predicts is checked against the map the
model really produced; when the config cannot say (a nested model or an upsampling layer
on the way, no config, or the check fails), the geometry falls back to the ratio of input
to map size: each map position stands for its block of input pixels, which is smaller than
the real receptive field, and the facts say so (`source`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CONVOLUTIONS = {"Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Convolution2D"}
POOLING = {"MaxPooling2D", "AveragePooling2D", "MaxPool2D", "AvgPool2D"}
# Classes that change the spatial size in a way the recurrence does not follow.
UNFOLLOWED = {"Conv2DTranspose", "UpSampling2D", "Resizing", "Functional", "Sequential",
              "Model", "Lambda", "TFOpLambda", "SlicingOpLambda"}
FROM_CONFIG = "config"
FROM_RATIO = "ratio"


@dataclass(frozen=True)
class Geometry:
    """A map position (row, col) sees input rows centre ± (size - 1) / 2 around
    centre = start + row x jump (and the same for columns); `source` is FROM_CONFIG or
    FROM_RATIO (the block of input each position stands for, see the module's note)."""

    size: tuple[int, int]
    jump: tuple[float, float]
    start: tuple[float, float]
    source: str

    def box(self, row: int, col: int) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) in input pixels, bottom and right exclusive; it may
        reach outside the image (the padding a 'same' convolution reads)."""
        # start and jump are whole or half pixels: the epsilon keeps float error from
        # flooring an exact whole number one pixel down.
        top, left = (math.floor(s + p * j - (n - 1) / 2 + 1e-9)
                     for s, p, j, n in zip(self.start, (row, col), self.jump, self.size))
        return top, left, top + self.size[0], left + self.size[1]


@dataclass(frozen=True)
class _Step:
    """One layer's effect on each axis: kernel extent (dilation included), stride, padding
    rule ('same', 'valid', or a fixed (before, after) pad; negative for cropping)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: str | tuple[tuple[int, int], tuple[int, int]]


def receptive_field(config: dict | None, layer: str, input_hw: tuple[int, int],
                    map_hw: tuple[int, int]) -> Geometry:
    """The geometry of `layer`'s map (map_hw) over an input of input_hw: from the config
    when it can be followed and agrees with map_hw, else from the ratio."""
    steps = _steps_to(config, layer) if isinstance(config, dict) else None
    if steps is not None:
        geometry, predicted = _composed(steps, input_hw)
        if predicted == tuple(map_hw):
            return geometry
    return ratio_geometry(input_hw, map_hw)


def ratio_geometry(input_hw: tuple[int, int], map_hw: tuple[int, int]) -> Geometry:
    """Each map position as the block of input pixels it stands for (input / map)."""
    jump = tuple(i / max(m, 1) for i, m in zip(input_hw, map_hw))
    size = tuple(max(1, round(j)) for j in jump)
    return Geometry(size, jump, tuple((j - 1) / 2 for j in jump), FROM_RATIO)


def _composed(steps: list[_Step], input_hw: tuple[int, int]) -> tuple[Geometry, tuple[int, ...]]:
    """Compose the steps per axis; also the map size they produce from input_hw."""
    axes = []
    for axis in (0, 1):
        size, jump, start, n = 1, 1, 0.0, input_hw[axis]
        for step in steps:
            k, s = step.kernel[axis], step.stride[axis]
            before, n_out = _padding(step.padding, axis, n, k, s)
            start += ((k - 1) / 2 - before) * jump
            size += (k - 1) * jump
            jump *= s
            n = n_out
        axes.append((size, jump, start, n))
    size, jump, start, n = zip(*axes)
    return (Geometry(tuple(size), tuple(float(j) for j in jump), tuple(start), FROM_CONFIG),
            tuple(n))


def _padding(padding, axis: int, n: int, k: int, s: int) -> tuple[int, int]:
    """(pixels padded before the first position, output length) of one axis, as
    TensorFlow pads: 'same' puts the odd pixel after."""
    if padding == "same":
        n_out = math.ceil(n / s)
        total = max((n_out - 1) * s + k - n, 0)
        return total // 2, n_out
    before, after = (0, 0) if padding == "valid" else padding[axis]
    return before, (n + before + after - k) // s + 1


def _steps_to(config: dict, layer: str) -> list[_Step] | None:
    """The steps from the model's input to `layer`, or None when the path cannot be read."""
    inner = config.get("config")
    entries = inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(entries, list):
        return None
    by_name = {_name(e): e for e in entries if isinstance(e, dict)}
    if layer not in by_name:
        return None
    if config.get("class_name") == "Sequential":
        names = [_name(e) for e in entries if isinstance(e, dict)]
        path = names[:names.index(layer) + 1]
    else:
        path = _followed_back(by_name, layer)
    if path is None:
        return None
    steps = [_step(by_name[name]) for name in path]
    return None if any(s is False for s in steps) else [s for s in steps if s is not None]


def _followed_back(by_name: dict, layer: str) -> list[str] | None:
    """A functional model's layers from its input to `layer`, through each first input."""
    path, name = [], layer
    while name is not None:
        if name in path or name not in by_name:
            return None
        path.append(name)
        name = _first_input(by_name[name])
    return path[::-1]


def _first_input(entry: dict) -> str | None:
    """The layer that gives this layer its first input (Keras 3 or Keras 2 config)."""
    nodes = entry.get("inbound_nodes") or []
    if not nodes:
        return None
    node = nodes[0]
    if isinstance(node, dict):
        return _history(node.get("args"))
    if isinstance(node, (list, tuple)) and node and isinstance(node[0], (list, tuple)) and node[0]:
        return str(node[0][0])
    return None


def _history(value) -> str | None:
    """The first layer name in a Keras 3 node's arguments (depth first)."""
    if isinstance(value, dict):
        history = (value.get("config") or {}).get("keras_history") \
            if isinstance(value.get("config"), dict) else None
        if history:
            return str(history[0])
        values = list(value.values())
    elif isinstance(value, (list, tuple)):  # a saved config has lists, get_config() tuples
        values = value
    else:
        return None
    for item in values:
        found = _history(item)
        if found is not None:
            return found
    return None


def _name(entry: dict) -> str:
    """A layer entry's name (Keras 3 and 2 keep it in the entry and in its config)."""
    config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    return str(entry.get("name") or config.get("name") or "")


def _step(entry: dict) -> _Step | None | bool:
    """One layer's step; None when it moves nothing, False when it cannot be followed."""
    class_name = str(entry.get("class_name", ""))
    config = entry.get("config") if isinstance(entry.get("config"), dict) else {}
    if class_name in UNFOLLOWED or config.get("data_format") == "channels_first":
        return False
    try:
        if class_name in CONVOLUTIONS:
            dilation = _pair(config.get("dilation_rate", 1))
            kernel = tuple(d * (k - 1) + 1 for d, k in zip(dilation, _pair(config["kernel_size"])))
            return _Step(kernel, _pair(config.get("strides", 1)), config.get("padding", "valid"))
        if class_name in POOLING:
            pool = _pair(config.get("pool_size", 2))
            return _Step(pool, _pair(config.get("strides") or pool), config.get("padding", "valid"))
        if class_name in ("ZeroPadding2D", "Cropping2D"):
            sign = 1 if class_name == "ZeroPadding2D" else -1
            key = "padding" if sign == 1 else "cropping"
            pads = tuple(tuple(sign * p for p in _pair(v)) for v in _pairs(config.get(key, 1)))
            return _Step((1, 1), (1, 1), pads)
    except (KeyError, TypeError, ValueError):
        return False
    return None


def _pair(value) -> tuple[int, int]:
    """An int or a pair of ints as a pair (Keras accepts both)."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"expected two values, got {value!r}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _pairs(value) -> tuple:
    """ZeroPadding2D's and Cropping2D's forms: n, (rows, cols), ((top, bottom), (left, right))."""
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple)):
        return tuple(value)
    rows, cols = _pair(value)
    return (rows, rows), (cols, cols)
