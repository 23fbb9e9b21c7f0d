"""Per-class mean activation of the layer before the output, against numpy group means."""

import numpy as np
import pytest

from reportgen.analyse.class_activations import ClassActivationAccumulator, penultimate_layer
from reportgen.draw.evaluation_pictures import class_activation_cells, class_activation_picture


def sample(n: int = 90, units: int = 40, seed: int = 1):
    """Labels of 4 classes (class 2 absent) and outputs where units 3k+1 prefer class k."""
    rng = np.random.default_rng(seed)
    labels = rng.choice([0, 1, 3], size=n)
    outputs = rng.random((n, units)).astype(np.float32)
    for k in range(4):
        outputs[labels == k, 3 * k + 1] += 5 + k
    return labels, outputs


def streamed(labels, outputs, batch: int, top: int = 8):
    accumulator = ClassActivationAccumulator("dense", 4, top_units=top)
    for start in range(0, len(labels), batch):
        accumulator.add(labels[start:start + batch], outputs[start:start + batch])
    return accumulator.result()


@pytest.mark.parametrize("batch", [1, 16, 90])
def test_class_means_and_top_units_equal_numpy_group_means(batch):
    labels, outputs = sample()
    facts = streamed(labels, outputs, batch)
    present = [0, 1, 3]
    means = {c: outputs[labels == c].astype(np.float64).mean(axis=0) for c in present}
    spread = np.std([means[c] for c in present], axis=0)
    top = set(np.argsort(-spread)[:8].tolist())
    assert set(facts.units) == top and facts.n_units == 40
    assert facts.class_counts == tuple(int((labels == c).sum()) for c in range(4))
    for c in range(4):
        if c in present:
            assert facts.means[c] == pytest.approx([means[c][u] for u in facts.units], rel=1e-9)
        else:
            assert facts.means[c] == (None,) * 8
    assert facts.spread == pytest.approx([spread[u] for u in facts.units], rel=1e-9)


def test_units_are_grouped_by_the_class_that_drives_them():
    labels, outputs = sample()
    facts = streamed(labels, outputs, 30, top=3)
    # Units 1, 4 and 10 prefer classes 0, 1 and 3 (shifted by 5, 6 and 8).
    assert facts.units == (1, 4, 10)


def test_maps_are_averaged_over_their_positions():
    rng = np.random.default_rng(2)
    maps = rng.random((12, 3, 5, 6)).astype(np.float32)
    labels = np.arange(12) % 2
    accumulator = ClassActivationAccumulator("conv", 2, top_units=6)
    accumulator.add(labels[:5], maps[:5])
    accumulator.add(labels[5:], maps[5:])
    facts = accumulator.result()
    assert facts.spatial_mean
    expected = maps[labels == 1].astype(np.float64).mean(axis=(0, 1, 2))
    assert facts.means[1] == pytest.approx([expected[u] for u in facts.units], rel=1e-9)


def test_non_finite_values_are_counted_not_averaged():
    outputs = np.ones((4, 3), np.float32)
    outputs[0, 1] = np.nan
    accumulator = ClassActivationAccumulator("dense", 1)
    accumulator.add(np.zeros(4, int), outputs)
    facts = accumulator.result()
    assert facts.n_non_finite == 1 and all(np.isfinite(v) for v in facts.means[0])


def test_penultimate_layer_passes_over_dropout():
    book = [("conv2d", "Conv2D"), ("flatten", "Flatten"), ("dense", "Dense"),
            ("dropout", "Dropout"), ("dense_1", "Dense")]
    assert penultimate_layer(book) == "dense"
    assert penultimate_layer([("pool", "GlobalAveragePooling2D"), ("out", "Dense")]) == "pool"
    assert penultimate_layer([("in", "InputLayer"), ("out", "Dense")]) is None


def test_heatmap_columns_span_each_unit_from_its_lowest_class_mean_to_its_highest():
    labels, outputs = sample()
    facts = streamed(labels, outputs, 90)
    cells = class_activation_cells(facts)
    assert cells.shape == (4, 8) and np.isnan(cells[2]).all()
    present = cells[[0, 1, 3]]
    assert np.allclose(present.min(axis=0), 0) and np.allclose(present.max(axis=0), 1)
    grid = class_activation_picture(facts, ("a", "b", "c", "<d>"))
    assert [t.text for t in grid.texts[:4]] == ["a", "b", "c", "<d>"]
    assert len(grid.cells) == 4 * 8 and "no images" in grid.cells[2 * 8].title


def test_above_30_classes_the_heatmap_shows_the_first_30_and_says_so():
    from reportgen.sections.responses.responses_view import class_activation_view

    rng = np.random.default_rng(4)
    accumulator = ClassActivationAccumulator("pool", 40)
    accumulator.add(np.arange(200) % 40, rng.random((200, 50)))
    facts = accumulator.result()
    grid = class_activation_picture(facts, ())
    assert grid.picture.height == 30 * 10        # 30 rows of cell_px(30, 320) = 10 px
    assert [t.text for t in grid.texts[:30]] == [str(c) for c in range(30)]
    assert "the first 30 of the 40 classes" in class_activation_view(facts, grid, "r")["caption"]
    assert len(facts.means) == 40
