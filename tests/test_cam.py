"""Grad-CAM and Grad-CAM++: the target layer, the gradients, the maps, their facts, pictures,
view and JSON.

Expected values come from outside the code under test: GradientTape on logits built by hand
from the layers' own weights, tf.image.resize, arithmetic done here by hand, and models
built so that only one quadrant of the image can reach the output.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import FASHION, BOOK, HOSTILE_NAME, require_shared
from reportgen.analyse import cam
from reportgen.draw import cam_pictures
from reportgen.draw.images import colour_table
from reportgen.errors import ReportInputError
from reportgen.demo import book_cnn
from reportgen.load.keras.gradients import cam_gradients, cam_target
from reportgen.load.keras.runtime import import_keras
from reportgen.analyse.alert import kinds_by_name
from reportgen.sections.alert_rows import alert_row
from reportgen.sections.cam import cam_view
from reportgen.page.render import environment

SIDE = 32
HALF = SIDE // 2
# Cropping2D then ZeroPadding2D keep one quadrant of the image and zero the rest.
QUADRANT_CROPS = {"top-left": ((0, HALF), (0, HALF)), "bottom-right": ((HALF, 0), (HALF, 0))}


def masked_cnn(structure: str, quadrant: str):
    """A CNN that sees only one quadrant of its input: the rest is zeroed before the
    convolutions, which have no bias, so their outputs are zero there too (but for the rim
    their kernels reach over). Built as a Sequential, a functional model, or a functional
    model whose convolutions sit in a nested model."""
    keras = import_keras()
    layers = keras.layers
    keras.utils.set_random_seed(3)
    crop = QUADRANT_CROPS[quadrant]
    features = [layers.Cropping2D(crop, name="keep"), layers.ZeroPadding2D(crop, name="zeros"),
                layers.Conv2D(8, 3, padding="same", activation="relu", use_bias=False,
                              name="conv_a"),
                layers.Conv2D(8, 3, padding="same", activation="relu", use_bias=False,
                              name="conv_b")]
    head = [layers.GlobalAveragePooling2D(name="gap"),
            layers.Dense(3, activation="softmax", name="probs")]
    if structure == "sequential":
        return keras.Sequential([keras.Input((SIDE, SIDE, 1))] + features + head)
    image = keras.Input((SIDE, SIDE, 1))
    if structure == "nested":
        inner = keras.Input((SIDE, SIDE, 1))
        x = inner
        for layer in features:
            x = layer(x)
        x = keras.Model(inner, x, name="base")(image)
    else:
        x = keras.ops.multiply(image, 1.0)  # an operation that is not a layer, in the graph
        for layer in features:
            x = layer(x)
    for layer in head:
        x = layer(x)
    return keras.Model(image, x)


def mobilenet_like(name: str):
    """A functional model shaped like MobileNet's end: depthwise and pointwise convolutions
    with batch normalisation, a DepthwiseConv2D named Conv_1 the last convolution."""
    keras = import_keras()
    layers = keras.layers
    image = keras.Input((SIDE, SIDE, 3))
    x = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="Conv1")(image)
    x = layers.BatchNormalization(name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(x)
    x = layers.ReLU(6.0, name="dw_relu")(x)
    x = layers.Conv2D(16, 1, use_bias=False, name="project")(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same", name="Conv_1")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    return keras.Model(image, x, name=name)


def nested_models():
    """The same base nested three ways: in a functional model (followed by a convolution
    whose output is 1x1, which must not be chosen), in a Sequential after a Rescaling layer,
    and Teachable Machine's way (a Sequential of a Sequential holding the base and of a
    Sequential holding the classifier)."""
    keras = import_keras()
    layers = keras.layers
    keras.utils.set_random_seed(11)
    image = keras.Input((SIDE, SIDE, 3))
    x = mobilenet_like("model1")(image)
    x = layers.Conv2D(10, 8, name="squeeze")(x)
    x = layers.Flatten(name="flatten")(x)
    functional = keras.Model(image, layers.Dense(5, activation="softmax", name="head")(x))
    sequential = keras.Sequential([keras.Input((SIDE, SIDE, 3)), layers.Rescaling(0.5),
                                   mobilenet_like("mobile"), layers.GlobalAveragePooling2D(),
                                   layers.Dense(5, activation="softmax")])
    teachable = keras.Sequential([
        keras.Input((SIDE, SIDE, 3)),
        keras.Sequential([mobilenet_like("model1"), layers.GlobalAveragePooling2D()],
                         name="sequential_1"),
        keras.Sequential([layers.Dense(7, activation="relu"),
                          layers.Dense(5, activation="softmax", name="dense_Dense2")],
                         name="sequential_3")])
    return {"functional": (functional, "model1/Conv_1"),
            "sequential": (sequential, "mobile/Conv_1"),
            "teachable": (teachable, "sequential_1/model1/Conv_1")}


@pytest.fixture(scope="module")
def nested():
    return nested_models()


def images(n: int, side: int = SIDE, channels: int = 1, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (n, side, side, channels)).astype(np.float32)


def predicted(model, x: np.ndarray) -> np.ndarray:
    """The model's output, run eagerly as reportgen runs it (predict's graph refuses a
    layer named like HTML)."""
    return np.asarray(model(x, training=False))


def top_classes(model, x: np.ndarray) -> list[int]:
    return [int(k) for k in np.argmax(predicted(model, x), axis=1)]


def hand_gradients(layers_in_order, target, head, x: np.ndarray, classes: list[int]):
    """A and dS/dA by hand: the layers called one by one, the tape watching the target's
    output, S = h @ W + b of the head's input h (the softmax left out)."""
    import tensorflow as tf

    h = tf.constant(x)
    with tf.GradientTape() as tape:
        for layer in layers_in_order:
            h = layer(h, training=False)
            if layer is target:
                activations = h
                tape.watch(activations)
        logits = tf.matmul(h, head.kernel) + head.bias
        score = tf.reduce_sum(tf.gather(logits, classes, batch_dims=1))
    return activations.numpy(), tape.gradient(score, activations).numpy()


def chain(model) -> list:
    """A model's layers in calling order, nested models' layers in their place (every
    model here is a chain)."""
    keras = import_keras()
    flat = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            flat += chain(layer)
        elif type(layer).__name__ != "InputLayer":
            flat.append(layer)
    return flat


# --- the target layer ---------------------------------------------------------------------

def test_the_textbook_cnn_is_explained_at_its_second_convolution():
    assert cam_target(book_cnn(10)) == "conv2d_1"


def test_a_nested_base_is_entered_and_its_last_depthwise_convolution_chosen(nested):
    for model, expected in nested.values():
        assert cam_target(model) == expected


def test_cam_layer_overrides_by_path_or_by_a_name_found_once(nested):
    model, _ = nested["functional"]
    assert cam_target(book_cnn(10), "conv2d") == "conv2d"
    assert cam_target(model, "model1/dw") == "model1/dw"
    assert cam_target(model, "bn_Conv1") == "model1/bn_Conv1"  # any 4-D output will do


@pytest.mark.parametrize("name, words", [
    ("nope", "no such layer"), ("flatten", "not a map"), ("head", "not a map")])
def test_a_wrong_cam_layer_is_one_line_naming_the_problem(nested, name, words):
    model, _ = nested["functional"]
    with pytest.raises(ReportInputError) as refused:
        cam_target(model, name)
    assert words in str(refused.value) and "\n" not in str(refused.value)
    assert str(refused.value).startswith(f"--cam-layer {name}:")


def small_classifier(last_conv, head: list):
    """Conv2D, then `last_conv`, then a 1x1-output convolution, global pooling and `head`."""
    keras = import_keras()
    layers = keras.layers
    keras.utils.set_random_seed(5)
    return keras.Sequential([keras.Input((10, 10, 2)), layers.Conv2D(4, 3, name="first"),
                             last_conv, layers.Conv2D(3, 8, name="to_1x1"),
                             layers.GlobalAveragePooling2D(name="gap")] + head)


@pytest.mark.parametrize("kind", ["SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose"])
def test_every_kind_of_2d_convolution_can_be_the_target(kind):
    keras = import_keras()
    layer = getattr(keras.layers, kind)(3, 1, name="last") if kind != "DepthwiseConv2D" \
        else keras.layers.DepthwiseConv2D(1, name="last")
    model = small_classifier(layer, [keras.layers.Dense(2, activation="softmax")])
    assert cam_target(model) == "last"


def test_a_softmax_layer_head_is_explained_by_its_input_and_a_sigmoid_by_plus_minus_z():
    keras = import_keras()
    layers = keras.layers
    x = images(3, 10, channels=2)
    separate = small_classifier(layers.Conv2D(4, 1, name="last"),
                                [layers.Dense(3, name="linear"), layers.Softmax(name="probs")])
    found = cam_gradients(separate, "last", x, [0, 1, 2])
    before_softmax = np.asarray(keras.Model(separate.inputs[0],
                                            separate.get_layer("linear").output)(x))
    np.testing.assert_allclose(found.scores, before_softmax[[0, 1, 2], [0, 1, 2]], rtol=1e-5)
    assert found.score == "the input of probs (before its softmax)"
    binary = small_classifier(layers.Conv2D(4, 1, name="last"),
                              [layers.Dense(1, activation="sigmoid", name="p")])
    z = np.log(predicted(binary, x)[:, 0] / (1 - predicted(binary, x)[:, 0]))
    found = cam_gradients(binary, "last", x, [1, 0, 1])
    np.testing.assert_allclose(found.scores, z * [1, -1, 1], rtol=1e-4, atol=1e-5)
    assert "pre-sigmoid logits of p" in found.score


def test_a_model_that_is_not_an_image_classifier_has_no_target():
    keras = import_keras()
    vector = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3, activation="softmax")])
    assert cam_target(vector) is None
    with pytest.raises(ReportInputError, match="one image input"):
        cam_target(vector, "dense")


# --- the gradients ------------------------------------------------------------------------

def test_gradients_equal_a_tape_on_hand_built_logits(tiny_model):
    x = images(5, 12)
    classes = [0, 1, 2, 3, 1]
    assert cam_target(tiny_model) == "conv_b"
    found = cam_gradients(tiny_model, "conv_b", x, classes)
    layers = chain(tiny_model)
    activations, gradients = hand_gradients(layers[:-1], tiny_model.get_layer("conv_b"),
                                            layers[-1], x, classes)
    np.testing.assert_allclose(found.activations, activations, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(found.gradients, gradients, rtol=1e-5, atol=1e-8)
    assert found.activations.shape == (5, 4, 4, 5) and "softmax" in found.score
    # Grad-CAM from those hand-made gradients, written out here: ReLU(sum_k mean(g_k) A_k).
    weights = gradients.mean(axis=(1, 2))
    expected = np.maximum((activations * weights[:, None, None, :]).sum(axis=-1), 0)
    np.testing.assert_allclose(cam.grad_cam(found.activations, found.gradients), expected,
                               rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("kind", ["functional", "sequential", "teachable"])
def test_gradients_reach_through_nested_models(nested, kind):
    model, target_path = nested[kind]
    x = images(3, channels=3, seed=4) * 2
    classes = top_classes(model, x)
    found = cam_gradients(model, target_path, x, classes)
    layers = chain(model)
    target = [layer for layer in layers if layer.name == "Conv_1"][0]
    activations, gradients = hand_gradients(layers[:-1], target, layers[-1], x, classes)
    np.testing.assert_allclose(found.activations, activations, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(found.gradients, gradients, rtol=1e-4, atol=1e-7)
    assert np.abs(found.gradients).max() > 0


def test_the_loaded_model_is_left_as_it_was(nested):
    from reportgen.load.keras.forward import forward

    model, target_path = nested["functional"]
    x = images(2, channels=3, seed=5)
    before = predicted(model, x)
    layers_before, _ = forward(model, [x])
    cam_gradients(model, target_path, x, [0, 1])
    np.testing.assert_array_equal(predicted(model, x), before)
    assert model.get_layer("head").get_config()["activation"] == "softmax"
    layers_after, _ = forward(model, [x])
    assert layers_after.keys() == layers_before.keys()


def test_gradients_and_maps_are_the_same_on_a_second_run(nested):
    model, target_path = nested["sequential"]
    x = images(20, channels=3, seed=6)  # more than one tape's batch
    classes = top_classes(model, x)
    first, second = (cam_gradients(model, target_path, x, classes) for _ in range(2))
    np.testing.assert_array_equal(first.gradients, second.gradients)
    for method in cam.METHODS:
        np.testing.assert_array_equal(
            cam.cam_maps(first.activations, first.gradients, method, (SIDE, SIDE)).unit,
            cam.cam_maps(second.activations, second.gradients, method, (SIDE, SIDE)).unit)


@pytest.mark.parametrize("structure", ["sequential", "functional", "nested"])
@pytest.mark.parametrize("quadrant", sorted(QUADRANT_CROPS))
def test_a_model_that_sees_one_quadrant_is_shown_looking_there(structure, quadrant):
    model = masked_cnn(structure, quadrant)
    x = images(4, seed=8)
    target = cam_target(model)
    assert target == ("base/conv_b" if structure == "nested" else "conv_b")
    found = cam_gradients(model, target, x, top_classes(model, x))
    for method in cam.METHODS:
        maps = cam.cam_maps(found.activations, found.gradients, method, (SIDE, SIDE))
        assert not maps.all_zero.any()
        for unit in maps.unit:
            stats = cam.map_stats(unit)
            assert stats.quadrant == quadrant
            assert stats.quadrant_share > 0.8, (method, stats)


# --- maps from arrays ---------------------------------------------------------------------

def test_grad_cam_plus_plus_on_numbers_worked_by_hand():
    # One channel, two positions: A = (1, 3), g = (1, 2), sum A = 4.
    # alpha = g^2 / (2 g^2 + 4 g^3) = 1/6 and 4/40; w = 1/6 * 1 + 0.1 * 2 = 11/30.
    activations = np.array([1.0, 3.0]).reshape(1, 1, 2, 1)
    gradients = np.array([1.0, 2.0]).reshape(1, 1, 2, 1)
    np.testing.assert_allclose(cam.grad_cam_plus_plus(activations, gradients)[0, 0],
                               [11 / 30, 33 / 30])
    # Grad-CAM of the same: w = mean g = 1.5.
    np.testing.assert_allclose(cam.grad_cam(activations, gradients)[0, 0], [1.5, 4.5])


def test_bilinear_resizing_equals_tensorflows():
    import tensorflow as tf

    maps = np.random.default_rng(2).uniform(0, 1, (3, 7, 5))
    for size in [(224, 160), (28, 28), (3, 4)]:
        expected = tf.image.resize(maps[..., None], size, method="bilinear").numpy()[..., 0]
        np.testing.assert_allclose(cam.bilinear(maps, *size), expected, atol=1e-6)


def test_all_zero_maps_are_flagged_and_never_nan():
    activations = np.abs(np.random.default_rng(1).normal(size=(3, 4, 4, 2)))
    gradients = np.zeros_like(activations)
    gradients[1] = -1.0       # evidence against the class only: ReLU leaves nothing
    gradients[2] = np.nan     # a model that produced NaN
    for method in cam.METHODS:
        maps = cam.cam_maps(activations, gradients, method, (8, 8))
        assert maps.all_zero.tolist() == [True, True, False]
        assert maps.non_finite.tolist() == [False, False, True]
        assert np.isfinite(maps.unit).all() and not maps.unit.any()


def test_a_model_whose_score_ignores_the_layer_gets_all_zero_maps(tiny_model):
    keras = import_keras()
    blind = keras.models.clone_model(tiny_model)
    blind.set_weights(tiny_model.get_weights())
    blind.layers[-1].set_weights([np.zeros_like(w) for w in blind.layers[-1].get_weights()])
    found = cam_gradients(blind, "conv_b", images(2, 12), [0, 1])
    maps = cam.cam_maps(found.activations, found.gradients, cam.GRAD_CAM, (12, 12))
    assert maps.all_zero.all() and np.isfinite(maps.unit).all()


def test_statistics_of_maps_worked_by_hand():
    uniform = cam.map_stats(np.ones((20, 20)))
    assert uniform.border_share == pytest.approx(1 - 0.8 * 0.8)  # 2 px band of 20
    assert uniform.quadrant_shares == pytest.approx((0.25,) * 4) and uniform.mean == 1
    corner = np.zeros((20, 20))
    corner[15:, 2:6] = 1.0    # rows 15-19 (2 in the band), columns 2-5 (none in the band)
    stats = cam.map_stats(corner)
    assert stats.quadrant == "bottom-left" and stats.quadrant_share == 1
    assert stats.border_share == pytest.approx(2 / 5)
    odd = np.zeros((5, 5))
    odd[2, 2] = 1.0           # the middle pixel: a quarter in each quadrant
    assert cam.map_stats(odd).quadrant_shares == pytest.approx((0.25,) * 4)


# --- facts and alerts ---------------------------------------------------------------------

def test_the_true_class_gets_its_own_map_only_when_it_differs():
    requests = cam.cam_requests([3, 5], [3, 1])
    assert [(r.input_index, r.class_index, r.roles) for r in requests] == [
        (0, 3, ("top prediction", "true class")),
        (1, 5, ("top prediction",)), (1, 1, ("true class",))]
    assert cam.cam_requests([2]) == (cam.CamRequest(0, 2, ("top prediction",)),)


def facts_with_borders(shares: list[float | None]) -> cam.CamFacts:
    """CamFacts whose Grad-CAM maps of the top predictions have these border shares
    (None: an all-zero map)."""
    inputs = []
    for k, share in enumerate(shares):
        stats = None if share is None else cam.MapStats(0.3, share, (0.25,) * 4)
        maps = tuple(cam.CamMapFacts(1, "cat", ("top prediction",), method, 2.0, 0.5,
                                     stats, share is None, False) for method in cam.METHODS)
        inputs.append(cam.CamInputFacts(k, f"in{k}", maps))
    return cam.CamFacts("conv", "automatic", (7, 7, 32), (28, 28), "logits", tuple(inputs))


def test_the_border_alert_needs_most_of_at_least_two_inputs():
    fired = cam.cam_alerts(facts_with_borders([0.7, 0.6, 0.2]))
    assert [a.kind for a in fired] == ["cam_border"] and fired[0].layer == ""
    assert dict(fired[0].values)["n_border"] == 2 and "2 of 3 inputs" in fired[0].message
    assert cam.cam_alerts(facts_with_borders([0.7, 0.2, 0.2])) == ()
    assert cam.cam_alerts(facts_with_borders([0.9])) == ()
    assert cam.cam_alerts(facts_with_borders([0.9, None])) == ()  # one non-zero map
    assert [k.name for k in cam.CAM_KINDS] == ["cam_border"]


def test_facts_follow_the_requests_and_name_the_classes():
    activations = np.ones((3, 2, 2, 1))
    gradients = np.array([1.0, 0.0, 1.0]).reshape(3, 1, 1, 1) * np.ones((3, 2, 2, 1))
    requests = cam.cam_requests([4, 0], [None, 1])
    map_sets = [cam.cam_maps(activations, gradients, m, (4, 4)) for m in cam.METHODS]
    facts = cam.cam_facts("conv", "automatic", (2, 2, 1), "logits", requests,
                          np.array([1.5, -2.0, np.nan]), map_sets, ["a.png", "b.png"],
                          ["zero", "one", "two", "three", "four"])
    assert [(item.index, item.name, len(item.maps)) for item in facts.inputs] == [
        (0, "a.png", 2), (1, "b.png", 4)]
    second = facts.inputs[1].maps
    assert [(m.class_label, m.method, m.all_zero) for m in second] == [
        ("zero", "Grad-CAM", True), ("zero", "Grad-CAM++", True),
        ("one", "Grad-CAM", False), ("one", "Grad-CAM++", False)]
    assert second[0].stats is None and second[2].stats.mean == pytest.approx(1.0)
    assert facts.input_size == (4, 4) and second[0].score == -2.0 and second[2].score is None


# --- pictures, view, JSON ---------------------------------------------------------------------

def test_the_overlay_blends_turbo_over_the_drawn_input_at_045():
    image = np.zeros((28, 28, 1), np.float32)
    image[0, 0] = 1.0                     # gray_r: black ink on white
    unit = np.zeros((28, 28), np.float32)
    unit[0, 0] = 1.0
    drawn = cam_pictures.overlay_rgb(image, unit)
    assert drawn.shape == (224, 224, 3) and drawn.dtype == np.uint8
    turbo = colour_table("turbo")[:, :3].astype(float)
    np.testing.assert_array_equal(drawn[0, 0], np.round(0.45 * turbo[255]))
    np.testing.assert_array_equal(drawn[0:8, 0:8], np.broadcast_to(drawn[0, 0], (8, 8, 3)))
    np.testing.assert_array_equal(drawn[100, 100], np.round(0.55 * 255 + 0.45 * turbo[0]))
    rgb = np.random.default_rng(0).uniform(0, 1, (56, 56, 3)).astype(np.float32)
    assert cam_pictures.overlay_rgb(rgb, np.ones((56, 56))).shape == (224, 224, 3)


def explained(model, target: str, x: np.ndarray, names: list[str], labels: list[str]):
    """The whole section for some inputs: requests, gradients, maps, facts, pictures."""
    requests = cam.cam_requests(top_classes(model, x))
    rows = [r.input_index for r in requests]
    found = cam_gradients(model, target, x[rows], [r.class_index for r in requests])
    map_sets = [cam.cam_maps(found.activations, found.gradients, m, x.shape[1:3])
                for m in cam.METHODS]
    facts = cam.cam_facts(target, "automatic", found.activations.shape[1:], found.score,
                          requests, found.scores, map_sets, names, labels)
    return facts, cam_pictures.cam_pictures(list(x), facts, requests, map_sets)


def test_the_section_renders_escaped_with_notes_for_blank_maps(tiny_model):
    x = images(2, 12, seed=9)
    facts, pictures = explained(tiny_model, "conv_b", x, [HOSTILE_NAME, "b.npy"],
                                [HOSTILE_NAME, "one", "two", "three"])
    assert len(pictures) == 2 and all(len(p.overlays) == 2 for p in pictures)
    blank = cam.CamMapFacts(1, "one", ("true class",), cam.GRAD_CAM, 0.0, 0.0, None, True, False)
    item = facts.inputs[1]
    facts = cam.CamFacts(facts.layer, "--cam-layer", facts.layer_shape, facts.input_size,
                         facts.score, (facts.inputs[0],
                                       cam.CamInputFacts(1, item.name, item.maps + (blank,))))
    pictures = pictures[:1] + (cam_pictures.CamPictures(pictures[1].plain,
                                                         pictures[1].overlays + (None,)),)
    rows = [alert_row(a, kinds_by_name(cam.CAM_KINDS)) for a in cam.cam_alerts(facts)]
    view = cam_view.cam_section(facts, pictures, rows, cam_pictures.cam_bar())
    html = environment().from_string('{% include "sections/cam.html.j2" %}').render(v=view)
    assert HOSTILE_NAME not in html and "&lt;img src=x" in html
    assert html.count("data:image/png;base64,") == 1 + 2 + 4  # bar, 2 plain, 4 overlays
    assert "All zero: no channel of conv_b" in html and "chosen with --cam-layer" in html
    assert "4 × 4 × 5" in html and "border " in html


def test_the_sidecar_record_is_plain_json(tiny_model):
    facts, _ = explained(tiny_model, "conv_b", images(2, 12, seed=9), ["a", "b"], [])
    record = json.loads(json.dumps(cam_view.cam_sidecar(facts), allow_nan=False))
    assert record["layer"] == "conv_b" and record["layer_shape"] == [4, 4, 5]
    first = record["inputs"][0]["maps"][0]
    assert first["method"] == "Grad-CAM" and first["roles"] == ["top prediction"]
    assert set(first["quadrant_shares"]) == {"top-left", "top-right", "bottom-left",
                                             "bottom-right"}
    assert cam_view.cam_sidecar(None, reason="no convolution")["reason"] == "no convolution"


# --- the textbook's checkpoint ------------------------------------------------------------

def test_the_book_model_looks_at_the_ankle_boot():
    from PIL import Image

    keras = import_keras()
    model = keras.models.load_model(require_shared(BOOK / "best-cnn-model.keras"),
                                    compile=False)
    pixels = np.asarray(Image.open(require_shared(FASHION / "ankle_boot.png")).convert("L"))
    x = (pixels / 255.0).astype(np.float32)[None, :, :, None]
    assert cam_target(model) == "conv2d_1"
    assert top_classes(model, x) == [9]
    found = cam_gradients(model, "conv2d_1", x, [9])
    unit = cam.cam_maps(found.activations, found.gradients, cam.GRAD_CAM, (28, 28)).unit[0]
    shoe = pixels > 0                     # 43 % of the image
    hot = unit >= 0.5
    # Where the map is strong (at least half its peak) is on the shoe, all of it; its faint
    # rest spreads over the empty top-left too, so its mass lies on the shoe about in
    # proportion (0.50 of it on 0.43 of the pixels), not mostly.
    assert (hot & shoe).sum() / hot.sum() > 0.9
    assert unit[shoe].mean() > unit[~shoe].mean()
