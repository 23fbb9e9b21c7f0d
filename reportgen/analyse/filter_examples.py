"""What each filter responds to over a labelled sample: per filter of the first convolution
layers, the k images whose feature map reaches the highest value, with where it does.

Streamed: each batch's maps are reduced to one maximum (and its position) per image and
filter, merged with the k kept so far, and dropped, so memory is layers x filters x k
whatever the sample's size. Ties keep the lower image index, so the result does not
depend on how the sample is cut into batches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.analyse.receptive_field import CONVOLUTIONS, Geometry, receptive_field
from reportgen.i18n import msg

DEFAULT_K = 6
MAX_LAYERS = 2      # the first two convolutions: edges and simple textures, where the chapter looks
MAX_FILTERS = 16    # the first 16 filters of each: 16 rows x 6 images stay one screen


@dataclass(frozen=True)
class FilterExample:
    """An image that drives a filter: its index in the sample, the filter's highest value on
    it, where on the map that is, and the input pixels there (top, left, bottom, right)."""

    index: int
    value: float
    row: int
    col: int
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class FilterFacts:
    """One filter's examples, strongest first (fewer than k when values were not finite)."""

    filter: int
    examples: tuple[FilterExample, ...]


@dataclass(frozen=True)
class LayerExamples:
    """A convolution layer's first filters and their examples; the map and input sizes and
    how the receptive field was found (see receptive_field.py)."""

    layer: str
    n_filters: int
    map_size: tuple[int, int]
    input_size: tuple[int, int]
    geometry: Geometry
    filters: tuple[FilterFacts, ...]


@dataclass(frozen=True)
class FilterExamplesFacts:
    """The examples of every chosen layer over a sample of n_samples images, and the caps
    that chose them (`note` says what was left out)."""

    n_samples: int
    k: int
    max_filters: int
    layers: tuple[LayerExamples, ...]
    note: str


def example_layers(layers: Sequence[tuple[str, str]], cap: int = MAX_LAYERS
                   ) -> tuple[tuple[str, ...], str]:
    """The first `cap` 2-D convolution layers of (name, class name) pairs in model order,
    and a note when there are more."""
    convolutions = [name for name, class_name in layers if class_name in CONVOLUTIONS]
    chosen = tuple(convolutions[:cap])
    if len(convolutions) <= cap:
        return chosen, ""
    return chosen, msg("Examples are shown for the first {cap} of the {n} 2-D convolution "
                       "layers.", cap=cap, n=len(convolutions))


class FilterExampleAccumulator:
    """The k strongest images per filter of the chosen layers, merged batch by batch."""

    def __init__(self, layers: Sequence[str], k: int = DEFAULT_K, max_filters: int = MAX_FILTERS):
        self.layers = tuple(layers)
        self.k, self.max_filters = k, max_filters
        self.n_samples = 0
        self.values: dict[str, np.ndarray] = {}     # (filters, <= k) float64, best first
        self.indices: dict[str, np.ndarray] = {}    # (filters, <= k) image indices
        self.places: dict[str, np.ndarray] = {}     # (filters, <= k) flat positions on the map
        self.shapes: dict[str, tuple[int, int, int]] = {}  # map height, width, all filters

    def add(self, start_index: int, layer_outputs: Mapping[str, np.ndarray]) -> None:
        """One batch of images start_index, start_index + 1, ...: each layer's (B, H, W, C)
        output; layers that are absent or not 2-D maps are left out."""
        n = 0
        for name in self.layers:
            maps = layer_outputs.get(name)
            if maps is None or maps.ndim != 4:
                continue
            n = len(maps)
            self._merge(name, start_index, np.asarray(maps[..., :self.max_filters]))
            self.shapes[name] = maps.shape[1:]
        self.n_samples = max(self.n_samples, start_index + n)

    def _merge(self, name: str, start: int, maps: np.ndarray) -> None:
        """Keep the k best of the kept ones and this batch's, per filter."""
        b, h, w, f = maps.shape
        flat = maps.reshape(b, h * w, f).astype(np.float64)
        flat[~np.isfinite(flat)] = -np.inf  # NaN and Inf never count as a response
        place = flat.argmax(axis=1)                             # (B, F)
        best = np.take_along_axis(flat, place[:, None, :], axis=1)[:, 0]
        values, indices = best.T, np.broadcast_to(np.arange(start, start + b), (f, b))
        places = place.T
        if name in self.values:
            values = np.concatenate([self.values[name], values], axis=1)
            indices = np.concatenate([self.indices[name], indices], axis=1)
            places = np.concatenate([self.places[name], places], axis=1)
        order = np.lexsort((indices, -values), axis=-1)[:, :self.k]  # highest, then lowest index
        self.values[name] = np.take_along_axis(values, order, axis=1)
        self.indices[name] = np.take_along_axis(indices, order, axis=1)
        self.places[name] = np.take_along_axis(places, order, axis=1)

    def result(self, input_size: tuple[int, int], config: dict | None = None,
               note: str = "") -> FilterExamplesFacts:
        """The examples of every layer seen, with receptive fields over inputs of input_size
        (read from the model config when it can be followed)."""
        layers = []
        for name in self.layers:
            if name not in self.values:
                continue
            h, w, n_filters = self.shapes[name]
            geometry = receptive_field(config, name, input_size, (h, w))
            filters = tuple(FilterFacts(f, tuple(
                FilterExample(int(i), float(v), int(p // w), int(p % w),
                              geometry.box(int(p // w), int(p % w)))
                for v, i, p in zip(self.values[name][f], self.indices[name][f],
                                   self.places[name][f]) if np.isfinite(v)))
                for f in range(self.values[name].shape[0]))
            layers.append(LayerExamples(name, int(n_filters), (int(h), int(w)),
                                        tuple(input_size), geometry, filters))
        return FilterExamplesFacts(self.n_samples, self.k, self.max_filters, tuple(layers), note)
