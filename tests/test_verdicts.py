"""Verdicts a reader can trust: each alert rule on a model built to show it (and on one built not
to), its severity, the headline, the label-order check, and labels that match the numbers."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from conftest import FASHION, require_shared
from reportgen.analyse.alert import ERROR, NOTE, WARNING, Alert
from reportgen.analyse.evaluation import evaluate
from reportgen.analyse.evaluation_alerts import evaluation_alerts
from reportgen.analyse.init_test import beyond_count, init_test
from reportgen.analyse.verdict import Basis, verdict
from reportgen.cli import main


def cnn(seed: int = 11, normalised: bool = False):
    """Conv -> (BatchNormalization) -> ReLU -> pooling -> softmax, straight from Keras's
    initialisers."""
    import keras

    keras.utils.set_random_seed(seed)
    layers = [keras.Input(shape=(10, 10, 16)),
              keras.layers.Conv2D(32, 3, padding="same", name="conv")]
    if normalised:
        layers.append(keras.layers.BatchNormalization(name="bn"))
    layers += [keras.layers.ReLU(name="relu"), keras.layers.GlobalAveragePooling2D(name="gap"),
               keras.layers.Dense(5, activation="softmax", name="probs")]
    return keras.Sequential(layers)


def trained_like(model):
    """Weights moved well away from initialisation, as training does."""
    rng = np.random.default_rng(0)
    for layer in model.layers:
        layer.set_weights([w * 2.5 + rng.normal(0, 0.02, w.shape) for w in layer.get_weights()])
    return model


def sidecar_of(model, tmp_path, n_inputs: int = 6, *extra) -> dict:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "m.keras"
    model.save(path)
    args = [str(path), "-q", "-o", str(tmp_path / "r.html"), *extra]
    if n_inputs:
        samples = tmp_path / "samples.npy"
        np.save(samples, np.random.default_rng(1).normal(0, 1, (n_inputs, 10, 10, 16))
                .astype(np.float32))
        args += ["--input", str(samples)]
    assert main(args) == 0
    return json.loads((tmp_path / "r.json").read_text("utf-8"))


def by_kind(data: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for alert in data["alerts"]:
        found.setdefault(alert["kind"], []).append(alert)
    return found


# --- "Layer did not train": a kernel against a fresh draw of its initialiser ----------------

def test_a_same_distribution_draw_is_untrained_and_values_outside_a_bounded_support_are_not():
    rng = np.random.default_rng(5)
    fresh = rng.uniform(-0.05, 0.05, 20_000)
    again = rng.uniform(-0.05, 0.05, 20_000)
    test = init_test(again, fresh)
    # The thresholds, worked out by hand: c(0.0005) = sqrt(-ln(0.00025) / 2) = 2.0364, times
    # sqrt(2/20000); and 1 % (for n = m, k values beyond have chance about 2^-k: 11 would do).
    assert test.ks_threshold == pytest.approx(2.0364 * math.sqrt(2 / 20_000), rel=1e-4)
    assert test.outside_threshold == 0.01
    assert test.judged and not test.trained
    # A layer that trained a little: its spread barely moved, but 5.6 % of its weights left
    # the initialiser's support (the CIFAR case, where a std ratio called it untrained).
    moved = again.copy()
    k = int(0.056 * moved.size)
    moved[:k] = np.sign(moved[:k]) * rng.uniform(0.0505, 0.08, k)
    moved_test = init_test(moved, fresh)
    assert abs(moved.std() / fresh.std() - 1) < 0.15
    assert moved_test.share_outside == pytest.approx(0.056, abs=0.001)
    assert moved_test.trained


def test_a_shifted_distribution_is_trained_by_the_two_sample_test():
    rng = np.random.default_rng(6)
    fresh = rng.normal(0, 0.1, 5_000)
    shifted = rng.normal(0.02, 0.1, 5_000)  # within the fresh reach, but another mean
    test = init_test(shifted, fresh)
    assert test.share_outside <= test.outside_threshold
    assert test.ks_distance > test.ks_threshold and test.trained


def test_the_models_alpha_is_split_over_its_tests():
    rng = np.random.default_rng(6)
    test = init_test(rng.normal(size=1_000), rng.normal(size=1_000))
    # Tested together with 53 others: α = 0.001 / 54, each test at half of it:
    # c = sqrt(-ln(0.00025 / 54) / 2) = 2.4782.
    together = dataclasses.replace(test, n_tests=54)
    assert together.ks_threshold == pytest.approx(2.4782 * math.sqrt(2 / 1_000), rel=1e-4)
    assert together.ks_threshold > test.ks_threshold


def test_the_count_beyond_the_fresh_reach_is_held_to_its_exact_chance():
    # k of n values beyond the largest of m others of one distribution: the k largest of all
    # n + m are all among the n, chance C(n, k) / C(n+m, k). For n = m = 384 that is about
    # 2^-k, so 5 beyond (the untrained MobileNet kernel) is common, not proof.
    n = m = 384
    chance = [math.comb(n, k) / math.comb(n + m, k) for k in range(1, 40)]
    assert chance[4] > 0.03
    for alpha in (0.05, 0.001, 0.001 / 108):
        k = beyond_count(n, m, alpha)
        assert chance[k - 1] <= alpha < chance[k - 2]
    rng = np.random.default_rng(12)
    false = sum(init_test(rng.uniform(-1, 1, 384), rng.uniform(-1, 1, 384)).trained
                for _ in range(2000))
    assert false <= 6  # at most 1 expected (α = 0.001 per tensor); 0.5^5 let ~60 through


def test_a_tiny_kernel_is_not_judged():
    rng = np.random.default_rng(7)
    assert not init_test(rng.normal(size=50), rng.normal(size=50)).judged


def test_an_untrained_model_is_an_error_and_the_headline_says_so(tmp_path):
    data = sidecar_of(cnn(), tmp_path)
    kinds = by_kind(data)
    [model] = kinds["model_untrained"]
    assert model["severity"] == ERROR and model["values"]["n_layers"] == 2
    assert {a["layer"] for a in kinds["untrained"]} == {"conv", "probs"}
    assert all(a["severity"] == WARNING for a in kinds["untrained"])
    assert data["verdict"]["kind"] == "untrained"
    assert data["verdict"]["sentence"].startswith("Untrained: 2 of 2 layers with weights")


def test_one_reinitialised_layer_is_a_warning_about_that_layer_only(tmp_path):
    model = trained_like(cnn())
    model.get_layer("conv").set_weights(cnn(seed=99).get_layer("conv").get_weights())
    data = sidecar_of(model, tmp_path)
    kinds = by_kind(data)
    assert [a["layer"] for a in kinds["untrained"]] == ["conv"]
    assert "model_untrained" not in kinds
    assert data["verdict"]["kind"] == "warnings"
    assert "Layer did not train" in data["verdict"]["sentence"]



def test_one_nan_weight_is_an_error_at_its_layer_and_its_spread_is_counted_not_repeated(tmp_path):
    model = trained_like(cnn())
    kernel, bias = model.get_layer("conv").get_weights()
    kernel[1, 1, 0, 0] = np.nan
    model.get_layer("conv").set_weights([kernel, bias])
    data = sidecar_of(model, tmp_path)
    found = by_kind(data)["non_finite"]
    assert all(a["severity"] == ERROR for a in found)
    weights = [a for a in found if a["subject"] != "output"]
    [output] = [a for a in found if a["subject"] == "output"]
    assert [a["layer"] for a in weights] == ["conv"]
    # The NaN reaches every layer after conv: relu, gap and probs.
    assert output["layer"] == "conv" and output["values"]["n_layers_after"] == 3
    assert data["verdict"]["kind"] == "broken"

# --- exploding weights, and the scale a normalisation makes free ------------------------------

def test_a_kernel_normalised_right_after_is_not_judged_by_its_scale(tmp_path):
    def blown(model):
        kernel, bias = model.get_layer("conv").get_weights()
        model.get_layer("conv").set_weights([kernel * 100, bias])
        return model

    plain = by_kind(sidecar_of(blown(trained_like(cnn())), tmp_path / "plain"))
    assert [a["layer"] for a in plain.get("exploding_weights", [])] == ["conv"]
    normalised = by_kind(sidecar_of(blown(trained_like(cnn(normalised=True))),
                                    tmp_path / "bn"))
    assert "exploding_weights" not in normalised


# --- activations: warnings need real evidence -------------------------------------------------

def dead_relu(model, n_dead: int):
    kernel, bias = model.get_layer("conv").get_weights()
    bias[:n_dead] = -1000.0
    model.get_layer("conv").set_weights([kernel, bias])
    return model


@pytest.mark.slow
def test_a_few_dead_channels_or_few_inputs_are_notes_and_half_a_layer_over_many_is_a_warning(
        tmp_path):
    few = by_kind(sidecar_of(dead_relu(trained_like(cnn()), 3), tmp_path / "few", 40))
    assert [a["severity"] for a in few["dead_channels"]] == [NOTE]
    half_few_inputs = by_kind(sidecar_of(dead_relu(trained_like(cnn()), 20), tmp_path / "six", 6))
    assert [a["severity"] for a in half_few_inputs["dead_channels"]] == [NOTE]
    half_many = by_kind(sidecar_of(dead_relu(trained_like(cnn()), 20), tmp_path / "many", 40))
    [dead] = half_many["dead_channels"]
    assert dead["severity"] == WARNING and dead["values"]["n_dead"] == 20
    assert dead["values"]["n_inputs"] == 40
    synthetic = by_kind(sidecar_of(dead_relu(trained_like(cnn()), 20), tmp_path / "syn", 0))
    assert all(a["severity"] == NOTE and a["synthetic"] for a in synthetic["dead_channels"])


# --- spectral heuristics only where the fit means something ------------------------------------

def test_a_power_law_on_a_few_eigenvalues_raises_nothing(tmp_path):
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(12, name="small"),
                              keras.layers.Dense(3, activation="softmax", name="out")])
    rng = np.random.default_rng(2)
    # A heavy-tailed 12 x 12 matrix: its alpha may come out below 2, on 12 eigenvalues.
    u, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    heavy = (u * np.sqrt((1 - rng.random(12)) ** (-1 / 0.6))) @ u.T
    model.get_layer("small").set_weights([heavy.astype(np.float32), np.zeros(12, np.float32)])
    path = tmp_path / "m.keras"
    model.save(path)
    assert main([str(path), "-q", "-o", str(tmp_path / "r.html")]) == 0
    data = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert not [a for a in data["alerts"] if a["kind"].startswith("alpha")]


# --- the headline rule -------------------------------------------------------------------------

TITLES = {"non_finite": "NaN or Inf values", "untrained": "Layer did not train",
          "dead_channels": "Dead channels", "label_order": "Labels out of order",
          "model_untrained": "The model is untrained", "alpha_low": "Heavy-tailed spectrum"}


def alert(kind: str, severity: str, layer: str = "", message: str = "m") -> Alert:
    return Alert(kind, severity, layer, message)


def test_the_headline_takes_the_first_rule_that_applies():
    nan = alert("non_finite", ERROR, "conv", "kernel: 3 NaN")
    untrained = alert("model_untrained", ERROR, "", "2 of 2 layers with weights are "
                                                     "indistinguishable from a fresh "
                                                     "initialisation")
    assert verdict([nan, untrained], Basis("full"), TITLES).kind == "untrained"
    broken = verdict([nan, alert("non_finite", ERROR, "dense")], Basis("full"), TITLES)
    assert broken.kind == "broken" and broken.sentence == \
        "Broken: NaN or Inf in conv: kernel: 3 NaN (and 1 more errors)."
    interval = evaluate(np.array([0, 1] * 50), np.tile([[0.9, 0.1], [0.2, 0.8]], (50, 1)))
    evaluated = verdict([alert("dead_channels", WARNING, "conv"), alert("alpha_low", NOTE)],
                        Basis("full", 3, False, interval.accuracy, 100), TITLES)
    assert evaluated.kind == "evaluated" and evaluated.sentence.startswith(
        "Evaluated: accuracy 100.0% [96.3%, 100.0%] on 100 labelled inputs; 1 warning: Dead")
    assert (evaluated.n_errors, evaluated.n_warnings, evaluated.n_notes) == (0, 1, 1)
    clean = verdict([alert("alpha_low", NOTE)], Basis("full", 1, False), TITLES)
    assert clean.sentence == "No warnings (weights and one input)."
    assert verdict([], Basis("weights-only"), TITLES).sentence == "No warnings (weights only)."
    assert verdict([], Basis("full", 1, True), TITLES).sentence == \
        "No warnings (weights and the synthetic test pattern only)."


# --- no silent wrong accuracy ------------------------------------------------------------------

def test_labels_in_another_class_order_are_an_error_with_both_accuracies():
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 4, 400)
    probs = np.full((400, 4), 0.02)
    probs[np.arange(400), labels] = 0.94  # the model is right every time
    order = np.array([2, 0, 3, 1])  # what the labels call class k is the model's order[k]
    facts = evaluate(np.argsort(order)[labels], probs)
    [found] = [a for a in evaluation_alerts(facts) if a.kind == "label_order"]
    values = dict(found.values)
    assert found.severity == ERROR
    assert values["matched_accuracy"] == 1.0 and values["accuracy"] == pytest.approx(
        np.mean(np.argsort(order)[labels] == labels))
    assert not [a for a in evaluation_alerts(evaluate(labels, probs)) if a.kind == "label_order"]
    # What the wrong order makes of accuracy and calibration is said, as notes only.
    others = [a for a in evaluation_alerts(facts) if a.kind != "label_order"]
    assert {a.kind for a in others} >= {"no_better_than_majority", "overconfidence"}
    assert {a.severity for a in others} == {NOTE}


def test_a_weak_model_is_not_called_out_of_order():
    rng = np.random.default_rng(9)
    labels = rng.integers(0, 10, 1000)
    probs = rng.dirichlet(np.ones(10), 1000)  # guessing: its best relabelling gains little
    assert not [a for a in evaluation_alerts(evaluate(labels, probs)) if a.kind == "label_order"]


def write_fashion_folders(folder, names):
    from PIL import Image

    images = np.load(FASHION / "images.npy")
    labels = np.load(FASHION / "labels.npy")
    for k, name in enumerate(names):
        (folder / name).mkdir(parents=True)
        for i in np.flatnonzero(labels == k)[:30]:
            Image.fromarray(images[i]).save(folder / name / f"{i:03d}.png")


@pytest.mark.slow
def test_the_books_model_on_class_folders_without_labels_is_said_to_be_out_of_order(tmp_path):
    from conftest import BOOK

    book = require_shared(BOOK / "best-cnn-model.keras")
    names = (require_shared(FASHION / "classes.txt")).read_text().split("\n")
    names = [n for n in names if n]
    # Folder names cannot hold "/": "T-shirt/top" is saved as "T-shirt_top".
    write_fashion_folders(tmp_path / "classes", [n.replace("/", "_") for n in names])
    out = tmp_path / "r.html"
    assert main([str(book), "-q", "-o", str(out), "--data", str(tmp_path / "classes")]) == 0
    data = json.loads(out.with_suffix(".json").read_text("utf-8"))
    [order] = [a for a in data["alerts"] if a["kind"] == "label_order"]
    assert order["values"]["matched_accuracy"] > 0.85 > order["values"]["accuracy"]
    assert data["verdict"]["kind"] == "suspect labels"
    # With the class names (matched ignoring punctuation) the accuracy is the model's.
    assert main([str(book), "-q", "-o", str(out), "--data", str(tmp_path / "classes"),
                 "--labels", str(FASHION / "classes.txt")]) == 0
    data = json.loads(out.with_suffix(".json").read_text("utf-8"))
    assert data["evaluation"]["accuracy"]["value"] > 0.85
    assert not [a for a in data["alerts"] if a["kind"] == "label_order"]
    assert data["verdict"]["kind"] == "evaluated"


def test_class_names_that_match_no_label_are_refused_before_the_model_loads(tmp_path,
                                                                           monkeypatch,
                                                                           tiny_files):
    from reportgen import api
    from reportgen.errors import ReportInputError
    from reportgen.load.keras import loading

    for name in ("cat", "dog", "wolf"):
        (tmp_path / "classes" / name).mkdir(parents=True)
        (tmp_path / "classes" / name / "a.png").write_bytes(
            (FASHION / "tshirt.png").read_bytes() if FASHION.exists() else b"")
    if not FASHION.exists():
        pytest.skip("needs a PNG from ../shared/data")

    def never(*_args, **_kwargs):
        raise AssertionError("the model was loaded before the sample was checked")

    monkeypatch.setattr(loading, "load", never)
    with pytest.raises(ReportInputError, match="'wolf' is not one of the 3 class names"):
        api.report(tiny_files["keras"], data=tmp_path / "classes",
                   labels=["Cat", "d o g", "fox"])


# --- compare: trainable weights only, and sigmoid scores ---------------------------------------

def test_moving_statistics_alone_are_not_a_reinitialised_layer():
    from reportgen.analyse.compare import compare_layer, find_alerts
    from reportgen.load.snapshot import LayerSnapshot, WeightArray

    def bn(variance: float, gamma: float):
        weights = (WeightArray("gamma", np.full(8, gamma, np.float32), True),
                   WeightArray("moving_variance", np.full(8, variance, np.float32), False))
        return LayerSnapshot("bn", "BatchNormalization", None, 16, True, "", weights, path="bn")

    def dense(scale: float):
        return LayerSnapshot("d", "Dense", None, 6, True, "", (WeightArray(
            "kernel", np.arange(6, dtype=np.float32).reshape(3, 2) * scale, True),), path="d")

    layers = (compare_layer(0, bn(1.0, 1.0), bn(50.0, 1.01)),
              compare_layer(1, dense(1.0), dense(1.1)))
    assert layers[0].relative_change > 1  # the whole layer moved, by its moving variance
    assert find_alerts(layers) == ()


def test_a_sigmoid_prediction_change_scores_the_class_it_names():
    from reportgen.analyse.compare_outputs import compare_outputs

    scores_a = np.array([[0.4852], [0.9]], np.float32)
    scores_b = np.array([[0.7], [0.9]], np.float32)
    comparison = compare_outputs([("a", "a"), ("b", "b")], (), scores_a, scores_b)
    [change] = comparison.changed
    assert (change.class_a, change.class_b) == (0, 1)
    assert change.score_a == pytest.approx(1 - 0.4852) and change.score_b == pytest.approx(0.7)


def test_a_small_first_convolution_that_trained_a_little_is_not_called_untrained(tmp_path):
    # 3x3x1x16 = 144 values: as in a trained CNN with BatchNormalization, 8 of them (5.6 %)
    # just beyond the glorot_uniform bound, the rest as drawn. Against one fresh draw of 144
    # values that is weak evidence; against twenty it is proof.
    import keras

    keras.utils.set_random_seed(21)
    model = keras.Sequential([keras.Input((8, 8, 1)),
                              keras.layers.Conv2D(16, 3, use_bias=False, name="conv"),
                              keras.layers.BatchNormalization(name="bn"),
                              keras.layers.ReLU(name="relu"),
                              keras.layers.GlobalAveragePooling2D(name="gap"),
                              keras.layers.Dense(4, activation="softmax", name="probs")])
    bound = math.sqrt(6 / (9 * 1 + 9 * 16))
    kernel = model.get_layer("conv").get_weights()[0]
    flat = kernel.ravel()
    flat[:8] = np.sign(flat[:8]) * bound * 1.15
    model.get_layer("conv").set_weights([flat.reshape(kernel.shape)])
    probs = model.get_layer("probs")
    probs.set_weights([w * 2.5 + 0.05 for w in probs.get_weights()])
    data = sidecar_of_shape(model, tmp_path, (8, 8, 1))
    test = data["layers"][0]["weights"][0]["init_test"]
    assert test["n_fresh"] > 144 and test["share_outside"] == pytest.approx(8 / 144)
    assert test["trained"]
    assert "untrained" not in by_kind(data)


def sidecar_of_shape(model, tmp_path, shape) -> dict:
    path = tmp_path / "m.keras"
    model.save(path)
    samples = tmp_path / "x.npy"
    np.save(samples, np.random.default_rng(1).normal(0, 1, (2, *shape)).astype(np.float32))
    assert main([str(path), "-q", "-o", str(tmp_path / "r.html"), "--input", str(samples)]) == 0
    return json.loads((tmp_path / "r.json").read_text("utf-8"))
