import numpy as np
import pytest

from reportgen.analyse.collect import collect_input, collect_layer, collect_model
from reportgen.load.snapshot import LayerSnapshot, ModelSnapshot, TensorSpec, WeightArray


def layer(name="conv", weights=None):
    rng = np.random.default_rng(0)
    weights = weights or (WeightArray("kernel", rng.normal(size=(3, 3, 1, 4)), True),
                          WeightArray("bias", np.zeros(4), True))
    return LayerSnapshot(name, "Conv2D", "(None, 8, 8, 4)", 40, True, "relu", weights, path=name)


def test_layer_facts_carry_trained_and_initial_statistics():
    snap = layer()
    init = [np.full((3, 3, 1, 4), 0.5), np.ones(4)]
    facts = collect_layer(0, snap, {"conv": init})
    assert [w.name for w in facts.weights] == ["kernel", "bias"]
    assert facts.weights[0].shape == (3, 3, 1, 4)
    assert facts.weights[0].stats.std == pytest.approx(snap.weights[0].values.std())
    assert facts.init[0].stats.mean == pytest.approx(0.5)
    assert facts.init[1].stats.mean == pytest.approx(1.0)
    # Trained and initial histograms share their bins, so they overlay.
    assert facts.weights[1].histogram.edges == facts.init[1].histogram.edges


def test_missing_initialisation_gives_no_init_facts():
    assert collect_layer(0, layer(), None).init is None


def test_input_facts_hold_every_layer_output():
    outputs = {"conv": np.ones((4, 4, 2)), "dense": np.array([0.0, 2.0])}
    out = TensorSpec("probs", (2,), activation="softmax")
    facts = collect_input("x.png", "x.png", (4, 4, 1), outputs, [(out, np.array([0.3, 0.7]))], [])
    assert [a.layer for a in facts.activations] == ["conv", "dense"]
    assert facts.activations[0].shape == (4, 4, 2) and len(facts.activations[0].channels) == 2
    assert facts.activations[1].stats.zero_fraction == pytest.approx(0.5)
    assert [p.class_index for p in facts.predictions] == [1, 0]
    assert facts.output_entropy == pytest.approx(-(0.3 * np.log(0.3) + 0.7 * np.log(0.7)) / np.log(2))


def test_model_parameters_split_trainable_and_frozen():
    frozen = LayerSnapshot("bn", "BatchNormalization", "(None, 4)", 8, True, "",
                           (WeightArray("gamma", np.ones(4), True),
                            WeightArray("moving_mean", np.zeros(4), False)))
    snap = ModelSnapshot("Sequential", (layer(), frozen), (TensorSpec("in", (8, 8, 1)),),
                         (TensorSpec("out", (4,)),))
    file_info = dict(file_name="m.keras", file_size=1, sha256="0", format="f",
                     saved_by_keras_version="3", read_with=(("keras", "3"),),
                     reportgen_version="0", generated_at="now")
    facts = collect_model(snap, file_info)
    assert (facts.n_params, facts.n_trainable_params, facts.n_non_trainable_params) == (48, 44, 4)
    assert facts.input_shape == "(None, 8, 8, 1)"
