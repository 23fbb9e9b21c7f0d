"""The attribution section's work with the model (its `measure`): Integrated Gradients from
each baseline, SmoothGrad, and the sanity check of every method; and the facts it leaves.

Cost rule (documented in docs/alerts.md's section on the sanity check): a model whose input
holds more than BIG_INPUT values (a 224 x 224 x 3 image: 150,528) gets IG up to
IG_BIG_STEPS steps, SmoothGrad over SMOOTHGRAD_BIG_N copies, and a sanity check of one input
with IG of SANITY_IG_BIG_STEPS steps; a small model IG up to 256 steps, 25 copies and
SANITY_INPUTS inputs with IG of SANITY_IG_STEPS steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.errors import one_line
from reportgen.i18n import N_, msg
from reportgen.sections.base import Evidence, class_label

ATTRIBUTED = 4          # drawn inputs attributed (the first ones)
SANITY_INPUTS = 2
BIG_INPUT = 50_000
IG_BIG_STEPS = 64
SMOOTHGRAD_BIG_N = 10
# The sanity check compares the order of the maps, not their sums: its IG (of the model and
# of each randomised copy alike) takes a fixed number of steps, fewer on a big model.
SANITY_IG_STEPS = 32
SANITY_IG_BIG_STEPS = 16
CALIBRATION = 256       # sample images whose mean is IG's second baseline


@dataclass(frozen=True)
class AttributedInput:
    """An input, its top class (with label), and IG's steps and completeness error per
    baseline (None: |S(x) − S(x′)| too small to judge)."""

    name: str
    top: int
    label: str
    steps: tuple[int, ...]
    errors: tuple[float | None, ...]


@dataclass(frozen=True)
class MethodCheck:
    """One method's sanity check: per cumulative stage its label and median Spearman, the
    median at full randomisation, and whether the maps survive it."""

    method: str
    stages: tuple[tuple[str, float], ...]
    full_median: float
    survives: bool | None


@dataclass(frozen=True)
class AttributionFacts:
    """Every attributed input, the baselines, the methods drawn, and the checks."""

    inputs: tuple[AttributedInput, ...]
    baselines: tuple[str, ...]
    methods: tuple[str, ...]
    checks: tuple[MethodCheck, ...]
    n_weighted: int
    n_checked: int
    smoothgrad_n: int
    max_steps: int
    score: str


@dataclass(frozen=True)
class AttributionRun:
    """The facts, the images and each method's 0..1 maps (N, H, W); or why there are none."""

    facts: AttributionFacts | None
    images: tuple = ()
    maps: dict | None = None
    reason: str = ""


def measure(model, evidence: Evidence) -> AttributionRun:
    """IG (black, and the sample mean with --data), SmoothGrad, and the sanity checks."""
    from reportgen.sections.cam import items_of

    items = [item for item in items_of(evidence) if item.true is None][:ATTRIBUTED]
    items = [item for item in items if item.image.ndim == 3
             and item.image.shape == items[0].image.shape]
    if not items:
        return AttributionRun(None, reason=msg("no image input was run"))
    from reportgen.load.keras.attribution import shared_scorers

    try:
        with shared_scorers():
            return _attributed(model, evidence, items)
    except ValueError as exc:  # a model the rebuilt graph cannot differentiate
        return AttributionRun(None, reason=msg("the model cannot be attributed: {error}",
                                               error=one_line(exc)))


def _attributed(model, evidence: Evidence, items) -> AttributionRun:
    from reportgen.load.keras import attribution

    batch = np.stack([item.image for item in items]).astype(np.float32)
    tops = [item.top for item in items]
    big = batch[0].size > BIG_INPUT
    max_steps = IG_BIG_STEPS if big else attribution.IG_MAX_STEPS
    n_noisy = SMOOTHGRAD_BIG_N if big else attribution.SMOOTHGRAD_N
    baselines = _baselines(evidence.outputs.sample)
    ig = {name: attribution.integrated_gradients(model, batch, tops, base, max_steps)
          for name, base in baselines.items()}
    maps = {ig_map_name(name): np.stack([unit_map(a) for a in result.attributions])
            for name, result in ig.items()}
    maps["SmoothGrad"] = np.stack([unit_map(a) for a in attribution.smoothgrad(
        model, batch, tops, n=n_noisy, absolute=True)])
    n_checked = min(len(items), 1 if big else SANITY_INPUTS)
    checks, n_weighted = _checks(model, evidence, batch[:n_checked], tops[:n_checked],
                                 SANITY_IG_BIG_STEPS if big else SANITY_IG_STEPS, n_noisy)
    inputs = tuple(AttributedInput(item.name, item.top, class_label(evidence, item.top),
                                   tuple(int(r.steps[k]) for r in ig.values()),
                                   tuple(r.errors[k] for r in ig.values()))
                   for k, item in enumerate(items))
    facts = AttributionFacts(inputs, tuple(baselines), tuple(maps), checks, n_weighted,
                             n_checked, n_noisy, max_steps, ig["black"].score)
    return AttributionRun(facts, tuple(item.image for item in items), maps)


def ig_map_name(baseline: str) -> str:
    """The name of IG's map from `baseline` ("black", "sample mean")."""
    return f"IG ({baseline})"


def _baselines(sample) -> dict:
    """IG's baselines by name: black, and the mean of the sample's first images."""
    found = {N_("black"): "black"}
    if sample is not None:
        found[N_("sample mean")] = sample.conformed(
            range(min(CALIBRATION, sample.n_images))).mean(axis=0)
    return found


def _checks(model, evidence: Evidence, batch: np.ndarray, tops: list[int], ig_steps: int,
            n_noisy: int) -> tuple[tuple[MethodCheck, ...], int]:
    """The sanity check of each method: stages the top weighted layer, then all of them."""
    from reportgen.analyse import attribution_maps as sanity
    from reportgen.load.keras import cascade

    n_weighted = len(cascade.weighted_layer_paths(model))
    stages = tuple(sorted({1, n_weighted}))
    methods = sanity_methods(batch, evidence.prepared.get("cam"), ig_steps, n_noisy)
    found = [MethodCheck(name, tuple((s.label, s.median) for s in check.stages),
                         check.stages[-1].median, check.survives)
             for name, check in sanity.sanity_checks(model, batch, tops, methods,
                                                     stages).items()]
    return tuple(found), n_weighted


def sanity_methods(batch: np.ndarray, cam_layer: str | None, ig_steps: int,
                   n_noisy: int) -> dict:
    """The methods the sanity check compares, as attribution_maps.sanity_checks takes them
    (name -> (map_fn, mask)): IG from black over the positions that differ from it,
    SmoothGrad, and with a Grad-CAM layer Grad-CAM and Grad-CAM++."""
    from reportgen.analyse import attribution_maps as sanity
    from reportgen.analyse.cam import GRAD_CAM, GRAD_CAM_PP
    from reportgen.load.keras import attribution

    def ig(m, x, c):
        return attribution.integrated_gradients(m, x, c, "black", ig_steps).attributions

    def smooth(m, x, c):
        return attribution.smoothgrad(m, x, c, n=n_noisy, absolute=True)

    methods = {"IG": (ig, sanity.differs_from_baseline(batch)), "SmoothGrad": (smooth, None)}
    if cam_layer is not None:
        methods |= {"Grad-CAM": (sanity.cam_map_fn(cam_layer, GRAD_CAM), None),
                    "Grad-CAM++": (sanity.cam_map_fn(cam_layer, GRAD_CAM_PP), None)}
    return methods


def unit_map(values: np.ndarray) -> np.ndarray:
    """An attribution (H, W[, C]) as a 0..1 map of |attribution| summed over channels,
    scaled by its 99th percentile (one hot pixel would otherwise wash out the rest)."""
    magnitude = np.abs(np.asarray(values, np.float64))
    if magnitude.ndim == 3:
        magnitude = magnitude.sum(axis=-1)
    top = float(np.percentile(magnitude, 99)) or float(magnitude.max()) or 1.0
    return np.clip(magnitude / top, 0.0, 1.0)

