"""Pure numpy statistics of tensors: the numbers behind every table and chart."""

from __future__ import annotations

import numpy as np

from reportgen.analyse.tensor_facts import ChannelStats, Histogram, TensorStats

HISTOGRAM_BINS = 40


CHUNK = 1 << 22
WIDE_CHUNK = 1 << 20
SAMPLE_LIMIT = 1 << 22


def tensor_stats(values) -> TensorStats:
    """Statistics of a tensor (see summarise)."""
    return summarise(values)[0]


def summarise(values) -> tuple[TensorStats, np.ndarray]:
    """Statistics of a tensor, and the finite values histograms and percentiles use.

    `values` may be a numpy array or an array read on demand (h5py dataset, Keras variable):
    it is read once, in blocks of rows, so a 100-million-value kernel is never copied whole.
    NaN and Inf are counted apart and left out of the rest. Moments, extremes and counts
    are exact (float64, blocks combined with Chan's formula); percentiles and histograms
    use every value up to SAMPLE_LIMIT values, else every k-th (see sample_step).
    """
    n = size_of(values)
    step = sample_step(n)
    moments = Moments()
    samples, offset = [], 0
    for block in row_blocks(values):
        samples.append(_kept(block, offset, step))
        offset += block.size
        moments.add(block)
    sample = np.concatenate(samples) if samples else np.zeros(0, np.float32)
    return moments.stats(n, sample), sample


class Moments:
    """Exact counts, moments and extremes of a tensor's values, added block by block: NaN,
    Inf and zeros counted, the finite values' mean and spread combined with Chan's formula
    in float64."""

    def __init__(self):
        self.n_nan = self.n_inf = self.n_zero = self.n_finite = 0
        self.mean = self.m2 = self.squares = 0.0
        self.low, self.high = np.inf, -np.inf

    def add(self, block: np.ndarray) -> None:
        """One block of values."""
        finite_mask = np.isfinite(block) if block.dtype.kind == "f" else None
        if finite_mask is not None and not finite_mask.all():
            self.n_nan += int(np.isnan(block).sum())
            self.n_inf += int(np.isinf(block).sum())
            block = block[finite_mask]
        self.n_zero += int(np.count_nonzero(block == 0))
        if not block.size:
            return
        for wide in wide_chunks(block):
            block_sum, block_squares = float(wide.sum()), float(np.dot(wide, wide))
            block_mean = block_sum / wide.size
            # Float64 sums of float32 data: the one-pass form loses nothing that matters.
            block_m2 = max(block_squares - block_sum * block_mean, 0.0)
            total = self.n_finite + wide.size
            delta = block_mean - self.mean
            self.mean += delta * wide.size / total
            self.m2 += block_m2 + delta * delta * self.n_finite * wide.size / total
            self.n_finite = total
            self.squares += block_squares
        self.low, self.high = min(self.low, float(block.min())), max(self.high, float(block.max()))

    def stats(self, n: int, sample: np.ndarray) -> TensorStats:
        """The statistics of the `n` values added, percentiles from `sample`."""
        zero_fraction = self.n_zero / n if n else 0.0
        if not self.n_finite:
            return TensorStats(n, None, None, None, None, None, None, None, zero_fraction,
                               None, self.n_nan, self.n_inf)
        # In float32, as the values are: the ranks are exact, only the interpolation rounds.
        p1, p50, p99 = percentiles(sample, (1, 50, 99))
        return TensorStats(count=n, mean=self.mean, std=float(np.sqrt(self.m2 / self.n_finite)),
                           min=self.low, max=self.high, p1=float(p1), p50=float(p50),
                           p99=float(p99), zero_fraction=zero_fraction,
                           l2_norm=float(np.sqrt(self.squares)), n_nan=self.n_nan,
                           n_inf=self.n_inf)


SELECT_DIRECTLY = 1 << 16  # values; a smaller array is simply partitioned whole
PILOT_SPACING = 64  # every 64th value estimates where the wanted order statistics lie


def percentiles(values: np.ndarray, qs: tuple[float, ...]) -> tuple[float, ...]:
    """np.percentile(values, qs) (linear interpolation) of a 1-D array without NaN, to the
    last bit, at a third of its cost on large arrays; a zero is always +0.0 (which of +0.0
    and -0.0 a partition puts at a rank is the partition's accident).

    np.percentile partitions the whole array around every rank it needs. Here every 64th
    value first brackets each rank between two values; one pass counts the values below a
    bracket and keeps the few inside it, and only those are partitioned. The counts prove
    the bracket holds the rank, so the order statistics are exact; a bracket that misses
    (a sorted or periodic array can fool the pilot) falls back to partitioning everything.
    """
    n = values.size
    if n < SELECT_DIRECTLY:
        return _plain(np.percentile(values, qs))
    positions = np.asarray(qs, dtype=np.float64) / 100 * (n - 1)  # numpy's virtual index
    below = np.floor(positions).astype(np.int64)
    ranks = sorted({int(r) for k in below for r in (k, min(k + 1, n - 1))})
    found = _order_statistics(values, ranks)
    if found is None:
        return _plain(np.percentile(values, qs))
    low_values = np.array([found[int(k)] for k in below])
    high_values = np.array([found[min(int(k) + 1, n - 1)] for k in below])
    return _plain(_lerp(low_values, high_values, positions - below))


def _order_statistics(values: np.ndarray, ranks: list[int]) -> dict | None:
    """The values at `ranks` of the sorted values, by brackets the pilot draws; None when a
    bracket misses its rank."""
    pilot = np.sort(values[::PILOT_SPACING])
    margin = 8 + int(2 * np.sqrt(pilot.size))  # 4 standard deviations of a pilot rank
    found: dict = {}
    for rank in ranks:
        if rank not in found and not _bracketed(values, rank, ranks, pilot, margin, found):
            return None
    return found


def _bracketed(values: np.ndarray, rank: int, ranks: list[int], pilot: np.ndarray,
               margin: int, found: dict) -> bool:
    """Find the order statistics of `ranks` inside the pilot's bracket around `rank` (into
    `found`); False when the bracket does not hold `rank`."""
    n = values.size
    at = rank * (pilot.size - 1) / (n - 1)
    low = pilot[max(0, int(at) - margin)]
    high = pilot[min(pilot.size - 1, int(np.ceil(at)) + margin)]
    n_below = int(np.count_nonzero(values < low))
    if low == high:  # a run of equal values (ReLU's zeros): nothing to order
        n_inside, inside = int(np.count_nonzero(values == low)), None
    else:
        inside = values[(values >= low) & (values <= high)]
        n_inside = inside.size
    wanted = [r for r in ranks if n_below <= r < n_below + n_inside and r not in found]
    if rank not in wanted:
        return False
    if inside is None:
        found.update({r: values.dtype.type(low) for r in wanted})
        return True
    chosen = np.partition(inside, [r - n_below for r in wanted])
    found.update({r: chosen[r - n_below] for r in wanted})
    return True


def _plain(found: np.ndarray) -> tuple[float, ...]:
    """Python floats, -0.0 made +0.0."""
    return tuple(float(v) + 0.0 for v in found)


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's own interpolation between neighbouring order statistics (numpy.lib's _lerp),
    so that the result equals np.percentile's bit for bit."""
    difference = np.subtract(b, a)
    result = np.asanyarray(np.add(a, difference * t))
    np.subtract(b, difference * (1 - t), out=result, where=t >= 0.5, casting="unsafe",
                dtype=result.dtype)
    return result


def finite_sample(values) -> np.ndarray:
    """The sample summarise returns (the finite values histograms use), without the rest."""
    step, samples, offset = sample_step(size_of(values)), [], 0
    for block in row_blocks(values):
        samples.append(_kept(block, offset, step))
        offset += block.size
    return np.concatenate(samples) if samples else np.zeros(0, np.float32)


def _kept(block: np.ndarray, offset: int, step: int) -> np.ndarray:
    """The finite values of a block that a sample taking every step-th value of the whole
    tensor keeps (offset: the values before the block), as a float32 copy."""
    kept = block[(-offset) % step::step]
    if kept.dtype.kind == "f":
        finite = np.isfinite(kept)
        kept = kept if finite.all() else kept[finite]
    return np.array(kept, dtype=np.float32)  # a copy: the block can go


def wide_chunks(block: np.ndarray):
    """A flat block as float64, WIDE_CHUNK values at a time: two report threads each holding
    a whole 4-million-value block in float64 (twice, for a change) weighed 100 MB."""
    for start in range(0, block.size, WIDE_CHUNK):
        yield block[start:start + WIDE_CHUNK].astype(np.float64)


def row_blocks(values):
    """A tensor's values as flat blocks of whole rows, each about CHUNK values."""
    if len(values.shape) == 0:
        yield np.asarray(values).reshape(-1)
        return
    row = int(np.prod(values.shape[1:], dtype=np.int64)) or 1
    rows = max(1, CHUNK // row)
    for start in range(0, values.shape[0], rows):
        yield np.asarray(values[start:start + rows]).reshape(-1)


def relative_change(values, initial) -> float | None:
    """‖W − W₀‖ / ‖W₀‖ of a trained tensor against its initialisation, read in row blocks of
    both at once (None when the initial tensor is all zeros, or either holds NaN or Inf)."""
    if tuple(values.shape) != tuple(initial.shape):
        return None
    difference = reference = 0.0
    for trained_block, fresh_block in zip(row_blocks(values), row_blocks(initial)):
        for trained, fresh in zip(wide_chunks(trained_block), wide_chunks(fresh_block)):
            step = trained - fresh
            difference += float(np.dot(step, step))
            reference += float(np.dot(fresh, fresh))
    if not (np.isfinite(difference) and np.isfinite(reference)) or reference == 0:
        return None
    return float(np.sqrt(difference / reference))


def size_of(values) -> int:
    """How many values an array (or an array read on demand) holds."""
    return int(np.prod(values.shape, dtype=np.int64))


def sample_step(n_values: int) -> int:
    """1 when percentiles and histograms use every value, else the stride of the sample."""
    return max(1, -(-n_values // SAMPLE_LIMIT))


def shared_edges(ranges: list[tuple[float | None, float | None]],
                 bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """Bin edges covering every (min, max) range given, so that histograms overlay."""
    known = [(low, high) for low, high in ranges if low is not None and high is not None]
    low, high = (min(r[0] for r in known), max(r[1] for r in known)) if known else (0.0, 1.0)
    if low == high:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, bins + 1)


def histogram(sample: np.ndarray, edges: np.ndarray) -> Histogram:
    """Counts of a tensor's finite sample (summarise's, finite_sample's) in equal-width bins."""
    sample = np.asarray(sample).reshape(-1)
    # Equal-width bins by count and range: numpy's fast path (array edges make it sort).
    counts, _ = np.histogram(sample, bins=len(edges) - 1,
                             range=(float(edges[0]), float(edges[-1])))
    return Histogram(edges=tuple(float(e) for e in edges), counts=tuple(int(c) for c in counts))


def channel_stats(activation: np.ndarray) -> tuple[ChannelStats, ...]:
    """Mean and zero share of each channel (last axis) of one layer's output for one input."""
    if activation.ndim < 2:
        return ()
    per_channel = activation.reshape(-1, activation.shape[-1]).astype(np.float64)
    means = per_channel.mean(axis=0)
    zeros = (per_channel == 0).mean(axis=0)
    return tuple(ChannelStats(float(m), float(z)) for m, z in zip(means, zeros))


MAX_FILTERS_COMPARED = 4096


def filter_similarity(kernel: np.ndarray, threshold: float) -> tuple[float | None, int]:
    """The largest cosine similarity between two filters (last axis), and pairs above threshold.

    All-zero filters have no direction and are left out; so are layers with too many
    filters to compare pairwise.
    """
    n_filters = kernel.shape[-1]
    if kernel.ndim < 3 or not 2 <= n_filters <= MAX_FILTERS_COMPARED:
        return None, 0
    # float32 is plenty to tell 0.99 from 1, and twice as fast as float64 here.
    flat = kernel.reshape(-1, n_filters).astype(np.float32)
    flat = flat[:, np.isfinite(flat).all(axis=0)]
    # Scaled by each filter's largest value first, so huge weights cannot overflow the norm.
    reach = np.abs(flat).max(axis=0) if flat.size else np.zeros(flat.shape[1], np.float32)
    flat = flat[:, reach > 0] / reach[reach > 0]
    norms = np.linalg.norm(flat, axis=0)
    unit = flat / norms
    if unit.shape[1] < 2:
        return None, 0
    cosine = unit.T @ unit
    upper = cosine[np.triu_indices(unit.shape[1], k=1)]
    return float(upper.max()), int(np.count_nonzero(upper > threshold))


def normalised_entropy(scores: np.ndarray) -> float | None:
    """Entropy / log(K) of an output that is a probability vector, else None."""
    p = np.asarray(scores, dtype=np.float64).ravel()
    if p.size < 2 or not np.isfinite(p).all() or p.min() < 0 or abs(p.sum() - 1.0) > 1e-3:
        return None
    nonzero = p[p > 0]
    return float(-(nonzero * np.log(nonzero)).sum() / np.log(p.size))
