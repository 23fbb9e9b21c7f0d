import numpy as np

from reportgen.options import Options
from reportgen.draw.pictures import map_layers, weight_figure
from reportgen.load.snapshot import LayerSnapshot


def test_feature_maps_go_to_conv_pool_and_activation_layers():
    layers = [("c", "Conv2D"), ("bn", "BatchNormalization"), ("r", "ReLU"), ("p", "MaxPooling2D"),
              ("f", "Flatten"), ("d", "Dense")]
    assert map_layers(layers, cap=10) == (["c", "r", "p"], "")


def test_a_cap_spreads_the_maps_evenly_and_says_so():
    layers = [(f"conv{i}", "Conv2D") for i in range(10)]
    chosen, note = map_layers(layers, cap=4)
    assert chosen == ["conv0", "conv3", "conv6", "conv9"]
    assert "4 of the 10" in note


class Counting:
    """An array-like that records which slices were read."""

    def __init__(self, values):
        self.values, self.reads = values, []
        self.shape, self.dtype, self.ndim = values.shape, values.dtype, values.ndim

    def __getitem__(self, key):
        self.reads.append(key)
        return self.values[key]

    def __array__(self, dtype=None, copy=None):
        raise AssertionError("the whole tensor was read")


def test_pictures_read_only_the_slice_they_show():
    kernel = Counting(np.random.default_rng(0).normal(size=(3, 3, 100, 200)).astype(np.float32))
    layer = LayerSnapshot("c", "Conv2D", "", 0, True, "", (), path="c")
    figure = weight_figure(layer, "kernel", kernel, None, None, Options(max_filters=8,
                                                                         max_channels=4))
    assert "showing 4 of 100 input channels" in figure.note
    assert "showing 8 of 200 filters" in figure.note
    matrix = Counting(np.ones((5000, 3000), np.float32))
    dense = LayerSnapshot("d", "Dense", "", 0, True, "", (), path="d")
    figure = weight_figure(dense, "kernel", matrix, None, None, Options())
    assert "showing 256 of 5000 rows" in figure.note
    assert len(matrix.reads) == 1
