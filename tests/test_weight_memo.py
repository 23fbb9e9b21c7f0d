import contextlib
import threading

import numpy as np
import pytest

from reportgen.analyse import weight_memo
from reportgen.analyse.collect import collect_layer
from reportgen.analyse.stats import filter_similarity, summarise
from reportgen.analyse.weight_memo import Prefetch, WeightMemo
from reportgen.load.snapshot import LayerSnapshot, ModelSnapshot, WeightArray


def kernel(seed, shape=(3, 3, 8, 16)):
    return np.random.default_rng(seed).normal(0, 0.1, shape).astype(np.float32)


def conv(name, values):
    return LayerSnapshot(name, "Conv2D", "(None, 8, 8, 16)", values.size, True, "relu",
                         (WeightArray("kernel", values, True),), path=name)


@pytest.fixture
def counted(monkeypatch):
    """Every tensor_facts computation, by thread name."""
    calls = []
    original = weight_memo.tensor_facts

    def counting(*args):
        calls.append(threading.current_thread().name)
        return original(*args)

    monkeypatch.setattr(weight_memo, "tensor_facts", counting)
    return calls


def test_the_facts_are_the_tensors_own():
    values = kernel(0)
    values[..., 1] = values[..., 0]  # a duplicated filter
    facts, sample = WeightMemo().facts("Conv2D", "kernel", values, 2048)
    assert np.array_equal(sample, values.ravel())
    assert facts.stats == summarise(values)[0]
    assert (facts.max_filter_cosine, facts.similar_filter_pairs) == \
        pytest.approx(filter_similarity(values, 0.99))
    assert facts.spectral.n_matrices == 9 and facts.spectral.matrix_shape == (8, 16)


def test_equal_content_is_worked_out_once_and_other_content_anew(counted):
    memo = WeightMemo()
    first, _ = memo.facts("Conv2D", "kernel", kernel(0), 2048)
    again, sample = memo.facts("Conv2D", "kernel", kernel(0).copy(), 2048)
    other, _ = memo.facts("Conv2D", "kernel", kernel(1), 2048)
    assert again is first and sample is None and other.stats != first.stats
    # One value changed, the same values under another weight name, another spectral cap, or
    # as a fresh initialisation (no filter comparison): not the same entry.
    changed = kernel(0)
    changed[0, 0, 0, 0] += 1e-6
    memo.facts("Conv2D", "kernel", changed, 2048)
    memo.facts("Conv2D", "depthwise_kernel", kernel(0), 2048)
    memo.facts("Conv2D", "kernel", kernel(0), 4)
    fresh, _ = memo.facts("Conv2D", "kernel", kernel(0), 2048, trained=False)
    assert fresh.stats == first.stats and fresh.max_filter_cosine is None
    assert len(counted) == 6


def test_only_the_most_recently_used_are_kept(counted):
    memo = WeightMemo(capacity=2)
    for seed in (0, 1, 2, 0):  # 0 was forgotten when 2 came
        memo.facts("Dense", "kernel", kernel(seed, (4, 4)), 2048)
    memo.facts("Dense", "kernel", kernel(2, (4, 4)), 2048)  # still kept
    assert len(counted) == 4


def test_the_prefetch_does_the_work_the_report_then_finds(counted):
    layers = (conv("a", kernel(0)), conv("b", kernel(1, (3, 3, 16, 32))))
    snapshot = ModelSnapshot("Sequential", layers, (), ())
    memo = WeightMemo()
    Prefetch(lambda: contextlib.nullcontext(snapshot), 2048, memo)._thread.join()
    facts = [collect_layer(k, layer, None, 2048, memo) for k, layer in enumerate(layers)]
    assert counted == ["reportgen-prefetch"] * 2  # the report's pass found both done
    # The report's facts are those of its own values, whoever worked them out.
    for layer, found in zip(layers, facts):
        assert found.weights[0].stats == summarise(layer.weights[0].values)[0]


def test_a_prefetch_that_cannot_read_the_file_leaves_the_work_to_the_report(counted):
    def unreadable():
        raise OSError("not an HDF5 file")

    memo = WeightMemo()
    Prefetch(unreadable, 2048, memo).stop()
    values = kernel(2)
    assert memo.facts("Conv2D", "kernel", values, 2048)[0].stats == summarise(values)[0]
    assert counted == ["MainThread"]


def test_the_prefetch_works_through_the_largest_tensors_first(counted, monkeypatch):
    sizes = []
    original = weight_memo.content_key
    monkeypatch.setattr(weight_memo, "content_key",
                        lambda c, n, v: sizes.append(v.size) or original(c, n, v))
    layers = tuple(conv(f"c{k}", kernel(k, (3, 3, 4 * (k + 1), 8))) for k in range(4))
    prefetch = Prefetch(lambda: contextlib.nullcontext(ModelSnapshot("Sequential", layers, (),
                                                                     ())), 2048, WeightMemo())
    prefetch._thread.join()
    assert sizes == sorted(sizes, reverse=True) and len(sizes) == 4


def test_a_tensor_too_large_to_memoise_is_read_once_and_not_kept(counted, monkeypatch):
    monkeypatch.setattr(weight_memo, "MEMO_VALUES", 100)
    reads = []

    class OnDemand:  # an h5py dataset, say: read in blocks of rows when asked
        def __init__(self, values):
            self.values, self.shape, self.dtype = values, values.shape, values.dtype

        def __getitem__(self, key):
            reads.append(key)
            return self.values[key]

        def __array__(self, dtype=None, copy=None):
            return self[()]

    values = kernel(3)
    memo = WeightMemo()
    facts, sample = memo.facts("Conv2D", "kernel", OnDemand(values), 2048)
    assert facts.stats == summarise(values)[0] and np.array_equal(sample, values.ravel())
    memo.facts("Conv2D", "kernel", OnDemand(values), 2048)
    assert len(counted) == 2  # worked out each time, never hashed or kept
    # Per call: summarise's one pass (a block of rows), and the whole kernel once each for
    # the filter comparison and the spectrum; nothing read to hash it, and no sample pass.
    assert len(reads) == 2 * 3
