"""One streamed pass of a labelled sample: the same facts as one pass over everything at
once, the same numbers from the .npy pair, a folder per class and a CSV, bounded memory
for 10,000 images, and the book model's reference accuracy."""

import dataclasses
import json
import tracemalloc
import zipfile

import numpy as np
import pytest
from PIL import Image

from conftest import BOOK, FASHION, require_shared
from reportgen.analyse import data_run
from reportgen.analyse.activations import ActivationAccumulator
from reportgen.options import Options
from reportgen.sections.base import Evidence
from reportgen.analyse.class_activations import ClassActivationAccumulator
from reportgen.analyse.evaluation import evaluate
from reportgen.analyse.filter_examples import FilterExampleAccumulator
from reportgen.load.dataset import read_sample

CLASSES = ("ant", "bee", "cat")
WEIGHTS = np.random.default_rng(5).normal(size=(9, 3))


def fake_forward(batch: np.ndarray):
    """A model in numpy: a 'convolution' of 4 channels (channel 3 always zero: dead), the
    3x3 block means of the image as the layer before the output, softmax over 3 classes."""
    images = batch[..., 0]
    conv = np.stack([np.maximum(images * (c + 1) - 0.5, 0) for c in range(3)]
                    + [np.zeros_like(images)], axis=-1)
    blocks = images.reshape(len(batch), 3, 4, 3, 4).mean(axis=(2, 4)).reshape(len(batch), 9)
    logits = (blocks - 0.5) @ WEIGHTS * 4
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    return ({"conv": conv.astype(np.float32), "blocks": blocks.astype(np.float32)},
            [(probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)])


def small_sample(folder, n: int = 45):
    """n random 12x12 grey images with 3 class labels, as images.npy and labels.npy."""
    rng = np.random.default_rng(8)
    images = rng.integers(0, 256, size=(n, 12, 12), dtype=np.uint8)
    labels = rng.integers(0, 3, size=n).astype(np.uint8)
    np.save(folder / "images.npy", images)
    np.save(folder / "labels.npy", labels)
    return images, labels


def test_streamed_pass_equals_one_pass_over_everything(tmp_path):
    images, labels = small_sample(tmp_path)
    sample = read_sample(tmp_path / "images.npy", tmp_path / "labels.npy", (12, 12, 1), 3,
                         CLASSES, batch_size=7)
    facts = data_run.run_sample(sample, fake_forward, 3, ["conv"], "blocks", k=4)
    layers, (probs,) = fake_forward(images[..., None].astype(np.float32) / 255)
    assert facts.evaluation == evaluate(labels, probs, CLASSES)
    assert facts.n_images == 45 and facts.class_names == CLASSES and facts.evaluation_error == ""
    conv = layers["conv"]
    (summary,) = [s for s in facts.activations if s.layer == "conv"]
    assert summary.dead_channels == (3,) and summary.n_inputs == 45
    assert summary.channel_means == pytest.approx(conv.astype(np.float64).mean(axis=(0, 1, 2)),
                                                  rel=1e-9)
    (examples,) = facts.filter_examples.layers
    for f, found in enumerate(examples.filters[:3]):
        best = conv[..., f].reshape(45, -1).max(axis=1)
        order = np.lexsort((np.arange(45), -best))[:4]
        assert [e.index for e in found.examples] == order.tolist()
    assert examples.filters[3].examples[0].value == 0.0      # a dead filter ties everywhere
    means = layers["blocks"][labels == 1].astype(np.float64).mean(axis=0)
    got = facts.class_activations
    assert got.layer == "blocks" and got.means[1] == pytest.approx(means[list(got.units)])


def test_dense_units_count_as_channels_only_in_the_layers_named(tmp_path):
    small_sample(tmp_path)
    sample = read_sample(tmp_path / "images.npy", tmp_path / "labels.npy", (12, 12, 1), 3,
                         CLASSES, batch_size=7)
    seen = []

    def forward(batch):
        layers, outputs = fake_forward(batch)
        # Block means lie in 0..1: the unit with bias -2 is never above zero (a dead ReLU).
        dense = np.maximum(layers["blocks"][:, :4] - np.array([0, 0, 2, 0], np.float32), 0)
        seen.append(dense)
        return {**layers, "dense": dense, "flatten": layers["conv"].reshape(len(batch), -1)}, \
            outputs

    facts = data_run.run_sample(sample, forward, 3, ["conv"], "blocks", k=4,
                                unit_layers=["dense"])
    summaries = {s.layer: s for s in facts.activations}
    assert set(summaries) == {"conv", "dense"}   # flatten and blocks: 2-D and not named
    assert summaries["dense"].dead_channels == (2,) and summaries["dense"].n_inputs == 45
    assert summaries["dense"].channel_means == pytest.approx(
        np.concatenate(seen).astype(np.float64).mean(axis=0), rel=1e-9)


def test_the_sidecar_holds_every_number_as_strict_json(tmp_path):
    from reportgen.sections import evaluation, responses

    def data_sidecar(facts):
        evidence = Evidence("full", frozenset(), Options(), None)
        return {**evaluation.SECTION.sidecar(facts, evidence),
                **responses.SECTION.sidecar(facts, evidence)}

    images, labels = small_sample(tmp_path)
    sample = read_sample(tmp_path / "images.npy", tmp_path / "labels.npy", (12, 12, 1), 3,
                         CLASSES, batch_size=7)
    facts = data_run.run_sample(sample, fake_forward, 3, ["conv"], "blocks", k=4)
    document = json.loads(json.dumps(data_sidecar(facts), allow_nan=False))
    assert document["evaluation"]["accuracy"]["n"] == 45
    assert document["evaluation"]["confusion"] == [list(row) for row in facts.evaluation.confusion]
    (layer,) = document["filter_examples"]["layers"]
    assert layer["layer"] == "conv" and len(layer["filters"]) == 4
    assert layer["filters"][0]["indices"] == [e.index for e in
                                              facts.filter_examples.layers[0].filters[0].examples]
    assert document["class_activations"]["layer"] == "blocks"
    assert document["labelled_sample"]["activations"][0]["dead_channels"] == [3]


def test_a_vector_input_has_no_filter_examples_and_says_why(tmp_path):
    small_sample(tmp_path)
    sample = read_sample(tmp_path / "images.npy", tmp_path / "labels.npy", (144,), 3)
    facts = data_run.run_sample(sample, lambda b: fake_forward(b.reshape(-1, 12, 12, 1)), 3,
                                ["conv"], "blocks")
    assert facts.filter_examples.layers == ()
    assert facts.filter_examples.note == "No filter examples: the model's input is not an image."
    assert facts.evaluation.accuracy.n == 45


def test_outputs_that_are_not_probabilities_are_said_not_evaluated(tmp_path):
    small_sample(tmp_path)
    sample = read_sample(tmp_path / "images.npy", tmp_path / "labels.npy", (12, 12, 1), 3)

    def logits(batch):
        layers, (probs,) = fake_forward(batch)
        return layers, [np.log(probs)]

    facts = data_run.run_sample(sample, logits, 3, ["conv"], None)
    assert facts.evaluation is None and "not probabilities" in facts.evaluation_error
    assert facts.class_activations is None
    assert facts.filter_examples.layers[0].layer == "conv"


def keras_forward(model):
    """What the pipeline passes: the model run on one batch through the Keras boundary."""
    from reportgen.load.keras.forward import forward_chunks

    return lambda batch: data_run.joined(forward_chunks(model, [batch]))


def write_three_forms(folder, images, labels, names):
    """The same images as an .npy pair, a folder per class and a CSV of path,label."""
    np.save(folder / "images.npy", images)
    np.save(folder / "labels.npy", labels)
    lines = ["path,label"]
    for k, (image, label) in enumerate(zip(images, labels)):
        where = folder / "classes" / names[label]
        where.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(where / f"{k:03d}.png")
        lines.append(f"classes/{names[label]}/{k:03d}.png,{label}")
    (folder / "sample.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def without_sources(facts):
    """The facts that must not depend on how the sample was stored."""
    return dataclasses.replace(facts, description="")


def tiny_cnn(keras, side: int, n_classes: int):
    """Conv -> pool -> conv -> global pooling -> softmax, seeded."""
    keras.utils.set_random_seed(3)
    return keras.Sequential([
        keras.Input((side, side, 1)),
        keras.layers.Conv2D(8, 3, activation="relu", padding="same", name="c1"),
        keras.layers.MaxPooling2D(2, name="p1"),
        keras.layers.Conv2D(8, 3, activation="relu", padding="same", name="c2"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(n_classes, activation="softmax", name="out")])


def test_npy_pair_folder_and_csv_give_the_same_facts_through_a_keras_model(tmp_path):
    keras = pytest.importorskip("keras")
    model = tiny_cnn(keras, 12, 4)
    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(4), 6).astype(np.uint8)   # class order, as a folder reads
    images = rng.integers(0, 256, size=(24, 12, 12), dtype=np.uint8)
    names = ("a", "b", "c", "d")
    write_three_forms(tmp_path, images, labels, names)
    forward = keras_forward(model)
    found = []
    for data, data_labels in ((tmp_path / "images.npy", tmp_path / "labels.npy"),
                              (tmp_path / "classes", None), (tmp_path / "sample.csv", None)):
        sample = read_sample(data, data_labels, (12, 12, 1), 4, names, batch_size=10)
        found.append(without_sources(data_run.run_sample(
            sample, forward, 4, ["c1", "c2"], "gap")))
    assert found[0] == found[1] == found[2]
    # And the numbers are the model's own on the whole sample at once.
    probs = model.predict(images[..., None] / 255.0, verbose=0)
    reference = evaluate(labels, probs, names)
    assert found[0].evaluation.confusion == reference.confusion
    assert found[0].evaluation.calibration.nll == pytest.approx(reference.calibration.nll, rel=1e-4)
    assert [layer.layer for layer in found[0].filter_examples.layers] == ["c1", "c2"]


def recording(base):
    """A subclass of an accumulator that records the bytes of its arrays after each batch."""
    class Recording(base):
        sizes: list = []

        def add(self, *args):
            super().add(*args)
            arrays = [v for v in vars(self).values() if isinstance(v, np.ndarray)]
            arrays += [a for v in vars(self).values() if isinstance(v, dict)
                       for a in v.values() if isinstance(a, np.ndarray)]
            Recording.sizes.append(sum(a.nbytes for a in arrays))
    return Recording


@pytest.mark.slow  # several seconds; CI's full run (tests/run.sh) has it
def test_10000_images_stream_in_bounded_memory(tmp_path, monkeypatch):
    keras = pytest.importorskip("keras")
    model = tiny_cnn(keras, 28, 10)
    rng = np.random.default_rng(0)
    np.save(tmp_path / "images.npy", rng.integers(0, 256, size=(10_000, 28, 28), dtype=np.uint8))
    np.save(tmp_path / "labels.npy", rng.integers(0, 10, size=10_000).astype(np.uint8))
    np.save(tmp_path / "few.npy", np.load(tmp_path / "images.npy")[:900])
    np.save(tmp_path / "few_labels.npy", np.load(tmp_path / "labels.npy")[:900])
    kinds = {name: recording(base) for name, base in (
        ("ActivationAccumulator", ActivationAccumulator),
        ("FilterExampleAccumulator", FilterExampleAccumulator),
        ("ClassActivationAccumulator", ClassActivationAccumulator))}
    for name, kind in kinds.items():
        monkeypatch.setattr(data_run, name, kind)
    forward = keras_forward(model)
    peaks = {}
    for images, labels in (("few.npy", "few_labels.npy"), ("images.npy", "labels.npy")):
        sample = read_sample(tmp_path / images, tmp_path / labels, (28, 28, 1), 10)
        for kind in kinds.values():
            kind.sizes.clear()
        tracemalloc.start()
        facts = data_run.run_sample(sample, forward, 10, ["c1", "c2"], "gap")
        peaks[sample.n_images] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert facts.n_images == sample.n_images and facts.evaluation.accuracy.n == sample.n_images
        # The accumulators' arrays are as large after the last batch as after the first.
        for kind in kinds.values():
            assert len(set(kind.sizes)) == 1, kind.__mro__[1].__name__
    # What grows is the N x 10 probabilities (float32) the evaluation keeps, not activations
    # (one layer's for 10,000 images would be 10,000 x 28 x 28 x 8 x 4 bytes = 251 MB).
    assert peaks[10_000] - peaks[900] < 9_100 * 10 * 4 + 4 * 2**20


def test_book_model_on_the_900_images_through_run_sample():
    model_file = require_shared(BOOK / "best-cnn-model.keras")
    folder = require_shared(FASHION)
    from reportgen.analyse.class_activations import penultimate_layer
    from reportgen.analyse.filter_examples import example_layers
    from reportgen.load.keras.runtime import import_keras

    names = tuple(line for line in (folder / "classes.txt").read_text().splitlines() if line)
    model = import_keras().models.load_model(model_file)
    config = json.loads(zipfile.ZipFile(model_file).read("config.json"))
    layers = [(layer.name, type(layer).__name__) for layer in model.layers]
    sample = read_sample(folder / "images.npy", folder / "labels.npy", (28, 28, 1), 10, names)
    # Its time (once asserted < 30 s here): benchmarks/time_limits.py.
    facts = data_run.run_sample(sample, keras_forward(model), 10, example_layers(layers)[0],
                                penultimate_layer(layers), config, unit_layers=["dense"])
    # ../shared/data/README.md: accuracy 0.9289 (836 of 900).
    accuracy = facts.evaluation.accuracy
    assert accuracy.hits == 836 and round(accuracy.value, 4) == 0.9289
    assert [sum(row) for row in facts.evaluation.confusion] == [90] * 10
    assert [layer.layer for layer in facts.filter_examples.layers] == ["conv2d", "conv2d_1"]
    assert [layer.geometry.size for layer in facts.filter_examples.layers] == [(3, 3), (8, 8)]
    assert facts.class_activations.layer == "dense"
    # The ReLU units of `dense` that no image of the sample lights, as Keras computes them.
    outputs = import_keras().Model(model.inputs, model.get_layer("dense").output)
    images = np.load(folder / "images.npy").astype(np.float32)[..., None] / 255
    dense = outputs.predict(images, verbose=0)
    (summary,) = [s for s in facts.activations if s.layer == "dense"]
    assert summary.dead_channels == tuple(np.flatnonzero(dense.max(axis=0) == 0).tolist())
    assert len(summary.dead_channels) > 0


def test_the_batch_size_keeps_one_batchs_layer_outputs_under_the_budget():
    from reportgen.analyse.data_run import batch_size_for

    # 224*224*64 + 112*112*64 = 4,014,080 values = 16,056,320 bytes a sample.
    shapes = ["(None, 224, 224, 64)", "(None, 112, 112, 64)", None, "(None, 10)"]
    assert batch_size_for(shapes, budget=100 * 2**20) == (100 * 2**20) // (4 * (4_014_080 + 10))
    assert batch_size_for(["(None, 10)"], budget=2**30) == 64  # never more than 64
    assert batch_size_for(["(None, 100000000)"], budget=2**20) == 1  # never fewer than 1
    assert batch_size_for(["[(None, 2), (None, 101)]"], budget=103 * 4 * 5) == 5
    assert batch_size_for([None, "not a shape"]) == 64
