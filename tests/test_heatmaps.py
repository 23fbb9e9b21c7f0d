import numpy as np

from reportgen.draw import heatmaps, images


def test_a_100x10_dense_kernel_is_a_readable_rectangle_not_a_strip():
    tiles = np.zeros((1, 100, 10), np.float32)
    image = heatmaps.heatmap_image(tiles, -1.0, 1.0, "RdBu_r")
    assert image.shape == (100 * 3, 10 * 48)               # 3 px a row, 48 px a column


def test_an_embedding_is_not_a_sliver():
    image = heatmaps.heatmap_image(np.zeros((1, 256, 16), np.float32), -1.0, 1.0, "RdBu_r")
    assert image.shape == (256 * 2, 16 * 30)


def test_every_row_and_column_keeps_two_pixels():
    assert heatmaps.cell_px(256, 320) == 2 and heatmaps.cell_px(1, 480) == 48


def test_cells_hold_their_values_and_parts_are_4_px_apart():
    tiles = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    image = heatmaps.heatmap_image(tiles, 0.0, 23.0, "viridis")
    # 2 parts of 4 columns and 3 rows: cells of 48 px (the most) each way.
    assert image.shape == (3 * 48, 2 * 4 * 48 + 4)
    rgba = image.rgba()
    assert (rgba[:, 192:196, 3] == 0).all() and (rgba[:, :192, 3] == 255).all()
    # Part 1, row 2, column 3 (value 1 * 12 + 2 * 4 + 3 = 23, the top colour) fills its cell.
    cell = rgba[96:144, 196 + 144: 196 + 192]
    assert (cell == images.colour_table("viridis")[255]).all()


def test_matrix_tiles_split_gates_and_cap():
    matrix = np.arange(6 * 8).reshape(6, 8)
    tiles = heatmaps.matrix_tiles(matrix, 4, max_rows=5, max_cols=1)
    assert tiles.shape == (4, 5, 1) and tiles[3, 0, 0] == 6
