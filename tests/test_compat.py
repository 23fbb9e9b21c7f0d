"""Every use of Keras's private API (reportgen/load/keras/compat.py), one test each. Checked on
Keras 3.15.1 with TensorFlow 2.21.0; a Keras that moves one of these fails here, naming it."""

from __future__ import annotations

import importlib

import pytest

from reportgen.load.keras import compat
from reportgen.load.keras.runtime import import_keras

CHECKED_ON = ("3.15",)


def test_the_checked_keras_version_is_the_one_running_or_says_so():
    keras = import_keras()
    if not keras.__version__.startswith(CHECKED_ON):
        pytest.skip(f"compat.py was checked on Keras {CHECKED_ON}; this is {keras.__version__}: "
                    "the tests below say whether it still holds")


def test_producer_names_the_layer_that_made_a_model_input_or_output():
    keras = import_keras()
    inputs = keras.Input((4,), name="features")
    hidden = keras.layers.Dense(3, name="hidden")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax", name="probs")(hidden)
    model = keras.Model(inputs, outputs)
    assert compat.producer(model.outputs[0]).name == "probs"
    assert compat.producer(model.inputs[0]).name == "features"
    assert compat.producer(object()) is None


def test_a_keras_2_config_builds_through_the_legacy_loader_and_safe_mode_holds():
    config = {"class_name": "Sequential", "config": {"name": "old", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4],
                                                "name": "x"}},
        {"class_name": "Dense", "config": {"name": "d", "units": 2}}]}}
    model = compat.legacy_model_from_config(config, trust=False)
    assert [layer.name for layer in model.layers] == ["d"]
    assert tuple(model.outputs[0].shape) == (None, 2)
    lambda_config = {"class_name": "Sequential", "config": {"name": "l", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "name": "x"}},
        {"class_name": "Lambda", "config": {"name": "f", "function": [
            "4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMEAAAAfABTACkBTqkAKQHaAXhyAQAAAHIBAAAA+gh"
            "<string>Ho8bGFtYmRhPgEAAADzAAAAAA==", None, None], "function_type": "lambda",
            "output_shape": None}}]}}
    with pytest.raises(Exception, match="(?i)safe"):
        compat.legacy_model_from_config(lambda_config, trust=False)


def test_the_module_of_functional_models_is_where_the_repair_rule_points():
    keras = import_keras()
    for class_name, (module, registered) in compat.MODEL_MODULES.items():
        found = getattr(importlib.import_module(module), registered or class_name)
        assert issubclass(found, keras.Model), class_name
