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
from reportgen.compare import main


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


def kornblith_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Debiased linear CKA written as Kornblith et al.'s notebook does it: unbiased centring
    of each Gram matrix, then a normalised inner product."""
    def centred(features):
        flat = features.reshape(len(features), -1).astype(np.float64)
        gram = flat @ flat.T
        n = len(gram)
        np.fill_diagonal(gram, 0)
        means = gram.sum(0) / (n - 2)
        means -= means.sum() / (2 * (n - 1))
        gram = gram - means[:, None] - means[None, :]
        np.fill_diagonal(gram, 0)
        return gram.ravel()

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
