import numpy as np

from reportgen.draw.scales import weight_scale


def test_auto_is_the_99_5th_percentile_of_the_absolute_weights():
    weights = np.random.default_rng(0).normal(0, 0.03, size=(3, 3, 32, 64)).astype(np.float32)
    scale = weight_scale(weights, "auto")
    assert scale.half_range == np.percentile(np.abs(weights), 99.5)
    assert scale.note.startswith(f"symmetric, ±{scale.half_range:.3g}: the 99.5th percentile")


def test_a_small_layer_saturates_its_8_largest_weights():
    # The book's first layer: 288 weights, a handful of outliers far above the rest.
    weights = np.random.default_rng(1).normal(0, 0.2, size=(3, 3, 1, 32)).astype(np.float32)
    weights[0, 0, 0, :3] = [1.2, -1.7, 1.0]
    scale = weight_scale(weights, "auto")
    assert scale.half_range == np.percentile(np.abs(weights), 100 * (1 - 8 / 288))
    assert (np.abs(weights) > scale.half_range).sum() == 8
    assert weight_scale(np.ones(27, np.float32), "auto").note.endswith(
        "the 95th percentile of |w| in this layer, so that its 8 largest saturate")


def test_auto_ignores_nan_and_inf():
    weights = np.array([0.1, -0.2, np.nan, np.inf, 0.3] * 400, np.float32)
    finite = np.abs(weights[np.isfinite(weights)])
    assert weight_scale(weights, "auto").half_range == np.percentile(finite, 99.5)


def test_a_mostly_zero_layer_falls_back_to_its_largest_weight():
    weights = np.zeros(1000, np.float32)
    weights[0] = -0.7
    scale = weight_scale(weights, "auto")
    assert scale.half_range == np.float32(0.7) and "largest |w|" in scale.note


def test_layer_is_the_largest_absolute_weight_and_a_number_is_fixed():
    weights = np.array([0.1, -0.9, 0.4], np.float32)
    assert weight_scale(weights, "layer").half_range == np.float32(0.9)
    fixed = weight_scale(weights, "0.5")
    assert fixed.half_range == 0.5 and "imshow(vmin=-0.5, vmax=0.5)" in fixed.note


def test_nothing_finite_gives_a_unit_scale():
    assert weight_scale(np.full(4, np.nan, np.float32), "auto").half_range == 1.0
