"""Feature visualisation on tiny models built here: an edge detector's optimised image has
the detector's orientation, runs are byte-identical, the optimiser really climbs, the model
is left untouched, nested layers are reachable, and the top real images are found."""

from __future__ import annotations

import numpy as np
import pytest

from reportgen.load.keras.feature_vis import (MIN_STEPS, STEPS, TOP_K, best_real_activation,
                                              steps_within, visualise_filters)

SIDE = 32
# Measured on the final images (STEPS, seeds 0-7): orientation within 7 degrees of the axis,
# coherence 0.24-0.48 (seed 0: 0.44 and 0.34). An edge detector's orientation tuning is
# broad (its 5-row support passes frequencies well off its axis), so its stripes wander.
MAX_ANGLE_ERROR = 20.0
MIN_COHERENCE = 0.2


def edge_model():
    """Conv2D(2, 5, relu) on 32x32x1: filter 0 answers intensity rising left to right (a
    vertical edge), filter 1 rising top to bottom (a horizontal edge)."""
    import keras

    model = keras.Sequential([keras.Input((SIDE, SIDE, 1)),
                              keras.layers.Conv2D(2, 5, use_bias=False, activation="relu",
                                                  name="edges")])
    kernel = np.zeros((5, 5, 1, 2), np.float32)
    kernel[:, :, 0, 0] = np.array([-1, -1, 0, 1, 1], np.float32)[None, :]
    kernel[:, :, 0, 1] = kernel[:, :, 0, 0].T
    model.layers[0].set_weights([kernel])
    return model


@pytest.fixture(scope="module")
def edges():
    """The edge model, its weights before, and its visualisation (filters 0 and 1)."""
    model = edge_model()
    before = [w.numpy().copy() for w in model.weights]
    return model, before, visualise_filters(model, "edges", [0, 1], seed=0)


def structure_tensor(image: np.ndarray) -> tuple[float, float]:
    """(angle of the dominant gradient in degrees, 0 = along x (columns), 90 = along y,
    coherence (l1 - l2) / (l1 + l2)) of J = [[sum gx^2, sum gx gy], [sum gx gy, sum gy^2]]."""
    gy, gx = np.gradient(image.astype(np.float64))
    tensor = np.array([[np.sum(gx * gx), np.sum(gx * gy)], [np.sum(gx * gy), np.sum(gy * gy)]])
    values, vectors = np.linalg.eigh(tensor)
    direction = vectors[:, 1]
    angle = np.degrees(np.arctan2(direction[1], direction[0])) % 180.0
    return angle, (values[1] - values[0]) / (values[1] + values[0])


def angle_between(angle: float, axis: float) -> float:
    """Distance between two orientations (mod 180), in degrees."""
    return min(abs(angle - axis) % 180.0, 180.0 - abs(angle - axis) % 180.0)


def test_an_edge_detector_draws_edges_of_its_own_orientation(edges):
    _, _, vis = edges
    assert vis.images.shape == (2, SIDE, SIDE, 1) and vis.images.dtype == np.float32
    assert vis.layer == "edges" and vis.filters == (0, 1)
    assert vis.steps == STEPS and vis.seed == 0 and vis.input_range == (0.0, 1.0)
    assert 0.0 <= vis.images.min() and vis.images.max() <= 1.0
    # Filter 0: intensity changes along x (vertical stripes); filter 1: along y.
    for image, axis in zip(vis.images[..., 0], (0.0, 90.0)):
        angle, coherence = structure_tensor(image)
        assert angle_between(angle, axis) < MAX_ANGLE_ERROR, (angle, axis)
        assert coherence > MIN_COHERENCE, coherence


def test_two_runs_give_byte_identical_images(edges):
    model, _, vis = edges
    again = visualise_filters(model, "edges", [0, 1], seed=0)
    assert np.array_equal(again.images, vis.images)
    assert np.array_equal(again.activations, vis.activations)
    other = visualise_filters(model, "edges", [0, 1], steps=8, seed=1)
    assert not np.array_equal(other.images, vis.images)


def test_the_optimised_image_beats_random_images_of_the_same_range(edges):
    model, _, vis = edges
    noise = np.random.default_rng(3).uniform(0.0, 1.0, (64, SIDE, SIDE, 1)).astype(np.float32)
    best = best_real_activation(model, "edges", noise, [0, 1])
    assert np.all(vis.activations > 2.0 * best.values[:, 0]), (vis.activations, best.values)
    # The reported activation is the model's own, on the final image as it is.
    direct = np.asarray(model(vis.images)).mean(axis=(1, 2))
    np.testing.assert_allclose(vis.activations, [direct[0, 0], direct[1, 1]], rtol=1e-5)


def test_the_model_is_left_unchanged(edges):
    model, before, _ = edges
    after = [w.numpy() for w in model.weights]
    assert len(after) == len(before) == 1
    assert all(np.array_equal(a, b) for a, b in zip(after, before))
    assert model.layers[0].get_config()["activation"] == "relu"
    assert [layer.name for layer in model.layers] == ["edges"]


def nested_model():
    """A functional model used as a layer of another, with a ReLU convolution inside."""
    import keras

    keras.utils.set_random_seed(5)
    inner_input = keras.Input((16, 16, 3))
    hidden = keras.layers.Conv2D(4, 3, activation="relu", name="inner_conv")(inner_input)
    inner = keras.Model(inner_input, keras.layers.Conv2D(3, 3, name="deep")(hidden),
                        name="inner")
    outer_input = keras.Input((16, 16, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inner(outer_input))
    return keras.Model(outer_input, keras.layers.Dense(2, activation="softmax")(pooled))


def test_a_layer_inside_a_nested_model_can_be_visualised():
    model = nested_model()
    before = [w.numpy().copy() for w in model.weights]
    vis = visualise_filters(model, "inner/inner_conv", [0, 3], steps=64, seed=2,
                            input_range=(-1.0, 1.0))
    assert vis.images.shape == (2, 16, 16, 3) and vis.layer == "inner/inner_conv"
    assert -1.0 <= vis.images.min() and vis.images.max() <= 1.0 and vis.images.std() > 0.05
    noise = np.random.default_rng(4).uniform(-1.0, 1.0, (16, 16, 16, 3)).astype(np.float32)
    best = best_real_activation(model, "inner/inner_conv", noise, [0, 3])
    assert np.all(vis.activations > best.values[:, 0]), (vis.activations, best.values)
    assert all(np.array_equal(w.numpy(), b) for w, b in zip(model.weights, before))


def test_the_top_real_example_is_the_planted_edge():
    model = edge_model()
    images = np.random.default_rng(6).uniform(0.0, 1.0, (40, SIDE, SIDE, 1)).astype(np.float32)
    planted = 37  # in the second batch of 32
    images[planted, :, :, 0] = (np.arange(SIDE) // 4 % 2)[None, :]  # vertical stripes
    top = best_real_activation(model, "edges", images, [0, 1])
    assert top.indices.shape == top.values.shape == (2, TOP_K)
    assert top.indices[0, 0] == planted and planted not in top.indices[1]
    # The same top-k as a brute-force sort of the model's own outputs.
    means = np.asarray(model(images)).mean(axis=(1, 2))
    for row, channel in enumerate((0, 1)):
        order = np.argsort(-means[:, channel], kind="stable")[:TOP_K]
        assert top.indices[row].tolist() == order.tolist()
        np.testing.assert_allclose(top.values[row], means[order, channel], rtol=1e-5)


def test_big_models_get_fewer_steps_and_wrong_layers_are_refused():
    model = edge_model()
    assert steps_within(model, "edges", 8) == STEPS
    assert steps_within(model, "edges", 8, budget=1.0) == MIN_STEPS
    # A step of 8 images costs 8 * (50 * 28 * 28 + PIXEL_MACS * 32 * 32) multiply-adds.
    assert steps_within(model, "edges", 8, budget=5.0e9) == 75
    with pytest.raises(ValueError):
        visualise_filters(model, "edges", [2])
    with pytest.raises(ValueError):
        visualise_filters(model, "no_such_layer", [0])
    with pytest.raises(ValueError):
        visualise_filters(model, "edges", [0], size=64)
