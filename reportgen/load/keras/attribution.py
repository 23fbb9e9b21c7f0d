"""Input attributions, and the randomised models of their sanity check.

S is the class's pre-softmax score exactly as Grad-CAM takes it (gradients.py: the head's
logits recomputed beside it, the model never changed). Three methods, plain numpy out:

- `input_gradients`: dS/dx;
- `integrated_gradients` (Sundararajan et al. 2017): (x - x') times the mean gradient on
  the straight path from the baseline x' to x, with a checked completeness error;
- `smoothgrad` (Smilkov et al. 2017): the gradient averaged over noisy copies of x.

For a model whose first layer is an Embedding (integer token ids in) the gradient is taken
with respect to that layer's output: the model's own layers are called again from a float
input of the embedding's shape, the Embedding itself passed over, and a token's attribution
is the sum over the embedding dimension.

`randomised_cascade` gives the clones of Adebayo et al. 2018's cascading randomisation;
comparing maps and the verdict are analysis (analyse/attribution_maps.py), since this
stage may not import that one. The model given is only read.
"""

from __future__ import annotations

import contextlib

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.load.keras.base import traceable, unwrap
from reportgen.load.keras.gradients import CAM_BATCH, _class_picks, _Placed, _Rebuild
from reportgen.load.keras.runtime import import_keras

GRADIENT_BATCH = CAM_BATCH   # inputs per tape, as for Grad-CAM
IG_START_STEPS = 32
IG_MAX_STEPS = 256
# Completeness within 5 %: Sundararajan et al. suggest 20 to 300 steps to reach it.
IG_TOLERANCE = 0.05
# Below this |S(x) - S(baseline)| the relative completeness error is a ratio of rounding
# noise: reported as None, never as a huge number.
TINY_DIFFERENCE = 1e-6
SMOOTHGRAD_N = 25            # Smilkov et al.: little changes beyond about 50 copies
SMOOTHGRAD_NOISE = 0.15      # their sigma / (max - min); 10-20 % looked best to them
BLACK = "black"


@dataclass(frozen=True)
class IntegratedGradients:
    """Integrated Gradients of N inputs: `attributions` (the inputs' shape, or (N, tokens)
    for an Embedding model) float32; per input the trapezoid `steps` used, the completeness
    `errors` (None when |S(x) - S(baseline)| < 1e-6), `scores` S(x) and `baseline_scores`
    S(baseline); `score` says what S is."""

    attributions: np.ndarray
    steps: np.ndarray
    errors: tuple[float | None, ...]
    scores: np.ndarray
    baseline_scores: np.ndarray
    score: str


class _ScoreRebuild(_Rebuild):
    """gradients.py's rebuild tapping only the class scores, started at the model's input or,
    for an Embedding first layer, at a float input of that layer's output shape (the
    Embedding passed over: its output is what the gradient is taken against)."""

    def __init__(self, model, embedding):
        super().__init__(model, _Placed("", None, ()))
        self.embedding = embedding

    def probe(self, model):
        """A model from the input (or the embedded tokens) to the class scores."""
        spec = model.inputs[0]
        shape = tuple(spec.shape)
        if self.embedding is None:
            start = self.keras.Input(batch_shape=shape, dtype=spec.dtype)
        else:
            start = self.keras.Input(batch_shape=self.embedding.compute_output_shape(shape),
                                     dtype="float32")
        self.outputs(model, start if isinstance(model, self.keras.Sequential)
                     else self.keras.tree.map_structure(lambda _: start, model.input))
        return self.keras.Model(start, self.taps["scores"])

    def call(self, layer, *args, **kwargs):
        """The Embedding gives back its (already embedded) input; other layers as in
        gradients.py."""
        if self.embedding is not None and layer is self.embedding:
            return args[0]
        return super().call(layer, *args, **kwargs)


class _Scorer:
    """S and dS/dx of a model, in the space gradients are taken in: the input's, or the
    Embedding output's."""

    def __init__(self, model):
        self.model = unwrap(model)
        self.embedding = _first_embedding(self.model)
        rebuild = _ScoreRebuild(self.model, self.embedding)
        self.probe = rebuild.probe(self.model)
        self.score_text = rebuild.score_text
        self._step = None

    def space(self, inputs: np.ndarray) -> np.ndarray:
        """The inputs where gradients are taken: embedded tokens, or the inputs as float32."""
        if self.embedding is None:
            return np.asarray(inputs, np.float32)
        return np.asarray(self.embedding(np.asarray(inputs, np.int32)), np.float32)

    def per_input(self, values: np.ndarray) -> np.ndarray:
        """Values in the gradient space brought to the input's shape (summed over the
        embedding dimension for tokens)."""
        return values.sum(axis=-1) if self.embedding is not None else values

    def gradients(self, points: np.ndarray, classes: np.ndarray):
        """S and dS/dx at each of up to GRADIENT_BATCH rows of `points`, the batch padded to
        that size with zero rows of zero weight so that the compiled step is traced once."""
        import tensorflow as tf

        n = len(points)
        batch = np.zeros((GRADIENT_BATCH,) + points.shape[1:], np.float32)
        batch[:n] = points
        picks = np.zeros((GRADIENT_BATCH, int(self.probe.outputs[0].shape[-1])), np.float32)
        picks[:n] = _class_picks(np.asarray(classes, np.int64), picks.shape[1])
        if self._step is None:  # eager for layer names TensorFlow refuses as graph scopes
            self._step = tf.function(self._traced_step) if traceable(self.model) \
                else self._traced_step
        scores, grads = self._step(tf.constant(batch), tf.constant(picks))
        return scores.numpy()[:n].astype(np.float64), grads.numpy()[:n]

    def _traced_step(self, batch, picks):
        """One tape (inference mode, so each row's gradient is its own although the scores
        are summed); compiled, as it runs hundreds of times for Integrated Gradients."""
        import tensorflow as tf

        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(batch)
            logits = self.probe(batch, training=False)
            scores = tf.reduce_sum(logits * tf.cast(picks, logits.dtype), axis=1)
            total = tf.reduce_sum(scores)
        return scores, tape.gradient(total, batch)


def _first_embedding(model):
    """The Embedding that is the model's first layer, None when the first layer is another
    one; an integer input not embedded first, or an Embedding with a mask (which the
    rebuilt graph would lose), cannot be differentiated."""
    keras = import_keras()
    first = next((layer for layer in model.layers if type(layer).__name__ != "InputLayer"),
                 None)
    integer = "int" in str(model.inputs[0].dtype)
    if isinstance(first, keras.layers.Embedding):
        if first.get_config().get("mask_zero"):
            raise ValueError(f"{first.name}: an Embedding with mask_zero is not supported")
        return first
    if integer:
        raise ValueError("an integer input needs an Embedding as the model's first layer")
    return None


def _batched_gradients(scorer: _Scorer, points: np.ndarray, classes: np.ndarray):
    """S (N,) and dS/dx (N, ...) for every row, GRADIENT_BATCH rows per tape."""
    parts = [scorer.gradients(points[lo:lo + GRADIENT_BATCH], classes[lo:lo + GRADIENT_BATCH])
             for lo in range(0, len(points), GRADIENT_BATCH)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


_SHARED: dict | None = None  # the scorers of shared_scorers(), by model


@contextlib.contextmanager
def shared_scorers():
    """Within it, every gradient of one model (IG, SmoothGrad, plain) goes through one
    compiled step: tracing ResNet50's costs about 3 s, and the sanity check asks each model
    for several methods. The models stay referenced until it ends."""
    global _SHARED
    outer = _SHARED
    _SHARED = {} if outer is None else outer
    try:
        yield
    finally:
        _SHARED = outer


def _scorer(model) -> "_Scorer":
    """The model's scorer: shared within shared_scorers(), else a new one."""
    if _SHARED is None:
        return _Scorer(model)
    key = id(unwrap(model))
    if key not in _SHARED:
        _SHARED[key] = _Scorer(model)
    return _SHARED[key]


def input_gradients(model, inputs: np.ndarray, class_indices: Sequence[int]) -> np.ndarray:
    """dS/dx per input, float32 of the inputs' shape; for an Embedding model the sum over
    the embedding dimension of dS/d(embedding), one value per token."""
    scorer = _scorer(model)
    _, grads = _batched_gradients(scorer, scorer.space(inputs), np.asarray(class_indices))
    return scorer.per_input(grads).astype(np.float32)


def integrated_gradients(model, inputs: np.ndarray, class_indices: Sequence[int],
                         baseline="black", max_steps: int = IG_MAX_STEPS) -> IntegratedGradients:
    """Integrated Gradients: (x - x') * integral over alpha in [0, 1] of dS/dx at
    x' + alpha (x - x'), the integral by the trapezoid rule on m equal intervals
    (alpha = k/m, end points weighted 1/2).

    m starts at IG_START_STEPS and doubles for an input (its earlier points reused: the
    trapezoid rule's points nest) while its completeness error |sum(attr) - (S(x) - S(x'))|
    / |S(x) - S(x')| is IG_TOLERANCE or more, up to IG_MAX_STEPS. The trapezoid rule
    rather than Gauss-Legendre: the path gradient of a ReLU network is piecewise constant,
    where a high-order rule gains nothing, and Gauss-Legendre's points do not nest.

    `baseline` x': "black" (zeros) or an array that broadcasts to one input (a sample
    mean). For an Embedding model x' is a sequence of token ids ("black": all token 0, by
    convention padding), embedded by the model's own Embedding: a baseline the model can
    actually be given, unlike an all-zero embedding; tokens equal to the baseline's get 0.
    """
    scorer = _scorer(model)
    raw = np.asarray(inputs)
    ends = scorer.space(raw)
    starts = scorer.space(baseline_array(baseline, raw.shape[1:], raw.dtype)[None])
    starts = np.broadcast_to(starts, ends.shape)
    path = _Path(scorer, ends, starts, np.asarray(class_indices, np.int64))
    path.refine(np.arange(len(ends)), min(IG_START_STEPS, max_steps))
    while True:
        todo = [i for i, e in enumerate(path.errors())
                if e is not None and e >= IG_TOLERANCE and path.steps[i] < max_steps]
        if not todo:
            break
        path.refine(np.array(todo), 2 * path.steps[todo])
    return IntegratedGradients(scorer.per_input(path.attributions()).astype(np.float32),
                               path.steps.copy(), path.errors(), path.scores,
                               path.baseline_scores, scorer.score_text)


class _Path:
    """The trapezoid sums of Integrated Gradients' straight paths, refined per input."""

    def __init__(self, scorer: _Scorer, ends: np.ndarray, starts: np.ndarray,
                 classes: np.ndarray):
        self.scorer, self.ends, self.starts, self.classes = scorer, ends, starts, classes
        n = len(ends)
        rows = np.repeat(np.arange(n), 2)
        end_sums, end_scores = self._sums(rows, np.tile([0.0, 1.0], n))
        self.edges = end_sums / 2            # (g(0) + g(1)) / 2, the trapezoid's ends
        self.inner = np.zeros_like(self.edges)
        self.baseline_scores, self.scores = end_scores[0::2], end_scores[1::2]
        self.steps = np.ones(n, np.int64)

    def refine(self, rows: np.ndarray, new_steps) -> None:
        """Bring inputs `rows` to `new_steps` intervals (one count, or one per row)."""
        new_steps = np.broadcast_to(np.asarray(new_steps, np.int64), rows.shape)
        alphas = [new_alphas(int(self.steps[r]), int(m)) for r, m in zip(rows, new_steps)]
        sums, _ = self._sums(np.repeat(rows, [len(a) for a in alphas]), np.concatenate(alphas))
        self.inner += sums
        self.steps[rows] = new_steps

    def attributions(self) -> np.ndarray:
        """(x - x') times the mean path gradient, in the gradient space."""
        shape = (-1,) + (1,) * (self.ends.ndim - 1)
        mean = (self.edges + self.inner) / self.steps.reshape(shape)
        return (self.ends.astype(np.float64) - self.starts) * mean

    def errors(self) -> tuple[float | None, ...]:
        """The completeness error of each input at its current steps."""
        totals = self.attributions().reshape(len(self.ends), -1).sum(axis=1)
        return completeness_errors(totals, self.scores - self.baseline_scores)

    def _sums(self, rows: np.ndarray, alphas: np.ndarray):
        """Per input, the sum of dS/dx over the given (row, alpha) points; S at each point."""
        sums = np.zeros(self.ends.shape, np.float64)
        scores = np.empty(len(rows))
        shape = (-1,) + (1,) * (self.ends.ndim - 1)
        for lo in range(0, len(rows), GRADIENT_BATCH):
            r, a = rows[lo:lo + GRADIENT_BATCH], alphas[lo:lo + GRADIENT_BATCH].reshape(shape)
            points = self.starts[r] + a * (self.ends[r] - self.starts[r])
            scores[lo:lo + GRADIENT_BATCH], grads = self.scorer.gradients(points, self.classes[r])
            np.add.at(sums, r, grads)
        return sums, scores


def new_alphas(old_steps: int, new_steps: int) -> np.ndarray:
    """The points k / new_steps of the path (0 < k < new_steps) that a trapezoid rule of
    `old_steps` intervals did not use yet: from 1 to 32 intervals all 31 interior points,
    from m to 2m the m midpoints (the rule's points nest)."""
    if new_steps % old_steps:
        raise ValueError(f"{new_steps} steps do not refine {old_steps} steps")
    k = np.arange(1, new_steps)
    return (k[k % (new_steps // old_steps) != 0] / new_steps).astype(np.float64)


def completeness_errors(attribution_sums: np.ndarray, differences: np.ndarray
                        ) -> tuple[float | None, ...]:
    """|sum of attributions - (S(x) - S(baseline))| / |S(x) - S(baseline)| per input; None
    where the difference is below TINY_DIFFERENCE (nothing to complete)."""
    errors = []
    for total, difference in zip(np.asarray(attribution_sums, np.float64),
                                 np.asarray(differences, np.float64)):
        tiny = not np.isfinite(difference) or abs(difference) < TINY_DIFFERENCE
        errors.append(None if tiny else float(abs(total - difference) / abs(difference)))
    return tuple(errors)


def baseline_array(baseline, input_shape: tuple[int, ...], dtype) -> np.ndarray:
    """One input's baseline: zeros of `dtype` for "black", else the given array in its own
    dtype (a float mean of uint8 images stays a float), of one input's shape or anything
    that broadcasts to it, such as a per-channel mean."""
    if isinstance(baseline, str):
        if baseline != BLACK:
            raise ValueError(f"unknown baseline {baseline!r}: give {BLACK!r} or an array")
        return np.zeros(input_shape, dtype)
    return np.broadcast_to(np.asarray(baseline), input_shape).copy()


def smoothgrad(model, inputs: np.ndarray, class_indices: Sequence[int], n: int = SMOOTHGRAD_N,
               noise: float = SMOOTHGRAD_NOISE, seed: int = 0,
               absolute: bool = False) -> np.ndarray:
    """SmoothGrad: the mean of dS/dx over n copies x + N(0, sigma^2), sigma = noise *
    (max(x) - min(x)) per input, float32 of input_gradients' shape. `absolute` averages
    |dS/dx| instead (the map Smilkov et al. show). The noise comes from numpy's generator
    seeded with `seed` (TensorFlow's global seed is not used): same seed, same result. For
    an Embedding model the noise is added to the embedded tokens."""
    scorer = _scorer(model)
    x = scorer.space(inputs).astype(np.float64)
    classes = np.asarray(class_indices, np.int64)
    axes = tuple(range(1, x.ndim))
    sigma = (noise * (x.max(axis=axes) - x.min(axis=axes))).reshape((-1,) + (1,) * len(axes))
    rng = np.random.default_rng(seed)
    total = np.zeros(scorer.per_input(x).shape)
    # Copy c of input i is row c * N + i; GRADIENT_BATCH rows per tape, their noise drawn
    # in that order, so the result depends on the seed only.
    order = np.arange(n * len(x)) % len(x)
    for lo in range(0, len(order), GRADIENT_BATCH):
        rows = order[lo:lo + GRADIENT_BATCH]
        noisy = x[rows] + sigma[rows] * rng.standard_normal((len(rows),) + x.shape[1:])
        grads = scorer.per_input(scorer.gradients(noisy, classes[rows])[1])
        np.add.at(total, rows, np.abs(grads) if absolute else grads)
    return (total / n).astype(np.float32)

