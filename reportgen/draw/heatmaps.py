"""Weight matrices as heatmaps sized for the screen: Dense kernels, embeddings, recurrent
gates, 1x1 convolutions and per-filter norms.

Rows and columns get their own cell size, so that a 100x10 matrix is about 480x300 pixels
rather than a 60 px strip, and a 1000x16 embedding is not a sliver.
"""

from __future__ import annotations

import numpy as np

from reportgen.draw.images import Indexed, colourise, mosaic

HEATMAP_WIDTH = 480     # what a heatmap's width aims for (all parts together)
HEATMAP_HEIGHT = 320    # and its height
MIN_CELL_PX = 2         # every row and column stays visible
MAX_CELL_PX = 48        # a handful of rows does not become a wall of colour
PART_GAP = 4            # between the parts (gates) drawn side by side


def cell_px(n: int, target_px: int) -> int:
    """Pixels per row (or column) that bring n of them near target_px, within 2..48."""
    return int(np.clip(target_px // max(n, 1), MIN_CELL_PX, MAX_CELL_PX))


def matrix_tiles(matrix: np.ndarray, n_parts: int, max_rows: int, max_cols: int) -> np.ndarray:
    """A 2-D weight matrix split into n_parts column blocks (gates), each capped: (n, rows, cols)."""
    part = matrix.shape[1] // n_parts
    blocks = matrix[:max_rows, : part * n_parts].reshape(min(matrix.shape[0], max_rows),
                                                          n_parts, part)
    return blocks[:, :, :max_cols].transpose(1, 0, 2)


def heatmap_image(tiles: np.ndarray, vmin: float, vmax: float, cmap_name: str) -> Indexed:
    """Heatmaps of (n, rows, cols) tiles side by side, 4 px apart, cells sized by cell_px."""
    n, rows, cols = tiles.shape
    cell_w, cell_h = cell_px(n * cols, HEATMAP_WIDTH), cell_px(rows, HEATMAP_HEIGHT)
    cells = tiles.astype(np.float32).repeat(cell_h, axis=1).repeat(cell_w, axis=2)
    return colourise(mosaic(cells, n, 1, PART_GAP), vmin, vmax, cmap_name)
