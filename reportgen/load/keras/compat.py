"""Every use of Keras's private API, in one place: what the public API does not offer.

Each function names what it reads and why, and tests/test_compat.py holds each to the Keras
versions it was checked on (3.15.1 with TensorFlow 2.21). A new Keras that moves one of these
breaks only here, and that test says which.
"""

from __future__ import annotations

# Where this Keras keeps the model classes Keras 2.13-2.15 saved under `keras.src.engine.*`
# (the repair rule keras2-module-paths points a config's module there): Functional has no
# public module to name; Sequential and Model are public.
MODEL_MODULES = {"Functional": ("keras.src.models.functional", "Functional"),
                 "Sequential": ("keras", None), "Model": ("keras", None)}


def producer(tensor):
    """The layer (operation) that made a symbolic tensor, or None: Keras records it in
    `tensor._keras_history`, and no public API gives it for a model's own input and output
    tensors (`model.outputs[0]`)."""
    history = getattr(tensor, "_keras_history", None)
    return getattr(history, "operation", None) if history is not None else None


def legacy_model_from_config(config: dict, trust: bool):
    """A model from a Keras 2 (legacy) config, read the way Keras's own HDF5 loader reads it:
    inside the scopes that loader enters (legacy config names, safe mode), which have no
    public form; their module moved between Keras releases (saving_options is
    keras.src.legacy.saving's in 3.15)."""
    from keras.src.legacy.saving import legacy_h5_format as loader

    with loader.saving_options.keras_option_scope(use_legacy_config=True), \
            loader.serialization_lib.SafeModeScope(not trust):
        return loader.saving_utils.model_from_config(config, custom_objects={})
