"""The model's outputs with its weights changed: quantised to int8 or float16, pruned by
magnitude. What the accuracy after quantisation and after pruning rests on.

The loaded model is never changed: one clone (`keras.models.clone_model`, its layers made
anew from their configs) is given each variant's weights in turn and run on the sample.
A variant is a function of one weight tensor, told the class of the layer that holds it and
the weight's name (int8 per channel needs to know which axis holds the output channels).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np

from reportgen.load.keras.base import traceable, unwrap
from reportgen.load.keras.runtime import import_keras, native_output_silenced

# A variant: (values, layer class, weight name) -> the values the variant runs with.
Variant = Callable[[np.ndarray, str, str], np.ndarray]


def owned_weights(model) -> list[tuple[object, str, str]]:
    """Each weight variable with the class of the layer that holds it and its own name, in
    `model.weights` order (a nested model's layers entered)."""
    keras = import_keras()
    found: dict[int, tuple[object, str, str]] = {}

    def walk(layer) -> None:
        if isinstance(layer, keras.Model):
            for inner in layer.layers:
                walk(inner)
            return
        for variable in layer.weights:
            found.setdefault(id(variable), (variable, type(layer).__name__,
                                            variable.path.rsplit("/", 1)[-1]))

    walk(unwrap(model))
    return [found.get(id(v), (v, "", v.path.rsplit("/", 1)[-1])) for v in unwrap(model).weights]


def variant_outputs(model, variants: Mapping[str, Variant],
                    batches: Callable[[], Iterable[np.ndarray]]) -> dict[str, np.ndarray]:
    """The first output over every batch for each variant, from one clone of the model.

    `batches` is called once per variant (the sample is streamed again each time)."""
    keras = import_keras()
    original = unwrap(model)
    clone = keras.models.clone_model(original)
    held = [(np.asarray(v.numpy()), class_name, name)
            for v, class_name, name in owned_weights(original)]
    found = {}
    for key, variant in variants.items():
        clone.set_weights([variant(values, class_name, name)
                           for values, class_name, name in held])
        found[key] = _run(clone, batches)
    return found


def _run(model, batches: Callable[[], Iterable[np.ndarray]]) -> np.ndarray:
    """The first output over every batch, through Keras's compiled predict step (an eager
    call per batch cost six times as much on the book model); eagerly for a model whose
    layer names TensorFlow refuses as graph scopes (base.traceable)."""
    if traceable(model):
        return np.concatenate([_first(model.predict_on_batch(np.asarray(batch, np.float32)))
                               for batch in batches()])
    return np.concatenate([_first(model(np.asarray(batch, np.float32), training=False))
                           for batch in batches()])


def _first(outputs) -> np.ndarray:
    """A model call's first output as float32 numpy."""
    first = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
    return np.asarray(first, dtype=np.float32)


def weight_arrays(model) -> list[tuple[np.ndarray, str, str]]:
    """Every weight as numpy with its layer's class and its name (global magnitude pruning
    picks its threshold over all of them)."""
    return [(np.asarray(v.numpy()), class_name, name)
            for v, class_name, name in owned_weights(model)]


def keras_int8_outputs(model, batches: Callable[[], Iterable[np.ndarray]]
                       ) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """The first output of a clone quantised by Keras's own `model.quantize("int8")` (int8
    weights per channel and int8 inputs of each covered layer), and the layers it covered;
    (None, ()) when it covers none of them (Keras quantises Dense, EinsumDense and
    Embedding layers; convolutions stay float)."""
    import warnings

    keras = import_keras()
    original = unwrap(model)
    clone = keras.models.clone_model(original)
    clone.set_weights(original.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns once per layer it cannot quantise
        try:
            clone.quantize("int8")
        except (ValueError, NotImplementedError, TypeError):
            return None, ()
    covered = tuple(layer.name for layer in _leaves(keras, clone)
                    if getattr(layer, "quantization_mode", None) == "int8")
    if not covered:
        return None, ()
    return _run(clone, batches), covered


def _leaves(keras, model):
    """Every layer that is not itself a model, nested models entered."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaves(keras, layer)
        else:
            yield layer


def tflite_int8_outputs(model, representative: np.ndarray,
                        batches: Callable[[], Iterable[np.ndarray]]) -> np.ndarray | None:
    """The first output of the model converted by TensorFlow Lite's converter to int8
    (weights and activations, calibrated on `representative`, float input and output kept),
    run by its interpreter; None where this TensorFlow has no converter or it refuses the
    model (custom or unsupported operations)."""
    import warnings

    import tensorflow as tf

    lite = getattr(tf, "lite", None)
    if lite is None or not hasattr(lite, "TFLiteConverter"):
        return None
    with warnings.catch_warnings(), native_output_silenced():
        warnings.simplefilter("ignore")
        try:
            interpreter = lite.Interpreter(model_content=_converted(lite, unwrap(model),
                                                                    representative))
            # The interpreter says which delegate it made, on stderr, at its first run.
            return np.concatenate([_interpret(interpreter, b) for b in batches()])
        except Exception:  # the converter's and interpreter's failures are many and
            return None    # undocumented: the row is left out, the report goes on


def _converted(lite, model, representative: np.ndarray) -> bytes:
    converter = lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([row[None]] for row in representative)
    converter.target_spec.supported_ops = [lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter.convert()


def _interpret(interpreter, batch: np.ndarray) -> np.ndarray:
    """One batch through the interpreter, its input resized to the batch."""
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.resize_tensor_input(source["index"], batch.shape)
    interpreter.allocate_tensors()
    # In the input's own type: token ids stay integers (a float batch was refused).
    interpreter.set_tensor(source["index"], np.asarray(batch, source["dtype"]))
    interpreter.invoke()
    return np.asarray(interpreter.get_tensor(target["index"]), np.float32)
