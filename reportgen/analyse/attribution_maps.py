"""The sanity check of attribution maps (Adebayo et al. 2018, "Sanity Checks for Saliency
Maps", cascading randomisation): do a method's maps change when the model's weights are
re-initialised from the top down? If not, they explain the input, not the model.

The maps and the randomised clones come from load/keras/attribution.py (and Grad-CAM's
from load/keras/gradients.py with cam.py's maps); this module compares them: pure numpy
but for `sanity_check`, which only hands the model on.

Measured (median Spearman at full randomisation, 8 inputs; the book model on the
Fashion-MNIST sample, one image per class 0-7; the small CNN on the disc task of
tests/test_attribution.py):

    method          book CNN    small CNN (discs)
    edge detector     1.0         1.0
    IG                0.30        0.09 (about 0.85 on blurred blobs: differs_from_baseline)
    SmoothGrad        0.22        0.32
    Grad-CAM         -0.09        0.91
    Grad-CAM++        0.46        0.89 (book: 0.52-0.57 on 30 inputs)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.analyse.cam import GRAD_CAM, cam_maps
from reportgen.load.keras import attribution, cascade
from reportgen.load.keras.gradients import cam_gradients

# The median Spearman correlation between a method's maps for the trained model and for
# the fully randomised one above which the method "survives randomisation": its maps owe
# more to the input than to the weights. Half-way between no rank agreement (0) and the
# same order (1, an edge detector that ignores the model). Every method on the book model
# but Grad-CAM++ stays below 0.35; Grad-CAM++ sits on the line (0.46 on 8 inputs, 0.52-0.57
# on 30) and Grad-CAM and Grad-CAM++ of a two-convolution CNN on single-object images are
# above it (0.9): their maps there mostly say where the object is.
SURVIVES_SPEARMAN = 0.5

MapFn = Callable[[object, np.ndarray, Sequence[int]], np.ndarray]


@dataclass(frozen=True)
class SanityStage:
    """One cumulative stage: the weighted layers re-initialised (paths, from the lowest
    randomised up), the Spearman correlation per input (NaN when not comparable) and their
    median."""

    label: str
    randomised: tuple[str, ...]
    spearman: np.ndarray
    median: float


@dataclass(frozen=True)
class SanityCheck:
    """The stages of the cascade, out of `weighted` layers with weights."""

    weighted: int
    stages: tuple[SanityStage, ...]

    @property
    def survives(self) -> bool | None:
        """Whether the maps stay alike with every weighted layer randomised (median above
        SURVIVES_SPEARMAN): then they explain nothing about the model. None when no stage
        randomised them all, or no input could be compared."""
        full = [s for s in self.stages if len(s.randomised) == self.weighted]
        if not full or not np.isfinite(full[-1].median):
            return None
        return bool(full[-1].median > SURVIVES_SPEARMAN)


def differs_from_baseline(inputs: np.ndarray, baseline="black") -> np.ndarray:
    """Where each input differs from the baseline, (N, ...) bool: the positions to compare
    Integrated Gradients (or gradient x input) maps over.

    Both multiply by x - baseline, so wherever it is zero the attribution is exactly zero in
    any model, randomised or not: those tied zeros would agree by construction. Where x
    varies a lot (a blurred blob on black), |x - baseline| still orders the remaining
    positions in every model alike; flat inputs (white on black) leave the order to the
    gradient."""
    inputs = np.asarray(inputs)
    return inputs != attribution.baseline_array(baseline, inputs.shape[1:], inputs.dtype)[None]


def rank_similarity(original_map: np.ndarray, randomised_map: np.ndarray,
                    mask: np.ndarray | None = None) -> float:
    """Spearman's rank correlation of the two maps' absolute values (Adebayo et al.'s
    measure), over the positions in `mask` when given.

    Absolute values: a randomised layer may flip a map's sign without changing where it
    looks. A constant map has no order: against a map that has one the correlation is
    taken as 0 (the randomised map kept none of the original's order), two constant maps
    as 1 (the same, empty, order); NaN when fewer than two positions are compared.
    """
    from scipy.stats import spearmanr

    a = np.abs(np.asarray(original_map, np.float64)).ravel()
    b = np.abs(np.asarray(randomised_map, np.float64)).ravel()
    if mask is not None:
        keep = np.asarray(mask, bool).ravel()
        a, b = a[keep], b[keep]
    if a.size < 2 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("nan")
    flat_a, flat_b = bool(np.ptp(a) == 0), bool(np.ptp(b) == 0)
    if flat_a or flat_b:
        return 1.0 if flat_a and flat_b else 0.0
    return float(spearmanr(a, b).statistic)


def median_similarity(values: np.ndarray) -> float:
    """The median over inputs, NaN (no comparable input) left out; NaN when none is left."""
    finite = np.asarray(values, np.float64)
    finite = finite[np.isfinite(finite)]
    return float(np.median(finite)) if finite.size else float("nan")


def sanity_check(model, inputs: np.ndarray, class_indices: Sequence[int], map_fn: MapFn,
                 stages: Sequence[int] | None = None, seed: int = 0,
                 mask: np.ndarray | None = None) -> SanityCheck:
    """map_fn's maps for the model against those for each stage of randomised_cascade
    (`stages` and `seed` are its), by rank_similarity per input, over `mask` ((N, ...)
    like the maps) when given: for IG, differs_from_baseline(inputs)."""
    return sanity_checks(model, inputs, class_indices, {"map": (map_fn, mask)}, stages,
                         seed)["map"]


def sanity_checks(model, inputs: np.ndarray, class_indices: Sequence[int],
                  methods: dict[str, tuple[MapFn, np.ndarray | None]],
                  stages: Sequence[int] | None = None, seed: int = 0) -> dict[str, SanityCheck]:
    """sanity_check of several methods (name -> (map_fn, mask)) over one cascade: each
    randomised copy is made once for all of them (a copy of ResNet50 costs seconds)."""
    originals = {name: np.asarray(fn(model, inputs, class_indices))
                 for name, (fn, _mask) in methods.items()}
    paths = cascade.weighted_layer_paths(model)
    counts = cascade.checked_stages(stages, len(paths))
    results: dict[str, list[SanityStage]] = {name: [] for name in methods}
    for k, (label, randomised) in zip(counts,
                                      cascade.randomised_cascade(model, counts, seed)):
        for name, (fn, mask) in methods.items():
            changed = np.asarray(fn(randomised, inputs, class_indices))
            rho = np.array([rank_similarity(originals[name][i], changed[i],
                                            None if mask is None else mask[i])
                            for i in range(len(changed))])
            results[name].append(SanityStage(label, paths[len(paths) - k:], rho,
                                             median_similarity(rho)))
    return {name: SanityCheck(len(paths), tuple(found)) for name, found in results.items()}


def ig_map(model, inputs: np.ndarray, class_indices: Sequence[int]) -> np.ndarray:
    """Integrated Gradients from a black baseline, as a map_fn (compare it over
    differs_from_baseline(inputs))."""
    return attribution.integrated_gradients(model, inputs, class_indices).attributions


def smoothgrad_map(model, inputs: np.ndarray, class_indices: Sequence[int]) -> np.ndarray:
    """SmoothGrad's mean absolute gradient, as a map_fn."""
    return attribution.smoothgrad(model, inputs, class_indices, absolute=True)


def cam_map_fn(layer_path: str, method: str = GRAD_CAM) -> MapFn:
    """A map_fn of Grad-CAM or Grad-CAM++ (cam.py) at `layer_path`, at the input's size. A
    clone keeps its layers' names, so the path finds the same layer in it."""
    def cam_map(model, inputs: np.ndarray, class_indices: Sequence[int]) -> np.ndarray:
        found = cam_gradients(model, layer_path, np.asarray(inputs), list(class_indices))
        return cam_maps(found.activations, found.gradients, method,
                        tuple(np.asarray(inputs).shape[1:3])).unit
    return cam_map
