"""Per-class mean activation of the layer before the output: which units each class drives.

Streamed like the other sample accumulators: per class a sum of the layer's output vectors
and a count, so memory is classes x units whatever the sample's size. A layer with spatial
positions (a last convolution feeding a global pooling, say) is averaged over them first,
one value per channel, as global average pooling would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# The vectors kept per input for the map of the representation (sections/representation.py):
# ResNet50's 2048 units over the 10,000-image test set are 80 MB; a larger sample keeps every
# k-th input, evenly spread (a folder sample is ordered by class).
ROWS_BUDGET = 128 * 2**20
TOP_UNITS = 32      # columns of the heatmap: the units whose class means differ most
# Layers that pass their input on unchanged at inference: the penultimate layer of
# Dense -> Dropout -> Dense is the first Dense, whose output the Dropout only hands on.
PASS_THROUGH = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization"}


@dataclass(frozen=True)
class ClassActivationFacts:
    """The mean output of `layer` per class, for the `units` whose means vary most across
    the classes present (in display order: grouped by the class that drives them most).

    `means[c][j]` is class c's mean of unit units[j] (None when the sample has no image of
    class c); `spread[j]` is that unit's standard deviation across the classes present.
    """

    layer: str
    n_units: int
    spatial_mean: bool
    class_counts: tuple[int, ...]
    units: tuple[int, ...]
    spread: tuple[float, ...]
    means: tuple[tuple[float | None, ...], ...]
    n_non_finite: int


def penultimate_layer(layers: Sequence[tuple[str, str]]) -> str | None:
    """The layer whose output the last layer reads, among (name, class name) pairs in model
    order, passing over layers that hand their input on unchanged; None for a model of
    fewer than two layers."""
    candidates = [name for name, class_name in layers[:-1]
                  if class_name not in PASS_THROUGH and class_name != "InputLayer"]
    return candidates[-1] if candidates else None


class ClassActivationAccumulator:
    """Sums of one layer's output vectors per true class, added one batch at a time."""

    def __init__(self, layer: str, n_classes: int, top_units: int = TOP_UNITS,
                 n_images: int = 0):
        self.layer, self.n_classes, self.top_units = layer, n_classes, top_units
        self.sums: np.ndarray | None = None                 # (classes, units) float64
        self.counts = np.zeros(n_classes, np.int64)
        self.spatial = False
        self.n_non_finite = 0
        self.n_images, self.seen, self.step = n_images, 0, 0
        self.rows: list[tuple[np.ndarray, np.ndarray]] = []  # (indices, vectors float32)

    def add(self, labels: np.ndarray, outputs: np.ndarray) -> None:
        """The layer's outputs (B, ..., units) for images of these true classes."""
        vectors = np.asarray(outputs, dtype=np.float64)
        if vectors.ndim > 2:
            self.spatial = True
            vectors = vectors.reshape(len(vectors), -1, vectors.shape[-1]).mean(axis=1)
        finite = np.isfinite(vectors)
        self.n_non_finite += int((~finite).sum())
        vectors = np.where(finite, vectors, 0.0)
        self._keep(vectors)
        one_hot = np.zeros((len(labels), self.n_classes))
        one_hot[np.arange(len(labels)), np.asarray(labels, dtype=np.int64)] = 1.0
        sums = one_hot.T @ vectors
        self.sums = sums if self.sums is None else self.sums + sums
        self.counts += one_hot.sum(axis=0).astype(np.int64)

    def _keep(self, vectors: np.ndarray) -> None:
        """Keep every `step`-th input's vector (step chosen at the first batch, from the
        budget)."""
        if not self.step:
            self.step = max(1, -(-self.n_images * vectors.shape[1] * 4 // ROWS_BUDGET))
        indices = np.arange(self.seen, self.seen + len(vectors))
        chosen = indices % self.step == 0
        self.rows.append((indices[chosen], vectors[chosen].astype(np.float32)))
        self.seen += len(vectors)

    def kept(self) -> tuple[np.ndarray, np.ndarray]:
        """The indices of the inputs kept and their vectors (n, units) float32."""
        if not self.rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        return (np.concatenate([i for i, _ in self.rows]),
                np.concatenate([v for _, v in self.rows]))

    def result(self) -> ClassActivationFacts:
        """The class means of the units that tell the classes apart most."""
        if self.sums is None:
            raise ValueError("no batch was added")
        present = self.counts > 0
        means = self.sums / np.maximum(self.counts, 1)[:, None]
        spread = means[present].std(axis=0)
        top = np.argsort(-spread, kind="stable")[:self.top_units]
        # Grouped by the class each unit prefers, so that the heatmap reads class by class.
        preferred = np.where(present[:, None], means[:, top], -np.inf).argmax(axis=0)
        shown = top[np.lexsort((-spread[top], preferred))]
        return ClassActivationFacts(
            layer=self.layer, n_units=int(self.sums.shape[1]), spatial_mean=self.spatial,
            class_counts=tuple(int(c) for c in self.counts),
            units=tuple(int(u) for u in shown), spread=tuple(float(spread[u]) for u in shown),
            means=tuple(tuple(float(means[c, u]) for u in shown) if present[c]
                        else tuple(None for _ in shown) for c in range(self.n_classes)),
            n_non_finite=self.n_non_finite)
