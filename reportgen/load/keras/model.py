"""The model as the rest of reportgen handles it: `KerasModel`, this package's own object
around a Keras model (loaded, built from a config, or a notebook's in memory). Only modules
of this package look inside it (base.unwrap); everything else asks it for plain data (its
snapshot, config, fresh weights, outputs) through its methods."""

from __future__ import annotations

from typing import Any


class KerasModel:
    """A Keras model, the config repairs it needed to load (none for a file this Keras
    reads as it is, or a model in memory), and notes on how it was put together (Keras
    refused the file's weights and reportgen placed them)."""

    def __init__(self, model: Any, repairs: tuple = (), notes: tuple = ()):
        self._model = model  # read by this package's modules only (base.unwrap)
        self.repairs = tuple(repairs)
        self.notes = tuple(notes)

    @property
    def name(self) -> str:
        return str(self._model.name)

    def snapshot(self):
        """Its layers, weights, inputs and outputs as plain data (load/snapshot.py)."""
        from reportgen.load.keras.snapshot import snapshot

        return snapshot(self._model)

    def config(self) -> dict | None:
        """Its config as saved files hold it, as plain JSON data (None when it has none)."""
        from reportgen.load.keras.snapshot import model_config

        return model_config(self._model)

    def fresh_weights(self, corner: int = 64):
        """Each layer freshly initialised from its own config, made when asked for."""
        from reportgen.load.keras.fresh import FreshWeights

        return FreshWeights(self._model, corner)

    def forward_chunks(self, batches, chunk: int | None = None):
        """Every layer's output and the model's outputs, a chunk of samples at a time."""
        from reportgen.load.keras.forward import FORWARD_BATCH, forward_chunks

        return forward_chunks(self._model, batches, chunk or FORWARD_BATCH)

    def variant_outputs(self, variants, batches):
        """The first output over `batches()` with the weights each variant makes (a clone
        runs them; this model is not changed), and the weights the variants start from."""
        from reportgen.load.keras.variants import variant_outputs

        return variant_outputs(self._model, variants, batches)

    def weight_arrays(self):
        """Every weight as numpy, with its layer's class and its name."""
        from reportgen.load.keras.variants import weight_arrays

        return weight_arrays(self._model)

    def keras_int8_outputs(self, batches):
        """The outputs of a clone quantised by Keras's own model.quantize("int8")."""
        from reportgen.load.keras.variants import keras_int8_outputs

        return keras_int8_outputs(self._model, batches)

    def tflite_int8_outputs(self, representative, batches):
        """The outputs of the model converted to int8 by TensorFlow Lite (None: no converter,
        or it refused the model)."""
        from reportgen.load.keras.variants import tflite_int8_outputs

        return tflite_int8_outputs(self._model, representative, batches)

    def memory_file(self):
        """What stands for the file of a model in memory (its name, its weights' hash)."""
        from reportgen.load.keras.snapshot import memory_model_file

        return memory_model_file(self._model)

    def hold(self, copy: bool = True):
        """The model as it stands now (a HeldModel), its weights copied unless `copy` is
        False."""
        from reportgen.load.keras.snapshot import hold

        return hold(self._model, copy)


def wrap(model: Any) -> KerasModel:
    """A Keras model (a notebook's) as reportgen handles it; a KerasModel as it is."""
    return model if isinstance(model, KerasModel) else KerasModel(model)
