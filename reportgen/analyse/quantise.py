"""What int8 deployment and pruning would do to one weight tensor: the quantisation error of
symmetric int8 per tensor and per output channel, how far one channel stretches the range,
and how many weights are already zero (unstructured, whole filters, NVIDIA's 2:4 pattern).

Pure numpy. `values` may be a numpy array or an array read on demand (h5py dataset): it is
read in blocks of whole rows (stats.row_blocks) and turned into float64 only
WIDE_CHUNK values at a time, so a 100-million-value kernel is never copied whole. The
quantisation facts read the tensor twice (ranges, then errors); the sparsity facts once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.analyse.stats import WIDE_CHUNK, row_blocks, size_of

QMAX = 127  # symmetric int8: [-127, 127]; -128 is left unused so that zero sits mid-range
# The percentile of |w| that percentile calibration clips at: the default of NVIDIA's
# histogram calibrator (modelopt / pytorch-quantization compute_amax(percentile=99.99)).
CLIP_PERCENTILE = 99.99
# SQNRs are capped here. int8 error on real weights is 30-55 dB, while float32 storage alone
# rounds a value to 2^-24 of itself (≈ 144 dB): above 120 dB a tensor already lies on the
# int8 grid (ternary weights, a dequantised checkpoint) up to that rounding, and is
# reported as reproduced exactly, at this finite figure rather than a rounding accident.
SQNR_CAP_DB = 120.0
GROUP = 4  # 2:4 structured sparsity: at least 2 zeros in each group of 4 weights
# Vectors that real int8 deployment keeps in int32 (biases, at the accumulator's scale) or
# folds into neighbouring layers (BatchNorm): quantising them to int8 is not what happens.
NOT_QUANTISED = frozenset({"bias", "gamma", "beta", "moving_mean", "moving_variance"})


@dataclass(frozen=True)
class QuantFacts:
    """Symmetric int8 quantisation of one weight tensor (scale = max|w| / 127).

    SQNRs are in dB, 10·log10(Σw² / Σ(w − w')²) over the whole tensor (the per-channel one
    too: one figure for the tensor, not a mean of channels' figures); None for an all-zero
    tensor, SQNR_CAP_DB for a tensor reproduced exactly. A whole-tensor figure is dominated
    by the largest channels, so `sqnr_worst_channel_db` is the lowest SQNR of any one
    channel (`worst_channel`; all-zero channels left out) under the per-tensor scale: a
    depthwise kernel with one channel 50 times larger scores over 30 dB overall while a
    small channel of it keeps 10 dB or less.

    `clip_abs` is the CLIP_PERCENTILE-th percentile of |w| (percentile calibration's range,
    in weight units); `saturated_share` the share of weights above it, which that
    calibration clips (about 1 − CLIP_PERCENTILE/100 by construction unless |w| has ties at
    the top: the telling figures are clip_abs / max_abs and `sqnr_clipped_db`, the
    per-tensor SQNR with the scale clip_abs / 127). `range_channel` is the (flattened)
    index of the channel with the largest max|w|, the one that sets the per-tensor scale;
    `range_ratio` its max|w| over the median channel's max|w|.
    """

    n_values: int
    n_channels: int
    max_abs: float
    sqnr_tensor_db: float | None
    sqnr_channel_db: float | None
    worst_channel: int | None
    sqnr_worst_channel_db: float | None
    clip_abs: float
    saturated_share: float
    sqnr_clipped_db: float | None
    range_channel: int
    range_channel_max_abs: float
    median_channel_max_abs: float
    range_ratio: float | None


@dataclass(frozen=True)
class SparsityFacts:
    """Exact zeros of one weight tensor, unstructured and structured.

    `n_zero_channels`: output channels (filters, along channel_axes) with every weight zero;
    `n_zero_inputs`: input channels (input_axis) with every weight zero, None without an
    input-channel axis. `share_2_4`: of the `n_groups` groups of 4 consecutive weights along
    each output channel's reduction, the share with at least 2 zeros — 1.0 for a kernel
    pruned to NVIDIA's 2:4 pattern; None when the tensor has no reduction (embeddings,
    depthwise kernels: sparse tensor cores run neither) or no whole group.

    An output channel's reduction is every weight of that channel, in the kernel's own (C)
    order of the other axes: for Dense (in, out) the `in` weights; for Conv (k..., in, out)
    the flattened k…·in weights, `in` fastest, as NVIDIA groups a KRSC kernel along C; for
    a transposed conv (k..., out, in) likewise k…·in. A ragged tail (a reduction length not
    a multiple of 4) belongs to no group and is ignored.
    """

    n_values: int
    zero_share: float
    n_channels: int
    n_zero_channels: int
    n_inputs: int | None
    n_zero_inputs: int | None
    n_groups: int
    share_2_4: float | None


def channel_axes(class_name: str, weight_name: str, ndim: int) -> tuple[int, ...]:
    """The axes (non-negative, consecutive) that index a weight's output channels.

    Keras keeps them last (Dense (in, out), Conv (k..., in, out)); transposed convolutions
    keep (k..., out, in); a depthwise kernel (k..., in, multiplier) has one output channel
    per (in, multiplier) pair; an embedding (vocab, dim) is quantised per token row.
    Unknown classes: the last axis.
    """
    base = _base(weight_name)
    if ndim == 0:
        return ()
    if base == "embeddings":
        return (0,)
    if ndim >= 2 and _is_depthwise(class_name, base):
        return (ndim - 2, ndim - 1)
    if ndim >= 3 and _is_transposed(class_name, base):
        return (ndim - 2,)
    return (ndim - 1,)


def input_axis(class_name: str, weight_name: str, ndim: int) -> int | None:
    """The axis of a kernel's input channels (Dense, Conv: -2; transposed conv: -1); None
    for embeddings (rows are tokens) and depthwise kernels (each input is its own channel)."""
    base = _base(weight_name)
    if ndim < 2 or base == "embeddings" or _is_depthwise(class_name, base):
        return None
    return ndim - 1 if ndim >= 3 and _is_transposed(class_name, base) else ndim - 2


def _base(weight_name: str) -> str:
    """The last part of a weight path ('conv/kernel:0' → 'kernel')."""
    return weight_name.rsplit("/", 1)[-1].split(":", 1)[0]


def _is_depthwise(class_name: str, base: str) -> bool:
    return base == "depthwise_kernel" or (base == "kernel"
                                          and class_name.startswith("DepthwiseConv"))


def _is_transposed(class_name: str, base: str) -> bool:
    return base == "kernel" and class_name.endswith("Transpose")


def is_quantisable(values, weight_name: str) -> bool:
    """Whether a weight is a kernel or embedding int8 deployment quantises: at least 2-D,
    of floats, not empty, and not a bias or BatchNorm vector (NOT_QUANTISED: Keras names a
    multi-head attention bias 'bias' even when it is 2-D)."""
    kind = np.dtype(values.dtype).kind
    return (len(values.shape) >= 2 and kind not in "biuc" and size_of(values) > 0
            and _base(weight_name) not in NOT_QUANTISED)


def quant_facts(values, class_name: str, weight_name: str) -> QuantFacts | None:
    """The int8 quantisation facts of one weight (see QuantFacts).

    None for what is not quantised to int8 (scalars, biases, BatchNorm vectors: see
    is_quantisable) and for tensors holding NaN or Inf, whose scale would be meaningless.
    """
    if not is_quantisable(values, weight_name):
        return None
    axes = channel_axes(class_name, weight_name, len(values.shape))
    ranges = _ranges(values, axes)
    if ranges is None:
        return None
    channel_max, top = ranges
    n = size_of(values)
    clip_abs, saturated = _clip(top, n)
    max_abs = float(channel_max.max())
    signal, tensor, channel, clipped = _error_sums(values, axes, channel_max, clip_abs)
    worst = _worst_channel(signal, tensor)
    at = int(np.argmax(channel_max))
    median = float(np.median(channel_max))
    total = float(signal.sum())
    return QuantFacts(
        n_values=n, n_channels=channel_max.size, max_abs=max_abs,
        sqnr_tensor_db=sqnr_db(total, float(tensor.sum())),
        sqnr_channel_db=sqnr_db(total, float(channel.sum())),
        worst_channel=worst,
        sqnr_worst_channel_db=None if worst is None else sqnr_db(signal[worst], tensor[worst]),
        clip_abs=clip_abs, saturated_share=saturated / n,
        sqnr_clipped_db=sqnr_db(total, float(clipped.sum())) if clip_abs > 0 else None,
        range_channel=at, range_channel_max_abs=float(channel_max[at]),
        median_channel_max_abs=median, range_ratio=max_abs / median if median > 0 else None)


def _worst_channel(signal: np.ndarray, noise: np.ndarray) -> int | None:
    """The channel (not all zero) with the largest noise / signal; None when all are zero."""
    alive = signal > 0
    if not alive.any():
        return None
    return int(np.argmax(np.where(alive, noise / np.where(alive, signal, 1.0), -1.0)))


def sqnr_db(signal: float, noise: float) -> float | None:
    """10·log10(signal / noise), at most SQNR_CAP_DB (no noise at all included); None
    without signal."""
    if signal <= 0:
        return None
    if noise <= signal * 10 ** (-SQNR_CAP_DB / 10):
        return SQNR_CAP_DB
    return float(10 * np.log10(signal / noise))


def _ranges(values, axes) -> tuple[np.ndarray, np.ndarray] | None:
    """First pass: each channel's max|w| (float64), and the largest |w| of the tensor that
    percentile calibration needs (_top_count of them, ascending); None on NaN or Inf."""
    n = size_of(values)
    keep = _top_count(n)
    channel_max = np.zeros(_n_slots(values.shape, axes), np.float64)
    top = np.zeros(0, np.float64)
    for start, block in _blocks(values):
        grid, offset = _grid(block, values.shape, axes, start)
        # max and -min rather than abs: no copy of the block for the channel ranges.
        part = np.maximum(grid.max(axis=(0, 2)), -grid.min(axis=(0, 2))) + 0.0  # no -0.0
        if not np.isfinite(part).all():
            return None
        _fold(channel_max, part, offset, np.maximum)
        top = _largest(np.concatenate([top, _largest(np.abs(block), keep)]), keep)
    return channel_max, top


def _top_count(n: int) -> int:
    """How many of the largest |w| hold the order statistics CLIP_PERCENTILE interpolates
    between (numpy's linear method: ranks floor(p·(n−1)) and the next), from the top."""
    return n - int(np.floor(CLIP_PERCENTILE / 100 * (n - 1)))


def _largest(values: np.ndarray, keep: int) -> np.ndarray:
    """The `keep` largest of a flat array, ascending, as float64."""
    if values.size > keep:
        values = np.partition(values, values.size - keep)[values.size - keep:]
    return np.sort(values.astype(np.float64, copy=False))


def _clip(top: np.ndarray, n: int) -> tuple[float, int]:
    """The CLIP_PERCENTILE-th percentile of |w| from the largest |w| (numpy's linear
    interpolation), and how many |w| lie above it (all of them are among `top`)."""
    position = CLIP_PERCENTILE / 100 * (n - 1)
    fraction = position - np.floor(position)
    low = top[0]
    high = top[1] if top.size > 1 else low
    clip_abs = float(low + (high - low) * fraction)
    return clip_abs, int(np.count_nonzero(top > clip_abs))


def _error_sums(values, axes, channel_max: np.ndarray, clip_abs: float) -> tuple:
    """Second pass, each channel's Σw² and its Σ(w − w')² under three scales: the tensor's,
    its own, and the percentile-clipped tensor scale."""
    tensor_scale = float(channel_max.max()) / QMAX
    channel_scale = np.where(channel_max > 0, channel_max / QMAX, 1.0)  # zero channel: exact
    clipped_scale = clip_abs / QMAX
    sums = tuple(np.zeros(channel_max.size) for _ in range(4))
    for start, block in _blocks(values):
        grid, offset = _grid(block, values.shape, axes, start)
        for first, piece in _wide_pieces(grid):
            at = offset + first
            scale = channel_scale[at:at + piece.shape[1]][None, :, None]
            parts = (_squares(piece), _noise(piece, tensor_scale), _noise(piece, scale),
                     _noise(piece, clipped_scale))
            for total, part in zip(sums, parts):
                _fold(total, part, at, np.add)
    return sums


def _noise(piece: np.ndarray, scale) -> np.ndarray:
    """Σ(w − w')² of symmetric int8 at `scale` (a number, or per channel); round half to
    even where converters round half away from zero: exact ties have no weight in practice."""
    if np.all(scale == 0):
        return np.zeros(piece.shape[1])  # an all-zero tensor: nothing to quantise, nothing lost
    codes = np.clip(np.rint(piece / scale), -QMAX, QMAX)
    return _squares(piece - codes * scale)


def _squares(piece: np.ndarray) -> np.ndarray:
    """Σ of squares per slot of a float64 (outer, slots, inner) piece."""
    return np.einsum("ijk,ijk->j", piece, piece)


def sparsity_facts(values, class_name: str, weight_name: str) -> SparsityFacts | None:
    """The zeros of one weight (see SparsityFacts), in one pass of row blocks.

    None for what is not a kernel or embedding (is_quantisable: scalars, biases, BatchNorm
    vectors). NaN and Inf are not zeros and change nothing else: they are counted as weights.
    """
    if not is_quantisable(values, weight_name):
        return None
    ndim = len(values.shape)
    out_axes = channel_axes(class_name, weight_name, ndim)
    in_axis = input_axis(class_name, weight_name, ndim)
    in_axes = None if in_axis is None else (in_axis,)
    tally = _ZeroTally(values.shape, out_axes, in_axes)
    for start, block in _blocks(values):
        tally.add(start, block)
    return tally.facts(size_of(values))


class _ZeroTally:
    """Non-zero counts per output and per input channel, and 2:4 groups, block by block."""

    def __init__(self, shape, out_axes, in_axes):
        self.shape, self.out_axes, self.in_axes = tuple(shape), out_axes, in_axes
        self.out_counts = np.zeros(_n_slots(shape, out_axes), np.int64)
        self.in_counts = None if in_axes is None else np.zeros(_n_slots(shape, in_axes), np.int64)
        self.groups = self.full_groups = 0
        self.carry = None  # zeros of each output channel's reduction not yet in a whole group

    def add(self, start: int, block: np.ndarray) -> None:
        """One block of whole rows, starting at row `start`."""
        grid, offset = _grid(block, self.shape, self.out_axes, start)
        _fold(self.out_counts, np.count_nonzero(grid, axis=(0, 2)), offset, np.add)
        if self.in_axes is None:
            return
        by_input, in_offset = _grid(block, self.shape, self.in_axes, start)
        _fold(self.in_counts, np.count_nonzero(by_input, axis=(0, 2)), in_offset, np.add)
        self._add_groups(grid)

    def _add_groups(self, grid: np.ndarray) -> None:
        """Count groups of GROUP consecutive weights along each output channel's reduction
        (see SparsityFacts). Every block holds every output channel here (the channel
        axes come after axis 0), and successive blocks continue each channel's reduction, so
        a group a block boundary splits is finished with the next block (self.carry)."""
        zeros = (grid == 0).transpose(1, 0, 2).reshape(grid.shape[1], -1)
        if self.carry is not None:
            zeros = np.concatenate([self.carry, zeros], axis=1)
        whole = zeros.shape[1] - zeros.shape[1] % GROUP
        per_group = zeros[:, :whole].reshape(zeros.shape[0], -1, GROUP).sum(axis=2)
        self.groups += per_group.size
        self.full_groups += int(np.count_nonzero(per_group >= GROUP // 2))
        self.carry = zeros[:, whole:]

    def facts(self, n: int) -> SparsityFacts:
        """The facts of the `n` values added."""
        n_inputs = None if self.in_counts is None else self.in_counts.size
        return SparsityFacts(
            n_values=n, zero_share=1 - int(self.out_counts.sum()) / n,
            n_channels=self.out_counts.size,
            n_zero_channels=int(np.count_nonzero(self.out_counts == 0)),
            n_inputs=n_inputs,
            n_zero_inputs=None if n_inputs is None else int(np.count_nonzero(self.in_counts == 0)),
            n_groups=self.groups,
            share_2_4=self.full_groups / self.groups if self.groups else None)


def _size(shape) -> int:
    return int(np.prod(tuple(shape), dtype=np.int64))


# Block plumbing: a block of whole rows seen as (outer, slots, inner), where the slots are
# the consecutive axes asked for (channels, inputs) and the rest is split around them.


def _blocks(values):
    """(first row, flat block of whole rows) of a tensor, about CHUNK values each."""
    row = _size(values.shape[1:]) or 1
    start = 0
    for block in row_blocks(values):
        yield start, block
        start += block.size // row


def _n_slots(shape, axes) -> int:
    return _size(tuple(shape)[axes[0]:axes[-1] + 1])


def _grid(block: np.ndarray, shape, axes, start: int) -> tuple[np.ndarray, int]:
    """A flat block of rows reshaped (outer, slots, inner) around the axes, and the index of
    its first slot: a block holds a share of every slot, unless the slots begin at axis 0,
    when it holds whole slots of its own rows."""
    shape = tuple(shape)
    first, last = axes[0], axes[-1] + 1
    row = _size(shape[1:]) or 1
    lead = (block.size // row,) + shape[1:]
    grid = block.reshape(_size(lead[:first]), _size(lead[first:last]),
                         _size(lead[last:]))
    offset = start * _size(shape[1:last]) if first == 0 else 0
    return grid, offset


def _fold(total: np.ndarray, part: np.ndarray, offset: int, combine) -> None:
    """Fold a block's per-slot numbers into the tensor's, in place (from `offset`)."""
    end = offset + part.size
    total[offset:end] = combine(total[offset:end], part)


def _wide_pieces(grid: np.ndarray):
    """(first slot, float64 piece) of a grid, about WIDE_CHUNK values each: split along the
    outer axis, or along the slots when there is no outer axis (an embedding's rows)."""
    outer, slots, inner = grid.shape
    if outer > 1:
        step = max(1, WIDE_CHUNK // max(1, slots * inner))
        for at in range(0, outer, step):
            yield 0, grid[at:at + step].astype(np.float64)
        return
    step = max(1, WIDE_CHUNK // max(1, inner))
    for at in range(0, slots, step):
        yield at, grid[:, at:at + step].astype(np.float64)
