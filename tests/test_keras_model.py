import zipfile

import numpy as np
import pytest

from reportgen.load.keras import fresh, snapshot as keras_snapshot
from reportgen.load.keras.forward import forward
from reportgen.load.keras.loading import ModelNotRebuilt, load
from reportgen.load.model_file import check_model_file


def test_snapshot_reads_layers_and_weights_in_order(tiny_model):
    snap = keras_snapshot.snapshot(tiny_model)
    assert [l.name for l in snap.layers] == [l.name for l in tiny_model.layers]
    [model_input], [model_output] = snap.inputs, snap.outputs
    assert model_input.shape == (12, 12, 1) and model_input.dtype == "float32"
    assert model_output.shape == (4,) and model_output.activation == "softmax"
    assert model_output.name == "probs"
    conv = snap.layers[0]
    assert (conv.class_name, conv.activation, conv.n_params) == ("Conv2D", "relu", 60)
    assert [w.name for w in conv.weights] == ["kernel", "bias"]
    assert np.array_equal(conv.weights[0].values, tiny_model.layers[0].get_weights()[0])
    assert conv.output_shape == "(None, 12, 12, 6)"


def test_initial_weights_are_fresh_reproducible_and_shaped_alike(tiny_model):
    name = tiny_model.layers[0].name  # top-level layers: the path is the name
    first = [np.asarray(w) for w in fresh.FreshWeights(tiny_model).get(name)]
    second = [np.asarray(w) for w in fresh.FreshWeights(tiny_model).get(name)]
    trained = tiny_model.layers[0].get_weights()
    assert [a.shape for a in first] == [w.shape for w in trained]
    assert not np.allclose(first[0], trained[0])
    assert np.array_equal(first[0], second[0])
    assert not first[1].any()  # biases start at zero


def test_variables_are_read_on_demand_whole_or_sliced(tiny_model):
    variable = tiny_model.layers[2].weights[0]
    lazy = keras_snapshot.VariableArray(variable)
    assert lazy.shape == (3, 3, 6, 5) and lazy.ndim == 4 and lazy.dtype == np.float32
    assert np.array_equal(np.asarray(lazy), variable.numpy())
    assert np.array_equal(lazy[..., :2, :3], variable.numpy()[..., :2, :3])


def test_one_forward_pass_gives_every_layer_and_the_prediction(tiny_model):
    batch = np.random.default_rng(0).random((3, 12, 12, 1)).astype(np.float32)
    outputs, [scores] = forward(tiny_model, [batch])
    assert list(outputs) == [l.name for l in tiny_model.layers]
    assert outputs[tiny_model.layers[0].name].shape == (3, 12, 12, 6)
    expected = np.asarray(tiny_model(batch, training=False))
    assert np.allclose(scores, expected, atol=1e-6)
    assert np.allclose(outputs["probs"], expected, atol=1e-6)


def test_unloadable_file_is_reported_as_not_rebuilt(tmp_path):
    path = tmp_path / "broken.keras"
    # A sound archive Keras cannot build a model from (a damaged one is refused before).
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", '{"keras_version": "3.5.0"}')
        archive.writestr("config.json", '{"class_name": "NoSuchModel", "config": {}}')
    with pytest.raises(ModelNotRebuilt):
        load(check_model_file(path))


def test_a_failure_reason_leaves_out_the_tensors_keras_pastes_into_it():
    from reportgen.load.keras.loading import failure_reason

    values = " ".join(f"{v:.3e}" for v in np.linspace(0, 1, 40))
    error = ValueError(f"Invalid input shape for input [[{values}]]. Expected shape (None, 20)")
    assert failure_reason(error) == "Invalid input shape for input […]"
    # Shapes and short lists stay: they are what the reader needs.
    shaped = ValueError("Kernel shape must have the same length as input, but received kernel "
                        "of shape (3, 3, 1, 4) and input of shape [None, 12, 12, 1]")
    assert failure_reason(shaped) == str(shaped)
