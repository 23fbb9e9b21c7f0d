"""Each alert is proved on a model that shows the problem, and stays quiet on one that does not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reportgen.cli import main


def cnn(seed: int = 11):
    import keras

    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input(shape=(10, 10, 16)),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same", name="conv"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(5, activation="softmax", name="probs"),
    ])


def trained_like(model):
    """Weights moved well away from initialisation, as training does (but not exploded)."""
    rng = np.random.default_rng(0)
    for layer in model.layers:
        layer.set_weights([w * 2.5 + rng.normal(0, 0.02, w.shape) for w in layer.get_weights()])
    return model


DOCUMENTED_KINDS = {"non_finite", "dead_channels", "untrained", "exploding_weights",
                    "vanishing_weights", "duplicate_filters", "uniform_output"}


def alerts_for(model, tmp_path, *extra) -> list[dict]:
    path = tmp_path / "m.keras"
    model.save(path)
    # Varied inputs, so that a channel only looks dead when it is.
    samples = tmp_path / "samples.npy"
    np.save(samples, np.random.default_rng(1).normal(0, 1, (6, 10, 10, 16)).astype(np.float32))
    out = tmp_path / "r.html"
    assert main([str(path), "-q", "-o", str(out), "--input", str(samples), *extra]) == 0
    data = json.loads(out.with_suffix(".json").read_text("utf-8"))
    # The documented kinds (README, "What was checked"), spelled out here, not read from the code.
    assert {k["name"] for k in data["alert_kinds"]} >= DOCUMENTED_KINDS
    return data["alerts"]


def kinds(alerts) -> set[str]:
    return {a["kind"] for a in alerts}


def with_kernel(model, layer: str, change):
    weights = model.get_layer(layer).get_weights()
    weights[0] = change(weights[0].copy())
    model.get_layer(layer).set_weights(weights)
    return model


@pytest.fixture
def healthy(tmp_path):
    return alerts_for(trained_like(cnn()), tmp_path)


def test_a_healthy_model_raises_no_alert(healthy):
    # Its weights are random ones scaled, so the spectral heuristics rightly see no learned
    # structure in them; nothing else may fire.
    assert kinds(healthy) <= {"alpha_high", "alpha_unreliable"}


def heavy_tailed(n_in: int, n_out: int, alpha: float, seed: int = 0) -> np.ndarray:
    """A matrix whose eigenvalues of WᵀW follow a power law of exponent alpha."""
    rng = np.random.default_rng(seed)
    size = min(n_in, n_out)
    eigenvalues = (1 - rng.random(size)) ** (-1 / (alpha - 1))  # Pareto, xmin 1
    u, _ = np.linalg.qr(rng.normal(size=(n_in, size)))
    v, _ = np.linalg.qr(rng.normal(size=(n_out, size)))
    return (u * np.sqrt(eigenvalues)) @ v.T


def test_a_heavy_tailed_spectrum_is_flagged_and_a_random_one_is_not(tmp_path):
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((300,)), keras.layers.Dense(200, name="heavy"),
                              keras.layers.Dense(150, name="random"),
                              keras.layers.Dense(3, activation="softmax", name="out")])
    kernel, bias = model.get_layer("heavy").get_weights()
    model.get_layer("heavy").set_weights([heavy_tailed(300, 200, 1.6).astype(np.float32) * 0.05,
                                          bias])
    path = tmp_path / "m.keras"
    model.save(path)
    out = tmp_path / "r.html"
    assert main([str(path), "-q", "-o", str(out)]) == 0
    data = json.loads(out.with_suffix(".json").read_text("utf-8"))
    by_layer = {(a["layer"], a["kind"]) for a in data["alerts"]}
    assert ("heavy", "alpha_low") in by_layer
    assert not any(layer == "random" and kind == "alpha_low" for layer, kind in by_layer)
    spectrum = data["layers"][0]["weights"][0]["spectral"]
    assert spectrum["alpha"] < 2 and spectrum["n_eigenvalues"] == 200
    kinds_checked = {k["name"]: k for k in data["alert_kinds"]}
    assert kinds_checked["alpha_low"]["heuristic"] is True


def test_nan_in_a_weight(tmp_path):
    def poison(kernel):
        kernel[0, 0, 0, 0] = np.nan
        return kernel
    alerts = alerts_for(with_kernel(trained_like(cnn()), "conv", poison), tmp_path)
    found = [a for a in alerts if a["kind"] == "non_finite"]
    assert found and found[0]["layer"] == "conv" and "1 NaN" in found[0]["message"]
    # The NaN flows into the outputs as well.
    assert any(a["subject"] == "output" for a in found)


def test_dead_channels_after_relu(tmp_path):
    model = trained_like(cnn())
    kernel, bias = model.get_layer("conv").get_weights()
    bias[:3] = -1000.0
    model.get_layer("conv").set_weights([kernel, bias])
    alerts = alerts_for(model, tmp_path)
    [dead] = [a for a in alerts if a["kind"] == "dead_channels"]
    assert dead["layer"] == "conv" and dead["message"].startswith("3 of 32 channels")


def test_layer_that_never_trained(tmp_path):
    model = trained_like(cnn())
    fresh = cnn(seed=99)  # the same architecture straight from its initialisers
    model.get_layer("conv").set_weights(fresh.get_layer("conv").get_weights())
    alerts = alerts_for(model, tmp_path)
    assert [a["layer"] for a in alerts if a["kind"] == "untrained"] == ["conv"]


@pytest.mark.slow
def test_exploding_and_vanishing_weights(tmp_path):
    exploded = with_kernel(trained_like(cnn()), "conv", lambda k: k * 40)
    assert [a["layer"] for a in alerts_for(exploded, tmp_path)
            if a["kind"] == "exploding_weights"] == ["conv"]
    vanished = with_kernel(trained_like(cnn()), "conv", lambda k: k * 0.01)
    assert [a["layer"] for a in alerts_for(vanished, tmp_path)
            if a["kind"] == "vanishing_weights"] == ["conv"]


def test_near_duplicate_filters(tmp_path):
    def duplicate(kernel):
        kernel[..., 5] = kernel[..., 2] * 1.5  # the same direction, another scale
        return kernel
    alerts = alerts_for(with_kernel(trained_like(cnn()), "conv", duplicate), tmp_path)
    [found] = [a for a in alerts if a["kind"] == "duplicate_filters"]
    assert found["layer"] == "conv" and "1 pair of filters" in found["message"]


def test_near_uniform_softmax_output(tmp_path):
    model = trained_like(cnn())
    model.get_layer("probs").set_weights([np.zeros((32, 5)), np.zeros(5)])
    alerts = alerts_for(model, tmp_path)
    assert "uniform_output" in kinds(alerts)


def test_confident_output_is_not_uniform(healthy):
    assert "uniform_output" not in kinds(healthy)


def test_weights_only_report_checks_what_it_can(tmp_path):
    def duplicate(kernel):
        kernel[..., 1] = kernel[..., 0]
        return kernel
    model = with_kernel(trained_like(cnn()), "conv", duplicate)
    assert kinds(alerts_for(model, tmp_path, "--weights-only")) == {"duplicate_filters"}
