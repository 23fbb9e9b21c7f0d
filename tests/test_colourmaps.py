import numpy as np
import pytest

from reportgen.draw.colourmaps import TABLES
from reportgen.draw.images import colour_table


@pytest.mark.parametrize("name", sorted(TABLES))
def test_frozen_tables_equal_matplotlib(name):
    colormaps = pytest.importorskip("matplotlib").colormaps
    expected = (colormaps[name](np.linspace(0.0, 1.0, 256)) * 255).round().astype(np.uint8)
    assert np.array_equal(colour_table(name), expected)
