"""`reportgen compare`: layers matched, changes measured against numpy, alerts on exactly the
layer that earned one, CKA against a direct implementation, and the page itself."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

from conftest import HOSTILE_NAME, REPO, tiny_cnn
from reportgen.analyse.cka import linear_cka
from reportgen.analyse.layer_match import match_layers
from reportgen.compare import main
from reportgen.load.snapshot import LayerSnapshot, ModelSnapshot, WeightArray


def weights_of(model) -> dict[str, list[np.ndarray]]:
    """Every layer's weights, by name, as float64 copies."""
    return {layer.name: [np.asarray(w, np.float64) for w in layer.get_weights()]
            for layer in model.layers if layer.get_weights()}


def saved_pair(folder, change, suffix=".keras"):
    """The tiny CNN saved as A, then changed by `change(model)` and saved as B; with the
    weights of both as numpy arrays."""
    model = tiny_cnn()
    a, b = folder / f"a{suffix}", folder / f"b{suffix}"
    model.save(a)
    before = weights_of(model)
    change(model)
    model.save(b)
    return a, b, before, weights_of(model)


def shifted(model, names, seed=0, size=0.05):
    """Add seeded noise to every weight of the named layers."""
    rng = np.random.default_rng(seed)
    for name in names:
        layer = model.get_layer(name)
        layer.set_weights([w + rng.normal(0, size, w.shape).astype(w.dtype)
                           for w in layer.get_weights()])


def run_compare(a, b, out, *extra):
    """Run the command; return its sidecar."""
    assert main([str(a), str(b), "-o", str(out), "-q", *extra]) == 0
    return json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))


def by_path(sidecar) -> dict:
    return {layer["path"]: layer for layer in sidecar["layers"]}


def test_one_changed_layer_is_the_only_one_changed_with_the_change_numpy_gives(tmp_path):
    a, b, before, after = saved_pair(tmp_path, lambda m: shifted(m, ["conv_b"]))
    sidecar = run_compare(a, b, tmp_path / "c.html")
    layers = by_path(sidecar)
    assert set(layers) == {HOSTILE_NAME, "conv_b", "probs"}
    assert [p for p, layer in layers.items() if layer["changed"]] == ["conv_b"]
    # By hand: the layer's kernel and bias as one vector, then the kernel alone.
    diff = np.sqrt(sum(np.sum((y - x) ** 2) for x, y in zip(before["conv_b"], after["conv_b"])))
    norm = np.sqrt(sum(np.sum(x ** 2) for x in before["conv_b"]))
    assert layers["conv_b"]["relative_change"] == pytest.approx(diff / norm, rel=1e-9)
    kernel_a, kernel_b = before["conv_b"][0], after["conv_b"][0]
    kernel = layers["conv_b"]["weights"][0]
    assert kernel["relative_change"] == pytest.approx(
        np.linalg.norm(kernel_b - kernel_a) / np.linalg.norm(kernel_a), rel=1e-9)
    assert kernel["cosine"] == pytest.approx(
        np.sum(kernel_a * kernel_b) / (np.linalg.norm(kernel_a) * np.linalg.norm(kernel_b)),
        rel=1e-9)
    assert kernel["std_change"] == pytest.approx(np.std(kernel_b) - np.std(kernel_a), abs=1e-12)
    for path in (HOSTILE_NAME, "probs"):
        assert layers[path]["relative_change"] == 0
        assert all(w["identical"] and w["diff_norm"] == 0 for w in layers[path]["weights"])
    # One layer of three changed: the others are the rule here, not frozen exceptions.
    assert sidecar["alerts"] == []
    assert sidecar["unmatched"] == []


def test_the_one_layer_left_alone_while_the_rest_trained_is_flagged_frozen(tmp_path):
    a, b, _, _ = saved_pair(tmp_path, lambda m: shifted(m, [HOSTILE_NAME, "conv_b"]),
                            suffix=".h5")
    sidecar = run_compare(a, b, tmp_path / "c.html")
    assert [(x["kind"], x["layer"]) for x in sidecar["alerts"]] == [("frozen", "probs")]
    assert sidecar["alerts"][0]["values"] == {"n_changed_layers": 2, "n_layers": 3}


def test_a_reinitialised_layer_is_flagged_with_its_relative_change(tmp_path):
    def reinitialise(model):
        layer = model.get_layer("conv_b")
        rng = np.random.default_rng(5)
        kernel, bias = layer.get_weights()
        layer.set_weights([rng.normal(0, kernel.std(), kernel.shape).astype(kernel.dtype), bias])

    a, b, before, after = saved_pair(tmp_path, reinitialise)
    sidecar = run_compare(a, b, tmp_path / "c.html")
    assert [(x["kind"], x["layer"]) for x in sidecar["alerts"]] == [("reinitialised", "conv_b")]
    diff = np.sqrt(sum(np.sum((y - x) ** 2) for x, y in zip(before["conv_b"], after["conv_b"])))
    norm = np.sqrt(sum(np.sum(x ** 2) for x in before["conv_b"]))
    assert diff / norm > 1
    assert sidecar["alerts"][0]["values"]["relative_change"] == pytest.approx(diff / norm,
                                                                              rel=1e-9)


def test_layers_without_a_partner_of_the_same_weights_are_listed(tmp_path):
    import keras

    def dense_model(widths):
        keras.utils.set_random_seed(1)
        return keras.Sequential([keras.Input((6,))] + [keras.layers.Dense(w, name=f"d{k}")
                                                       for k, w in enumerate(widths, 1)])

    dense_model([8, 4]).save(tmp_path / "a.keras")
    dense_model([8, 3, 2]).save(tmp_path / "b.keras")
    sidecar = run_compare(tmp_path / "a.keras", tmp_path / "b.keras", tmp_path / "c.html")
    assert [layer["path"] for layer in sidecar["layers"]] == ["d1"]
    unmatched = {u["path"]: u for u in sidecar["unmatched"]}
    assert set(unmatched) == {"d2", "d3"}
    assert unmatched["d2"]["weights_a"] == ["kernel (8, 4)", "bias (4,)"]
    assert unmatched["d2"]["weights_b"] == ["kernel (8, 3)", "bias (3,)"]
    assert unmatched["d3"]["weights_a"] == []


def test_the_weights_comparison_never_imports_tensorflow(tmp_path):
    a, b, _, _ = saved_pair(tmp_path, lambda m: shifted(m, ["conv_b"]))
    code = (f"import sys\nfrom reportgen.compare import main\n"
            f"code = main([{str(a)!r}, {str(b)!r}, '-q', '-o', {str(tmp_path / 'c.html')!r}])\n"
            f"assert code == 0, code\n"
            f"assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr


class PageParser(HTMLParser):
    """The tags, image sources and figure captions of a page."""

    def __init__(self):
        super().__init__()
        self.tags, self.images, self.captions, self._in_caption = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs))
        self._in_caption = tag == "figcaption"

    def handle_data(self, data):
        if self._in_caption:
            self.captions.append(data.strip())
            self._in_caption = False


def test_the_page_is_self_contained_escaped_and_draws_the_changed_kernel(tmp_path):
    a, b, _, _ = saved_pair(tmp_path, lambda m: shifted(m, ["conv_b"]))
    run_compare(a, b, tmp_path / "c.html")
    html = (tmp_path / "c.html").read_text(encoding="utf-8")
    page = PageParser()
    page.feed(html)
    assert "script" not in page.tags
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert all(img["src"].startswith("data:image/png;base64,") for img in page.images)
    # A, B and B − A of conv_b's kernel; nothing for the unchanged convolution.
    assert [c for c in page.captions if c in ("A", "B", "B − A")] == ["A", "B", "B − A"]
    assert "svg" in page.tags and "rect" in page.tags  # the chart, with a slot per layer


def layer_outputs(model, samples: np.ndarray) -> dict[str, np.ndarray]:
    """Each layer's output, the layers called one by one in eager mode (a graph of the
    hostile layer name is refused by TensorFlow's name scopes)."""
    outputs, x = {}, samples
    for layer in model.layers:
        x = layer(x, training=False)
        outputs[layer.name] = np.asarray(x)
    return outputs


def test_both_models_run_on_the_inputs_agree_with_keras_and_numpy(tmp_path):
    import keras

    a, b, _, _ = saved_pair(tmp_path, lambda m: shifted(m, ["conv_b"], size=0.5))
    samples = np.random.default_rng(3).random((12, 12, 12, 1)).astype(np.float32)
    np.save(tmp_path / "x.npy", samples)
    sidecar = run_compare(a, b, tmp_path / "c.html", "--input", str(tmp_path / "x.npy"))
    outputs = sidecar["outputs"]
    run_a, run_b = (layer_outputs(keras.models.load_model(m), samples) for m in (a, b))
    top_a, top_b = np.argmax(run_a["probs"], axis=1), np.argmax(run_b["probs"], axis=1)
    assert outputs["n"] == 12
    assert outputs["agreement"] == pytest.approx(np.mean(top_a == top_b))
    changed = [k for k in range(12) if top_a[k] != top_b[k]]
    assert changed, "the test needs inputs whose top class changed"
    assert [c["class_a"] for c in outputs["top_class_changed"]] == list(top_a[changed])
    assert [c["class_b"] for c in outputs["top_class_changed"]] == list(top_b[changed])
    cka = {item["layer"]: item for item in outputs["cka"]}
    # Before the changed layer the activations are identical.
    assert cka[HOSTILE_NAME]["cka"] == pytest.approx(1.0)
    assert cka["pool"]["cka"] == pytest.approx(1.0)
    for name in ("conv_b", "probs"):
        assert cka[name]["n"] == 12
        assert cka[name]["cka"] == pytest.approx(kornblith_cka(run_a[name], run_b[name]),
                                                 rel=1e-5)
    assert cka["conv_b"]["cka"] < 0.999


def test_a_labelled_sample_gives_each_models_accuracy_on_evenly_spaced_images(tmp_path):
    import keras

    a, b, _, _ = saved_pair(tmp_path, lambda m: shifted(m, ["conv_b"], size=0.5))
    rng = np.random.default_rng(8)
    images = (rng.random((300, 12, 12)) * 255).astype(np.uint8)
    labels = np.arange(300) % 4  # stored class by class would fool a "first N" cut
    np.save(tmp_path / "x.npy", images)
    np.save(tmp_path / "y.npy", labels)
    sidecar = run_compare(a, b, tmp_path / "c.html", "--data", str(tmp_path / "x.npy"),
                          "--data-labels", str(tmp_path / "y.npy"))
    outputs = sidecar["outputs"]
    chosen = np.unique(np.linspace(0, 299, 256).astype(int))
    assert (outputs["n"], outputs["n_available"]) == (len(chosen), 300)
    x = images[chosen][..., None].astype(np.float32) / 255
    for key, model in (("accuracy_a", a), ("accuracy_b", b)):
        top = np.argmax(layer_outputs(keras.models.load_model(model), x)["probs"], axis=1)
        assert outputs[key] == pytest.approx(np.mean(top == labels[chosen]))
    assert "256 of the sample&#39;s 300 images" in (tmp_path / "c.html").read_text("utf-8")


def test_spectral_numbers_are_those_of_the_single_report_for_both_files(tmp_path):
    from reportgen.analyse.spectral import spectral_facts

    a, b, before, after = saved_pair(tmp_path, lambda m: shifted(m, ["conv_b"], size=0.2))
    sidecar = run_compare(a, b, tmp_path / "c.html")
    kernel = by_path(sidecar)["conv_b"]["weights"][0]
    for key, weights in (("spectral_a", before), ("spectral_b", after)):
        values = weights["conv_b"][0]
        expected = spectral_facts("Conv2D", "kernel", values.astype(np.float32))
        assert kernel[key]["spectral_norm"] == pytest.approx(expected.spectral_norm, rel=1e-6)
        assert expected.alpha is not None and kernel[key]["alpha"] == expected.alpha
        # By hand: the largest squared singular value of the 3x3 slices of 6x5.
        assert kernel[key]["spectral_norm"] == pytest.approx(
            max(np.linalg.norm(values[i, j], 2) ** 2 for i in range(3) for j in range(3)),
            rel=1e-5)
    assert kernel["spectral_a"] != kernel["spectral_b"]


def test_save_weights_files_compare_without_their_architecture(tmp_path):
    model = tiny_cnn()
    model.save_weights(tmp_path / "a.weights.h5")
    before = weights_of(model)
    shifted(model, ["probs"])
    model.save_weights(tmp_path / "b.weights.h5")
    sidecar = run_compare(tmp_path / "a.weights.h5", tmp_path / "b.weights.h5",
                          tmp_path / "c.html")
    changed = [layer for layer in sidecar["layers"] if layer["changed"]]
    assert len(changed) == 1 and len(sidecar["layers"]) == 3
    kernel_a, kernel_b = before["probs"][0], weights_of(model)["probs"][0]
    assert changed[0]["weights"][0]["relative_change"] == pytest.approx(
        np.linalg.norm(kernel_b - kernel_a) / np.linalg.norm(kernel_a), rel=1e-6)


def unbiased_centred_gram(features: np.ndarray) -> np.ndarray:
    """Kornblith et al.'s unbiased centring of the Gram matrix of `features`, flattened."""
    flat = features.reshape(len(features), -1).astype(np.float64)
    gram = flat @ flat.T
    n = len(gram)
    np.fill_diagonal(gram, 0)
    means = gram.sum(0) / (n - 2)
    means -= means.sum() / (2 * (n - 1))
    gram = gram - means[:, None] - means[None, :]
    np.fill_diagonal(gram, 0)
    return gram.ravel()


def kornblith_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Debiased linear CKA written as Kornblith et al.'s notebook does it: unbiased centring
    of each Gram matrix, then a normalised inner product."""
    centred = unbiased_centred_gram

    gx, gy = centred(x), centred(y)
    return float(gx @ gy / (np.linalg.norm(gx) * np.linalg.norm(gy)))


def test_cka_equals_a_direct_implementation():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 20))
    y = np.tanh(x @ rng.normal(size=(20, 12))) + 0.3 * rng.normal(size=(30, 12))
    assert linear_cka(x, y) == pytest.approx(kornblith_cka(x, y), rel=1e-10)


def test_cka_of_a_representation_with_itself_is_one():
    x = np.random.default_rng(1).normal(size=(10, 7, 3))
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)


def test_cka_ignores_rotation_and_isotropic_scaling():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(25, 16)), rng.normal(size=(25, 9))
    y = y + x[:, :9]
    rotation, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    assert linear_cka(x @ rotation * 7.5, y * 0.01) == pytest.approx(linear_cka(x, y), rel=1e-9)


def test_debiased_cka_of_unrelated_representations_is_near_zero():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(40, 200)), rng.normal(size=(40, 200))
    assert abs(linear_cka(x, y)) < 0.15
    # The biased form would call them alike: cosine of the centred Gram matrices.
    centre = np.eye(40) - 1 / 40
    gx, gy = (centre @ m @ m.T @ centre for m in (x, y))
    assert np.sum(gx * gy) / (np.linalg.norm(gx) * np.linalg.norm(gy)) > 0.5


def test_cka_is_undefined_below_four_inputs_or_without_variation():
    rng = np.random.default_rng(5)
    assert linear_cka(rng.normal(size=(3, 5)), rng.normal(size=(3, 5))) is None
    assert linear_cka(np.ones((8, 5)), rng.normal(size=(8, 5))) is None


# Matching layers: by name, then by order and weight shapes (issue "Real checkpoints", 7).

def stored_layer(path: str, *shapes: tuple[int, ...]) -> LayerSnapshot:
    """A hand-made layer with a kernel and a bias of the given shapes (values irrelevant)."""
    weights = tuple(WeightArray(name, np.zeros(shape, np.float32), True)
                    for name, shape in zip(("kernel", "bias"), shapes))
    return LayerSnapshot(path, "Conv1D", None, 0, True, "", weights, path=path)


def stored_model(*layers) -> ModelSnapshot:
    return ModelSnapshot("Sequential", tuple(layers))


def matched(a, b):
    """(path in A, path in B, matched_by) of each pair, and (path, reason) of the rest."""
    pairs, unmatched = match_layers(stored_model(*a), stored_model(*b))
    return ([(p.a.path, p.b.path, p.matched_by) for p in pairs],
            [(u.path, u.reason) for u in unmatched])


def conv(path, n_in, n_out):
    return stored_layer(path, (3, n_in, n_out), (n_out,))


def test_names_shifted_by_one_are_matched_by_order_even_where_a_name_and_shapes_agree():
    # A's conv1d_2 and B's conv1d_2 have the same shapes, but B's is A's conv1d_3.
    a = [conv("conv1d_1", 1, 8), conv("conv1d_2", 8, 8), conv("conv1d_3", 8, 8)]
    b = [conv("conv1d", 1, 8), conv("conv1d_1", 8, 8), conv("conv1d_2", 8, 8)]
    assert matched(a, b) == ([("conv1d_1", "conv1d", "order and shape"),
                              ("conv1d_2", "conv1d_1", "order and shape"),
                              ("conv1d_3", "conv1d_2", "order and shape")], [])


def test_a_new_head_under_shifted_names_leaves_only_the_head_unmatched():
    a = [conv("conv1d_1", 1, 8), conv("conv1d_2", 8, 8), conv("conv1d_3", 8, 8),
         stored_layer("dense_1", (8, 10), (10,))]
    b = [conv("conv1d", 1, 8), conv("conv1d_1", 8, 8), conv("conv1d_2", 8, 8),
         stored_layer("dense", (8, 5), (5,))]
    pairs, unmatched = matched(a, b)
    assert pairs == [("conv1d_1", "conv1d", "order and shape"),
                     ("conv1d_2", "conv1d_1", "order and shape"),
                     ("conv1d_3", "conv1d_2", "order and shape")]
    assert unmatched == [("dense_1", "only in A"), ("dense", "only in B")]


def test_a_new_head_under_the_same_names_is_one_layer_with_different_weights():
    a = [conv("c1", 1, 8), conv("c2", 8, 8), stored_layer("head", (8, 10), (10,))]
    b = [conv("c1", 1, 8), conv("c2", 8, 8), stored_layer("head", (8, 5), (5,))]
    assert matched(a, b) == ([("c1", "c1", "name"), ("c2", "c2", "name")],
                             [("head", "different weights")])


def test_names_that_all_agree_win_over_the_order():
    # The same layers listed in another order (another Keras orders a functional model's
    # branches differently): every name pairs, so the names are right.
    a = [conv("left", 8, 8), conv("right", 8, 8), conv("out", 8, 4)]
    b = [conv("right", 8, 8), conv("left", 8, 8), conv("out", 8, 4)]
    assert matched(a, b) == ([("left", "left", "name"), ("right", "right", "name"),
                              ("out", "out", "name")], [])


def test_layers_between_name_pairs_are_matched_by_order_only_there():
    # B renamed the middle layer and added one of the same shapes at its end: the renamed
    # layer pairs by order between its named neighbours, the new one stays unmatched.
    a = [conv("c1", 1, 8), conv("c2", 8, 8), conv("c3", 8, 4)]
    b = [conv("c1", 1, 8), conv("middle", 8, 8), conv("c3", 8, 4), conv("extra", 4, 4)]
    assert matched(a, b) == ([("c1", "c1", "name"), ("c2", "middle", "order and shape"),
                              ("c3", "c3", "name")], [("extra", "only in B")])


CONV1D_WIDTHS = ((1, 8), (8, 8), (8, 8), (8, 16), (16, 16), (16, 16))


def conv1d_model(names: list[str], seed: int = 3):
    """Six Conv1D (two runs of equal shapes), a pooling and a Dense head, named `names`."""
    import keras

    keras.utils.set_random_seed(seed)
    layers = [keras.layers.Conv1D(n_out, 3, activation="relu", name=name)
              for (_, n_out), name in zip(CONV1D_WIDTHS, names)]
    return keras.Sequential([keras.Input((32, 1)), *layers,
                             keras.layers.GlobalAveragePooling1D(name=names[6]),
                             keras.layers.Dense(3, activation="softmax", name=names[7])],
                            name="net")


# How Keras 2 named them (numbered from 1) and how Keras 3 names the same layers.
KERAS2_NAMES = [f"conv1d_{k}" for k in range(1, 7)] + ["global_average_pooling1d_1", "dense_1"]
KERAS3_NAMES = ["conv1d"] + [f"conv1d_{k}" for k in range(1, 6)] + \
    ["global_average_pooling1d", "dense"]


def test_a_fine_tune_saved_by_another_keras_version_is_matched_by_order(tmp_path):
    from keras2_files import save_keras2_h5

    original = conv1d_model(KERAS2_NAMES)
    save_keras2_h5(original, tmp_path / "original.h5")
    tuned = conv1d_model(KERAS3_NAMES, seed=4)
    rng = np.random.default_rng(12)
    for layer_a, layer_b in zip(original.layers, tuned.layers):
        layer_b.set_weights([w + rng.normal(0, 0.02, w.shape).astype(w.dtype)
                             for w in layer_a.get_weights()])
    tuned.save(tmp_path / "tuned.keras")
    sidecar = run_compare(tmp_path / "original.h5", tmp_path / "tuned.keras", tmp_path / "c.html")
    before, after = weights_of(original), weights_of(tuned)
    weighted = [(a, b) for a, b in zip(KERAS2_NAMES, KERAS3_NAMES) if a in before]
    assert [(x["path"], x["path_b"], x["matched_by"]) for x in sidecar["layers"]] == \
        [(a, b, "order and shape") for a, b in weighted]
    for layer, (a, b) in zip(sidecar["layers"], weighted):
        diff = np.sqrt(sum(np.sum((y - x) ** 2) for x, y in zip(before[a], after[b])))
        norm = np.sqrt(sum(np.sum(x ** 2) for x in before[a]))
        assert layer["relative_change"] == pytest.approx(diff / norm, rel=1e-9)
        assert diff / norm < 0.5
        kernel_a, kernel_b = before[a][0], after[b][0]
        assert layer["weights"][0]["relative_change"] == pytest.approx(
            np.linalg.norm(kernel_b - kernel_a) / np.linalg.norm(kernel_a), rel=1e-9)
    assert sidecar["unmatched"] == []
    assert [x["kind"] for x in sidecar["alerts"]] == []
    html = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert html.count("matched by order and weight shapes") == len(weighted)
    assert f"{len(weighted)} layers with weights matched (0 by name, {len(weighted)} by order" \
        in html


def test_keras_2_0_doubled_scopes_compare_under_their_layers_names(tmp_path):
    from keras2_files import keras20_cnn, save_keras20_h5

    model = keras20_cnn()
    save_keras20_h5(model, tmp_path / "a.h5")
    before = weights_of(model)
    shifted(model, ["conv2d_1", "conv2d_2", "dense_1"])
    save_keras20_h5(model, tmp_path / "b.h5")
    after = weights_of(model)
    sidecar = run_compare(tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "c.html")
    layers = by_path(sidecar)
    # Saved as conv2d_1/conv2d_1_1/kernel:0, ...: the layers, not models holding them.
    assert list(layers) == ["conv2d_1", "conv2d_2", "dense_1"]
    assert {layer["matched_by"] for layer in layers.values()} == {"name"}
    for path, layer in layers.items():
        assert layer["path_b"] == path
        assert [w["name"] for w in layer["weights"]] == ["kernel", "bias"]
        kernel_a, kernel_b = before[path][0], after[path][0]
        assert layer["weights"][0]["relative_change"] == pytest.approx(
            np.linalg.norm(kernel_b - kernel_a) / np.linalg.norm(kernel_a), rel=1e-9)
    assert sidecar["unmatched"] == [] and sidecar["alerts"] == []


def kornblith_hsic(x: np.ndarray, y: np.ndarray) -> float:
    """The unnormalised debiased HSIC of Kornblith et al.'s notebook (up to the n(n-3)
    factor it divides by)."""
    centred = unbiased_centred_gram
    n = len(x)
    return float(centred(x) @ centred(y)) / (n * (n - 3))


def test_minibatch_cka_sums_each_batchs_unbiased_hsic():
    from reportgen.analyse.cka import MinibatchCka

    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 6, 6, 3))
    y = np.tanh(x.reshape(40, -1) @ rng.normal(size=(108, 20))) + 0.2 * rng.normal(size=(40, 20))
    cka = MinibatchCka()
    for start in range(0, 40, 10):
        cka.add(x[start:start + 10], y[start:start + 10])
    parts = [(x[s:s + 10], y[s:s + 10]) for s in range(0, 40, 10)]
    cross = sum(kornblith_hsic(a, b) for a, b in parts)
    own_x = sum(kornblith_hsic(a, a) for a, _ in parts)
    own_y = sum(kornblith_hsic(b, b) for _, b in parts)
    assert cka.result() == pytest.approx(cross / np.sqrt(own_x * own_y), rel=1e-9)
    assert (cka.n, cka.n_batches) == (40, 4)
    # One batch is the plain debiased CKA; a batch too small for the estimator is left out.
    single = MinibatchCka()
    single.add(x[:12], y[:12])
    single.add(x[12:15], y[12:15])
    assert single.result() == pytest.approx(kornblith_cka(x[:12], y[:12]), rel=1e-9)
    assert single.n == 12


def test_the_gram_of_a_wide_layer_is_summed_in_blocks_to_the_same_matrix(monkeypatch):
    from reportgen.analyse import cka

    rng = np.random.default_rng(4)
    x = rng.normal(size=(7, 50, 3)).astype(np.float32)
    flat = x.reshape(7, -1).astype(np.float64)
    flat -= flat.mean(axis=0)
    monkeypatch.setattr(cka, "GRAM_BLOCK_VALUES", 7 * 11)  # blocks of 11 of 150 features
    assert np.allclose(cka.gram(x), flat @ flat.T, rtol=1e-12, atol=1e-9)


class CountingModel:
    """Stands for a KerasModel: one layer, its output the input times a factor; records the
    largest batch it was given."""

    def __init__(self, factor: float):
        self.factor, self.largest = factor, 0

    def forward_chunks(self, batches, chunk=None):
        self.largest = max(self.largest, len(batches[0]))
        x = batches[0]
        means = x.reshape(len(x), -1).mean(1)
        yield {"conv": x * self.factor}, [np.stack([means, -means], 1)]


def test_compare_runs_both_models_in_lockstep_batches_sized_to_the_layers():
    from reportgen.load.samples import Sample
    from reportgen.pipeline.compare_run import run_both

    rng = np.random.default_rng(5)
    samples = [Sample(f"s{k}", "", (rng.normal(size=(32, 32, 8)).astype(np.float32),))
               for k in range(40)]
    a, b = CountingModel(1.0), CountingModel(3.0)
    # A layer of 512 MiB per sample: the batch falls to its floor of 8 samples.
    run = run_both([a, b], samples, ["(None, 8192, 8192, 2)"])
    assert a.largest == b.largest == 8
    [similarity] = run.similarities
    assert similarity.cka == pytest.approx(1.0) and similarity.n == 40
    assert run.scores_a.shape == (40, 2) and not run.error
    small = CountingModel(1.0), CountingModel(1.0)
    run_both(list(small), samples, ["(None, 4)"])
    assert small[0].largest == 40  # small layers: one batch holds them all (up to 64)
