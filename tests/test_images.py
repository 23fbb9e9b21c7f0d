import numpy as np
import pytest

from reportgen.draw import images


def matplotlib_rgb(cmap_name, values, vmin, vmax):
    """The colours matplotlib's imshow(vmin=, vmax=) gives `values`, to the nearest 8 bits."""
    mpl = pytest.importorskip("matplotlib")
    from matplotlib.colors import Normalize

    rgba = mpl.colormaps[cmap_name](Normalize(vmin, vmax)(values))
    return (rgba[..., :3] * 255).round().astype(np.uint8)


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


@pytest.mark.parametrize("cmap_name", ["RdBu_r", "viridis", "gray_r"])
def test_colours_are_matplotlibs_for_every_value(cmap_name):
    values = np.random.default_rng(4).normal(0, 0.3, size=(40, 50)).astype(np.float32)
    values[0, :4] = [-0.5, 0.0, 0.5, 2.0]  # the ends, the middle, beyond the range
    values[5, 5] = np.nan
    rgba = images.colourise(values, -0.5, 0.5, cmap_name).rgba()
    expected = matplotlib_rgb(cmap_name, values, -0.5, 0.5)
    finite = ~np.isnan(values)
    assert np.array_equal(rgba[finite][:, :3], expected[finite])
    assert rgba[5, 5, 3] == 0 and (rgba[finite][:, 3] == 255).all()


def test_a_picture_with_every_colour_and_gaps_merges_two_alike_colours_only():
    ramp = np.tile(np.linspace(0.0, 1.0, 256, dtype=np.float32), (3, 1))
    ramp[1, :] = np.nan  # a gap row: 257 colours would be needed
    image = images.colourise(ramp, 0.0, 1.0, "RdBu_r")
    assert len(image.palette) == 256
    rgba = image.rgba().astype(int)
    table = images.colour_table("RdBu_r").astype(int)
    assert (rgba[1, :, 3] == 0).all()
    differs = np.flatnonzero((rgba[0] != table).any(axis=1))
    assert len(differs) == 1                                  # one level gave up its entry
    assert np.abs(rgba[0, differs[0]] - table[differs[0]]).max() <= 1  # to a look-alike


def test_maps_of_every_size_get_tiles_of_56_to_111_pixels():
    # (side, up, down): small maps drawn larger by whole factors, large ones averaged down.
    for side, up, down in ((28, 2, 1), (30, 2, 1), (7, 8, 1), (1, 56, 1), (55, 2, 1),
                           (56, 1, 1), (80, 1, 1), (112, 1, 2), (224, 1, 4)):
        assert images.map_zoom(side, side) == (up, down)
        assert 56 <= side * up // down <= 111


def test_30x30_maps_are_drawn_2x_like_28x28_maps():
    small = images.feature_image(np.random.default_rng(0).random((30, 30, 2), np.float32), 64)
    # Two 60 px tiles 2 px apart.
    assert small.shape == (60, 2 * 60 + 2)
    assert (small.rgba()[:, 60:62, 3] == 0).all()


def test_feature_maps_are_scaled_per_map_and_dead_maps_are_flat():
    act = np.zeros((4, 4, 2), np.float32)
    act[..., 1] = np.arange(16).reshape(4, 4) * 100
    rgba = images.feature_image(act, max_channels=64).rgba()
    table = images.colour_table(images.FEATURE_CMAP)
    assert rgba.shape[:2] == (56, 56 * 2 + 2)              # 4x4 maps drawn 14x
    left = rgba[:, :56]
    assert (left[..., :3] == table[0][:3]).all()          # the dead map: lowest colour
    right = rgba[:, -56:]
    assert np.array_equal(right[-1, -1], table[255])      # its largest value: highest colour


def test_feature_maps_are_capped():
    small = images.feature_image(np.ones((6, 6, 10), np.float32), max_channels=4)
    big = images.feature_image(np.ones((6, 6, 10), np.float32), max_channels=10)
    assert small.shape[1] < big.shape[1]


def test_large_feature_maps_are_averaged_down():
    act = np.zeros((112, 112, 1), np.float32)
    act[:56] = 1.0  # top half bright
    small = images.feature_image(act, max_channels=1).rgba()
    assert small.shape[:2] == (56, 56)  # 112 averaged down 2x, then drawn 1:1
    table = images.colour_table(images.FEATURE_CMAP)
    assert np.array_equal(small[0, 0], table[255]) and np.array_equal(small[-1, 0], table[0])


def grid_outputs():
    rng = np.random.default_rng(7)
    return [rng.normal(size=(6, 6, 5)).astype(np.float32) * (k + 1) for k in range(3)]


def test_feature_maps_are_every_channel_eight_a_row_as_the_chapter_draws_them():
    # The chapter's 4x8 figure of 32 maps and 8x8 of 64; 12 channels wrap to 8 + 4.
    act = np.random.default_rng(7).normal(size=(6, 6, 12)).astype(np.float32)
    rgba = images.feature_image(act, max_channels=64).rgba()
    # 6x6 maps drawn 10x: 60 px tiles, 2 px apart; 2 rows x 8 columns.
    assert rgba.shape[:2] == (2 * 62 - 2, 8 * 62 - 2)
    # Channel 11 is row 1, column 3, on its own scale as imshow(act[..., 11]) colours it.
    tile = rgba[62: 62 + 60: 10, 3 * 62: 3 * 62 + 60: 10, :3]
    values = act[..., 11]
    assert np.array_equal(tile, matplotlib_rgb("viridis", values, values.min(), values.max()))
    assert rgba[62:, 4 * 62:, 3].max() == 0  # the row's last four places stay empty
    for n, grid in ((32, (4, 8)), (64, (8, 8))):
        shape = images.feature_image(np.ones((28, 28, n), np.float32), 64).rgba().shape
        assert shape[:2] == (grid[0] * 58 - 2, grid[1] * 58 - 2)


def test_one_channel_inputs_are_drawn_gray_r_on_their_own_range_like_the_chapter():
    image = np.random.default_rng(2).random((28, 28, 1)).astype(np.float32) * 0.8 + 0.1
    rgba = images.input_image(image).rgba()
    assert rgba.shape[:2] == (224, 224)                   # 28 px drawn 8x
    expected = matplotlib_rgb("gray_r", image[..., 0], image.min(), image.max())
    assert np.array_equal(rgba[::8, ::8, :3], expected)
    assert tuple(rgba[::8, ::8][image[..., 0] == image.max()][0, :3]) == (0, 0, 0)  # black ink


def test_rgb_inputs_in_0_to_1_are_drawn_as_they_are():
    image = np.random.default_rng(3).random((32, 32, 3)).astype(np.float32) * 0.5
    rgba = images.input_image(image)
    assert rgba.shape == (224, 224, 4)                    # 32 px drawn 7x
    assert np.array_equal(rgba[::7, ::7, :3], (image * 255).round().astype(np.uint8))


def test_input_image_of_a_flat_vector_is_square():
    rgba = images.input_image(np.linspace(0, 1, 16, dtype=np.float32)).rgba()
    assert rgba.shape[0] == rgba.shape[1]


def test_balanced_lines_wrap_32_filters_as_the_textbook_does():
    # 26 px tiles: 24 fit in 640 px, so 32 filters make 2 lines of 16, not 24 and 8.
    assert images.balanced_line(32, 24) == 16
    assert images.balanced_line(8, 24) == 8
