"""Rules for files older Keras versions wrote, each on a file built the way that version
wrote it (tests/keras2_files.py), and checked against what the model computes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from keras2_files import first_layer_shapes, save_keras2_h5
from test_real_checkpoints import report


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def gru_reset_before(x, kernel, recurrent, bias):
    """Keras 2.0's GRU (the reset gate applied before the recurrent product), in numpy:
    gates in the order update, reset, candidate."""
    units = recurrent.shape[0]
    h = np.zeros((x.shape[0], units))
    for t in range(x.shape[1]):
        xz, xr, xh = np.split(x[:, t] @ kernel + bias, 3, axis=-1)
        uz, ur, uh = np.split(recurrent, 3, axis=-1)
        z, r = sigmoid(xz + h @ uz), sigmoid(xr + h @ ur)
        h = z * h + (1 - z) * np.tanh(xh + (r * h) @ uh)
    return h


def test_a_keras_2_0_gru_without_reset_after_computes_as_it_did(tmp_path):
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((7, 4)),
        keras.layers.GRU(5, reset_after=False, name="gru_1"),
        keras.layers.Dense(3, activation="softmax", name="dense_1")])
    for layer in model.layers:  # away from the initialisation, as after training
        layer.set_weights([w * 2 + 0.05 for w in layer.get_weights()])

    def as_keras_2_0(config):
        # Keras 2.0 knew no reset_after, and kept the input shape on the first layer.
        first_layer_shapes(config)
        gru = config["config"]["layers"][0]["config"]
        del gru["reset_after"]
        gru["implementation"] = 1

    path = save_keras2_h5(model, tmp_path / "gru.h5", as_keras_2_0)
    x = np.random.default_rng(5).normal(size=(1, 7, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    data, _ = report(tmp_path, path, "--input", tmp_path / "x.npy")
    assert data["mode"] == "full", data["weights_only_reason"]
    rules = {r["rule"]: r for r in data["repair_details"]}
    assert rules["gru-reset-after"]["layers"] == ["gru_1"]
    assert "gru_cell/bias" in rules["gru-reset-after"]["error"]
    kernel, recurrent, bias, dense_w, dense_b = [w.astype(np.float64)
                                                 for w in model.get_weights()]
    assert bias.shape == (15,)
    logits = gru_reset_before(x.astype(np.float64), kernel, recurrent, bias) @ dense_w + dense_b
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    top = data["predictions"][0]["top"]
    assert [t["class_index"] for t in top] == list(np.argsort(-expected[0]))
    assert [t["probability"] for t in top] == pytest.approx(np.sort(expected[0])[::-1], rel=1e-4)


def test_hard_sigmoid_from_keras_2_is_said_to_compute_differently(tmp_path):
    import keras

    keras.utils.set_random_seed(4)
    model = keras.Sequential([
        keras.Input((6, 3)),
        keras.layers.LSTM(4, recurrent_activation="hard_sigmoid", name="lstm_1"),
        keras.layers.Dense(2, activation="softmax", name="out")])
    path = save_keras2_h5(model, tmp_path / "lstm.h5")
    data, html = report(tmp_path, path)
    assert data["mode"] == "full", data["weights_only_reason"]
    [note] = [n for n in data["notes"] if "hard_sigmoid" in n]
    assert "lstm_1" in note and "2.4.0" in note and "0.2·x + 0.5" in note
    # Keras 3's hard_sigmoid is not Keras 2's: the difference the note warns of is real.
    x = np.linspace(-2, 2, 9)
    keras3 = np.asarray(keras.activations.hard_sigmoid(x))
    assert not np.allclose(keras3, np.clip(0.2 * x + 0.5, 0, 1), atol=1e-3)
    # The same model saved by this Keras gets no such note.
    model.save(tmp_path / "lstm.keras")
    data, _ = report(tmp_path, tmp_path / "lstm.keras")
    assert not [n for n in data["notes"] if "hard_sigmoid" in n]


@pytest.mark.slow
def test_layers_wrapped_without_a_module_load_and_compute_as_saved(tmp_path):
    import keras

    keras.utils.set_random_seed(6)
    model = keras.Sequential([
        keras.Input((5, 3)),
        keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True),
                                   name="bidirectional_1"),
        keras.layers.TimeDistributed(keras.layers.Dense(2), name="time_distributed_1"),
        keras.layers.Flatten(name="flatten_1"),
        keras.layers.Dense(3, activation="softmax", name="out")])
    path = save_keras2_h5(model, tmp_path / "wrapped.h5")
    # As Keras 2 wrote it: the wrapped layers are bare {"class_name", "config"} objects.
    config = json.loads(__import__("h5py").File(path, "r").attrs["model_config"])
    inner = config["config"]["layers"][1]["config"]["layer"]
    assert inner["class_name"] == "LSTM" and "module" not in inner
    x = np.random.default_rng(2).normal(size=(1, 5, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    data, _ = report(tmp_path, path, "--input", tmp_path / "x.npy")
    assert data["mode"] == "full", data["weights_only_reason"]
    [rule] = [r for r in data["repair_details"] if r["rule"] == "wrapped-layer-module"]
    assert {"LSTM", "Dense"} <= {part.split("'")[1] for part in rule["error"].split("; ")}
    expected = np.asarray(model(x))[0]
    top = data["predictions"][0]["top"]
    assert [t["class_index"] for t in top] == list(np.argsort(-expected))
    assert top[0]["probability"] == pytest.approx(float(expected.max()), rel=1e-5)


def test_a_wrapped_class_keras_does_not_have_is_never_given_a_module(tmp_path):
    from reportgen.load.structural_repairs import fix_wrapped_modules

    config = {"class_name": "Bidirectional",
              "config": {"name": "bi", "layer": {"class_name": "PositionalEncoding",
                                                 "config": {"name": "pe"}}}}
    assert fix_wrapped_modules(config, "Could not locate class 'PositionalEncoding'") is None
    assert "module" not in config["config"]["layer"]


@pytest.mark.parametrize("first", ["conv", "dense"])
def test_a_keras_2_0_to_json_architecture_gets_the_repairs_a_whole_file_gets(tmp_path, first):
    # Keras 2.0's model.to_json(): a Sequential as the bare list of its layers, the input
    # shape on the first layer. Keras 3 builds it for (None, None, 48, 48, 1) (refused by the
    # convolution) or (None, None, 8) (silently, for a Dense): both must be repaired.
    import keras
    from conftest import legacy_weights_h5
    from keras2_files import keras2_config

    keras.utils.set_random_seed(9)
    shape = (48, 48, 1) if first == "conv" else (8,)
    hidden = keras.layers.Conv2D(4, 3, activation="relu", name="conv2d_1") if first == "conv" \
        else keras.layers.Dense(5, activation="relu", name="dense_0")
    model = keras.Sequential([keras.Input(shape), hidden, keras.layers.Flatten(name="flatten_1"),
                              keras.layers.Dense(3, activation="softmax", name="dense_1")])
    for layer in model.layers:
        layer.set_weights([w * 2 + 0.05 for w in layer.get_weights()])
    weights = legacy_weights_h5(model, tmp_path / "model-weights.h5")
    config = first_layer_shapes(keras2_config({"class_name": "Sequential",
                                               "config": model.get_config()}))
    config["config"] = config["config"]["layers"]
    architecture = tmp_path / "model.json"
    architecture.write_text(json.dumps({**config, "keras_version": "2.0.8",
                                        "backend": "tensorflow"}), encoding="utf-8")
    x = np.random.default_rng(3).random((1, *shape)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    data, _ = report(tmp_path, weights, "--architecture", architecture, "--input",
                     tmp_path / "x.npy")
    assert data["mode"] == "full", data["weights_only_reason"]
    assert data["model"]["input_shape"] == str((None, *shape))
    rules = [r["rule"] for r in data["repair_details"]]
    assert rules == ["sequential-layer-list", "sequential-batch-input-shape"]
    expected = np.asarray(model(x))[0]
    top = data["predictions"][0]["top"]
    assert [t["class_index"] for t in top] == list(np.argsort(-expected))
    assert top[0]["probability"] == pytest.approx(float(expected.max()), rel=1e-5)


def test_a_two_head_models_shape_keys_hold_every_output_as_keras_prints_them(tmp_path):
    import keras

    keras.utils.set_random_seed(8)
    image = keras.Input((6, 6, 1), name="image")
    meta = keras.Input((3,), name="meta")
    features = keras.layers.Flatten(name="flat")(image)
    joined = keras.layers.Concatenate(name="joined")([features, meta])
    model = keras.Model([image, meta], [keras.layers.Dense(2, name="gender")(joined),
                                        keras.layers.Dense(101, name="age")(joined)])
    model.save(tmp_path / "two_heads.keras")
    data, _ = report(tmp_path, tmp_path / "two_heads.keras")
    assert data["model"]["output_shape"] == str(model.output_shape) == \
        "[(None, 2), (None, 101)]"
    assert data["model"]["input_shape"] == str(model.input_shape)
    assert [o["shape"] for o in data["model"]["outputs"]] == ["(None, 2)", "(None, 101)"]


def test_repairs_tried_before_keras_refused_for_good_are_reported_as_such(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((5, 3)), keras.layers.Dense(4, name="dense"),
                              keras.layers.LSTM(3, name="lstm"), keras.layers.Dense(2, name="out")])

    def keras_2_0_with_time_major(config):
        # Keras 2.0-2.3 saved a dtype in initializer configs (repairable); time_major=True
        # changes the computation and is never dropped (so Keras refuses for good).
        for layer in config["config"]["layers"]:
            initializer = layer["config"].get("kernel_initializer")
            if initializer:
                initializer["config"]["dtype"] = "float32"
            if layer["class_name"] == "LSTM":
                layer["config"]["time_major"] = True

    path = save_keras2_h5(model, tmp_path / "old.h5", keras_2_0_with_time_major)
    data, html = report(tmp_path, path)
    assert data["mode"] == "weights-only" and "time_major" in data["weights_only_reason"]
    [tried] = data["repair_details"]
    assert (tried["rule"], tried["outcome"]) == ("object-dtype", "still refused")
    assert "were tried, and Keras still refused it" in html


CUSTOM_LAYER = '''
import keras


@keras.saving.register_keras_serializable(package="demo")
class PositionalEncoding(keras.layers.Layer):
    def __init__(self, length=10, **kwargs):
        super().__init__(**kwargs)
        self.length = length

    def build(self, shape):
        self.table = self.add_weight(shape=(self.length, shape[-1]), name="table",
                                     initializer="random_normal")

    def call(self, x):
        return x + self.table

    def get_config(self):
        return {**super().get_config(), "length": self.length}
'''


def test_a_model_with_a_class_the_file_does_not_carry_gets_its_architecture_and_weights(
        tmp_path):
    # The class exists only in this test's own namespace: the report's process has never
    # seen it, as a user's would not.
    import keras

    namespace: dict = {}
    exec(CUSTOM_LAYER, namespace)  # the test's own code, defining the user's class
    keras.utils.set_random_seed(2)
    model = keras.Sequential([keras.Input((10, 8)), namespace["PositionalEncoding"](name="pe"),
                              keras.layers.Dense(16, activation="relu", name="dense"),
                              keras.layers.GlobalAveragePooling1D(name="gap"),
                              keras.layers.Dense(3, activation="softmax", name="out")])
    model.save(tmp_path / "custom.keras")
    keras.saving.get_custom_objects().pop("demo>PositionalEncoding")
    data, html = report(tmp_path, tmp_path / "custom.keras")
    assert data["mode"] == "weights-only"
    [custom] = data["custom_layers"]
    assert (custom["path"], custom["class_name"], custom["registered_name"]) == \
        ("pe", "PositionalEncoding", "demo>PositionalEncoding")
    assert custom["config"]["length"] == 10
    layers = {layer["name"]: layer for layer in data["layers"]}
    table = model.get_layer("pe").get_weights()[0].astype(np.float64)
    assert layers["pe"]["weights"][0]["std"] == pytest.approx(table.std(), abs=1e-7)
    # Shapes the config records: each layer's output is the next one's recorded input.
    assert layers["pe"]["output_shape"] == str(model.get_layer("dense").input.shape)
    assert layers["gap"]["output_shape"] == str(model.get_layer("out").input.shape)
    [note] = [n for n in data["notes"] if "PositionalEncoding (pe)" in n]
    assert "fresh initialisation" in note and "predictions" in note
    assert "PositionalEncoding" in html
