import numpy as np
import pytest

from reportgen.analyse import stats as stats_module
from reportgen.analyse.stats import channel_stats, histogram, sample_step, shared_edges, tensor_stats


def test_statistics_equal_numpy():
    values = np.random.default_rng(0).normal(0.1, 0.3, size=(3, 3, 4, 8)).astype(np.float32)
    values[0, 0, 0, :3] = 0
    s = tensor_stats(values)
    wide = values.astype(np.float64).ravel()
    assert s.count == values.size
    assert s.mean == pytest.approx(wide.mean(), abs=1e-12)
    assert s.std == pytest.approx(wide.std(), abs=1e-12)
    assert (s.min, s.max) == (wide.min(), wide.max())
    assert [s.p1, s.p50, s.p99] == pytest.approx(np.percentile(wide, [1, 50, 99]))
    assert s.zero_fraction == pytest.approx(3 / values.size)
    assert s.l2_norm == pytest.approx(np.linalg.norm(wide))
    assert (s.n_nan, s.n_inf) == (0, 0)


def test_nan_and_inf_are_counted_and_left_out():
    values = np.array([1.0, 2.0, np.nan, np.inf, -np.inf, 3.0], np.float32)
    s = tensor_stats(values)
    assert (s.n_nan, s.n_inf, s.count) == (1, 2, 6)
    assert s.mean == pytest.approx(2.0)
    assert s.max == 3.0


def test_all_nan_tensor_has_no_figures():
    s = tensor_stats(np.full(4, np.nan, np.float32))
    assert s.mean is None and s.std is None and s.n_nan == 4


def test_integer_tensors_are_supported():
    s = tensor_stats(np.array([0, 0, 4], np.int64))
    assert s.mean == pytest.approx(4 / 3) and s.zero_fraction == pytest.approx(2 / 3)


def test_histograms_share_bins_and_count_every_value():
    a = np.linspace(-1, 1, 101)
    b = np.linspace(-0.1, 0.1, 50)
    edges = shared_edges([(a.min(), a.max()), (b.min(), b.max())], bins=10)
    assert edges[0] == -1 and edges[-1] == 1 and len(edges) == 11
    assert sum(histogram(a, edges).counts) == a.size
    assert sum(histogram(b, edges).counts) == b.size
    assert histogram(b, edges).counts == tuple(np.histogram(b, edges)[0])


def test_constant_tensor_gets_a_usable_range():
    edges = shared_edges([(0.0, 0.0)], bins=4)
    assert edges[0] < 0 < edges[-1]
    assert sum(histogram(np.zeros(5), edges).counts) == 5


def test_channel_stats_per_last_axis():
    act = np.zeros((4, 4, 3), np.float32)
    act[..., 1] = 2.0
    act[0, 0, 2] = 8.0
    stats = channel_stats(act)
    assert [c.mean for c in stats] == pytest.approx([0.0, 2.0, 0.5])
    assert [c.zero_fraction for c in stats] == pytest.approx([1.0, 0.0, 15 / 16])


def test_huge_tensors_keep_exact_moments_and_sample_percentiles(monkeypatch):
    monkeypatch.setattr(stats_module, "SAMPLE_LIMIT", 1000)
    monkeypatch.setattr(stats_module, "CHUNK", 777)  # chunks that do not divide the size
    values = np.random.default_rng(5).normal(0.2, 1.5, size=10_000).astype(np.float32)
    values[17] = np.nan
    s = tensor_stats(values)
    finite = values[np.isfinite(values)].astype(np.float64)
    assert s.mean == pytest.approx(finite.mean(), rel=1e-12)
    assert s.std == pytest.approx(finite.std(), rel=1e-12)
    assert (s.min, s.max, s.n_nan) == (finite.min(), finite.max(), 1)
    assert sample_step(values.size) == 10
    sample = values[::10].astype(np.float64)
    assert s.p50 == pytest.approx(np.percentile(sample[np.isfinite(sample)], 50))
    _, sample = stats_module.summarise(values)
    assert np.array_equal(sample, values[::10][np.isfinite(values[::10])])
    assert sum(histogram(sample, np.linspace(-6, 6, 5)).counts) == sample.size


def test_no_sampling_below_the_limit():
    assert sample_step(stats_module.SAMPLE_LIMIT) == 1
    assert sample_step(stats_module.SAMPLE_LIMIT + 1) == 2


def _hard_cases(rng, n):
    """Arrays that fool a sampled pilot or hold long runs of equal values."""
    normal = rng.standard_normal(n)
    return {
        "normal float32": normal.astype(np.float32),
        "relu": np.maximum(normal, 0).astype(np.float32),
        "sorted": np.sort(normal).astype(np.float32),
        "sorted descending": np.sort(normal)[::-1].astype(np.float32),
        "constant": np.zeros(n, np.float32),
        "period 64 (the pilot's spacing)": np.tile(np.arange(64.0), n // 64 + 1)[:n]
        .astype(np.float32),
        "three values": rng.integers(0, 3, n).astype(np.float32),
        "heavy tails": rng.standard_cauchy(n).astype(np.float32),
        "all but ten equal": np.concatenate([np.full(n - 10, 5.0), normal[:10]])
        .astype(np.float32),
        "float64": normal,
        "int32": rng.integers(-100, 100, n).astype(np.int32),
        "signed zeros (pruned weights)": np.where(normal > 0.3, normal, 0.0)
        * np.where(rng.random(n) < 0.5, -1.0, 1.0).astype(np.float32),
    }


def bits(numbers) -> tuple[bytes, ...]:
    """Each number's exact float64 bits, zeros made +0.0 as percentiles makes them."""
    return tuple(np.float64(float(v) + 0.0).tobytes() for v in numbers)


@pytest.mark.parametrize("n", [1000, 65_536, 300_007])
@pytest.mark.parametrize("qs", [(1, 50, 99), (0, 100), (0.5, 99.5), (25, 75)])
def test_percentiles_equal_numpys_to_the_bit(n, qs):
    for name, values in _hard_cases(np.random.default_rng(n), n).items():
        assert bits(stats_module.percentiles(values, qs)) == bits(np.percentile(values, qs)), \
            name


def test_percentiles_select_from_a_bracket_not_the_whole_array(monkeypatch):
    # On a large array only the values near each rank are partitioned: every partition
    # np.percentile would make is over the whole array.
    sizes = []
    partition = np.partition

    def recorded(values, kth, *args, **kwargs):
        sizes.append(np.asarray(values).size)
        return partition(values, kth, *args, **kwargs)

    def whole(*_args, **_kwargs):
        raise AssertionError("fell back to np.percentile over the whole array")

    monkeypatch.setattr(stats_module.np, "partition", recorded)
    monkeypatch.setattr(stats_module.np, "percentile", whole)
    values = np.random.default_rng(0).standard_normal(1_000_000).astype(np.float32)
    stats_module.percentiles(values, (1, 50, 99))
    assert sizes and max(sizes) < values.size // 10
