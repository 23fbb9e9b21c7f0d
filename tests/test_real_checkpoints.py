"""The kinds of checkpoint people hold, each built here the way its tool writes it, and the
report each one must get (issue "Real checkpoints read right")."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import gray_png, legacy_weights_h5
from keras2_files import (as_teachable_machine_wrote_it, first_layer_shapes, keras2_config,
                          save_keras2_h5, teachable_machine_like)
from reportgen.cli import main


def report(tmp_path: Path, *args) -> tuple[dict, str]:
    out = tmp_path / "r.html"
    assert main([*map(str, args), "-q", "-o", str(out)]) == 0
    return json.loads(out.with_suffix(".json").read_text("utf-8")), out.read_text("utf-8")


def walk(layers):
    for layer in layers:
        yield layer
        yield from walk(layer["layers"])


@pytest.fixture(scope="module")
def two_inputs(tmp_path_factory):
    """Two image inputs, a shared-shape branch each, a residual Add, two outputs."""
    import keras

    keras.utils.set_random_seed(2)
    layers = keras.layers
    left = keras.Input((16, 16, 3), name="left")
    right = keras.Input((16, 16, 1), name="right")
    a = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_left")(left)
    b = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_right")(right)
    merged = layers.Add(name="residual")([a, b])
    pooled = layers.GlobalAveragePooling2D(name="pool")(merged)
    kind = layers.Dense(3, activation="softmax", name="kind")(pooled)
    size = layers.Dense(1, name="size")(pooled)
    model = keras.Model([left, right], [kind, size], name="two_inputs")
    path = tmp_path_factory.mktemp("two") / "two.keras"
    model.save(path)
    return model, path


def test_a_two_input_model_gets_a_full_report_with_named_synthetic_inputs(tmp_path, two_inputs):
    model, path = two_inputs
    data, html = report(tmp_path, path)
    assert data["mode"] == "full" and data["forward_error"] is None
    assert [i["name"] for i in data["model"]["inputs"]] == ["left", "right"]
    assert [o["name"] for o in data["model"]["outputs"]] == ["kind", "size"]
    note = " ".join(data["notes"])
    assert "left:" in note and "right:" in note
    [prediction] = data["predictions"]
    kinds = {o["name"]: o["kind"] for o in prediction["outputs"]}
    assert kinds == {"kind": "softmax", "size": "regression"}
    layers = {a["name"] for a in data["activations"][0]["layers"]}
    assert {"conv_left", "conv_right", "residual"} <= layers
    assert "Input left" in html and "Input right" in html


def test_named_inputs_go_to_their_model_inputs(tmp_path, two_inputs):
    model, path = two_inputs
    rng = np.random.default_rng(0)
    left, right = rng.random((2, 16, 16, 3), np.float32), rng.random((2, 16, 16, 1), np.float32)
    np.save(tmp_path / "l.npy", left)
    np.save(tmp_path / "r.npy", right)
    data, _ = report(tmp_path, path, "--input", f"left={tmp_path / 'l.npy'}",
                     "--input", f"right={tmp_path / 'r.npy'}")
    assert len(data["predictions"]) == 2
    expected_kind, expected_size = model.predict([left, right], verbose=0)
    for k, prediction in enumerate(data["predictions"]):
        outputs = {o["name"]: o for o in prediction["outputs"]}
        top = outputs["kind"]["top"][0]
        assert top["class_index"] == int(np.argmax(expected_kind[k]))
        assert top["probability"] == pytest.approx(float(expected_kind[k].max()), abs=1e-5)
        assert outputs["size"]["values"][0] == pytest.approx(float(expected_size[k, 0]),
                                                             abs=1e-5)
    assert [i["shapes"] for i in data["inputs"]] == [[[16, 16, 3], [16, 16, 1]]] * 2
    assert not any("synthetic" in note for note in data["notes"])


def test_an_input_given_no_file_is_said_to_get_the_synthetic_pattern(tmp_path, two_inputs):
    _, path = two_inputs
    np.save(tmp_path / "l.npy", np.random.default_rng(1).random((16, 16, 3), np.float32))
    data, _ = report(tmp_path, path, "--input", f"left={tmp_path / 'l.npy'}")
    assert len(data["predictions"]) == 1
    [note] = [note for note in data["notes"] if "synthetic" in note]
    assert "right" in note and "left" not in note


def test_an_unnamed_input_for_a_two_input_model_is_refused_naming_the_inputs(tmp_path,
                                                                             two_inputs, capsys):
    _, path = two_inputs
    sample = gray_png(tmp_path / "a.png", 16)
    assert main([str(path), "-q", "--input", str(sample), "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert "left, right" in err and "NAME=FILE" in err


def test_a_model_that_cannot_run_its_input_still_gets_its_weights_reported(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((None, None, 1)),
                              keras.layers.Conv2D(2, 3, name="conv"),
                              keras.layers.Reshape((50,), name="fixed"),
                              keras.layers.Dense(2, activation="softmax", name="out")])
    path = tmp_path / "rigid.keras"
    model.save(path)
    data, html = report(tmp_path, path)
    assert data["mode"] == "full" and data["forward_error"]
    assert data["predictions"] == [] and data["activations"] == []
    assert data["layers"][0]["weights"][0]["shape"] == [3, 3, 1, 2]
    assert "could not run on the inputs" in html


def test_a_file_saved_by_this_keras_gets_no_repair(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((6, 6, 2)), keras.layers.Conv2D(3, 3, name="conv"),
                              keras.layers.BatchNormalization(renorm=True, renorm_momentum=0.9,
                                                              name="bn"),
                              keras.layers.Flatten(), keras.layers.Dense(2, name="out")])
    path = tmp_path / "current.keras"
    model.save(path)
    data, html = report(tmp_path, path)
    assert data["mode"] == "full" and data["repairs"] == [] and data["repair_details"] == []
    assert "repair" not in html.lower().split("<footer")[0].split("</header>")[1]


def text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


@pytest.mark.slow
def test_a_teachable_machine_export_loads_in_full(tmp_path):
    model = teachable_machine_like()
    path = save_keras2_h5(model, tmp_path / "keras_model.h5", as_teachable_machine_wrote_it)
    # The file is laid out as ../shared/data/teachable-machine-layout.md describes real ones.
    with h5py.File(path, "r") as handle:
        assert handle.attrs["keras_version"] in ("2.4.0", b"2.4.0")
        assert "training_config" not in handle.attrs
        assert list(handle.keys()) == ["model_weights"]
        assert [text(n) for n in handle["model_weights"].attrs["layer_names"]] == \
            ["sequential_1", "sequential_3"]
        names = [text(n) for n in handle["model_weights/sequential_1"].attrs["weight_names"]]
        assert names[:3] == ["Conv1/kernel:0", "bn_Conv1/gamma:0", "bn_Conv1/beta:0"]
        config = json.loads(handle.attrs["model_config"])
    outer = config["config"]["layers"]
    assert [l["class_name"] for l in outer] == ["InputLayer", "Sequential", "Sequential"]
    features, head = outer[1]["config"]["layers"], outer[2]["config"]["layers"]
    assert [l["class_name"] for l in features] == ["InputLayer", "Functional",
                                                   "GlobalAveragePooling2D"]
    assert [l["class_name"] for l in head] == ["InputLayer", "Dense", "Dense"]
    assert head[0]["config"]["name"] == "dense_Dense1_input"
    assert head[1]["config"]["batch_input_shape"] == head[0]["config"]["batch_input_shape"]
    assert head[1]["config"]["kernel_initializer"]["config"]["distribution"] == "truncated_normal"

    x = np.random.default_rng(2).random((1, 32, 32, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    data, html = report(tmp_path, path, "--input", tmp_path / "x.npy")
    assert data["mode"] == "full", data["weights_only_reason"]
    assert data["model"]["saved_by_keras_version"] == "2.4.0"
    assert data["model"]["input_shape"] == "(None, 32, 32, 3)"
    [groups] = data["repair_details"]
    assert (groups["rule"], groups["outcome"]) == ("depthwise-groups", "loaded")
    assert groups["layers"] == ["expanded_conv_depthwise"]
    assert "{'groups': 1}" in groups["error"]
    expected = np.asarray(model(x))[0]
    top = data["predictions"][0]["top"][0]
    assert top["class_index"] == int(np.argmax(expected))
    assert top["probability"] == pytest.approx(float(expected.max()), rel=1e-5)
    layers = {layer["path"]: layer for layer in walk(data["layers"])}
    kernel = model.get_layer("sequential_1").get_layer("model1").get_layer("Conv1").get_weights()[0]
    conv1 = layers["sequential_1/model1/Conv1"]["weights"][0]
    assert conv1["shape"] == list(kernel.shape)
    assert conv1["mean"] == pytest.approx(float(kernel.astype(np.float64).mean()), abs=1e-7)
    assert [w["name"] for w in layers["sequential_3/dense_Dense2"]["weights"]] == ["kernel"]
    assert data["predictions"][0]["outputs"][0]["kind"] == "softmax"


def test_a_teachable_machine_export_read_without_keras_names_its_inner_layers(tmp_path):
    model = teachable_machine_like()
    path = save_keras2_h5(model, tmp_path / "keras_model.h5")
    data, _ = report(tmp_path, path, "--weights-only")
    layers = {layer["path"]: layer for layer in walk(data["layers"])}
    bn = layers["sequential_1/model1/bn_Conv1"]
    assert bn["class_name"] == "BatchNormalization"
    assert [w["name"] for w in bn["weights"]] == ["gamma", "beta", "moving_mean",
                                                  "moving_variance"]
    dense = layers["sequential_3/dense_Dense1"]
    expected = model.get_layer("sequential_3").get_layer("dense_Dense1").get_weights()[0]
    assert dense["weights"][0]["shape"] == list(expected.shape)
    assert dense["output_shape"] is None and data["model"]["output_shape"] is None
    duplicate = [a["layer"] for a in data["alerts"] if a["kind"] == "duplicate_filters"]
    assert all(layer.count("/") >= 1 for layer in duplicate)


@pytest.mark.parametrize("first", ["dense", "conv"])
def test_keras_2_0_sequentials_are_repaired_and_read_their_input_shape(tmp_path, first):
    # As Keras 2.0-2.3 wrote them: dtypes in initializer configs, no InputLayer, the input
    # shape on the first layer (which Keras 3 reads with an extra axis, or not at all).
    import keras

    keras.utils.set_random_seed(4)
    shape = (8,) if first == "dense" else (12, 12, 1)
    hidden = keras.layers.Dense(4, name="hidden") if first == "dense" else \
        keras.layers.Conv2D(4, 3, name="hidden")
    model = keras.Sequential([keras.Input(shape), hidden, keras.layers.Flatten(name="flat"),
                              keras.layers.Dense(2, activation="softmax", name="out")])

    def as_keras_2_0(config):
        first_layer_shapes(config)
        for layer in config["config"]["layers"]:
            for key in ("kernel_initializer", "bias_initializer"):
                if key in layer["config"]:
                    layer["config"][key]["config"]["dtype"] = "float32"

    path = save_keras2_h5(model, tmp_path / "old.h5", as_keras_2_0)
    x = np.random.default_rng(1).random((1, *shape)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    data, _ = report(tmp_path, path, "--input", tmp_path / "x.npy")
    assert data["mode"] == "full", data["weights_only_reason"]
    assert data["model"]["input_shape"] == str((None, *shape))
    repairs = {repair["rule"]: repair for repair in data["repair_details"]}
    assert set(repairs) == {"object-dtype", "sequential-batch-input-shape"}
    assert set(repairs["object-dtype"]["layers"]) == {"hidden", "out"}
    assert "unexpected keyword argument 'dtype'" in repairs["object-dtype"]["error"]
    assert repairs["sequential-batch-input-shape"]["layers"] == ["hidden"]
    expected = np.asarray(model(x))[0]
    top = data["predictions"][0]["top"]
    assert [t["class_index"] for t in top] == list(np.argsort(-expected))
    assert top[0]["probability"] == pytest.approx(float(expected.max()), rel=1e-5)


def test_a_harmful_value_is_never_dropped(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4, name="lstm"),
                              keras.layers.Dense(2, name="out")])

    def time_major(config):
        lstm = next(l for l in config["config"]["layers"] if l["class_name"] == "LSTM")
        lstm["config"]["time_major"] = True

    path = save_keras2_h5(model, tmp_path / "tm.h5", time_major)
    data, _ = report(tmp_path, path)
    assert data["mode"] == "weights-only"
    assert "time_major" in data["weights_only_reason"]


@pytest.fixture(scope="module")
def book_like(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(9)
    model = keras.Sequential([keras.Input((10, 10, 1)),
                              keras.layers.Conv2D(4, 3, activation="relu", name="conv2d"),
                              keras.layers.MaxPooling2D(2, name="max_pooling2d"),
                              keras.layers.Flatten(name="flatten"),
                              keras.layers.Dense(3, activation="softmax", name="dense")])
    for layer in model.layers:
        layer.set_weights([w * 2 + 0.05 for w in layer.get_weights()])
    folder = tmp_path_factory.mktemp("book")
    return model, folder


@pytest.mark.parametrize("form", ["json", "keras", "keras2-h5", "keras2-json"])
def test_save_weights_with_an_architecture_file_gets_a_full_report(tmp_path, book_like, form):
    # The textbook's chapter 7-3: model-weights.h5 beside model-whole.h5, both from Keras 2.
    model, folder = book_like
    weights = legacy_weights_h5(model, tmp_path / "model-weights.h5")
    if form == "json":
        architecture = tmp_path / "model.json"
        architecture.write_text(model.to_json(), encoding="utf-8")
    elif form == "keras2-h5":
        architecture = save_keras2_h5(model, tmp_path / "model-whole.h5")
    elif form == "keras2-json":
        # Keras 2's model.to_json(): the same legacy config, with its versions beside it.
        config = keras2_config({"class_name": "Sequential", "config": model.get_config()})
        architecture = tmp_path / "model.json"
        architecture.write_text(json.dumps({**config, "keras_version": "2.4.0",
                                            "backend": "tensorflow"}), encoding="utf-8")
    else:
        architecture = tmp_path / "model-whole.keras"
        model.save(architecture)
    data, html = report(tmp_path, weights, "--architecture", architecture)
    assert data["mode"] == "full"
    assert data["model"]["file"] == "model-weights.h5"
    assert data["model"]["architecture_from"]["file"] == architecture.name
    kernel = model.get_layer("conv2d").get_weights()[0].astype(np.float64)
    assert data["layers"][0]["weights"][0]["std"] == pytest.approx(kernel.std(), abs=1e-7)
    assert data["layers"][0]["init"] is not None
    assert "Architecture from" in html


def test_keras3_save_weights_with_an_architecture(tmp_path, book_like):
    model, _ = book_like
    weights = tmp_path / "book.weights.h5"
    model.save_weights(weights)
    architecture = tmp_path / "model.json"
    architecture.write_text(model.to_json(), encoding="utf-8")
    data, _ = report(tmp_path, weights, "--architecture", architecture)
    assert data["mode"] == "full"
    bias = model.get_layer("dense").get_weights()[1].astype(np.float64)
    assert data["layers"][-1]["weights"][1]["mean"] == pytest.approx(bias.mean(), abs=1e-7)


def test_weights_that_do_not_fit_the_architecture_are_refused_naming_the_layer(
        tmp_path, book_like, capsys):
    import keras

    model, _ = book_like
    other = keras.Sequential([keras.Input((10, 10, 1)),
                              keras.layers.Conv2D(6, 3, name="conv2d"),
                              keras.layers.MaxPooling2D(2, name="max_pooling2d"),
                              keras.layers.Flatten(name="flatten"),
                              keras.layers.Dense(3, name="dense")])
    weights = legacy_weights_h5(other, tmp_path / "other-weights.h5")
    architecture = tmp_path / "model.json"
    architecture.write_text(model.to_json(), encoding="utf-8")
    assert main([str(weights), "--architecture", str(architecture), "-q",
                 "-o", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'conv2d'" in err and "(3, 3, 1, 6)" in err
    assert not (tmp_path / "r.html").exists()


def test_a_single_sigmoid_output_reads_as_the_positive_class(tmp_path):
    import keras

    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((20,), dtype="int32"),
                              keras.layers.Embedding(50, 8, name="embedding"),
                              keras.layers.GRU(4, name="gru"),
                              keras.layers.Dense(1, activation="sigmoid", name="dense")])
    path = tmp_path / "imdb.keras"
    model.save(path)
    labels = tmp_path / "labels.txt"
    labels.write_text("negative\npositive\n")
    data, html = report(tmp_path, path, "--labels", labels)
    [output] = data["predictions"][0]["outputs"]
    assert output["kind"] == "sigmoid" and output["threshold"] == 0.5
    tokens = np.asarray(data["inputs"][0]["shape"])
    assert tokens.tolist() == [20]
    p = [t["probability"] for t in output["top"] if t["class_index"] == 1][0]
    assert 0 < p < 1 and {t["label"] for t in output["top"]} == {"negative", "positive"}
    assert data["predictions"][0]["top"] == output["top"]
    assert "Probability of the positive class (threshold 0.5)" in html
    assert not any("class names" in n for n in data["notes"])


def test_weights_only_reports_say_unknown_instead_of_inventing(tmp_path, tiny_files,
                                                               tiny_model):
    data, html = report(tmp_path, tiny_files["keras"], "--weights-only")
    # A shape is given only where the config records it (the next layer's input shape).
    real = {layer.name: str(layer.output.shape) for layer in tiny_model.layers}
    given = {layer["name"]: layer["output_shape"] for layer in data["layers"]
             if layer["output_shape"] is not None}
    assert given and all(shape == real[name] for name, shape in given.items())
    assert data["layers"][-1]["output_shape"] is None
    assert data["model"]["output_shape"] is None and data["model"]["outputs"] == []
    assert data["model"]["input_shape"] == "(None, 12, 12, 1)"
    assert "unknown" in html and "(None,)" not in html


def _set(class_name, **values):
    def edit(config):
        for layer in config["config"]["layers"]:
            if layer["class_name"] == class_name:
                layer["config"].update(values)
    return edit


@pytest.mark.parametrize("rule, build, edit", [
    ("batch-norm-options",
     lambda k: [k.Input((4, 4, 2)), k.layers.BatchNormalization(name="bn"), k.layers.Flatten(),
                k.layers.Dense(2, name="out")],
     _set("BatchNormalization", fused=True, virtual_batch_size=None, adjustment=None)),
])
def test_each_keras2_rule_on_a_file_written_as_keras2_did(tmp_path, rule, build, edit):
    import keras

    model = keras.Sequential(build(keras))
    path = save_keras2_h5(model, tmp_path / "old.h5", edit)
    data, _ = report(tmp_path, path)
    assert data["mode"] == "full", data["weights_only_reason"]
    assert [r["rule"] for r in data["repair_details"]] == [rule]
