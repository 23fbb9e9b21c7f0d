"""The Python API and the training callback, where Keras users work."""

from __future__ import annotations

import html as html_module
import json
import re
import threading
import time
import warnings

import numpy as np
import pytest

import reportgen
from conftest import numpy_blas_threads, run_cli
from reportgen.demo import shapes_dataset
from reportgen.errors import ReportInputError

# What says where the model came from; in_memory is the one flag that must differ.
FILE_FIELDS = {"file", "file_size", "sha256", "format", "saved_by_keras_version", "in_memory"}


def test_the_public_names_are_listed_and_importable():
    # The README's "In Python and in a notebook" documents exactly these.
    assert sorted(reportgen.__all__) == ["Report", "__version__", "keras", "report", "write"]
    for name in reportgen.__all__:
        assert getattr(reportgen, name) is not None
    assert callable(reportgen.report) and callable(reportgen.write)
    assert issubclass(reportgen.keras.ReportCallback, __import__("keras").callbacks.Callback)
    with pytest.raises(AttributeError):
        reportgen.not_a_name  # noqa: B018


def without_file_fields(data: dict) -> dict:
    data = json.loads(json.dumps(data))
    data["model"] = {k: v for k, v in data["model"].items() if k not in FILE_FIELDS}
    # The card repeats the file's identity (its name, hash, format) in its rows and text.
    data["card"] = {k: v for k, v in data["card"].items()
                    if k not in ("name", "identity", "markdown")}
    return data


@pytest.mark.slow
def test_an_in_memory_model_gives_the_same_json_as_its_saved_file(tmp_path, tiny_model,
                                                                    monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    path = tmp_path / "tiny.keras"
    tiny_model.save(path)
    assert run_cli(path, "-q", "-o", tmp_path / "file.html",
                   env={"SOURCE_DATE_EPOCH": "1700000000"}).returncode == 0
    from_file = json.loads((tmp_path / "file.json").read_text("utf-8"))
    in_memory = reportgen.report(tiny_model).facts
    assert in_memory["model"]["format"].startswith("in-memory")
    assert in_memory["model"]["in_memory"] and not from_file["model"]["in_memory"]
    weights = np.concatenate([np.ascontiguousarray(w.numpy()).ravel().view(np.uint8)
                              for w in tiny_model.weights])
    assert in_memory["model"]["file_size"] == weights.size
    assert without_file_fields(in_memory) == without_file_fields(from_file)


@pytest.mark.slow
def test_the_report_shows_in_a_notebook_in_its_own_frame(tiny_model):
    result = reportgen.report(tiny_model)
    shown = result._repr_html_()
    frame = re.fullmatch(r'<iframe srcdoc="(.*)" style="([^"]*)" sandbox title="[^"]*"></iframe>',
                         shown, re.S)
    assert frame is not None
    assert html_module.unescape(frame.group(1)) == result.html
    assert "<script" not in shown and "height: 720px" in frame.group(2)


@pytest.mark.slow
def test_numpy_inputs_and_label_names_work_like_files(tmp_path, tiny_model):
    batch = np.random.default_rng(0).random((2, 12, 12, 1)).astype(np.float32)
    result = reportgen.report(tiny_model, inputs=[batch], labels=["a", "b", "c", "d"])
    expected = np.asarray(tiny_model(batch, training=False))
    tops = [p["top"][0] for p in result.facts["predictions"]]
    assert [t["class_index"] for t in tops] == list(np.argmax(expected, axis=1))
    assert {t["label"] for t in tops} <= {"a", "b", "c", "d"}
    html_path, json_path = result.save(tmp_path / "r.html")
    assert json.loads(json_path.read_text("utf-8")) == result.facts
    assert html_path.read_text("utf-8") == result.html


def probabilities(result, n_classes: int) -> np.ndarray:
    """Each input's softmax as the sidecar's predictions give it (top holds every class of a
    model with at most five)."""
    rows = np.full((len(result.facts["predictions"]), n_classes), np.nan)
    for row, prediction in zip(rows, result.facts["predictions"]):
        for top in prediction["top"]:
            row[top["class_index"]] = top["probability"]
    return rows


def dense_classifier(name: str = "dense", n_features: int = 4):
    """Four features to three classes: a model whose input has rank 1."""
    import keras

    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((n_features,)),
                             keras.layers.Dense(6, activation="tanh", name="hidden"),
                             keras.layers.Dense(3, activation="softmax", name="out")], name=name)


def test_a_numpy_batch_gives_one_input_per_sample_and_a_sample_one(tmp_path):
    model = dense_classifier()
    x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    batch = reportgen.report(model, inputs=x)
    assert probabilities(batch, 3) == pytest.approx(expected, abs=1e-5)
    one = reportgen.report(model, inputs=x[2])
    assert probabilities(one, 3) == pytest.approx(expected[2:3], abs=1e-5)
    np.save(tmp_path / "x.npy", x[:2])
    for path in (tmp_path / "x.npy", str(tmp_path / "x.npy")):  # a single path, not a list
        assert probabilities(reportgen.report(model, inputs=path), 3) == \
            pytest.approx(expected[:2], abs=1e-5)


@pytest.mark.slow
def test_an_image_input_takes_a_grey_stack_and_a_sample_that_fits_its_shape(tiny_model):
    import keras

    stack = np.random.default_rng(2).random((3, 12, 12)).astype(np.float32)
    result = reportgen.report(tiny_model, inputs=stack)  # N x H x W for an H x W x 1 input
    # A direct call: predict() opens a name scope, which the hostile layer name breaks.
    assert probabilities(result, 4) == pytest.approx(
        np.asarray(tiny_model(stack[..., None], training=False)), abs=1e-5)
    # Eight channels are no colour image: one sample of the input's shape, not 4 of 4 x 8.
    keras.utils.set_random_seed(4)
    features = keras.Sequential([keras.Input((4, 4, 8)), keras.layers.Conv2D(3, 2, name="conv"),
                                 keras.layers.GlobalAveragePooling2D(name="pool"),
                                 keras.layers.Softmax(name="probs")], name="features")
    sample = np.random.default_rng(3).normal(size=(4, 4, 8)).astype(np.float32)
    assert probabilities(reportgen.report(features, inputs=sample), 3) == pytest.approx(
        features.predict(sample[None], verbose=0), abs=1e-5)


def test_a_dict_gives_each_named_input_its_arrays(tmp_path):
    import keras

    keras.utils.set_random_seed(5)
    left, right = keras.Input((4,), name="left"), keras.Input((4,), name="right")
    joined = keras.layers.Concatenate(name="join")([left, right])
    model = keras.Model([left, right], keras.layers.Dense(3, activation="softmax",
                                                          name="out")(joined), name="two")
    rng = np.random.default_rng(6)
    x_left, x_right = rng.normal(size=(3, 4)), rng.normal(size=4)
    # Both inputs take 4 values: only the names can send each array to its own input.
    expected = model.predict([x_left, np.repeat(x_right[None], 3, axis=0)], verbose=0)
    swapped = model.predict([np.repeat(x_right[None], 3, axis=0), x_left], verbose=0)
    assert np.abs(expected - swapped).max() > 1e-3
    # One sample for `right` is paired with each of the three `left` ones, as on the command line.
    result = reportgen.report(model, inputs={"right": x_right, "left": [x_left[:2], x_left[2]]})
    assert probabilities(result, 3) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("inputs, start", [
    (42, "inputs: int is not an input"),
    ([np.zeros(4), 7.5], "inputs[1]: float is not an input"),
    ({"left": {"nested": np.zeros(4)}}, "inputs['left']: dict is not an input"),
    ((x for x in [np.zeros(4)]), "inputs: generator is not an input"),
    (np.array(["a", "b", "c", "d"]), "inputs: an array of <U1 is no input (numbers only)"),
    (np.float32(1.0), "inputs: an array of float32 () is no input"),
    ({3: np.zeros(4)}, "inputs: the key 3 is not the name of a model input"),
])
def test_a_value_inputs_cannot_take_is_refused_in_one_line(inputs, start):
    with pytest.raises(ReportInputError) as refused:
        reportgen.report(dense_classifier(), inputs=inputs)
    text = str(refused.value)
    assert text.startswith(start) and "\n" not in text and "truth value" not in text
    if "is not an input" in start:  # it says what would do
        assert "a numpy array" in text and "a file path" in text and "dict" in text


def test_the_repr_is_one_short_line_with_the_sidecars_counts():
    model = dense_classifier(name="planted")
    kernel, bias = model.get_layer("hidden").get_weights()
    kernel[0, 0] = np.nan  # an error
    model.get_layer("hidden").set_weights([kernel, bias])
    kernel, bias = model.get_layer("out").get_weights()
    model.get_layer("out").set_weights([kernel * 100, bias])  # a warning: far from its init
    result = reportgen.report(model)
    text = repr(result)
    assert len(text) < 200 and "\n" not in text and "'planted'" in text
    assert f"{len(model.layers)} layers" in text
    counts = re.search(r"(\d+) alerts? \((\d+) errors?, (\d+) warnings?\)", text)
    severities = [alert["severity"] for alert in result.facts["alerts"]]
    assert [int(n) for n in counts.groups()] == \
        [len(severities), severities.count("error"), severities.count("warning")]
    assert {(a["layer"], a["severity"]) for a in result.facts["alerts"]} >= \
        {("hidden", "error"), ("out", "warning")}
    facts = result.facts
    facts["model"]["file"] = "m" * 500
    assert len(repr(reportgen.Report(result.html, json.dumps(facts)))) < 200


def test_unknown_options_are_refused(tiny_model):
    with pytest.raises(TypeError, match="max_fliters"):
        reportgen.report(tiny_model, max_fliters=3)


def test_the_callback_writes_a_report_per_epoch_and_a_rising_trend(tmp_path):
    import keras

    from reportgen.demo import book_cnn

    images, labels = shapes_dataset(n_per_class=40, seed=7)
    keras.utils.set_random_seed(0)
    model = book_cnn(8)
    model.compile(optimizer=keras.optimizers.Adam(2e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    callback = reportgen.keras.ReportCallback(tmp_path / "audit")
    model.fit(images, labels, epochs=3, batch_size=32, verbose=0, callbacks=[callback])
    written = sorted(p.name for p in (tmp_path / "audit").glob("epoch-*.html"))
    assert written == ["epoch-001.html", "epoch-002.html", "epoch-003.html"]
    index = json.loads((tmp_path / "audit" / "index.json").read_text("utf-8"))
    assert (index["kind"], index["schema_version"]) == ("training", 2)
    [series] = index["series"]
    assert series["epochs"] == [1, 2, 3]
    trends = {layer["path"]: layer for layer in series["layers"]}
    first = trends["conv2d"]["start_change"]
    assert len(first) == 3 and first[0] > 0 and first[0] < first[1] < first[2]
    # Weights-only reports compare with the starting weights too: the same numbers.
    assert trends["conv2d"]["relative_change"] == pytest.approx(first, rel=1e-6)
    assert [row["logs"]["loss"] for row in index["models"]] == pytest.approx(
        model.history.history["loss"])
    page = (tmp_path / "audit" / "index.html").read_text("utf-8")
    assert 'href="epoch-003.html"' in page
    report = json.loads((tmp_path / "audit" / "epoch-003.json").read_text("utf-8"))
    assert report["mode"] == "weights-only" and report["layers"][0]["init"] is not None


def conv_training(data_seed: int, seed: int):
    """The demo's shapes, a tiny CNN compiled to learn them, and a callback that keeps its
    convolution kernel at each epoch's end (`changes()`: each one's ‖W − W_start‖ / ‖W_start‖,
    worked out here by hand)."""
    import keras

    images, labels = shapes_dataset(n_per_class=6, seed=data_seed)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(images.shape[1:]),
                              keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
                              keras.layers.GlobalAveragePooling2D(name="pool"),
                              keras.layers.Dense(8, activation="softmax", name="out")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss="sparse_categorical_crossentropy")

    def kernel():
        return np.array(model.get_layer("conv").get_weights()[0], np.float64)

    class Kernels(keras.callbacks.Callback):
        start, seen = kernel(), []

        def on_epoch_end(self, epoch, logs=None):
            self.seen.append(kernel())

        def changes(self):
            return [np.linalg.norm(k - self.start) / np.linalg.norm(self.start)
                    for k in self.seen]

    return images, labels, model, Kernels()


def test_weights_only_reports_are_made_beside_training_from_each_epochs_weights(
        tmp_path, monkeypatch):
    # The reporting thread lags a whole epoch behind (each report waits 0.3 s first), yet
    # every report holds the weights of its own epoch's end, and fit returns only once all
    # of them and the index are written.
    from reportgen import api

    made_in, report = [], api.report

    def slow(model, **kwargs):
        made_in.append(threading.current_thread().name)
        time.sleep(0.3)
        return report(model, **kwargs)

    monkeypatch.setattr(api, "report", slow)
    images, labels, model, kernels = conv_training(data_seed=5, seed=1)
    callback = reportgen.keras.ReportCallback(tmp_path / "audit")
    model.fit(images, labels, epochs=4, batch_size=8, verbose=0,
              callbacks=[kernels, callback])
    assert made_in and all(name.startswith("reportgen-callback") for name in made_in)
    assert sorted(p.name for p in (tmp_path / "audit").glob("epoch-*.json")) == \
        [f"epoch-00{k}.json" for k in range(1, 5)]
    expected = kernels.changes()
    reported = [json.loads((tmp_path / "audit" / f"epoch-00{k}.json").read_text("utf-8"))
                ["layers"][0]["weights"][0]["relative_change"] for k in range(1, 5)]
    assert reported == pytest.approx(expected, rel=1e-6)
    assert len(set(round(r, 9) for r in reported)) == 4  # training moved between them
    index = json.loads((tmp_path / "audit" / "index.json").read_text("utf-8"))
    assert [row["status"] for row in index["models"]] == ["report"] * 4


@pytest.mark.slow
def test_with_data_the_callback_reports_accuracy_and_still_trends_from_the_start(tmp_path):
    images, labels, model, kernels = conv_training(data_seed=3, seed=0)
    callback = reportgen.keras.ReportCallback(tmp_path / "audit", data=images, data_labels=labels)
    model.fit(images, labels, epochs=2, batch_size=16, verbose=0, callbacks=[kernels, callback])
    index = json.loads((tmp_path / "audit" / "index.json").read_text("utf-8"))
    report = json.loads((tmp_path / "audit" / "epoch-002.json").read_text("utf-8"))
    assert report["mode"] == "full"
    assert [row["accuracy"] for row in index["models"]][-1] == \
        report["evaluation"]["accuracy"]["value"]
    conv = next(layer for layer in index["series"][0]["layers"] if layer["path"] == "conv")
    assert conv["start_change"] == pytest.approx(kernels.changes(), rel=1e-6)
    # The map of the representation's two numbers, per epoch, as each report has them.
    assert index["series"][0]["probe_accuracy"][-1] == \
        report["representation"]["probe"]["accuracy"] is not None
    assert index["series"][0]["silhouette"][-1] == report["representation"]["silhouette"]["value"]


def test_a_failing_report_never_stops_training(tmp_path, monkeypatch):
    import keras

    from reportgen import api

    def broken(*_, **__):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(api, "report", broken)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    callback = reportgen.keras.ReportCallback(tmp_path / "audit")
    with pytest.warns(RuntimeWarning, match="disk is on fire"):
        history = model.fit(np.zeros((8, 4)), np.zeros((8, 2)), epochs=2, verbose=0,
                            callbacks=[callback])
    assert len(history.history["loss"]) == 2
    index = json.loads((tmp_path / "audit" / "index.json").read_text("utf-8"))
    assert [(row["status"], row["reason"]) for row in index["models"]] == \
        [("failed", "the disk is on fire")] * 2
    # Warnings turned into errors (pytest -W error, a strict notebook) still cannot reach fit.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(np.zeros((8, 4)), np.zeros((8, 2)), epochs=2, verbose=0,
                            callbacks=[reportgen.keras.ReportCallback(tmp_path / "strict")])
    assert len(history.history["loss"]) == 2


@pytest.mark.slow
def test_reports_hold_blas_to_one_thread_from_start_to_end(tmp_path, tiny_model, monkeypatch):
    # An OpenBLAS thread spins on a core after each call: a report beside training (the
    # callback's) or in a notebook must not start one, in its parallel parts or elsewhere.
    # The page and the callback's index are made outside those parts, so they are asked.
    import keras

    from reportgen.page import index_view
    from reportgen.pipeline import run

    if numpy_blas_threads() < 2:
        pytest.skip("numpy's BLAS runs one thread here already (one core, or "
                    "OPENBLAS_NUM_THREADS=1), or is not numpy's own OpenBLAS with its own "
                    "threads: nothing to hold process-wide")
    seen = []
    render, write_index = run.render, index_view.write_index

    def render_asking(*args, **kwargs):
        seen.append(("page", numpy_blas_threads()))
        return render(*args, **kwargs)

    def index_asking(*args, **kwargs):
        seen.append(("index", numpy_blas_threads()))
        return write_index(*args, **kwargs)

    monkeypatch.setattr(run, "render", render_asking)
    monkeypatch.setattr(index_view, "write_index", index_asking)
    before = numpy_blas_threads()
    reportgen.report(tiny_model)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((8, 4)), np.zeros((8, 2)), epochs=1, verbose=0,
              callbacks=[reportgen.keras.ReportCallback(tmp_path / "audit")])
    assert seen == [("page", 1), ("page", 1), ("index", 1)]
    assert numpy_blas_threads() == before  # lifted afterwards: the notebook's own numpy
