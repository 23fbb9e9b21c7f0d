"""The HDF5 reader: the same layers and numbers as Keras, without TensorFlow."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, legacy_weights_h5
from reportgen.errors import ReportInputError
from reportgen.load.model_file import check_model_file
from reportgen.load.snapshot import all_layers
from reportgen.load.legacy_layout import legacy_weight_name
from reportgen.load.weights_file import open_weights


@pytest.mark.parametrize("kind", ["keras", "h5"])
def test_reads_the_same_layers_and_tensors_as_keras(tiny_files, tiny_model, kind):
    with open_weights(check_model_file(tiny_files[kind])) as snap:
        assert [l.name for l in snap.layers] == [l.name for l in tiny_model.layers]
        assert [spec.shape for spec in snap.inputs] == [(12, 12, 1)]
        assert snap.outputs == ()  # the file does not say: unknown, never invented
        for layer, model_layer in zip(snap.layers, tiny_model.layers):
            assert [w.name for w in layer.weights] == [w.name for w in model_layer.weights]
            for weight, expected in zip(layer.weights, model_layer.get_weights()):
                assert np.array_equal(np.asarray(weight.values), expected)
        assert snap.layers[0].class_name == "Conv2D" and snap.layers[0].activation == "relu"


def test_keras3_weights_file_without_config(tmp_path, tiny_model):
    path = tmp_path / "tiny.weights.h5"
    tiny_model.save_weights(path)
    with open_weights(check_model_file(path)) as snap:
        by_name = {l.name: l for l in snap.layers}
        conv = by_name["conv2d_1"]  # Keras 3 stores layers under class names
        assert [np.asarray(w.values).shape for w in conv.weights] == [(3, 3, 6, 5), (5,)]
        assert conv.class_name == "Conv2D"  # guessed from the stored group name


def test_keras2_save_weights_file(tmp_path, tiny_model):
    path = legacy_weights_h5(tiny_model, tmp_path / "weights.h5")
    with open_weights(check_model_file(path)) as snap:
        assert [l.name for l in snap.layers] == [l.name for l in tiny_model.layers]
        assert [w.name for w in snap.layers[0].weights] == ["kernel", "bias"]


def test_weight_names_drop_scopes_and_suffixes():
    assert legacy_weight_name("model/conv2d/kernel:0", "conv2d") == "kernel"
    assert legacy_weight_name("bi/forward_lstm/lstm_cell/kernel:0", "bi") == \
        "forward_lstm/lstm_cell/kernel"


def test_hdf5_without_weights_is_refused(tmp_path):
    import h5py

    path = tmp_path / "empty.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["note"] = "nothing here"
    with pytest.raises(ReportInputError, match="cannot read the weights"):
        with open_weights(check_model_file(path)):
            pass


def test_weights_only_path_never_imports_tensorflow(tiny_files, tmp_path):
    code = ("import sys; from reportgen.cli import main; "
            f"code = main([{str(tiny_files['keras'])!r}, '--weights-only', '-q', "
            f"'-o', {str(tmp_path / 'r.html')!r}]); "
            "print(code, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.stdout.split() == ["0", "False", "False"], result.stderr


def keras20_model(inner_names: tuple[str, str]):
    """A Sequential named as Keras 2.0 named layers, with a nested Sequential of two
    convolutions called `inner_names`."""
    import keras

    keras.utils.set_random_seed(6)
    first, second = inner_names
    inner = keras.Sequential([keras.Input((10, 10, 1)),
                              keras.layers.Conv2D(3, 3, name=first),
                              keras.layers.Conv2D(2, 3, name=second)], name="features")
    return keras.Sequential([keras.Input((10, 10, 1)), inner,
                             keras.layers.Conv2D(4, 3, name="conv2d_1"),
                             keras.layers.Flatten(name="flatten_1"),
                             keras.layers.Dense(3, name="dense_1")], name="sequential_1")


# Doubled: every variable under a numbered copy of its layer's scope, as Keras 2.0.x saved
# them. Not doubled, with an inner layer really called conv_1 beside conv: that name stays.
@pytest.mark.parametrize("doubled, inner_names", [(True, ("conv2d_2", "conv2d_3")),
                                                  (False, ("conv", "conv_1"))])
def test_keras_2_0_numbered_scopes_are_read_as_their_layers(tmp_path, doubled, inner_names):
    import h5py

    from keras2_files import doubled_variable_name, save_keras2_h5, variable_name

    model = keras20_model(inner_names)
    path = save_keras2_h5(model, tmp_path / "old.h5",
                          naming=doubled_variable_name if doubled else variable_name,
                          keras_version=b"2.0.8")
    with h5py.File(path, "r") as handle:  # the layout under test, as Keras 2.0.x wrote it
        group = handle["model_weights/conv2d_1"]
        assert [str(n) for n in group.attrs["weight_names"]] == \
            (["conv2d_1_1/kernel:0", "conv2d_1_1/bias:0"] if doubled
             else ["conv2d_1/kernel:0", "conv2d_1/bias:0"])
        assert ("conv2d_1_1/kernel:0" in group) == doubled
    features = model.get_layer("features")
    expected = {f"features/{name}": features.get_layer(name) for name in inner_names}
    expected.update({name: model.get_layer(name) for name in ("conv2d_1", "dense_1")})
    with open_weights(check_model_file(path)) as snap:
        found = {layer.path: layer for layer in all_layers(snap.layers) if layer.weights}
        assert list(found) == list(expected)
        for layer_path, layer in found.items():
            assert [w.name for w in layer.weights] == ["kernel", "bias"]
            for weight, values in zip(layer.weights, expected[layer_path].get_weights()):
                assert np.array_equal(np.asarray(weight.values), values)
