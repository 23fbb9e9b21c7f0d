"""`.keras` files written before Keras 3 (TensorFlow/Keras 2.13-2.15), subclassed models,
weights reportgen will not open, and Keras 2.2-era HDF5: full where possible, something
always (issue "`.keras` files written before Keras 3")."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from keras2_files import object_path_groups, save_keras2_h5, save_keras213_zip
from reportgen.cli import main


def report(tmp_path: Path, *args) -> tuple[dict, str]:
    out = tmp_path / "r.html"
    assert main([*map(str, args), "-q", "-o", str(out)]) == 0
    return json.loads(out.with_suffix(".json").read_text("utf-8")), out.read_text("utf-8")


def walk(layers):
    for layer in layers:
        yield layer
        yield from walk(layer["layers"])


def moved(model):
    """Weights away from any initialisation, so a load that silently keeps fresh weights
    cannot pass."""
    for layer in model.layers:
        layer.set_weights([w * 3 + 0.25 for w in layer.get_weights()])
    return model


def functional_cnn():
    import keras

    keras.utils.set_random_seed(13)
    layers = keras.layers
    x = inputs = keras.Input((12, 12, 1), name="input_1")
    x = layers.Conv2D(4, 3, activation="relu", name="conv2d")(x)
    x = layers.BatchNormalization(name="batch_normalization")(x)
    x = layers.MaxPooling2D(2, name="max_pooling2d")(x)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(3, activation="softmax", name="dense")(x)
    return moved(keras.Model(inputs, outputs, name="model"))


def sequential_mlp():
    import keras

    keras.utils.set_random_seed(14)
    return moved(keras.Sequential([keras.Input((8,)),
                                   keras.layers.Dense(5, activation="relu", name="dense"),
                                   keras.layers.Dropout(0.2, name="dropout"),
                                   keras.layers.Dense(2, activation="softmax", name="dense_1")],
                                  name="sequential"))


def first_layer_input_shape(config):
    """How Keras 2.14 wrote `Sequential([Dense(5, input_shape=(8,)), ...])`: the shape on
    the first layer, no InputLayer."""
    layers = config["config"]["layers"]
    layers[:] = [layer for layer in layers if layer["class_name"] != "InputLayer"]
    layers[0]["config"]["batch_input_shape"] = [None, 8]


def assert_same_weights(data: dict, model) -> None:
    by_name = {layer["name"]: layer for layer in walk(data["layers"])}
    for layer in model.layers:
        for k, weight in enumerate(layer.get_weights()):
            stats = by_name[layer.name]["weights"][k]
            assert stats["shape"] == list(weight.shape)
            assert stats["mean"] == pytest.approx(float(weight.astype(np.float64).mean()),
                                                  abs=1e-7)
            assert stats["std"] == pytest.approx(float(weight.astype(np.float64).std()),
                                                 abs=1e-7)


def test_a_keras_2_13_functional_cnn_loads_in_full_with_its_weights(tmp_path):
    model = functional_cnn()
    path = save_keras213_zip(model, tmp_path / "best_model.keras", "2.13.1")
    data, html = report(tmp_path, path)
    assert data["mode"] == "full", data["weights_only_reason"]
    assert data["model"]["saved_by_keras_version"] == "2.13.1"
    rules = [r["rule"] for r in data["repair_details"]]
    assert rules == ["keras2-module-paths", "axis-list"]
    assert "keras.src.engine" in data["repair_details"][0]["error"]
    assert_same_weights(data, model)
    assert data["predictions"][0]["outputs"][0]["kind"] == "softmax"


@pytest.mark.parametrize("separator", ["/", "\\"])
def test_a_keras_2_14_sequential_with_optimizer_and_metrics_loads_in_full(tmp_path, separator):
    model = sequential_mlp()
    path = tmp_path / "my_model.keras"
    save_keras213_zip(model, path, "2.14.0", sep=separator)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        members = {name: archive.read(name) for name in archive.namelist()}
    first_layer_input_shape(config)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, json.dumps(config) if name == "config.json" else data)
    data, _ = report(tmp_path, path)
    assert data["mode"] == "full", data["weights_only_reason"]
    assert [r["rule"] for r in data["repair_details"]] == ["sequential-batch-input-shape"]
    assert data["model"]["input_shape"] == "(None, 8)"
    assert_same_weights(data, model)


@pytest.mark.slow
@pytest.mark.parametrize("separator", ["/", "\\"])
def test_a_keras_2_13_bidirectional_lstm_keeps_forward_and_backward_apart(tmp_path, separator):
    # The file lists backward_layer before forward_layer (groups sort by name); a layer holds
    # the forward weights first. With backslashes Keras cannot load the weights itself and
    # reportgen lays them out.
    import keras

    keras.utils.set_random_seed(21)
    model = moved(keras.Sequential([
        keras.Input((7,), dtype="int32"), keras.layers.Embedding(30, 4, name="embedding"),
        keras.layers.Bidirectional(keras.layers.LSTM(3), name="bidirectional"),
        keras.layers.Dense(1, activation="sigmoid", name="dense")]))
    path = save_keras213_zip(model, tmp_path / "sentiment.keras", "2.13.1", sep=separator)
    tokens = np.arange(7, dtype=np.int64)[None] * 3 % 30
    np.save(tmp_path / "tokens.npy", tokens)
    data, _ = report(tmp_path, path, "--input", tmp_path / "tokens.npy")
    assert data["mode"] == "full", data["weights_only_reason"]
    assert_same_weights(data, model)
    expected = float(np.asarray(model(tokens))[0, 0])
    top = data["predictions"][0]["top"][0]
    assert (top["class_index"], top["probability"]) == \
        ((1, pytest.approx(expected, rel=1e-5)) if expected > 0.5
         else (0, pytest.approx(1 - expected, rel=1e-5)))


def test_the_object_path_layout_is_read_without_keras(tmp_path):
    model = sequential_mlp()
    path = save_keras213_zip(model, tmp_path / "mlp.keras", "2.14.0", sep="\\")
    data, _ = report(tmp_path, path, "--weights-only")
    assert [layer["name"] for layer in data["layers"]] == ["dense", "dropout", "dense_1"]
    assert_same_weights(data, model)
    state = {s["path"]: s for s in data["stored_state"]}
    assert set(state) == {"optimizer", "metrics"}
    assert state["optimizer"]["tensors"] == 1 + len(model.trainable_weights)
    assert not any(layer["name"] in ("optimizer", "metrics") for layer in walk(data["layers"]))


def vae_file(path: Path, encoder, decoder) -> Path:
    """A subclassed VAE(keras.Model) as Keras 2.13 saved it: a config naming a class that
    cannot be imported, and its sub-models' weights under their attribute names."""
    config = {"module": "__main__", "class_name": "VAE",
              "config": {"name": "vae", "trainable": True, "dtype": "float32"},
              "registered_name": "VAE", "build_config": {"input_shape": [None, 6]}}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        handle.create_group("vars")
        for attribute, part in (("enc", encoder), ("dec", decoder)):
            for group_path, variables in object_path_groups(part, f"{attribute}/"):
                group = handle.require_group(group_path).require_group("vars")
                for k, variable in enumerate(variables):
                    group.create_dataset(str(k), data=variable.numpy())
        handle.create_group("optimizer/vars").create_dataset("0", data=3)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "2.13.1"}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", buffer.getvalue())
    return path


def test_a_subclassed_model_gets_its_layers_named_by_their_weights(tmp_path):
    import keras

    keras.utils.set_random_seed(15)
    encoder = moved(keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, name="dense"),
                                      keras.layers.Dense(2, name="dense_1")], name="encoder"))
    decoder = moved(keras.Sequential([keras.Input((2, 2, 1)),
                                      keras.layers.Conv2DTranspose(3, 2, name="conv2d_transpose"),
                                      keras.layers.Flatten(name="flatten")], name="decoder"))
    path = vae_file(tmp_path / "vae.keras", encoder, decoder)
    data, html = report(tmp_path, path)
    assert data["mode"] == "weights-only"
    assert "VAE" in data["weights_only_reason"]
    sections = {layer["name"]: layer for layer in data["layers"]}
    assert set(sections) == {"enc", "dec"}
    inner = {layer["path"]: layer for layer in walk(data["layers"])}
    kernel = decoder.get_layer("conv2d_transpose").get_weights()[0]
    stats = inner["dec/conv2d_transpose"]["weights"][0]
    assert stats["name"] == "kernel" and stats["shape"] == list(kernel.shape)
    assert stats["mean"] == pytest.approx(float(kernel.astype(np.float64).mean()), abs=1e-7)
    assert inner["enc/dense_1"]["class_name"] == "Dense"
    assert [s["path"] for s in data["stored_state"]] == ["optimizer"]


def test_weights_reportgen_will_not_open_give_an_architecture_only_report(tmp_path):
    model = sequential_mlp()
    path = save_keras213_zip(model, tmp_path / "npz.keras", "2.15.0")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO()
    np.savez(buffer, a=np.array([{"pickled": "object"}], dtype=object))
    members.pop("model.weights.h5")
    members["model.weights.npz"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data, html = report(tmp_path, path)
    assert data["mode"] == "architecture-only"
    assert "model.weights.npz" in data["architecture_only_reason"]
    names = [layer["name"] for layer in data["layers"]]
    assert names[0].startswith("input_layer") and names[1:] == ["dense", "dropout", "dense_1"]
    assert all(layer["weights"] == [] for layer in data["layers"])
    assert data["model"]["params"] is None and data["model_config"]["class_name"] == "Sequential"
    assert "Architecture-only report" in html and "&#34;units&#34;: 5" in html


def test_a_file_with_neither_config_nor_weights_is_refused(tmp_path, capsys):
    path = tmp_path / "empty.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
        archive.writestr("config.json", "{not json")
    assert main([str(path), "-q", "-o", str(tmp_path / "r.html")]) == 2
    assert "cannot read the weights" in capsys.readouterr().err


def test_a_keras_2_2_file_named_keras_with_a_layer_list_config_loads(tmp_path):
    import keras

    keras.utils.set_random_seed(16)
    model = moved(keras.Sequential([keras.Input((6,)),
                                    keras.layers.Dense(4, activation="relu", name="dense_1"),
                                    keras.layers.Dense(2, activation="softmax", name="dense_2")]))

    def as_list(config):
        layers = [layer for layer in config["config"]["layers"]
                  if layer["class_name"] != "InputLayer"]
        layers[0]["config"]["batch_input_shape"] = [None, 6]
        config["config"] = layers

    path = save_keras2_h5(model, tmp_path / "model.keras", as_list)
    x = np.random.default_rng(5).random((1, 6)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    data, _ = report(tmp_path, path, "--input", tmp_path / "x.npy")
    assert data["mode"] == "full", data["weights_only_reason"]
    listed, shaped = data["repair_details"]
    assert listed["rule"] == "sequential-layer-list"
    assert "pop expected at most 1 argument, got 2" in listed["error"]
    assert shaped["rule"] == "sequential-batch-input-shape"
    assert_same_weights(data, model)
    # Read as saved: one input of 6 values, and the model's own two probabilities.
    assert data["model"]["input_shape"] == "(None, 6)"
    expected = np.asarray(model(x))[0]
    assert [t["probability"] for t in data["predictions"][0]["top"]] == pytest.approx(
        sorted(expected, reverse=True), rel=1e-5)


@pytest.mark.parametrize("separator", ["/", "\\"])
def test_groups_numbered_with_gaps_are_paired_with_the_configs_layers_in_order(tmp_path,
                                                                               separator):
    # A Keras 2.13 file whose checkpoint names (dense, dense_2, dense_4) are not the
    # config's (dense_3, dense_4, dense_5): made by renaming the groups of a file written
    # the way 2.13 wrote it. By name, "dense_4" would be the wrong layer.
    import keras

    keras.utils.set_random_seed(17)
    model = moved(keras.Sequential([
        keras.Input((8,)), keras.layers.Dense(6, activation="relu", name="dense_3"),
        keras.layers.Dropout(0.2, name="dropout_1"),
        keras.layers.Dense(5, activation="relu", name="dense_4"),
        keras.layers.Dense(3, activation="softmax", name="dense_5")], name="sequential_2"))
    path = save_keras213_zip(model, tmp_path / "model.keras", "2.13.1", sep=separator)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO(members["model.weights.h5"])
    with h5py.File(buffer, "r+") as handle:
        container = "_layer_checkpoint_dependencies" + separator
        for old, new in (("dense_2", "dense_4"), ("dense_1", "dense_2")):
            handle.move(container + old, container + new)
    members["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    x = np.random.default_rng(4).random((1, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    data, _ = report(tmp_path, path, "--input", tmp_path / "x.npy")
    assert data["mode"] == "full", data["weights_only_reason"]
    assert_same_weights(data, model)
    assert any("in order within each class" in note for note in data["notes"])
    expected = np.asarray(model(x))[0]
    top = data["predictions"][0]["top"][0]
    assert top["class_index"] == int(np.argmax(expected))
    assert top["probability"] == pytest.approx(float(expected.max()), rel=1e-5)
