import dataclasses

import numpy as np
import pytest

from reportgen.analyse import quantise, stats
from reportgen.analyse.quantise import (CLIP_PERCENTILE, SQNR_CAP_DB, channel_axes, input_axis,
                                        quant_facts, sparsity_facts)


def normal(shape, seed=0, scale=0.1):
    return np.random.default_rng(seed).normal(0, scale, size=shape).astype(np.float32)


def wide(w):
    return w.astype(np.float64)


def naive_sqnr(w, scale):
    """SQNR (dB) of symmetric int8 at `scale` (broadcast against w), the obvious way."""
    error = w - np.clip(np.round(w / scale), -127, 127) * scale
    return 10 * np.log10((w ** 2).sum() / (error ** 2).sum())


# The output- and input-channel axes of Keras kernels


@pytest.mark.parametrize("class_name, weight, ndim, channels, inputs", [
    ("Dense", "kernel", 2, (1,), 0),
    ("Conv1D", "kernel", 3, (2,), 1),
    ("Conv2D", "conv2d/kernel:0", 4, (3,), 2),
    ("Conv3D", "kernel", 5, (4,), 3),
    ("Conv2DTranspose", "kernel", 4, (2,), 3),  # (kh, kw, out, in)
    ("DepthwiseConv2D", "kernel", 4, (2, 3), None),  # (kh, kw, in, multiplier)
    ("SeparableConv2D", "depthwise_kernel", 4, (2, 3), None),
    ("SeparableConv2D", "pointwise_kernel", 4, (3,), 2),
    ("Embedding", "embeddings", 2, (0,), None),  # per token row
    ("LSTM", "recurrent_kernel", 2, (1,), 0),
    ("SomethingNew", "kernel", 3, (2,), 1),
])
def test_channel_and_input_axes(class_name, weight, ndim, channels, inputs):
    assert channel_axes(class_name, weight, ndim) == channels
    assert input_axis(class_name, weight, ndim) == inputs


# Quantisation error


def test_uniform_weights_give_the_closed_form_sqnr():
    # Uniform on [-a, a] with step Δ = a/127: noise Δ²/12, signal a²/3, so
    # SQNR = 10·log10(4·127²) ≈ 48.16 dB. The scale comes from the sample's max|w|, which
    # for 1M draws falls short of a by about a/1M: far below the 0.1 dB allowed.
    w = np.random.default_rng(1).uniform(-0.5, 0.5, size=(1000, 1000)).astype(np.float32)
    facts = quant_facts(w, "Dense", "kernel")
    assert facts.sqnr_tensor_db == pytest.approx(10 * np.log10(4 * 127 ** 2), abs=0.1)
    assert facts.max_abs == pytest.approx(0.5, rel=1e-4)
    assert (facts.n_values, facts.n_channels) == (1_000_000, 1000)


def test_gaussian_kernel_gains_from_per_channel_scales():
    w = wide(normal((3, 3, 16, 32), seed=2))
    facts = quant_facts(w, "Conv2D", "kernel")
    assert facts.sqnr_channel_db >= facts.sqnr_tensor_db
    assert facts.sqnr_tensor_db == pytest.approx(naive_sqnr(w, np.abs(w).max() / 127), abs=1e-9)
    per_channel = np.abs(w).max(axis=(0, 1, 2), keepdims=True) / 127
    assert facts.sqnr_channel_db == pytest.approx(naive_sqnr(w, per_channel), abs=1e-9)


def test_transposed_convolution_is_quantised_per_axis_minus_two():
    w = normal((3, 3, 8, 5), seed=3) * np.linspace(0.2, 3, 8)[:, None].astype(np.float32)
    facts = quant_facts(w, "Conv2DTranspose", "kernel")
    per_out = np.abs(wide(w)).max(axis=(0, 1, 3), keepdims=True) / 127
    assert facts.n_channels == 8
    assert facts.range_channel == int(np.abs(w).max(axis=(0, 1, 3)).argmax())
    assert facts.sqnr_channel_db == pytest.approx(naive_sqnr(wide(w), per_out), abs=1e-9)


def test_embeddings_are_quantised_per_token():
    w = normal((50, 16), seed=4) * np.linspace(0.1, 5, 50)[:, None].astype(np.float32)
    facts = quant_facts(w, "Embedding", "embeddings")
    per_row = np.abs(wide(w)).max(axis=1, keepdims=True) / 127
    assert facts.n_channels == 50 and facts.range_channel == int(per_row.argmax())
    assert facts.sqnr_channel_db == pytest.approx(naive_sqnr(wide(w), per_row), abs=1e-9)


def test_one_large_depthwise_channel_spoils_per_tensor_quantisation():
    w = normal((3, 3, 32, 1), seed=0)
    w[:, :, 7, :] *= 50
    facts = quant_facts(w, "DepthwiseConv2D", "depthwise_kernel")
    # Σw² is almost all channel 7's (σ 5 against 0.1), while the tensor step 50·max/127 ≈
    # 0.08 is close to the other channels' σ: their noise ≈ 288·Δ²/12 gives ≈ 32 dB overall
    # (35.5 here; 31-36 over seeds). With its own step each channel keeps ≈ 52.9 dB less
    # 20·log10(max/σ) ≈ 6 dB, so ≈ 47 (48.8 here; 45-51 over seeds). The bounds leave 1.5
    # dB beyond the spread over seeds, and the two differ by 13 dB.
    assert facts.sqnr_tensor_db < 37
    assert facts.sqnr_channel_db > 44
    assert facts.sqnr_channel_db - facts.sqnr_tensor_db > 10
    # A small channel quantised with the large channel's step keeps about 10 dB or less.
    assert facts.worst_channel != 7 and facts.sqnr_worst_channel_db < 15
    assert facts.n_channels == 32 and facts.range_channel == 7
    # The ratio is 50 times channel 7's own max|w| over the median channel's: near 50.
    maxes = np.abs(w).max(axis=(0, 1, 3)).astype(np.float64)
    assert facts.range_channel_max_abs == maxes[7]
    assert facts.range_ratio == pytest.approx(maxes[7] / np.median(maxes), rel=1e-12)
    assert 25 < facts.range_ratio < 100


def test_percentile_calibration_clips_the_top_of_the_range():
    w = normal((100, 1000), seed=5)
    facts = quant_facts(w, "Dense", "kernel")
    magnitudes = np.abs(w).astype(np.float64)
    clip = np.percentile(magnitudes, CLIP_PERCENTILE)
    assert facts.clip_abs == pytest.approx(clip, rel=1e-12) and facts.clip_abs < facts.max_abs
    assert facts.saturated_share == np.count_nonzero(magnitudes > clip) / w.size
    assert facts.sqnr_clipped_db == pytest.approx(naive_sqnr(wide(w), clip / 127), abs=1e-9)


def test_a_tensor_on_the_int8_grid_is_reproduced_exactly():
    w = np.array([[-1.0, 0.0, 1.0], [0.5, -0.25, 1.0]], np.float32)
    w = np.round(w * 127) / 127  # every value a multiple of max/127, up to float32 rounding
    facts = quant_facts(w, "Dense", "kernel")
    assert facts.sqnr_tensor_db == facts.sqnr_channel_db == SQNR_CAP_DB


def test_what_is_not_quantised_has_no_facts():
    assert quant_facts(normal(32), "Conv2D", "bias") is None
    assert quant_facts(normal((4, 8)), "EinsumDense", "bias") is None  # attention's, 2-D
    assert quant_facts(normal(16), "BatchNormalization", "gamma") is None
    assert quant_facts(np.float32(3.0), "Dense", "kernel") is None
    assert quant_facts(np.ones((3, 4), np.int8), "Dense", "kernel") is None
    assert sparsity_facts(normal(32), "Dense", "bias") is None


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_tensors_with_nan_or_inf_have_no_quantisation_facts(bad):
    w = normal((3, 3, 4, 8), seed=6)
    w[1, 1, 2, 3] = bad
    assert quant_facts(w, "Conv2D", "kernel") is None
    assert sparsity_facts(w, "Conv2D", "kernel").zero_share == 0  # NaN is no zero


def test_an_all_zero_tensor_has_no_sqnr():
    facts = quant_facts(np.zeros((3, 3, 4, 8), np.float32), "Conv2D", "kernel")
    assert facts.sqnr_tensor_db is None and facts.sqnr_channel_db is None
    assert facts.sqnr_clipped_db is None and facts.sqnr_worst_channel_db is None
    assert facts.range_ratio is None and facts.max_abs == 0.0


# Sparsity


def pruned(w, share):
    """w with the `share` smallest |w| over the whole tensor set to 0 (global magnitude)."""
    w = w.copy()
    w.reshape(-1)[np.argsort(np.abs(w), axis=None)[:round(share * w.size)]] = 0
    return w


def groups_by_loop(w):
    """(groups, groups with ≥ 2 zeros) of 4 consecutive weights along each output
    channel's flattened (kh·kw·in) reduction, ragged tail left out, one group at a time."""
    groups = full = 0
    for out in range(w.shape[-1]):
        reduction = w[..., out].reshape(-1)
        for start in range(0, len(reduction) - 3, 4):
            groups += 1
            full += int(sum(1 for x in reduction[start:start + 4] if x == 0) >= 2)
    return groups, full


def test_global_magnitude_pruning_is_counted():
    w = pruned(normal((3, 3, 16, 32), seed=7), 0.8)
    facts = sparsity_facts(w, "Conv2D", "kernel")
    assert facts.zero_share == pytest.approx(0.80, abs=0.001)
    groups, full = groups_by_loop(w)
    assert facts.n_groups == groups == 3 * 3 * 16 // 4 * 32
    assert facts.share_2_4 == full / groups
    assert (facts.n_channels, facts.n_inputs) == (32, 16)


def test_a_kernel_pruned_to_two_of_four_is_all_two_four():
    w = normal((3, 3, 16, 32), seed=8)
    for out in range(32):
        groups = w[..., out].reshape(-1, 4)  # a copy: the slice is not contiguous
        smallest = np.argsort(np.abs(groups), axis=1)[:, :2]
        np.put_along_axis(groups, smallest, 0, axis=1)
        w[..., out] = groups.reshape(3, 3, 16)
    facts = sparsity_facts(w, "Conv2D", "kernel")
    assert facts.share_2_4 == 1.0 and facts.zero_share == 0.5
    assert sparsity_facts(normal((3, 3, 16, 32)), "Conv2D", "kernel").share_2_4 == 0.0


def test_zero_filters_and_zero_inputs_are_counted():
    w = normal((3, 3, 16, 32), seed=9)
    w[..., 5] = 0
    w[:, :, 2, :] = 0
    facts = sparsity_facts(w, "Conv2D", "kernel")
    assert (facts.n_zero_channels, facts.n_zero_inputs) == (1, 1)
    transposed = sparsity_facts(np.moveaxis(w, 3, 2), "Conv2DTranspose", "kernel")
    assert (transposed.n_zero_channels, transposed.n_zero_inputs) == (1, 1)
    assert transposed.share_2_4 == facts.share_2_4  # the same reduction, in the same order


def test_a_ragged_reduction_tail_is_left_out_and_depthwise_has_no_groups():
    w = np.zeros((10, 3), np.float32)  # reduction 10: two groups per output, 2 weights left
    facts = sparsity_facts(w, "Dense", "kernel")
    assert (facts.n_groups, facts.share_2_4, facts.n_zero_channels) == (6, 1.0, 3)
    depthwise = sparsity_facts(normal((3, 3, 8, 1)), "DepthwiseConv2D", "depthwise_kernel")
    assert depthwise.share_2_4 is None and depthwise.n_inputs is None
    assert depthwise.n_groups == 0 and depthwise.n_channels == 8


# Blocks


class OnDemand:
    """An array read on demand (an h5py dataset, say) that records the row slices read and
    refuses to be read whole."""

    def __init__(self, values):
        self.values, self.shape, self.dtype = values, values.shape, values.dtype
        self.reads = []

    def __getitem__(self, key):
        assert isinstance(key, slice) and key.step is None, key
        self.reads.append((key.start, key.stop))
        return self.values[key]

    def __array__(self, dtype=None, copy=None):
        raise AssertionError("read whole")


def test_a_large_tensor_read_on_demand_gives_the_same_facts_in_blocks():
    w = normal((8192, 520), seed=10)  # 4.26M values: more than one CHUNK
    w[np.abs(w) < 0.04] = 0  # 31 % zeros (quicker than sorting for a global threshold)
    w[:, 17] *= 20
    lazy = OnDemand(w)
    assert quant_facts(lazy, "Dense", "kernel") == quant_facts(w, "Dense", "kernel")
    rows = [stop - start for start, stop in lazy.reads]
    assert len(rows) == 4 and max(rows) * w.shape[1] <= stats.CHUNK  # two blocks, two passes
    lazy.reads.clear()
    facts = sparsity_facts(lazy, "Dense", "kernel")
    assert facts == sparsity_facts(w, "Dense", "kernel") and len(lazy.reads) == 2
    # 8065-row blocks split groups of 4 rows: the count still equals the whole tensor's.
    zeros = (w == 0).T.reshape(520, -1, 4).sum(axis=2)
    assert facts.share_2_4 == np.count_nonzero(zeros >= 2) / zeros.size


@pytest.mark.parametrize("class_name, weight, shape", [
    ("Dense", "kernel", (30, 7)),
    ("Conv2D", "kernel", (3, 3, 6, 5)),
    ("Conv2DTranspose", "kernel", (3, 3, 5, 6)),
    ("DepthwiseConv2D", "kernel", (3, 3, 6, 2)),
    ("Embedding", "embeddings", (40, 6)),
])
def test_small_blocks_change_nothing(monkeypatch, class_name, weight, shape):
    w = pruned(normal(shape, seed=11) * np.linspace(0.1, 3, shape[-1]).astype(np.float32), 0.4)
    whole = (quant_facts(w, class_name, weight), sparsity_facts(w, class_name, weight))
    monkeypatch.setattr(stats, "CHUNK", 20)  # blocks of a row or a few
    monkeypatch.setattr(quantise, "WIDE_CHUNK", 5)  # float64 pieces of a slot or a few
    lazy = OnDemand(w)
    blocked = (quant_facts(lazy, class_name, weight), sparsity_facts(lazy, class_name, weight))
    assert len(lazy.reads) > 3
    assert blocked[1] == whole[1]
    for field, value in dataclasses.asdict(blocked[0]).items():
        assert value == pytest.approx(dataclasses.asdict(whole[0])[field], rel=1e-12), field
