"""Each layer of a model freshly initialised from its own config: the textbook's
"no_training_model", made one layer at a time when asked for."""

from __future__ import annotations

import threading

import numpy as np

from reportgen.load.keras import seeds
from reportgen.load.keras.base import walk
from reportgen.load.keras.runtime import import_keras
from reportgen.load.keras.snapshot import VariableArray

INIT_SEED = 1234
KEEP_FRESH_VALUES = 1 << 22
# A small kernel is held against more than one fresh draw of itself: the init test
# (analyse/init_test.py) has little power when the fresh sample is as small as a 3x3x1x16
# kernel's 144 values, and a trained first convolution followed by BatchNormalization was
# called untrained. Up to DRAW_VALUES values, in at most MAX_DRAWS rebuilds.
DRAW_VALUES, MAX_DRAWS = 20_000, 20


class FreshWeights:
    """Each layer's weights freshly initialised from its own config, made when asked for.

    This is the textbook's "no_training_model": the same layer before any training. One
    layer is rebuilt at a time (never a second copy of the whole model), with a seed fixed
    per layer so that two reports of one file are identical.
    """

    def __init__(self, model, corner: int = 64):
        # One rebuild or draw at a time, even from threads: one extra layer in memory at most.
        self.lock = threading.Lock()
        self.corner = corner
        self.kept: dict[str, list[VariableArray]] = {}
        self.layers = {}
        for index, layer in enumerate(walk(model.layers)):
            self.layers[layer.path] = (index, layer.layer)

    def get(self, path: str, default=None) -> list[VariableArray] | None:
        """The fresh weights of the layer at `path`, in its own order; default if it cannot
        be rebuilt."""
        if path in self.kept:
            return self.kept[path]
        if path not in self.layers:
            return default
        index, layer = self.layers[path]
        fresh = self._rebuilt(layer, INIT_SEED + index)
        if fresh is None:  # A layer that cannot rebuild simply has no comparison.
            return default
        if [tuple(w.shape) for w in fresh.weights] != [tuple(w.shape) for w in layer.weights]:
            return default
        arrays = [VariableArray(w) for w in fresh.weights]
        # Asked for again by the pictures: big layers keep only the corner a picture shows,
        # so that no layer is ever rebuilt twice and no big copy stays in memory.
        self.kept[path] = arrays if sum(a.size for a in arrays) <= KEEP_FRESH_VALUES else \
            [KeptCorner(a, self.corner) for a in arrays]
        return arrays


    def draws(self, path: str, k: int) -> np.ndarray | None:
        """Weight k of the layer at `path` from several fresh builds (the first is `get`'s),
        flattened: about DRAW_VALUES values for a small weight; None for a weight large
        enough on its own, or without a fresh layer."""
        first = self.get(path)
        if first is None or k >= len(first) or isinstance(first[k], KeptCorner):
            return None
        n_draws = min(MAX_DRAWS, -(-DRAW_VALUES // max(1, first[k].size)))
        if n_draws <= 1:
            return None  # big enough: the one fresh draw is the sample
        index, layer = self.layers[path]
        draw = self._initializer_draw(layer, k) or \
            (lambda seed: self._rebuilt_weight(layer, k, seed))
        found = [np.asarray(first[k][...]).ravel()]
        for r in range(1, n_draws):
            values = draw(INIT_SEED + index + 7919 * r)
            if values is None:
                break
            found.append(np.asarray(values).ravel())
        return np.concatenate(found)

    def _initializer_draw(self, layer, k: int):
        """seed -> a draw of weight k from the layer's own initializer (its config with that
        seed), called directly: a hundred times cheaper than rebuilding the layer. None when
        the weight's initializer is not found by its name."""
        keras = import_keras()
        weight = layer.weights[k]
        owner = getattr(layer, "cell", layer)
        name = weight.name if weight.name != "recurrent_kernel" else "recurrent"
        initializer = getattr(owner, f"{name.removesuffix('_kernel')}_initializer", None) \
            if name != "kernel" else getattr(owner, "kernel_initializer", None)
        if not isinstance(initializer, keras.initializers.Initializer):
            return None
        config = keras.initializers.serialize(initializer)
        shape = tuple(weight.shape)

        def draw(seed: int):
            if "seed" in config.get("config", {}):
                config["config"]["seed"] = seed
            with self.lock:
                return keras.ops.convert_to_numpy(
                    keras.initializers.deserialize(config)(shape, dtype=weight.dtype))
        return draw

    def _rebuilt_weight(self, layer, k: int, seed: int):
        fresh = self._rebuilt(layer, seed)
        return None if fresh is None else fresh.weights[k].numpy()

    def _rebuilt(self, layer, seed: int):
        """The layer built again from its config under a seed; None when it cannot be."""
        try:
            with self.lock:
                fresh = seeds.seeded_clone(layer, seed)
                if not fresh.built:
                    fresh.build(layer.input.shape)
                return fresh
        except Exception:  # Keras raises many types for layers it cannot rebuild.
            return None


class KeptCorner:
    """What is kept of a big fresh weight: its first `corner` entries along the last two axes
    (the part a kernel mosaic draws), answering to the whole weight's shape."""

    def __init__(self, values, corner: int):
        self.shape, self.dtype, self.ndim = values.shape, values.dtype, values.ndim
        self.size, self.corner = values.size, corner
        self.values = np.asarray(values[(Ellipsis, slice(0, corner), slice(0, corner))]) \
            if values.ndim >= 2 else np.zeros((0,), values.dtype)

    def __getitem__(self, key):
        if not (isinstance(key, tuple) and len(key) == 3 and key[0] is Ellipsis
                and all(s.start in (0, None) and s.stop is not None and s.stop <= self.corner
                        for s in key[1:])):
            raise IndexError("only the kept corner of a big fresh weight can be read")
        return self.values[key]


