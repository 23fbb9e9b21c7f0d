"""Acceptance on the textbook's own checkpoints: the figures its notebook printed."""

from __future__ import annotations

import json

import pytest

from conftest import BOOK, FASHION, require_shared, run_cli


def book_report(tmp_path, name, *extra):
    model = require_shared(BOOK / name)
    out = tmp_path / "book.html"
    result = run_cli(model, "-q", "-o", out, *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))


def conv1(data):
    return next(l for l in data["layers"] if l["name"] == "conv2d")


@pytest.fixture(scope="module")
def keras_report(tmp_path_factory):
    sample = require_shared(FASHION / "ankle_boot.png")
    return book_report(tmp_path_factory.mktemp("book"), "best-cnn-model.keras",
                       "--input", sample, "--labels", FASHION / "classes.txt")


def test_kernel_figures_match_the_notebook(keras_report):
    kernel, bias = conv1(keras_report)["weights"]
    assert kernel["shape"] == [3, 3, 1, 32] and bias["shape"] == [32]
    assert kernel["mean"] == pytest.approx(-0.014383553, abs=1e-6)
    assert kernel["std"] == pytest.approx(0.23351653, abs=1e-6)


def test_fresh_initialisation_has_glorot_spread(keras_report):
    init_kernel = conv1(keras_report)["init"][0]
    assert 0.07 <= init_kernel["std"] <= 0.095


def test_feature_maps_and_prediction_for_the_ankle_boot(keras_report):
    shapes = {a["name"]: a["shape"] for a in keras_report["activations"][0]["layers"]}
    assert shapes["conv2d"] == [28, 28, 32] and shapes["conv2d_1"] == [14, 14, 64]
    assert keras_report["predictions"][0]["top"][0]["label"] == "Ankle boot"


@pytest.mark.slow
def test_legacy_h5_checkpoint_gives_its_own_figures(tmp_path):
    data = book_report(tmp_path, "best-cnn-model.h5")
    kernel = conv1(data)["weights"][0]
    assert data["model"]["format"].startswith("HDF5")
    assert data["model"]["saved_by_keras_version"].startswith("2.")
    assert kernel["mean"] == pytest.approx(-0.02494116, abs=1e-6)
    assert kernel["std"] == pytest.approx(0.24951957, abs=1e-6)


@pytest.mark.slow
def test_the_900_reference_images_score_0_9289_with_their_confusion_matrix(tmp_path):
    import keras
    import numpy as np
    from sklearn.metrics import confusion_matrix

    images = require_shared(FASHION / "images.npy")
    data = book_report(tmp_path, "best-cnn-model.keras", "--data", images,
                       "--data-labels", FASHION / "labels.npy",
                       "--labels", FASHION / "classes.txt")
    evaluation = data["evaluation"]
    assert evaluation["accuracy"]["hits"] == 836 and evaluation["accuracy"]["n"] == 900
    assert round(evaluation["accuracy"]["value"], 4) == 0.9289  # ../shared/data/README.md
    model = keras.models.load_model(BOOK / "best-cnn-model.keras", compile=False)
    predicted = model.predict(np.load(images)[..., None] / 255.0, verbose=0).argmax(axis=1)
    expected = confusion_matrix(np.load(FASHION / "labels.npy"), predicted, labels=range(10))
    assert evaluation["confusion"] == expected.tolist()
    assert data["cam"]["layer"] == "conv2d_1"
    # Grad-CAM explains the synthetic input, then the 6 most confident mistakes, each for the
    # class predicted and for its true class.
    explained = data["cam"]["inputs"][1:]
    mistakes = evaluation["mistakes"][:6]
    assert [item["input"] for item in explained] == [f"images.npy[{m['index']}]"
                                                     for m in mistakes]
    for item, mistake in zip(explained, mistakes):
        roles = {(m["class_index"], tuple(m["roles"])) for m in item["maps"]}
        assert roles == {(mistake["predicted"], ("top prediction",)),
                         (mistake["true"], ("true class",))}
    page = (tmp_path / "book.html").read_text(encoding="utf-8")
    assert page.count("Mistake: images.npy[") == 6
    # The headline verdict quotes the accuracy with its interval (README: 0.9289).
    assert "Evaluated: accuracy 92.9% [" in page and "on 900 labelled inputs" in page
    # The overview's dead channels rest on the 900 images, as the alert does.
    assert "dead channels</th>" in page


@pytest.mark.slow
def test_the_book_style_follows_the_chapter_step_by_step(tmp_path, keras_report):
    assert keras_report["chapter"] is None  # the default style has no such section
    sample = require_shared(FASHION / "ankle_boot.png")
    data = book_report(tmp_path, "best-cnn-model.keras", "--input", sample, "--style", "book")
    assert data["settings"]["style"] == "book"
    steps = {step["code"].split("(")[0].split(".")[0]: step for step in data["chapter"]}
    # The notebook's own numbers (../shared/data/README.md), the same on both sides.
    assert steps["conv"]["this_model"] == steps["conv"]["chapter"] == "(3, 3, 1, 32), (32,)"
    mean, std = (float(v) for v in steps["conv_weights"]["this_model"].split(", "))
    assert mean == pytest.approx(-0.014383553, abs=1e-5) and std == pytest.approx(0.2335, 1e-3)
    assert steps["keras"]["this_model"] == "(1, 28, 28, 32), (1, 14, 14, 64)"
    page = (tmp_path / "book.html").read_text(encoding="utf-8")
    assert '<section id="chapter">' in page and 'href="#act-layer-conv2d"' in page
    figures = [f for f in data["figures"] if f.get("kind") == "kernel"]
    assert figures[0]["colour_map"] == "viridis" and figures[0]["grid"] == [2, 16]
    assert figures[0]["scale"] == "symmetric, -0.5 to 0.5"
