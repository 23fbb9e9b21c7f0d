"""Input attributions (gradients, Integrated Gradients, SmoothGrad) and Adebayo et al.'s
cascading-randomisation sanity check.

Expected values come from outside the code under test: a linear model's weights read
back and multiplied by hand, a one-unit path whose integral is known in closed form, a
Sobel edge detector that ignores the model, and small models trained here in seconds on
tasks whose evidence is known (which half a disc is in; whether token 7 appears).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from conftest import BOOK, FASHION, require_shared
from reportgen.analyse import attribution_maps as maps
from reportgen.analyse.cam import GRAD_CAM, GRAD_CAM_PP
from reportgen.load.keras import attribution as attr
from reportgen.load.keras import cascade
from reportgen.load.keras.runtime import import_keras

SIDE = 16
TRIGGER = 7
SEQUENCE = 12


def discs(n: int, seed: int):
    """Black 16x16 images with one white disc (radius 2) in the left or right half; the
    class is the half. White on black and flat: inside the disc x - baseline is the same
    everywhere, so IG's ranks there are its gradient's, not the image's brightness."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:SIDE, :SIDE]
    labels = rng.integers(0, 2, n)
    cx = np.where(labels == 1, rng.uniform(9.5, 13.5, n), rng.uniform(1.5, 5.5, n))
    cy = rng.uniform(2, 13, n)
    inside = (cols - cx[:, None, None]) ** 2 + (rows - cy[:, None, None]) ** 2 <= 4.0
    return inside[..., None].astype(np.float32), labels


@pytest.fixture(scope="module")
def disc_cnn():
    """A small CNN trained 5 epochs on the disc task, and 8 test images with their labels."""
    keras = import_keras()
    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((SIDE, SIDE, 1)),
        layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_a"),
        layers.MaxPooling2D(2, name="pool"),
        layers.Conv2D(16, 3, padding="same", activation="relu", name="conv_b"),
        layers.Flatten(name="flat"),
        layers.Dense(2, activation="softmax", name="probs")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    images, labels = discs(1000, 0)
    model.fit(images, labels, epochs=5, batch_size=32, verbose=0)
    test_images, test_labels = discs(200, 1)
    accuracy = model.evaluate(test_images, test_labels, verbose=0)[1]
    return model, test_images[:8], [int(c) for c in test_labels[:8]], accuracy


@pytest.fixture(scope="module")
def token_model():
    """Embedding(50, 8) -> GlobalAveragePooling1D -> Dense(2, softmax), functional, trained
    on sequences of tokens 1..49 whose class is 1 exactly when token 7 appears."""
    keras = import_keras()
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    tokens = rng.choice(np.setdiff1d(np.arange(1, 50), [TRIGGER]), size=(2000, SEQUENCE))
    labels = rng.integers(0, 2, 2000)
    tokens[labels == 1, rng.integers(0, SEQUENCE, int(labels.sum()))] = TRIGGER
    ids = keras.Input((SEQUENCE,), dtype="int32")
    x = keras.layers.Embedding(50, 8, name="embed")(ids)
    x = keras.layers.GlobalAveragePooling1D(name="mean")(x)
    model = keras.Model(ids, keras.layers.Dense(2, activation="softmax", name="probs")(x))
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(tokens, labels, epochs=8, batch_size=64, verbose=0)
    return model


def linear_model(activation: str):
    """Flatten -> Dense(3) with a bias, on (4, 3) inputs."""
    keras = import_keras()
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((4, 3)), keras.layers.Flatten(),
                             keras.layers.Dense(3, activation=activation, name="head",
                                                bias_initializer="ones")])


def bump_model(low: float, high: float):
    """x (one number) -> S whose gradient along the path from 0 to x = 1 is 100 on
    alpha in (low, high) and 0 elsewhere: ReLU(100 x - 100 low) - ReLU(100 x - 100 high)."""
    keras = import_keras()
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, activation="relu"),
                              keras.layers.Dense(1, name="score")])
    model.layers[0].set_weights([np.array([[100.0, 100.0]]), np.array([-100 * low, -100 * high])])
    model.layers[1].set_weights([np.array([[1.0], [-1.0]]), np.zeros(1)])
    return model


def sobel_map(model, inputs, class_indices):
    """An edge detector that ignores the model: the Sobel gradient magnitude of the image."""
    from scipy import ndimage

    images = np.asarray(inputs, np.float64)[..., 0]
    return np.hypot(ndimage.sobel(images, axis=1), ndimage.sobel(images, axis=2))


def all_weights(model) -> list[np.ndarray]:
    """Copies of every weight of the model."""
    return [np.array(w) for w in model.get_weights()]


@pytest.mark.parametrize("activation", ["linear", "softmax"])
def test_integrated_gradients_of_a_linear_model_are_x_minus_baseline_times_its_weights(
        activation):
    model = linear_model(activation)
    kernel, bias = (np.asarray(w, np.float64) for w in model.get_layer("head").get_weights())
    inputs = np.random.default_rng(0).normal(size=(5, 4, 3)).astype(np.float32)
    classes = [0, 1, 2, 0, 1]
    mean = inputs.mean(axis=0)
    for baseline, start in (("black", np.zeros((4, 3))), (mean, mean)):
        found = attr.integrated_gradients(model, inputs, classes, baseline)
        expected = (inputs - start).reshape(5, -1) * kernel[:, classes].T
        assert found.attributions.dtype == np.float32 and found.attributions.shape == (5, 4, 3)
        np.testing.assert_allclose(found.attributions.reshape(5, -1), expected, rtol=1e-4,
                                   atol=1e-6)
        logits = inputs.reshape(5, -1) @ kernel + bias
        np.testing.assert_allclose(found.scores, logits[range(5), classes], rtol=1e-5, atol=1e-6)
        assert all(e is not None and e < 0.01 for e in found.errors)
        assert list(found.steps) == [attr.IG_START_STEPS] * 5
    assert ("pre-softmax" in found.score) == (activation == "softmax")


@pytest.mark.parametrize("low, high, steps", [(0.505, 0.52, 64), (0.501, 0.503, 256)])
def test_integrated_gradients_double_the_steps_until_complete_or_the_cap(low, high, steps):
    # 32 steps sample alpha 0.5 and 0.53125, both outside the bump: error 100 %. 64 steps
    # hit it at 0.515625: 100 / 64 against 1.5, 4.2 % off. A bump between 128/256 and
    # 129/256 is never hit: 256 steps, still 100 % off.
    found = attr.integrated_gradients(bump_model(low, high), np.ones((1, 1), np.float32), [1])
    assert found.steps[0] == steps
    np.testing.assert_allclose(found.scores - found.baseline_scores, 100 * (high - low),
                               rtol=1e-5)
    expected = 100 / 64 if steps == 64 else 0.0
    np.testing.assert_allclose(found.attributions[0, 0], expected, rtol=1e-5, atol=1e-6)
    assert (found.errors[0] < attr.IG_TOLERANCE) == (steps == 64)


def test_an_input_equal_to_its_baseline_has_no_completeness_error():
    found = attr.integrated_gradients(linear_model("softmax"), np.zeros((2, 4, 3), np.float32),
                                      [0, 2])
    assert found.errors == (None, None)
    assert not found.attributions.any()


def test_gradients_and_smoothgrad_of_a_linear_model_are_its_weight_column():
    model = linear_model("softmax")
    kernel = model.get_layer("head").get_weights()[0]
    inputs = np.random.default_rng(1).normal(size=(3, 4, 3)).astype(np.float32)
    expected = kernel[:, [2, 0, 1]].T.reshape(3, 4, 3)
    np.testing.assert_allclose(attr.input_gradients(model, inputs, [2, 0, 1]), expected,
                               rtol=1e-5)
    np.testing.assert_allclose(attr.smoothgrad(model, inputs, [2, 0, 1]), expected, rtol=1e-5)


def test_smoothgrad_depends_on_its_seed_only(disc_cnn):
    model, images, labels, _ = disc_cnn
    first = attr.smoothgrad(model, images, labels, n=10, seed=3)
    np.testing.assert_array_equal(first, attr.smoothgrad(model, images, labels, n=10, seed=3))
    assert not np.array_equal(first, attr.smoothgrad(model, images, labels, n=10, seed=4))
    assert first.shape == images.shape and first.dtype == np.float32


def test_the_disc_cnn_learned_its_task(disc_cnn):
    assert disc_cnn[3] > 0.95


def test_the_sanity_check_flags_an_edge_detector(disc_cnn):
    model, images, labels, _ = disc_cnn
    check = maps.sanity_check(model, images, labels, sobel_map)
    assert check.weighted == 3 and [len(s.randomised) for s in check.stages] == [1, 2, 3]
    for stage in check.stages:
        np.testing.assert_allclose(stage.spearman, 1.0)
    assert check.survives is True


def test_the_sanity_check_passes_integrated_gradients_on_a_trained_cnn(disc_cnn):
    model, images, labels, _ = disc_cnn
    before = all_weights(model)
    check = maps.sanity_check(model, images, labels, maps.ig_map,
                              mask=maps.differs_from_baseline(images))
    assert check.stages[-1].randomised == ("conv_a", "conv_b", "probs")
    assert check.stages[-1].median < maps.SURVIVES_SPEARMAN
    assert check.survives is False
    # The model checked is only read: every weight bit for bit as before.
    for old, new in zip(before, all_weights(model), strict=True):
        np.testing.assert_array_equal(old, new)


def test_the_cascade_randomises_from_the_top_and_leaves_the_model_alone(disc_cnn):
    model, images, labels, _ = disc_cnn
    before = all_weights(model)
    names = ["conv_a", "conv_b", "probs"]
    seen = []
    for k, (label, clone) in zip((1, 3), cascade.randomised_cascade(model, (1, 3), seed=5)):
        assert label.startswith(f"top {k} of 3") and [l.name for l in clone.layers] == \
            [l.name for l in model.layers]
        for i, name in enumerate(names):
            same = all(np.array_equal(a, b) for a, b in zip(
                model.get_layer(name).get_weights(), clone.get_layer(name).get_weights()))
            assert same == (i < len(names) - k), (k, name)
        seen.append(clone.get_layer("probs").get_weights()[0])
        # The clone keeps the layer names: Grad-CAM's path finds conv_b in it.
        for method in (GRAD_CAM, GRAD_CAM_PP):
            unit = maps.cam_map_fn("conv_b", method)(clone, images, labels)
            assert unit.shape == (8, SIDE, SIDE) and np.isfinite(unit).all()
    # The same seed gives a layer the same random weights at every stage.
    np.testing.assert_array_equal(seen[0], seen[1])
    for old, new in zip(before, all_weights(model), strict=True):
        np.testing.assert_array_equal(old, new)


def test_the_cascades_random_weights_depend_on_its_seed_only(disc_cnn, monkeypatch):
    # Keras draws an unseeded initializer's seed from Python's global generator; another
    # thread drawing from it between set_random_seed and the clone once made two reports of
    # one file differ. Here every such draw gives a new number: the clones must not care.
    import itertools
    import random

    from reportgen.load.keras.fresh import FreshWeights

    model = disc_cnn[0]
    counter = itertools.count(1)
    monkeypatch.setattr(random, "randint", lambda low, high: next(counter))
    twins = [next(iter(cascade.randomised_cascade(model, (3,), seed=0)))[1] for _ in range(2)]
    for a, b in zip(all_weights(twins[0]), all_weights(twins[1]), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(twins[0].get_layer("probs").get_weights()[0],
                              model.get_layer("probs").get_weights()[0])
    fresh = [FreshWeights(model).get("conv_a")[0][...] for _ in range(2)]
    np.testing.assert_array_equal(fresh[0], fresh[1])
    assert next(counter) == 1, "a clone drew its seed from Python's global generator"


def test_the_cascade_enters_nested_models():
    keras = import_keras()
    keras.utils.set_random_seed(2)
    inner = keras.Input((SIDE, SIDE, 1))
    base = keras.Model(inner, keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inner),
                       name="base")
    image = keras.Input((SIDE, SIDE, 1))
    x = keras.layers.GlobalAveragePooling2D()(base(image))
    model = keras.Model(image, keras.layers.Dense(2, activation="softmax", name="probs")(x))
    stages = list(cascade.randomised_cascade(model))
    assert [label.split(" (")[0] for label, _ in stages] == [
        "top 1 of 2 weighted layers randomised", "top 2 of 2 weighted layers randomised"]
    clone = stages[0][1]
    np.testing.assert_array_equal(clone.get_layer("base").get_layer("conv").get_weights()[0],
                                  base.get_layer("conv").get_weights()[0])
    images = discs(2, 3)[0]
    assert maps.cam_map_fn("base/conv")(clone, images, [0, 1]).shape == (2, SIDE, SIDE)


def test_integrated_gradients_of_a_token_model_point_at_the_trigger(token_model):
    rng = np.random.default_rng(5)
    tokens = rng.choice(np.setdiff1d(np.arange(1, 50), [TRIGGER]), size=(4, SEQUENCE))
    where = np.array([0, 5, 9, 11])
    tokens[range(4), where] = TRIGGER
    assert (token_model.predict(tokens, verbose=0).argmax(axis=1) == 1).all()
    found = attr.integrated_gradients(token_model, tokens, [1, 1, 1, 1])
    assert found.attributions.shape == (4, SEQUENCE)
    np.testing.assert_array_equal(found.attributions.argmax(axis=1), where)
    assert all(e is not None and e < attr.IG_TOLERANCE for e in found.errors)
    # Per token too for plain gradients and SmoothGrad.
    assert attr.input_gradients(token_model, tokens, [1] * 4).shape == (4, SEQUENCE)
    assert attr.smoothgrad(token_model, tokens, [1] * 4, n=3).shape == (4, SEQUENCE)


def test_rank_similarity_compares_absolute_values_where_asked():
    a = np.arange(10.0)
    assert maps.rank_similarity(a, -a) == pytest.approx(1.0)
    assert maps.rank_similarity(a, a[::-1]) == pytest.approx(-1.0)
    mask = np.arange(10) < 5
    b = np.concatenate([a[:5], np.zeros(5)])
    assert maps.rank_similarity(a, b, mask) == pytest.approx(1.0)
    assert maps.rank_similarity(a, b) < 1.0
    assert maps.rank_similarity(a, np.zeros(10)) == 0.0
    assert maps.rank_similarity(np.zeros(10), np.zeros(10)) == 1.0
    assert np.isnan(maps.rank_similarity(a, a, np.arange(10) == 0))
    assert maps.median_similarity(np.array([np.nan, 0.2, 0.4])) == pytest.approx(0.3)


def test_the_pure_helpers():
    np.testing.assert_allclose(attr.new_alphas(1, 4), [0.25, 0.5, 0.75])
    np.testing.assert_allclose(attr.new_alphas(4, 8), [0.125, 0.375, 0.625, 0.875])
    assert cascade.default_stages(1) == (1,) and cascade.default_stages(9) == (1, 3, 6, 9)
    with pytest.raises(ValueError):
        cascade.checked_stages((2, 2), 4)
    inputs = np.array([[[0.0, 1.0]], [[0.5, 0.0]]])
    np.testing.assert_array_equal(maps.differs_from_baseline(inputs),
                                  [[[False, True]], [[True, False]]])
    mean = attr.baseline_array(np.full(3, 0.5), (2, 3), np.uint8)
    assert mean.dtype == np.float64 and mean.shape == (2, 3)
    assert attr.completeness_errors(np.array([1.1, 5.0]), np.array([1.0, 1e-9])) == \
        (pytest.approx(0.1), None)


def test_the_sanity_check_passes_integrated_gradients_on_the_book_model():
    keras = import_keras()
    model = keras.models.load_model(require_shared(BOOK / "best-cnn-model.keras"),
                                    safe_mode=True)
    images = np.load(require_shared(FASHION / "images.npy"))[[0, 810]] / 255.0
    images = images[..., None].astype(np.float32)
    before = all_weights(model)
    start = time.perf_counter()
    check = maps.sanity_check(model, images, [0, 9], maps.ig_map,
                              mask=maps.differs_from_baseline(images))
    assert time.perf_counter() - start < 30
    assert check.weighted == 4 and check.survives is False
    for old, new in zip(before, all_weights(model), strict=True):
        np.testing.assert_array_equal(old, new)
