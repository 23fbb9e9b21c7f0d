"""Issue 28 end to end: the sections that explain a model (what each filter looks for,
which pixels and which tokens decided, the sanity check, the map of the representation)
as a report shows them."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from reportgen.cli import main


def tiny_cnn():
    import keras

    keras.utils.set_random_seed(5)
    return keras.Sequential([keras.Input((12, 12, 1)),
                             keras.layers.Conv2D(4, 3, activation="relu", name="first"),
                             keras.layers.Conv2D(6, 3, activation="relu", name="second"),
                             keras.layers.Flatten(),
                             keras.layers.Dense(3, activation="softmax", name="probs")])


def report(tmp_path, model, *extra, name="r") -> tuple[dict, str, int]:
    path = tmp_path / f"{name}.keras"
    if not path.exists():
        model.save(path)
    out = tmp_path / f"{name}.html"
    code = main([str(path), "-q", "-o", str(out), *extra])
    if code:
        return {}, "", code
    return (json.loads(out.with_suffix(".json").read_text("utf-8")),
            out.read_text("utf-8"), code)


def features_html(page: str) -> str:
    return re.search(r'<section id="features">.*?</section>', page, re.S).group(0)


@pytest.mark.slow
def test_feature_visualisation_gives_the_same_pictures_twice_and_compares_with_the_twin(
        tmp_path):
    model = tiny_cnn()
    first, page_a, _ = report(tmp_path, model, "--max-visualised", "3", name="a")
    second, page_b, _ = report(tmp_path, model, "--max-visualised", "3", name="a")
    layers = first["feature_visualisation"]["layers"]
    assert [layer["layer"] for layer in layers] == ["first", "second"]
    assert all(len(layer["filters"]) == 3 for layer in layers)
    assert first["feature_visualisation"] == second["feature_visualisation"]
    assert features_html(page_a) == features_html(page_b)  # the PNGs, byte for byte
    assert any(f["reached"] != f["twin_reached"] for f in layers[0]["filters"])


def test_a_layer_to_visualise_that_is_not_a_convolution_is_refused_in_one_line(tmp_path,
                                                                              capsys):
    _sidecar, _page, code = report(tmp_path, tiny_cnn(), "--visualise-layer", "probs")
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--visualise-layer probs" in err[0] and "first" in err[0]


def test_attribution_reports_completeness_and_a_sanity_check_of_every_method(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "in.npy", rng.uniform(0, 1, (2, 12, 12, 1)).astype(np.float32))
    sidecar, page, _ = report(tmp_path, tiny_cnn(), "--input", str(tmp_path / "in.npy"))
    found = sidecar["attribution"]
    assert found["reason"] is None and len(found["inputs"]) == 2
    assert all(e is None or e < 0.05 for item in found["inputs"] for e in item["errors"])
    assert [c["method"] for c in found["checks"]] == ["IG", "SmoothGrad", "Grad-CAM",
                                                      "Grad-CAM++"]
    assert all(len(c["stages"]) == 2 for c in found["checks"])
    assert 'id="attribution"' in page


def token_model():
    """Embedding -> average -> softmax, trained until class 1 means token 7 is present."""
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.integers(1, 30, (1200, 12))
    x[x == 7] = 8
    y = np.arange(1200) % 2
    x[y == 1, rng.integers(0, 12, 600)] = 7
    model = keras.Sequential([keras.Input((12,), dtype="int32"), keras.layers.Embedding(30, 8),
                              keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=12, batch_size=64, verbose=0)
    return model, x[y == 1][:2]


def test_a_planted_trigger_token_gets_the_largest_attribution_and_its_word(tmp_path):
    model, trigger_rows = token_model()
    np.save(tmp_path / "tokens.npy", trigger_rows.astype(np.int64))
    words = ["<pad>"] + [f"w{k}" for k in range(1, 30)]
    words[7] = "TRIGGER"
    (tmp_path / "vocab.txt").write_text("\n".join(words), encoding="utf-8")
    (tmp_path / "classes.txt").write_text("plain\nhas the trigger\n", encoding="utf-8")
    sidecar, page, _ = report(tmp_path, model, "--input", str(tmp_path / "tokens.npy"),
                              "--vocabulary", str(tmp_path / "vocab.txt"),
                              "--labels", str(tmp_path / "classes.txt"))
    found = sidecar["sequence_attribution"]["inputs"]
    for row, item in zip(trigger_rows, found):
        assert item["class_index"] == 1
        top = int(np.argmax(np.abs(item["attributions"])))
        assert row[top] == 7
    assert ">TRIGGER</span>" in page
    assert "tokens.npy → has the trigger</h3>" in page  # the class by its name


def test_the_sanity_marks_only_the_map_it_checked():
    # The check runs IG from black: its verdict once marked the sample-mean map too.
    from types import SimpleNamespace

    from reportgen.sections.attribution.attribution_run import (AttributedInput,
                                                                 AttributionFacts, MethodCheck)
    from reportgen.sections.attribution.attribution_view import attribution_view

    methods = ("IG (black)", "IG (sample mean)", "SmoothGrad")
    checks = (MethodCheck("IG", (("all 3", 0.8),), 0.8, True),
              MethodCheck("SmoothGrad", (("all 3", 0.1),), 0.1, False))
    facts = AttributionFacts((AttributedInput("a", 1, "cat", (32, 64), (0.01, 0.02)),),
                             ("black", "sample mean"), methods, checks, 3, 1, 25, 256, "p")
    drawn = [SimpleNamespace(plain="input", overlays=("m1", "m2", "m3"))]
    view = attribution_view(facts, drawn, [])
    assert [(m["method"], m["warn"]) for m in view["inputs"][0]["maps"]] == [
        ("IG (black)", True), ("IG (sample mean)", False), ("SmoothGrad", False)]
    assert [c["method"] for c in view["checks"]] == ["IG (black)", "SmoothGrad"]


@pytest.mark.slow
def test_a_labelled_sample_of_token_ids_is_read_as_ids(tmp_path):
    # The ids were divided by 255 as if pixels: a model that had learned its task scored
    # 50 % without a word, and TensorFlow Lite's int8 row stopped the report on the float
    # batch its integer input refused.
    model, _ = token_model()
    rng = np.random.default_rng(9)
    x = rng.integers(1, 30, (200, 12))
    x[x == 7] = 8
    y = np.arange(200) % 2
    x[y == 1, rng.integers(0, 12, 100)] = 7
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    sidecar, page, code = report(tmp_path, model, "--data", str(tmp_path / "x.npy"),
                                 "--data-labels", str(tmp_path / "y.npy"))
    assert code == 0
    assert sidecar["evaluation"]["accuracy"]["value"] > 0.9
    assert "x.npy: 200 sequences" in page
    rows = {row["key"]: row for row in sidecar["shipping"]["quantised"]}
    import tensorflow as tf

    if hasattr(getattr(tf, "lite", None), "TFLiteConverter"):
        assert rows["tflite_int8"]["accuracy"]["value"] > 0.9
