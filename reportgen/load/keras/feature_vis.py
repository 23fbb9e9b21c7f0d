"""Feature visualisation: for a filter of a convolution, the image that excites it most
(activation maximisation, Olah, Mordvintsev & Schubert, "Feature Visualization", Distill
2017), and the real images that excite it most, for the report's filter pictures.

An image is not optimised pixel by pixel (that finds high-frequency noise the network
happens to react to) but through Lucid's parameterisation (tensorflow/lucid, optvis/param),
rewritten here for TF2: Fourier coefficients scaled by 1/frequency, so that every
frequency is about equally easy to change and the steps are not dominated by pixel noise;
for three channels, colours decorrelated by ImageNet's colour correlation; a sigmoid into
the range the model's real inputs cover. Each step also sees the image slightly moved,
scaled and turned, so what survives is what the filter responds to robustly.

Everything random comes from one numpy Generator seeded by the caller, and every TF op used
is deterministic on CPU: two runs give byte-identical images. The model is never changed:
its own layers are called again on a new input (gradients.py's `_Rebuild`) to tap the
layer's output, and only the image's own variables are updated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.load.keras.base import traceable, unwrap
from reportgen.load.keras.gradients import _Rebuild, _placed_layers, _spatial_size
from reportgen.load.keras.runtime import import_keras

# Adam steps per visualisation: enough, at LEARNING_RATE, for the filters of small image
# models (28x28 to 64x64) to reach a stable picture (the activation grows little after).
STEPS = 128
# Lucid's default: Adam at 0.05 on the Fourier coefficients.
LEARNING_RATE = 0.05
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-7
# Spread of the initial coefficients (Lucid's sd): a nearly uniform mid-range image.
INITIAL_SD = 0.01
# Side of the image for a model whose input leaves its spatial size free.
FREE_SIDE = 128
# Transformation robustness: per step a scale in this range, a rotation up to this many
# degrees and a whole-pixel shift up to one JITTER_DIVISOR-th of the side (at least
# MIN_JITTER pixels), Lucid's pad + random crop, in either direction.
SCALES = (0.95, 1.05)
MAX_DEGREES = 5.0
JITTER_DIVISOR = 16
MIN_JITTER = 1
# Lucid's square root of ImageNet's colour correlation (rows R, G, B), normalised so its
# largest column has unit norm: uncorrelated parameters map to natural colour mixtures.
COLOUR_CORRELATION_SQRT = np.array([[0.26, 0.09, 0.02],
                                    [0.27, 0.00, -0.05],
                                    [0.27, -0.09, 0.03]], np.float64)
# Weight of the pre-activation added to the objective: a ReLU channel that is zero on the
# whole starting image has no gradient, and would stay grey; this small leak gives it one
# (Adam rescales steps, so even a small gradient moves) and barely changes the optimum.
LEAK = 0.001
# Top dataset examples: how many images per filter, and how many per forward pass.
TOP_K = 4
REAL_BATCH = 32
# The big-model rule (`steps_within`), in multiply-adds (MACs) so that the same model
# always gets the same steps: what one visualisation may spend; what a step costs per
# input value besides the layers' own MACs (the Fourier transform, the resampling, a
# 3-channel first convolution's slow backward pass); the fewest steps worth running. Fitted
# on 2 shared cores: ResNet50 (224x224x3, 8 filters) costs 0.17 s a step at conv1_conv and
# 0.7 s at its last convolution, plus 1 s and 6.5 s of tracing; this budget gives them 66
# and 17 steps, ~30 s in all, while the textbook's CNN (28x28x1) keeps its 128 steps.
STEP_BUDGET_MACS = 7.0e11
PIXEL_MACS = 8000
MIN_STEPS = 16
EAGER_COST = 4


@dataclass(frozen=True)
class FeatureVisualisation:
    """One image per filter that maximises its mean activation at `layer`.

    `images` (N, H, W, C) float32 lie inside `input_range`; `activations` (N,) is each
    filter's mean activation on its own final image as the model sees it (not moved).
    """

    layer: str
    filters: tuple[int, ...]
    images: np.ndarray
    activations: np.ndarray
    steps: int
    seed: int
    input_range: tuple[float, float]


@dataclass(frozen=True)
class TopActivations:
    """Per filter the real images with the largest mean activation at `layer`, best first.

    `indices` (F, k) int64 index the images given; `values` (F, k) float32 are their mean
    activations. Ties go to the lower index; an image whose activation is NaN never wins.
    """

    layer: str
    filters: tuple[int, ...]
    indices: np.ndarray
    values: np.ndarray


def visualise_filters(model, layer_path: str, filters: list[int], steps: int = STEPS,
                      seed: int = 0, size: int | tuple[int, int] | None = None,
                      input_range: tuple[float, float] = (0.0, 1.0)) -> FeatureVisualisation:
    """The images that maximise each filter's mean activation at `layer_path`, optimised
    together as one batch (image b ascends the mean of channel filters[b] only, so the
    batch's summed loss gives each image its own gradient).

    `input_range` is the range of the model's real inputs: the report cannot know the
    preprocessing, so the caller passes what it saw. `size` is the side (or (height,
    width)) for a model whose input size is free (FREE_SIDE otherwise); big models need
    fewer `steps` (see `steps_within`).
    """
    import tensorflow as tf

    probe, channels = _probe(model, layer_path)
    picks = tf.constant(_one_hot(filters, channels))
    height, width, depth = _image_shape(unwrap(model), size)
    rng = np.random.default_rng(seed)
    image = _FourierImage(rng, len(filters), (height, width, depth), input_range)
    moves = _draw_moves(rng, steps, len(filters), height, width)
    _ascend(probe, image, picks, moves)
    final = image.pixels()
    reached = _channel_means(probe, final) * picks.numpy()
    return FeatureVisualisation(layer_path, tuple(int(f) for f in filters),
                                final.numpy().astype(np.float32),
                                reached.sum(axis=1).astype(np.float32), int(steps), int(seed),
                                (float(input_range[0]), float(input_range[1])))


def best_real_activation(model, layer_path: str, images: np.ndarray, filters: list[int],
                         k: int = TOP_K) -> TopActivations:
    """Per filter the k images (of `images`, in the model's input scale) whose mean
    activation at `layer_path` is largest: the top dataset examples shown beside the
    optimised image, REAL_BATCH images per forward pass."""
    probe, channels = _probe(model, layer_path)
    _one_hot(filters, channels)  # checks the filter indices
    means = np.concatenate([
        _channel_means(probe, np.asarray(images[start:start + REAL_BATCH], np.float32))
        for start in range(0, len(images), REAL_BATCH)]) if len(images) else \
        np.zeros((0, channels), np.float32)
    chosen = means[:, list(filters)].T  # (F, N)
    ranked = np.where(np.isnan(chosen), -np.inf, chosen)
    order = np.argsort(-ranked, axis=1, kind="stable")[:, :min(k, len(images))]
    return TopActivations(layer_path, tuple(int(f) for f in filters), order.astype(np.int64),
                          np.take_along_axis(chosen, order, axis=1).astype(np.float32))


def steps_within(model, layer_path: str, n_filters: int,
                 size: int | tuple[int, int] | None = None,
                 budget: float = STEP_BUDGET_MACS) -> int:
    """The steps that keep one visualisation of `n_filters` filters within `budget`:
    STEPS for a small model, fewer (never under MIN_STEPS) when a step is costly.

    A step's cost, per image: the multiply-adds of the convolutions and dense layers up to
    the layer (nested models included; the backward pass to the image is about as costly
    and is folded into the budget), plus PIXEL_MACS per input value. A count rather than a
    timed trial, so that the same model always gets the same steps, hence the same images.
    """
    keras_model = unwrap(model)
    height, width, channels = _image_shape(keras_model, size)
    forward = _macs_until(keras_model, layer_path, height, width)
    per_step = max(1, n_filters) * (forward + PIXEL_MACS * height * width * channels)
    steps = int(np.clip(budget // per_step, MIN_STEPS, STEPS))
    # A model whose layer names TensorFlow refuses as graph scopes runs its steps eagerly,
    # about EAGER_COST times slower on a small model: it gets that many times fewer steps.
    return steps if traceable(keras_model) else max(MIN_STEPS, steps // EAGER_COST)


def _probe(model, layer_path: str):
    """A model from the image to [the output of the layer at `layer_path`, its
    pre-activation], and the output's number of channels.

    Nested models are entered (gradients.py's `_Rebuild`). The pre-activation is the
    layer's input through a copy of the layer with a linear activation (copied weights:
    the model's own layer is left as it is); for a linear layer it is the output itself.
    ValueError for a path that is not a (batch, height, width, channels) map of a
    one-image-input model: the caller chooses both from the model, so it is its bug.
    """
    keras = import_keras()
    model = unwrap(model)
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 4:
        raise ValueError(f"feature visualisation needs one image input; the model takes "
                         f"{[tuple(t.shape) for t in model.inputs]}")
    found = [p for p in _placed_layers(model) if p.path == layer_path]
    if not found or _spatial_size(found[0].layer) is None:
        raise ValueError(f"{layer_path!r} is not a layer with a (batch, height, width, "
                         f"channels) output")
    rebuild = _Tapping(model, found[0])
    tapped = rebuild.probe(model)
    maps = rebuild.taps["activations"]
    pre = _pre_activation(found[0].layer, rebuild.taps["inputs"])
    # Only these outputs: the functional graph then runs the layers they need only.
    return keras.Model(tapped.inputs, [maps, maps if pre is None else pre]), \
        int(maps.shape[-1])


class _Tapping(_Rebuild):
    """`_Rebuild` that also taps the target layer's input (brought out of nested models
    like the other taps)."""

    def __init__(self, model, target):
        super().__init__(model, target)
        self.taps["inputs"] = None

    def call(self, layer, *args, **kwargs):
        """One layer's call in the rebuilt graph, keeping the target's input."""
        if layer is self.target.layer:
            self.taps["inputs"] = args[0]
        return super().call(layer, *args, **kwargs)


def _pre_activation(layer, inputs):
    """The layer's output before its built-in activation, from its input, or None when it
    has none (or its input is not one tensor). Needed because a ReLU channel that is zero
    everywhere on the starting image has no gradient: the ascent adds LEAK times this."""
    config = layer.get_config()
    if config.get("activation", "linear") in ("linear", None) or not hasattr(inputs, "shape"):
        return None
    twin = type(layer).from_config({**config, "activation": "linear",
                                     "name": f"{layer.name}_pre_activation"})
    pre = twin(inputs)
    twin.set_weights(layer.get_weights())
    return pre


def _one_hot(filters: list[int], channels: int) -> np.ndarray:
    """(len(filters), channels) float32 rows picking each image's own channel."""
    indices = [int(f) for f in filters]
    if not indices or any(not 0 <= f < channels for f in indices):
        raise ValueError(f"filters {indices} are not channels of a {channels}-channel output")
    return np.eye(channels, dtype=np.float32)[indices]


def _image_shape(model, size) -> tuple[int, int, int]:
    """(height, width, channels) to optimise at: the model's own input size, `size` (or
    FREE_SIDE) for a side the model leaves free."""
    _, height, width, channels = tuple(model.inputs[0].shape)
    wanted = (size, size) if isinstance(size, int) else size
    sides = []
    for fixed, asked in zip((height, width), wanted or (None, None)):
        if fixed is not None and asked is not None and int(asked) != fixed:
            raise ValueError(f"size {size} differs from the model's input size "
                             f"{(height, width)}")
        sides.append(int(fixed or asked or FREE_SIDE))
    if channels is None:
        raise ValueError("the model's input leaves its number of channels free")
    if min(sides) < 2:
        raise ValueError(f"an input of {sides[0]}x{sides[1]} is too small to visualise")
    return sides[0], sides[1], int(channels)


class _FourierImage:
    """A batch of images parameterised as Lucid's `fft_image` + `to_valid_rgb`: a
    real-FFT spectrum per image and channel, scaled by 1/max(frequency, 1/side) (so that
    low frequencies, where natural images keep their energy, move as easily as high ones)
    and by sqrt(pixels) (unitary: Adam's step means the same as in pixel space), divided
    by 4 as Lucid does; colours decorrelated for three channels; a sigmoid into the range.
    """

    def __init__(self, rng: np.random.Generator, count: int, shape: tuple[int, int, int],
                 input_range: tuple[float, float]):
        import tensorflow as tf

        height, width, channels = shape
        freqs = np.hypot(np.fft.fftfreq(height)[:, None], np.fft.rfftfreq(width)[None, :])
        scale = np.sqrt(height * width) / np.maximum(freqs, 1.0 / max(height, width)) / 4.0
        initial = rng.normal(0.0, INITIAL_SD, (2, count, channels) + freqs.shape)
        self.spectrum = tf.Variable(initial.astype(np.float32), trainable=False)
        self.scale = tf.constant(scale.astype(np.complex64))
        self.colour = tf.constant(_colour_matrix(channels))
        self.size = (height, width)
        self.low, self.span = float(input_range[0]), float(input_range[1] - input_range[0])

    def pixels(self):
        """The images (N, H, W, C) in the input range, differentiable in the spectrum."""
        import tensorflow as tf

        spectrum = tf.complex(self.spectrum[0], self.spectrum[1]) * self.scale
        spatial = tf.signal.irfft2d(spectrum, fft_length=self.size)  # (N, C, H, W)
        decorrelated = tf.tensordot(tf.transpose(spatial, (0, 2, 3, 1)), self.colour, 1)
        return self.low + self.span * tf.sigmoid(decorrelated)


def _colour_matrix(channels: int) -> np.ndarray:
    """(C, C) map from the parameters' channels to the image's: Lucid's decorrelation
    (x @ M.T, M the normalised square root of the colour correlation) for RGB, the
    identity for any other number of channels (only the spatial decorrelation applies)."""
    if channels != 3:
        return np.eye(channels, dtype=np.float32)
    normalised = COLOUR_CORRELATION_SQRT / np.linalg.norm(COLOUR_CORRELATION_SQRT, axis=0).max()
    return normalised.T.astype(np.float32)


def _draw_moves(rng: np.random.Generator, steps: int, count: int, height: int,
                width: int) -> np.ndarray:
    """(steps, count, 8) float32 projective transforms in Keras's form (output pixel (x, y)
    is read at (a0 x + a1 y + a2, b0 x + b1 y + b2)): a turn and a scale about the centre,
    then a whole-pixel shift. Drawn up front from `rng`, so a run depends on its seed only."""
    scales = rng.uniform(SCALES[0], SCALES[1], (steps, count))
    angles = np.deg2rad(rng.uniform(-MAX_DEGREES, MAX_DEGREES, (steps, count)))
    reach = max(MIN_JITTER, min(height, width) // JITTER_DIVISOR)
    shifts = rng.integers(-reach, reach, (steps, count, 2), endpoint=True)
    cos, sin = np.cos(angles) / scales, np.sin(angles) / scales
    centre_x, centre_y = (width - 1) / 2.0, (height - 1) / 2.0
    offset_x = centre_x - cos * centre_x + sin * centre_y + shifts[..., 0]
    offset_y = centre_y - sin * centre_x - cos * centre_y + shifts[..., 1]
    zeros = np.zeros_like(cos)
    return np.stack([cos, -sin, offset_x, sin, cos, offset_y, zeros, zeros],
                    -1).astype(np.float32)


def _moved(images, transforms):
    """The images read through the transforms, bilinearly, mirrored at the borders (a moved
    image shows no constant band the filter could answer to). TensorFlow's kernel is
    deterministic on CPU; its gradient is the inverse transform, as for Lucid's rotate."""
    keras = import_keras()
    return keras.ops.image.affine_transform(images, transforms, interpolation="bilinear",
                                            fill_mode="reflect")


def _ascend(probe, image: _FourierImage, picks, moves: np.ndarray) -> None:
    """Adam's ascent of the summed own-channel means, one compiled step per move (the
    graph is traced once; the moves and the step number are its arguments); eager steps
    for a model whose layer names TensorFlow refuses as graph scopes (base.traceable)."""
    import tensorflow as tf

    moments = [tf.Variable(tf.zeros_like(image.spectrum), trainable=False) for _ in range(2)]

    def body(transforms, number):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(image.spectrum)
            maps, pre = probe(_moved(image.pixels(), transforms), training=False)
            total = tf.reduce_sum(_objective(maps, pre) * picks)
        _adam(image.spectrum, moments, tape.gradient(total, image.spectrum), number)

    step = tf.function(body) if traceable(probe) else body
    for number, transforms in enumerate(moves, start=1):
        step(tf.constant(transforms), tf.constant(float(number)))


def _objective(maps, pre):
    """(N, channels) what the ascent maximises: each channel's mean activation, plus LEAK
    times its largest pre-activation (the position nearest to firing, for a channel the
    ReLU silences on the whole image)."""
    import tensorflow as tf

    return tf.reduce_mean(maps, axis=(1, 2)) + LEAK * tf.reduce_max(pre, axis=(1, 2))


def _adam(variable, moments, gradient, number) -> None:
    """One Adam step up the gradient (Kingma & Ba 2015, bias-corrected), written out: a
    Keras optimiser would add its own variables and state for three lines of arithmetic."""
    import tensorflow as tf

    (beta1, beta2), (first, second) = ADAM_BETAS, moments
    first.assign(beta1 * first + (1.0 - beta1) * gradient)
    second.assign(beta2 * second + (1.0 - beta2) * tf.square(gradient))
    first_hat = first / (1.0 - tf.pow(beta1, number))
    second_hat = second / (1.0 - tf.pow(beta2, number))
    variable.assign_add(LEARNING_RATE * first_hat / (tf.sqrt(second_hat) + ADAM_EPSILON))


def _channel_means(probe, images) -> np.ndarray:
    """(N, channels) float64 mean of each channel of the probed maps."""
    import tensorflow as tf

    maps, _ = probe(tf.convert_to_tensor(images, tf.float32), training=False)
    return tf.reduce_mean(maps, axis=(1, 2)).numpy().astype(np.float64)


def _macs_until(model, layer_path: str, height: int, width: int) -> float:
    """Multiply-adds of one image's forward pass up to and including `layer_path`: for each
    layer before it, its kernels' sizes times its output's positions (a side the model
    leaves free counted as the image's side, an over-estimate on the safe side)."""
    keras, total = import_keras(), 0.0
    for placed in _placed_layers(model):
        own = [] if isinstance(placed.layer, keras.Model) else placed.layer.weights
        kernels = sum(int(np.prod(w.shape)) for w in own if len(w.shape) >= 2)
        try:
            spatial = tuple(placed.layer.output.shape)[1:-1]
        except (AttributeError, ValueError):  # never called, or called several times
            spatial = ()
        sides = [height if k == 0 else width for k in range(len(spatial))]
        total += kernels * float(np.prod([s or d for s, d in zip(spatial, sides)]))
        if placed.path == layer_path:
            break
    return total



def channel_count(model, layer_path: str) -> int:
    """The number of channels (filters) of the layer's output map."""
    found = [p for p in _placed_layers(unwrap(model)) if p.path == layer_path]
    return int(found[0].layer.output.shape[-1])
