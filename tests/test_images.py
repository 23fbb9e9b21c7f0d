import numpy as np
import pytest

from reportgen.draw import images


def test_mosaic_places_each_tile_and_fills_gaps_with_nan():
    tiles = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    grid = images.mosaic(tiles, n_cols=3, scale=2, gap=1)
    # 2 rows of 3 tiles, each 4x6 after scaling, 1-pixel gaps between them.
    assert grid.shape == (2 * 4 + 1, 3 * 6 + 2)
    second = grid[0:4, 7:13]
    assert np.array_equal(second, tiles[1].repeat(2, 0).repeat(2, 1))
    fifth = grid[5:9, 7:13]
    assert np.array_equal(fifth, tiles[4].repeat(2, 0).repeat(2, 1))
    assert np.isnan(grid[4]).all() and np.isnan(grid[:, 6]).all()
    assert np.isnan(grid[5:9, 14:20]).all()  # the empty sixth slot


def test_kernel_grid_is_filters_by_input_channels_with_caps():
    kernel = np.random.default_rng(1).normal(size=(3, 3, 5, 20)).astype(np.float32)
    grid = images.kernel_grid(kernel, "Conv2D", max_filters=8, max_channels=4)
    assert (grid.n_rows_shown, grid.n_rows_total, grid.n_cols_shown, grid.n_cols_total) == (4, 5, 8, 20)
    assert grid.tiles.shape == (32, 3, 3) and grid.n_cols == 8
    # Tile (row 2 = input channel 2, column 5 = filter 5).
    assert np.array_equal(grid.tiles[2 * 8 + 5], kernel[:, :, 2, 5])


def test_single_channel_kernels_wrap_like_the_textbook():
    grid = images.kernel_grid(np.zeros((3, 3, 1, 32)), "Conv2D", 64, 64)
    assert grid.n_cols == 16  # 32 filters as 2 rows of 16


def test_transposed_convolution_has_filters_on_rows():
    grid = images.kernel_grid(np.zeros((3, 3, 6, 2)), "Conv2DTranspose", 64, 64)
    assert (grid.row_axis, grid.col_axis) == ("filters", "input channels")


@pytest.mark.parametrize("shape, tile", [((5, 2, 4), (1, 5)), ((2, 3, 3, 2, 4), (3, 6))])
def test_1d_and_3d_kernels_become_2d_tiles(shape, tile):
    grid = images.kernel_grid(np.zeros(shape), "ConvND", 64, 64)
    assert grid.tiles.shape[1:] == tile


def test_kernel_colours_are_symmetric_around_zero():
    kernel = np.zeros((1, 1, 1, 3), np.float32)
    kernel[..., 0], kernel[..., 2] = -0.5, 0.5
    grid = images.kernel_grid(kernel, "Conv2D", 64, 64)
    rgba = images.kernel_image(grid, vmax=0.5).rgba()
    table = images.colour_table(images.KERNEL_CMAP)
    assert np.array_equal(rgba[0, 0], table[0])           # -0.5: lowest colour
    middle = rgba[0, rgba.shape[1] // 2]
    assert np.array_equal(middle, table[128])             # 0: the middle colour
    assert np.array_equal(rgba[0, -1], table[255])        # +0.5: highest colour
    assert (rgba[..., 3] == 0).any()                      # gaps are transparent


def test_feature_maps_are_scaled_per_map_and_dead_maps_are_flat():
    act = np.zeros((4, 4, 2), np.float32)
    act[..., 1] = np.arange(16).reshape(4, 4) * 100
    rgba = images.feature_image(act, max_channels=64).rgba()
    table = images.colour_table(images.FEATURE_CMAP)
    h = (rgba.shape[0])
    left = rgba[:h, : (rgba.shape[1] - 2) // 2]
    assert (left[..., :3] == table[0][:3]).all()          # the dead map: lowest colour
    right = rgba[:h, -((rgba.shape[1] - 2) // 2):]
    assert np.array_equal(right[-1, -1], table[255])      # its largest value: highest colour


def test_feature_maps_are_capped():
    small = images.feature_image(np.ones((6, 6, 10), np.float32), max_channels=4)
    big = images.feature_image(np.ones((6, 6, 10), np.float32), max_channels=10)
    assert small.shape[1] < big.shape[1]


def test_colour_filters_map_zero_to_grey():
    kernel = np.zeros((2, 2, 3, 2), np.float32)
    kernel[0, 0, 0, 1] = 1.0
    rgba = images.colour_filters_image(kernel, max_filters=64)
    assert tuple(rgba[-1, 0, :3]) == (128, 128, 128)
    assert rgba.dtype == np.uint8 and rgba.shape[2] == 4


def test_input_image_of_a_flat_vector_is_square():
    rgba = images.input_image(np.linspace(0, 1, 16, dtype=np.float32)).rgba()
    assert rgba.shape[0] == rgba.shape[1]


def test_large_feature_maps_are_averaged_down_to_tile_size():
    assert images.shrink_factor(28, 28) == 1 and images.shrink_factor(112, 112) == 2
    act = np.zeros((112, 112, 1), np.float32)
    act[:56] = 1.0  # top half bright
    small = images.feature_image(act, max_channels=1).rgba()
    assert small.shape[0] == 56  # 112 averaged down 2x, then drawn 1:1
    table = images.colour_table(images.FEATURE_CMAP)
    assert np.array_equal(small[0, 0], table[255]) and np.array_equal(small[-1, 0], table[0])
