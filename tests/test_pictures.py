import base64
import io

import numpy as np
import pytest
from PIL import Image

from reportgen.options import Options
from reportgen.draw.pictures import (feature_grids, feature_picture, input_picture, layer_figures,
                                     map_layers, picture, weight_figure)
from reportgen.load.snapshot import LayerSnapshot, ModelSnapshot, WeightArray


def pixels(picture) -> np.ndarray:
    """A Picture's PNG decoded to RGBA."""
    png = base64.b64decode(picture.uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def matplotlib_rgb(cmap_name, values, vmin, vmax):
    """The colours matplotlib's imshow(vmin=, vmax=) gives `values`, to the nearest 8 bits."""
    mpl = pytest.importorskip("matplotlib")
    from matplotlib.colors import Normalize

    rgba = mpl.colormaps[cmap_name](Normalize(vmin, vmax)(values))
    return (rgba[..., :3] * 255).round().astype(np.uint8)


def conv(name="c", class_name="Conv2D"):
    return LayerSnapshot(name, class_name, "", 0, True, "", (), path=name)


def test_feature_maps_go_to_conv_pool_and_activation_layers():
    layers = [("c", "Conv2D"), ("bn", "BatchNormalization"), ("r", "ReLU"), ("p", "MaxPooling2D"),
              ("f", "Flatten"), ("d", "Dense")]
    assert map_layers(layers, cap=10) == (["c", "r", "p"], "")


def test_a_cap_spreads_the_maps_evenly_and_says_so():
    layers = [(f"conv{i}", "Conv2D") for i in range(10)]
    chosen, note = map_layers(layers, cap=4)
    assert chosen == ["conv0", "conv3", "conv6", "conv9"]
    assert "4 of the 10" in note


def first_layer_tiles(rgba: np.ndarray) -> np.ndarray:
    """The (3, 3, 32) weights' colours of a 3x3x1x32 mosaic: 2 lines of 16 filters,
    16 px a weight, 48 px tiles 2 px apart (the textbook's 2 x 16 subplots)."""
    return np.stack([np.stack([rgba[(f // 16) * 50 + i * 16, (f % 16) * 50 + j * 16, :3]
                               for j in range(3)]) for i in range(3) for f in range(32)]) \
        .reshape(3, 32, 3, 3).transpose(0, 2, 1, 3)


def test_a_fixed_kernel_scale_reproduces_the_textbooks_imshow_exactly():
    rng = np.random.default_rng(8)
    kernel = rng.normal(0, 0.25, size=(3, 3, 1, 32)).astype(np.float32)  # conv1's spread
    fresh = rng.normal(0, 0.08, size=(3, 3, 1, 32)).astype(np.float32)
    figure = weight_figure(conv(), "kernel", kernel, fresh, None, Options(kernel_scale="0.5"))
    assert (figure.low, figure.high) == (-0.5, 0.5)
    assert "imshow(vmin=-0.5, vmax=0.5)" in figure.scale_note
    trained, initial = figure.pictures
    # plt.imshow(kernel[:, :, 0, f], cmap='RdBu_r', vmin=-0.5, vmax=0.5) for every filter f.
    for pic, weights in ((trained, kernel), (initial, fresh)):
        drawn = first_layer_tiles(pixels(pic))
        assert np.array_equal(drawn, matplotlib_rgb("RdBu_r", weights[:, :, 0, :], -0.5, 0.5))
    assert (np.abs(kernel) > 0.5).any()  # values beyond the scale took its end colours


def test_the_book_style_draws_the_chapters_viridis_filters_at_half_a_unit(tmp_path):
    # The chapter: plt.imshow(conv_weights[:, :, 0, i*16 + j], vmin=-0.5, vmax=0.5) in
    # matplotlib's default colour map, viridis, whatever --kernel-scale says.
    rng = np.random.default_rng(18)
    kernel = rng.normal(0, 0.25, size=(3, 3, 1, 32)).astype(np.float32)
    fresh = rng.normal(0, 0.08, size=(3, 3, 1, 32)).astype(np.float32)
    figure = weight_figure(conv(), "kernel", kernel, fresh, None,
                           Options(style="book", kernel_scale="layer"))
    assert (figure.low, figure.high, figure.bar) == (-0.5, 0.5, "kernel-book")
    assert "--style book" in figure.scale_note
    for pic, weights in zip(figure.pictures, (kernel, fresh)):
        drawn = first_layer_tiles(pixels(pic))
        assert np.array_equal(drawn, matplotlib_rgb("viridis", weights[:, :, 0, :], -0.5, 0.5))
        assert pic.drawn.colour_map == "viridis" and pic.drawn.grid == (2, 16)


def test_auto_scale_is_the_robust_maximum_and_fresh_shares_it():
    rng = np.random.default_rng(9)
    kernel = rng.normal(0, 0.03, size=(3, 3, 1, 32)).astype(np.float32)  # a CIFAR-like layer
    fresh = rng.normal(0, 0.2, size=(3, 3, 1, 32)).astype(np.float32)
    figure = weight_figure(conv(), "kernel", kernel, fresh, None, Options(kernel_scale="auto"))
    # 288 weights: the 99.5th percentile would saturate 1.4 of them; the 8 largest saturate.
    robust = np.percentile(np.abs(kernel), 100 * (1 - 8 / 288))
    assert figure.high == robust and figure.low == -robust
    assert figure.scale_note == (f"symmetric, ±{robust:.3g}: the 97.2th percentile of |w| in "
                                 f"this layer, so that its 8 largest saturate")
    drawn = first_layer_tiles(pixels(figure.pictures[1]))
    assert np.array_equal(drawn, matplotlib_rgb("RdBu_r", fresh[:, :, 0, :], -robust, robust))


def test_layer_scale_keeps_its_meaning():
    kernel = np.random.default_rng(1).normal(size=(3, 3, 1, 4)).astype(np.float32)
    figure = weight_figure(conv(), "kernel", kernel, None, None, Options(kernel_scale="layer"))
    assert figure.high == np.abs(kernel).max()


def test_many_input_channels_draw_eight_and_every_filters_norm():
    rng = np.random.default_rng(10)
    kernel = rng.normal(0, 0.05, size=(3, 3, 32, 64)).astype(np.float32)  # the book's conv2
    fresh = rng.normal(0, 0.08, size=(3, 3, 32, 64)).astype(np.float32)
    figure = weight_figure(conv(), "kernel", kernel, fresh, None, Options())
    trained, initial, trained_norms, fresh_norms = figure.pictures
    assert "the filters of the first 8 of 32 input channels are drawn" in figure.note
    assert "32 input channels (rows) x 64 filters (columns)" in figure.note
    assert trained.width <= 960 and trained.height == 8 * 50 + 7 * 8
    assert (trained_norms.axes.rows, trained_norms.axes.columns) == ("input channels", "filters")
    norms = np.array([[np.linalg.norm(kernel[:, :, i, o]) for o in range(64)] for i in range(32)])
    top = max(norms.max(), max(np.linalg.norm(fresh[:, :, i, o]) for i in range(32)
                               for o in range(64)))
    # 32 rows of 10 px, 64 columns of 7 px; trained and fresh on one scale from 0.
    rgba = pixels(trained_norms)
    assert rgba.shape[:2] == (320, 448)
    assert np.array_equal(rgba[::10, ::7, :3], matplotlib_rgb("viridis", norms, 0.0, top))
    assert f"0 to {top:.3g}" in fresh_norms.caption


def test_a_1x1_kernel_is_a_heatmap_of_input_channels_by_filters():
    kernel = np.random.default_rng(2).normal(size=(1, 1, 64, 128)).astype(np.float32)
    figure = weight_figure(conv(), "kernel", kernel[..., :64], None, None, Options())
    assert figure.title == "kernel as a heatmap"
    assert figure.pictures[0].axes.rows == "input channels"
    full = weight_figure(conv(), "kernel", kernel, None, None, Options())
    assert "showing 64 of 128 filters" in full.note


def test_first_layers_with_three_channels_keep_the_rgb_view():
    kernel = np.random.default_rng(3).normal(size=(3, 3, 3, 16)).astype(np.float32)
    figure = weight_figure(conv(), "kernel", kernel, None, None, Options())
    assert figure.pictures[-1].caption == "as colour filters"


def dense(name="out"):
    return LayerSnapshot(name, "Dense", "", 0, True, "", (), path=name)


def test_a_dense_output_layer_is_a_readable_heatmap_with_class_names():
    kernel = np.random.default_rng(4).normal(size=(100, 10)).astype(np.float32)
    names = tuple(f"class {k}" for k in range(10))
    figure = weight_figure(dense(), "kernel", kernel, None, None, Options(kernel_scale="auto"),
                           names)
    picture_ = figure.pictures[0]
    assert (picture_.width, picture_.height) == (480, 300)
    assert picture_.axes.rows == "inputs" and picture_.axes.column_labels == names
    assert figure.high == np.percentile(np.abs(kernel), 100 * (1 - 8 / 1000))  # 1,000 weights
    # The names are written above their columns (page text, not pixels): class k over the
    # k-th 48-pixel column.
    from reportgen.draw.labelled_grid import named_columns

    grid = named_columns(picture_)
    written = [t for t in grid.texts if t.role == "name"]
    assert [t.title or t.text for t in written] == list(names)
    anchors = np.array([t.x - grid.image_x for t in written])
    assert np.diff(anchors) == pytest.approx([48] * 9) and 0 < anchors[0] < 48


def test_more_than_30_columns_are_not_named():
    kernel = np.zeros((20, 40), np.float32)
    figure = weight_figure(dense(), "kernel", kernel, None, None, Options(),
                           tuple(str(k) for k in range(40)))
    assert figure.pictures[0].axes.column_labels == ()
    assert "not written" in figure.note


def test_layer_figures_pass_class_names_to_the_layer_they_name():
    weights = (WeightArray("kernel", np.ones((4, 3), np.float32), True),)
    layer = LayerSnapshot("out", "Dense", "", 12, True, "", weights, path="out")
    figures = layer_figures(ModelSnapshot("Sequential", (layer,)), None, Options(),
                            {"out": ("a", "b", "c")})
    assert figures["out"][0].pictures[0].axes.column_labels == ("a", "b", "c")


def test_feature_maps_state_their_zoom():
    small = feature_picture("c", np.zeros((30, 30, 4), np.float32), Options())
    assert "drawn 2x (60 px)" in small.caption
    big = feature_picture("c", np.zeros((224, 224, 4), np.float32), Options())
    assert "averaged down 4x (56 px)" in big.caption


def test_feature_maps_are_one_grid_per_input_with_every_channel():
    outputs = [np.random.default_rng(k).random((7, 7, 20)).astype(np.float32) for k in range(3)]
    grids = feature_grids(outputs, "conv", Options(), ("a.png", "b.png", "c.png"))
    assert len(grids) == 3 and "for b.png" in grids[1].alt
    # 7x7 maps drawn 8x (56 px): 20 channels make 3 rows of 8.
    assert (grids[0].height, grids[0].width) == (3 * 58 - 2, 8 * 58 - 2)
    assert grids[0].axes.row_labels == ("0-7", "8-15", "16-19")
    assert grids[0].caption == "20 maps of 7x7, drawn 8x (56 px)"
    capped = feature_grids(outputs[:1], "conv", Options(max_channels=16))[0]
    assert capped.height == 2 * 58 - 2 and capped.caption.startswith("showing 16 of 20")
    assert feature_grids([np.zeros((5, 3), np.float32)], "lstm", Options()) == ()


def test_one_channel_inputs_state_their_range_and_gray_r():
    image = np.linspace(0, 1, 28 * 28, dtype=np.float32).reshape(28, 28, 1)
    pic = input_picture("shirt.png", image)
    assert pic.caption == "shirt.png: 0 white to 1 black (gray_r)" and pic.alt
    assert (pic.width, pic.height) == (224, 224)


def test_wide_pictures_are_displayed_at_most_640_wide():
    wide = picture(np.zeros((100, 1280, 4), np.uint8), "wide")
    assert (wide.width, wide.display_width, wide.display_height) == (1280, 640, 50)


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
    figure = weight_figure(conv(), "kernel", kernel, None, None, Options(max_filters=8,
                                                                         max_channels=4))
    assert "the filters of the first 4 of 100 input channels are drawn" in figure.note
    assert "showing 8 of 200 filters" in figure.note
    matrix = Counting(np.ones((5000, 3000), np.float32))
    figure = weight_figure(dense("d"), "kernel", matrix, None, None, Options())
    assert "showing 256 of 5000 rows" in figure.note
    assert "showing 128 of 3000 columns" in figure.note
    assert len(matrix.reads) == 1
