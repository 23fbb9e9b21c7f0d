"""Activations over a whole sample, accumulated batch by batch: per layer and channel the
mean, the share of exact zeros, and whether the channel is zero for every input. Only these
sums are kept, never the activations themselves, so memory does not grow with the sample."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection

import numpy as np


@dataclass(frozen=True)
class SampleActivation:
    """One layer's output over all the inputs of a run."""

    layer: str
    n_inputs: int
    channel_means: tuple[float, ...]
    channel_zero_fractions: tuple[float, ...]
    dead_channels: tuple[int, ...]  # zero for every value of every input
    n_non_finite: int


class ActivationAccumulator:
    """Sums of every layer's outputs, added one batch (samples first) at a time.

    A channel is the last axis of an output with positions (height, width or time). The
    layers named in `unit_layers` (a Dense layer, an activation after it) count without
    positions too, each unit a channel: over a labelled sample a unit zero for every image
    is a dead ReLU unit (over a few inputs, only ReLU's sparsity; and a Flatten's "units"
    are positions of another layer's channels).
    """

    def __init__(self, unit_layers: Collection[str] = ()):
        self.unit_layers = frozenset(unit_layers)
        self.n_inputs = 0
        self.sums: dict[str, np.ndarray] = {}
        self.zeros: dict[str, np.ndarray] = {}
        self.live: dict[str, np.ndarray] = {}
        self.values_per_input: dict[str, int] = {}
        self.non_finite: dict[str, int] = {}

    def add(self, outputs: dict[str, np.ndarray]) -> None:
        """One batch: each layer's output with the samples on the first axis."""
        n = 0
        for name, batch in outputs.items():
            n = len(batch)
            if batch.dtype.kind != "f" or batch.ndim < (2 if name in self.unit_layers else 3):
                continue
            flat = batch.reshape(-1, batch.shape[-1])
            finite = np.isfinite(flat)
            if not finite.all():  # rare: only then pay for a cleaned copy
                self.non_finite[name] = self.non_finite.get(name, 0) + int((~finite).sum())
                flat = np.where(finite, flat, 0)
            zeros = (flat == 0).sum(axis=0)
            self._add(name, flat.sum(axis=0, dtype=np.float64), zeros, zeros < flat.shape[0],
                      flat.shape[0] // max(n, 1))
        self.n_inputs += n

    def _add(self, name: str, sums, zeros, live, per_input: int) -> None:
        if name not in self.sums:
            self.sums[name], self.zeros[name], self.live[name] = sums, zeros, live
            self.values_per_input[name] = per_input
            return
        self.sums[name] = self.sums[name] + sums
        self.zeros[name] = self.zeros[name] + zeros
        self.live[name] = self.live[name] | live

    def result(self) -> tuple[SampleActivation, ...]:
        """Every layer's summary, in the order layers were first seen."""
        found = []
        for name, sums in self.sums.items():
            count = max(self.n_inputs * self.values_per_input[name], 1)
            found.append(SampleActivation(
                layer=name, n_inputs=self.n_inputs,
                channel_means=tuple(float(v) for v in sums / count),
                channel_zero_fractions=tuple(float(v) for v in self.zeros[name] / count),
                dead_channels=tuple(int(c) for c in np.flatnonzero(~self.live[name])),
                n_non_finite=self.non_finite.get(name, 0)))
        return tuple(found)
