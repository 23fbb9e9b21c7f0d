"""The HDF5 reader: the same layers and numbers as Keras, without TensorFlow."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, legacy_weights_h5
from reportgen.errors import ReportInputError
from reportgen.load.model_file import check_model_file
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
