"""Issue 29 end to end: the int8 audit's alerts, the accuracies of quantised and pruned
copies, and the model card (its front matter read by huggingface_hub)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import SHARED_DATA, require_shared
from reportgen.analyse.quant_audit import PruningClaim, quant_alerts, tensor_audit
from reportgen.analyse.quant_variants import int8_weights, magnitude_threshold, pruned_weights
from reportgen.cli import main
from reportgen.page.card_markdown import md_text

TEST_SET = SHARED_DATA / "fashion-mnist-test"


def depthwise(outlier: float) -> np.ndarray:
    """A (3, 3, 32, 1) depthwise kernel of N(0, 0.1), channel 7 scaled by `outlier`."""
    kernel = np.random.default_rng(3).normal(0, 0.1, (3, 3, 32, 1)).astype(np.float32)
    kernel[:, :, 7, :] *= outlier
    return kernel


def kinds_of(values, class_name="DepthwiseConv2D", weight="depthwise_kernel") -> list[str]:
    audit = tensor_audit("dw", weight, class_name, values)
    return [a.kind for a in quant_alerts((audit,), ())]


def test_one_outlier_channel_needs_per_channel_scales_and_nothing_more():
    assert kinds_of(depthwise(50.0)) == ["int8_per_tensor"]
    assert kinds_of(depthwise(1.0)) == []


def test_an_embedding_row_that_sets_the_range_is_named_by_its_token():
    table = np.random.default_rng(5).normal(0, 0.1, (30, 8)).astype(np.float32)
    table[5] *= 50.0
    (alert,) = quant_alerts((tensor_audit("embed", "embeddings", "Embedding", table),), ())
    assert alert.kind == "int8_per_tensor" and dict(alert.values)["range_channel"] == 5
    assert alert.message.startswith("embeddings: the row of token 5 spans ")


def test_a_kernel_whose_values_defeat_int8_even_per_channel_is_poor():
    # Per channel one weight of 1 and 4,095 within half an int8 step of 0 (1 / 254): they all
    # round to 0, losing 0.0218 of the channel's energy of 1.0218, an SQNR of 16.7 dB.
    kernel = np.random.default_rng(0).uniform(-0.004, 0.004, (4096, 8)).astype(np.float32)
    kernel[0, :] = 1.0
    assert kinds_of(kernel, "Dense", "kernel") == ["int8_poor"]


def test_an_int8_warning_whose_scheme_kept_the_predictions_is_a_note():
    # Measured: the sample run with every tensor int8 per tensor agreed with float. The risk
    # the SQNR shows did not reach the predictions; too few inputs, or less agreement, and
    # it stays a warning. The per-channel measurement says nothing about per tensor.
    audit = tensor_audit("dw", "depthwise_kernel", "DepthwiseConv2D", depthwise(50.0))

    def rated(measured):
        (alert,) = quant_alerts((audit,), (), measured)
        return alert.severity, dict(alert.values).get("measured_agreement")
    assert rated({"int8_tensor": (0.995, 400)}) == ("note", 0.995)
    assert rated({"int8_tensor": (0.98, 400)}) == ("warning", None)
    assert rated({"int8_tensor": (1.0, 60)}) == ("warning", None)
    assert rated({"int8_channel": (1.0, 400)}) == ("warning", None)
    (note,) = quant_alerts((audit,), (), {"int8_tensor": (0.995, 400)})
    assert note.message.endswith("agrees with float on 99.5% of 400 inputs")


def test_a_pruning_wrapper_is_held_to_its_schedule():
    claims = (PruningClaim("fc", 0.8, 0.12), PruningClaim("fc2", 0.8, 0.79))
    alerts = quant_alerts((), claims)
    assert [(a.kind, a.layer) for a in alerts] == [("pruning_not_applied", "fc")]


def test_fake_int8_per_channel_is_exact_for_values_on_its_grid_and_pruning_hits_its_share():
    steps = np.arange(-127, 128, dtype=np.float32)
    kernel = np.stack([steps * 0.01, steps * 0.5], axis=1)  # two channels, own scales
    assert np.array_equal(int8_weights(True)(kernel, "Dense", "kernel"), kernel)
    assert not np.array_equal(int8_weights(False)(kernel, "Dense", "kernel"), kernel)
    weights = np.random.default_rng(1).normal(0, 1, (100, 50)).astype(np.float32)
    threshold = magnitude_threshold([(weights, "Dense", "kernel")], 0.8)
    pruned = pruned_weights(threshold)(weights, "Dense", "kernel")
    assert abs(np.mean(pruned == 0) - 0.8) < 0.001


def test_markdown_text_from_a_file_cannot_make_links_html_or_table_cells():
    text = md_text("a|b [x](javascript:alert(1)) <img src=x> **bold**\nnext")
    assert "<" not in text and "\n" not in text
    assert "\\|" in text and "\\[x\\]" in text and "\\*\\*bold\\*\\*" in text


def small_cnn():
    import keras

    keras.utils.set_random_seed(4)
    return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, name="conv"),
                             keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax",
                                                                        name="probs")])


def test_a_report_with_data_measures_variants_and_its_card_parses_on_the_hub(tmp_path):
    hub = pytest.importorskip("huggingface_hub")
    model = small_cnn()
    # Pruned to 80 % by magnitude before saving: the audit must find it.
    kernel, bias = model.get_layer("probs").get_weights()
    cut = np.quantile(np.abs(kernel), 0.8)
    model.get_layer("probs").set_weights([np.where(np.abs(kernel) < cut, 0, kernel), bias])
    model.save(tmp_path / "m.keras")
    rng = np.random.default_rng(2)
    np.save(tmp_path / "x.npy", rng.uniform(0, 1, (60, 8, 8, 1)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, 60))
    out = tmp_path / "r.html"
    assert main([str(tmp_path / "m.keras"), "-q", "-o", str(out), "--card",
                 "--data", str(tmp_path / "x.npy"), "--data-labels", str(tmp_path / "y.npy")]) == 0
    sidecar = json.loads(out.with_suffix(".json").read_text("utf-8"))
    probs = next(t for t in sidecar["quantisation"]["tensors"] if t["layer"] == "probs")
    assert abs(probs["sparsity"]["zero_share"] - 0.8) < 0.01
    assert probs["sparsity"]["share_2_4"] is not None
    keys = [v["key"] for v in sidecar["shipping"]["quantised"] + sidecar["shipping"]["pruned"]]
    assert {"int8_tensor", "int8_channel", "float16", "pruned_50", "pruned_90"} <= set(keys)
    assert all(0 <= v["agreement"] <= 1 for v in sidecar["shipping"]["quantised"])
    import tensorflow as tf

    if hasattr(getattr(tf, "lite", None), "TFLiteConverter"):  # the real int8 model too
        assert "tflite_int8" in keys
    card = hub.ModelCard((tmp_path / "r.card.md").read_text("utf-8"))
    assert card.data.library_name == "keras"
    accuracy = sidecar["evaluation"]["accuracy"]["value"]
    assert card.data.eval_results[0].metric_value == pytest.approx(accuracy, abs=1e-6)
    assert "TO FILL" in card.text


@pytest.mark.slow
def test_a_korean_card_says_its_readiness_in_korean_and_the_sidecar_in_english(tmp_path):
    small_cnn().save(tmp_path / "m.keras")
    rng = np.random.default_rng(3)
    np.save(tmp_path / "x.npy", rng.uniform(0, 1, (30, 8, 8, 1)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, 30))
    out = tmp_path / "r.html"
    assert main([str(tmp_path / "m.keras"), "-q", "-o", str(out), "--card", "--lang", "ko",
                 "--data", str(tmp_path / "x.npy"), "--data-labels", str(tmp_path / "y.npy")]) == 0
    readiness = json.loads(out.with_suffix(".json").read_text("utf-8"))["card"]["readiness"]
    assert readiness[0].startswith("2 weight tensors audited for int8; 0 need per-channel")
    assert any(line.startswith("int8 weights, per channel: accuracy ") for line in readiness)
    card = (tmp_path / "r.card.md").read_text("utf-8")
    section = card.split("## ")[[h.split("\n")[0] for h in card.split("## ")].index(
        "양자화 준비 상태")]
    lines = [line for line in section.splitlines() if line.startswith("- ")]
    assert len(lines) == len(readiness)
    assert lines[0].startswith("- int8로 점검한 가중치 텐서 2개 중 0개는")
    assert any(line.startswith("- int8 가중치, 채널별: 정확도 ") for line in lines)
    assert not any("accuracy" in line or "agree" in line for line in lines)


@pytest.mark.slow
def test_the_books_int8_accuracy_on_the_test_set_is_within_a_point_of_float(tmp_path):
    from conftest import BOOK

    model = require_shared(BOOK / "best-cnn-model.keras")
    test = require_shared(TEST_SET)
    out = tmp_path / "r.html"
    assert main([str(model), "-q", "-o", str(out), "--data", str(test / "images.npy"),
                 "--data-labels", str(test / "labels.npy")]) == 0
    shipping = json.loads(out.with_suffix(".json").read_text("utf-8"))["shipping"]
    base = shipping["float_accuracy"]["value"]
    for row in shipping["quantised"]:
        assert abs(row["accuracy"]["value"] - base) < 0.01, row["key"]


def test_a_batch_normalisation_after_a_kernel_is_folded_in_before_quantising(tmp_path):
    import keras

    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((16, 16, 8)), keras.layers.DepthwiseConv2D(3, padding="same", name="dw"),
        keras.layers.BatchNormalization(name="bn"), keras.layers.ReLU(),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    gamma, beta, mean, variance = model.get_layer("bn").get_weights()
    variance = np.ones_like(variance)
    variance[5] = 1e-4  # folding multiplies channel 5 by about 100
    model.get_layer("bn").set_weights([gamma, beta, mean, variance])
    model.save(tmp_path / "m.keras")
    out = tmp_path / "r.html"
    assert main([str(tmp_path / "m.keras"), "-q", "-o", str(out), "--weights-only"]) == 0
    tensors = json.loads(out.with_suffix(".json").read_text("utf-8"))["quantisation"]["tensors"]
    dw = next(t for t in tensors if t["layer"] == "dw")
    assert dw["folded"] == "bn" and dw["int8"]["range_channel"] == 5
    kernel = model.get_layer("dw").get_weights()[0]
    scale = 1 / np.sqrt(variance + 1e-3)
    deployed = kernel * scale.reshape(1, 1, 8, 1)
    assert dw["int8"]["max_abs"] == pytest.approx(float(np.abs(deployed).max()), rel=1e-5)
    assert next(t for t in tensors if t["layer"] != "dw")["folded"] is None
