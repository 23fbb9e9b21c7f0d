import numpy as np
import pytest

from reportgen.draw import kernels


def test_kernel_grid_groups_filters_by_input_channel_with_caps():
    kernel = np.random.default_rng(1).normal(size=(3, 3, 5, 20)).astype(np.float32)
    grid = kernels.kernel_grid(kernel, "Conv2D", max_filters=8, max_channels=4)
    assert (grid.n_groups_shown, grid.n_groups_total, grid.n_tiles_shown, grid.n_tiles_total) \
        == (4, 5, 8, 20)
    assert grid.tiles.shape == (4, 8, 3, 3)
    assert (grid.group_axis, grid.tile_axis) == ("input channels", "filters")
    assert np.array_equal(grid.tiles[2, 5], kernel[:, :, 2, 5])  # input channel 2, filter 5


def test_many_input_channels_draw_the_filters_of_the_first_eight():
    kernel = np.zeros((3, 3, 32, 64), np.float32)
    grid = kernels.kernel_grid(kernel, "Conv2D", 64, 64)
    assert grid.tiles.shape == (8, 64, 3, 3) and grid.n_groups_total == 32


def test_the_totals_of_a_cut_kernel_are_the_whole_kernels():
    grid = kernels.kernel_grid(np.zeros((3, 3, 64, 64)), "Conv2D", 64, 64, totals=(512, 512))
    assert (grid.n_groups_total, grid.n_tiles_total) == (512, 512)


def test_an_axis_of_one_makes_a_single_group_of_the_other():
    depthwise = kernels.kernel_grid(np.zeros((3, 3, 16, 1)), "DepthwiseConv2D", 64, 64)
    assert depthwise.tiles.shape == (1, 16, 3, 3) and depthwise.tile_axis == "input channels"
    first = kernels.kernel_grid(np.zeros((3, 3, 1, 32)), "Conv2D", 64, 64)
    assert first.tiles.shape == (1, 32, 3, 3) and first.tile_axis == "filters"


def test_transposed_convolution_groups_by_filter():
    grid = kernels.kernel_grid(np.zeros((3, 3, 6, 2)), "Conv2DTranspose", 64, 64)
    assert (grid.group_axis, grid.tile_axis) == ("filters", "input channels")


@pytest.mark.parametrize("shape, tile", [((5, 2, 4), (1, 5)), ((2, 3, 3, 2, 4), (3, 6))])
def test_1d_and_3d_kernels_become_2d_tiles(shape, tile):
    grid = kernels.kernel_grid(np.zeros(shape), "ConvND", 64, 64)
    assert grid.tiles.shape[2:] == tile


def test_filters_are_2_px_apart_and_input_channels_8_px_apart():
    kernel = np.random.default_rng(5).normal(0, 0.2, size=(3, 3, 2, 4)).astype(np.float32)
    rgba = kernels.kernel_image(kernels.kernel_grid(kernel, "Conv2D", 64, 64), 0.5).rgba()
    # Two groups (input channels) of one line of 4 filters; 3x3 kernels at 16 px a weight.
    assert rgba.shape[:2] == (48 + 8 + 48, 4 * 48 + 3 * 2)
    alpha = rgba[..., 3]
    for x in (48, 49, 98, 99, 148, 149):
        assert (alpha[:, x] == 0).all()                   # between filters
    assert (alpha[48:56] == 0).all()                      # between the two input channels
    tiles = np.ones(alpha.shape, bool)
    tiles[:, [48, 49, 98, 99, 148, 149]] = False
    tiles[48:56] = False
    assert (alpha[tiles] == 255).all()                    # nothing else is transparent
    # Input channel 1, filter 2 starts at y = 56, x = 100; weight (2, 1) 32 px down, 16 across.
    same = rgba[56 + 32: 56 + 48, 100 + 16: 100 + 32]
    assert (same == same[0, 0]).all()


def test_a_3x3_kernel_is_never_drawn_under_6_px_a_weight_nor_wider_than_960():
    for shape in ((3, 3, 1, 32), (3, 3, 32, 64), (3, 3, 64, 64), (7, 7, 3, 64), (5, 5, 8, 128)):
        grid = kernels.kernel_grid(np.zeros(shape, np.float32), "Conv2D", 128, 64)
        zoom, per_line = kernels.kernel_layout(*grid.tiles.shape)
        assert zoom >= 6 and per_line * (shape[1] * zoom + 2) - 2 <= 960
        assert kernels.kernel_image(grid, 0.5).shape[1] <= 960


def test_small_mosaics_are_drawn_larger_within_480_px_of_height():
    # The textbook's first layer: 32 filters, 2 lines of 16 at 16 px a weight (48 px tiles),
    # the chapter's 2x16 figure.
    assert kernels.kernel_layout(1, 32, 3, 3) == (16, 16)
    # conv2's first 8 input channels x 64 filters: 8 px a weight, 2 lines of 32 a channel.
    assert kernels.kernel_layout(8, 64, 3, 3) == (8, 32)
    height = 8 * (2 * 26 - 2) + 7 * 8
    assert kernels.kernel_image(kernels.kernel_grid(np.zeros((3, 3, 32, 64)), "Conv2D", 64, 64),
                                0.5).shape == (height, 32 * 26 - 2)


def test_filter_norms_are_the_norm_of_each_slice():
    kernel = np.random.default_rng(6).normal(size=(3, 3, 10, 7)).astype(np.float32)
    norms = kernels.filter_norms(kernel, 64, 64)
    expected = np.array([[np.linalg.norm(kernel[:, :, i, o]) for o in range(7)]
                         for i in range(10)])
    assert norms.shape == (10, 7) and np.allclose(norms, expected, rtol=1e-6)
    assert kernels.filter_norms(kernel, 4, 3).shape == (4, 3)


def test_colour_filters_map_zero_to_grey():
    kernel = np.zeros((2, 2, 3, 2), np.float32)
    kernel[0, 0, 0, 1] = 1.0
    rgba = kernels.colour_filters_image(kernel, max_filters=64)
    assert tuple(rgba[-1, 0, :3]) == (128, 128, 128)
    assert rgba.dtype == np.uint8 and rgba.shape[2] == 4
    assert (rgba[:, 2 * 24: 2 * 24 + 2, 3] == 0).all()    # 2x2 filters at 24 px a weight
