"""Gradients for Grad-CAM: which layer to explain, and d(class score)/d(its output).

What leaves it is plain numpy: the target layer's activations and the
gradients of each input's class score with respect to them, for analyse/cam.py.

The loaded model is never changed. Its own layers are called again on a new symbolic input
(nested models are entered so that a layer inside one becomes reachable), and two extra
outputs are read from that graph: the target layer's output, and the class score computed
beside the model's head (see `_score`). The head itself still makes its softmax; nothing is
set on any layer. The only trace left on the model is Keras's own record that its layers
were called once more on new symbolic tensors (their first call, the one `layer.output`
reads, is untouched).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reportgen.errors import ReportInputError
from reportgen.i18n import msg
from reportgen.load.keras.compat import producer
from reportgen.load.keras.base import unwrap
from reportgen.load.keras.runtime import import_keras

# Classes (or their subclasses) whose output is a spatial map of learned features.
CONV_CLASSES = frozenset({"Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose"})
# Inputs per tape: the 8 drawn inputs in one pass; ResNet50's largest activation for 16
# inputs is about 50 MB (the tape itself keeps only what follows the target layer).
CAM_BATCH = 16
LISTED_CHOICES = 8      # layers named in the refusal of an unknown --cam-layer


@dataclass(frozen=True)
class CamGradients:
    """What Grad-CAM and Grad-CAM++ need, one row per (input, class) asked for.

    `activations` A and `gradients` dS/dA are (N, h, w, k) float32, S being `score` (in
    words) of each row's class; `scores` holds S itself. Grad-CAM++'s closed form needs no
    more: for S piecewise linear in A (ReLU networks) its second and third derivatives of
    exp(S) are powers of these first gradients (analyse/cam.py).
    """

    layer: str
    score: str
    activations: np.ndarray
    gradients: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class _Placed:
    """A layer, its path (`base/Conv_1`) and the nested models that hold it, outermost first."""

    path: str
    layer: object
    holders: tuple


def cam_target(model, override: str | None = None) -> str | None:
    """The path of the layer Grad-CAM explains: `override` (--cam-layer) once checked, else
    the last convolution, nested models included, whose output is still larger than 1x1.

    None when no layer qualifies or the model is not an image classifier (one input of shape
    (batch, H, W, C), a first output of shape (batch, classes)); with an override these are
    ReportInputErrors instead, each one line.
    """
    model = unwrap(model)
    why_not = _not_explainable(model)
    if override is not None:
        if why_not:
            raise ReportInputError(msg("--cam-layer {layer}: {reason}", layer=override,
                                       reason=why_not))
        return _checked_override(model, override)
    if why_not:
        return None
    eligible = [p.path for p in _placed_layers(model)
                if _is_convolution(p.layer) and _channels_last(p.layer) and _wider_than_1(p.layer)]
    return eligible[-1] if eligible else None


def _not_explainable(model) -> str:
    """Why Grad-CAM cannot explain this model, or ""."""
    if len(model.inputs) != 1 or len(model.inputs[0].shape) != 4:
        shapes = ", ".join(str(tuple(t.shape)) for t in model.inputs)
        return msg("Grad-CAM needs one image input (batch, height, width, channels); the "
                   "model takes {shapes}", shapes=shapes)
    if len(model.outputs[0].shape) != 2:
        return msg("Grad-CAM needs a first output of class scores (batch, classes); the model "
                   "gives {shape}", shape=str(tuple(model.outputs[0].shape)))
    return ""


def _checked_override(model, name: str) -> str:
    """The path of the layer --cam-layer names (a path, or a name found once), checked."""
    placed = [p for p in _placed_layers(model)
              if type(p.layer).__name__ != "InputLayer"]
    found = [p for p in placed if p.path == name] or [p for p in placed if p.layer.name == name]
    if not found:
        maps = [p.path for p in placed if _spatial_size(p.layer) is not None]
        listed = ", ".join(maps[-LISTED_CHOICES:]) or msg("none")
        raise ReportInputError(msg("--cam-layer {layer}: the model has no such layer; the last "
                                   "layers with a (height, width, channels) output are: "
                                   "{listed}", layer=name, listed=listed))
    if len(found) > 1:
        raise ReportInputError(msg("--cam-layer {layer}: several layers have this name; give "
                                   "one of their paths: {paths}", layer=name,
                                   paths=", ".join(p.path for p in found)))
    _check_map(found[0], name)
    return found[0].path


def _check_map(chosen: _Placed, name: str) -> None:
    """Refuse a --cam-layer whose output is not a (batch, height, width, channels) map."""
    if _spatial_size(chosen.layer) is None:
        raise ReportInputError(msg("--cam-layer {layer}: its output is {shape}, not a map of "
                                   "shape (batch, height, width, channels)", layer=name,
                                   shape=_shape_text(chosen.layer)))
    if not _channels_last(chosen.layer):
        raise ReportInputError(msg("--cam-layer {layer}: its output is channels-first; "
                                   "Grad-CAM here reads (batch, height, width, channels) maps",
                                   layer=name))


def _placed_layers(model, prefix: str = "", holders: tuple = ()) -> list[_Placed]:
    """Every layer with its path and holders, a nested model's layers right after it."""
    keras = import_keras()
    placed = []
    for layer in model.layers:
        placed.append(_Placed(f"{prefix}{layer.name}", layer, holders))
        if isinstance(layer, keras.Model):
            placed += _placed_layers(layer, f"{prefix}{layer.name}/", holders + (layer,))
    return placed


def _is_convolution(layer) -> bool:
    """Whether the layer is a 2-D convolution of any kind (subclasses included)."""
    return any(cls.__name__ in CONV_CLASSES for cls in type(layer).__mro__)


def _channels_last(layer) -> bool:
    """Whether the layer's maps are (height, width, channels), Keras's default."""
    return layer.get_config().get("data_format", "channels_last") != "channels_first"


def _wider_than_1(layer) -> bool:
    """Whether the layer's output is a map larger than 1x1 (a side of unknown size counts as
    larger: the input decides it)."""
    size = _spatial_size(layer)
    return size is not None and all(side is None or side > 1 for side in size)


def _spatial_size(layer) -> tuple[int | None, int | None] | None:
    """(height, width) of a layer's single 4-D output; None for any other output."""
    try:
        shape = tuple(layer.output.shape)
    except (AttributeError, ValueError):  # never called, or called several times
        return None
    return (shape[1], shape[2]) if len(shape) == 4 else None


def _shape_text(layer) -> str:
    """A layer's output shape for a message."""
    try:
        return str(tuple(layer.output.shape))
    except (AttributeError, ValueError):
        return msg("unknown")


def cam_gradients(model, layer_path: str, images: np.ndarray,
                  class_indices: list[int]) -> CamGradients:
    """A and dS/dA at `layer_path` for each image and its class, CAM_BATCH images per tape.

    S is the pre-softmax score of the class (see `_score`). Inference mode (dropout off,
    batch normalisation on its moving statistics), so every row depends on its own image
    only and summing the rows' scores gives each row its own gradient in one backward pass.
    """
    import tensorflow as tf

    model = unwrap(model)
    target = _find(model, layer_path)
    rebuild = _Rebuild(model, target)
    probe = rebuild.probe(model)
    # Only what follows the target layer is recorded: the tape watches the target's own
    # variables (its output is the first result that depends on them), or the images when
    # the layer has none (a pooling or activation layer chosen with --cam-layer).
    weights = [w.value for w in target.layer.weights]
    parts = []
    for start in range(0, len(images), CAM_BATCH):
        batch = tf.constant(np.asarray(images[start:start + CAM_BATCH], np.float32))
        classes = np.asarray(class_indices[start:start + CAM_BATCH], np.int64)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(weights or [batch])
            activations, logits = probe(batch, training=False)
            picks = _class_picks(classes, int(logits.shape[-1]))
            scores = tf.reduce_sum(logits * tf.constant(picks, logits.dtype), axis=1)
            total = tf.reduce_sum(scores)
        gradients = tape.gradient(total, activations)
        if gradients is None:  # the score does not depend on this layer at all
            gradients = tf.zeros_like(activations)
        parts.append((activations.numpy(), gradients.numpy(), scores.numpy()))
    return CamGradients(layer_path, rebuild.score_text,
                        *(np.concatenate([p[k] for p in parts]).astype(np.float32)
                          for k in range(3)))


def _find(model, layer_path: str) -> _Placed:
    """The placed layer at a path cam_target returned."""
    for placed in _placed_layers(model):
        if placed.path == layer_path:
            return placed
    raise ReportInputError(msg("--cam-layer {layer}: the model has no such layer",
                               layer=layer_path))


def _class_picks(classes: np.ndarray, n_units: int) -> np.ndarray:
    """Per row, the weights that pick its class's score out of the logits: one-hot; for one
    unit (a sigmoid's logit z) +1 for class 1 and -1 for class 0 (the logit of 1 - p).

    A product rather than a gather: the gather's gradient costs a third of a second the
    first time it runs, more than the book model's whole backward pass.
    """
    if n_units == 1:
        return np.where(classes == 1, 1.0, -1.0)[:, None]
    return np.eye(n_units)[classes]


class _Rebuild:
    """The model's own layers called again on a new image input, to tap two tensors: the
    target layer's output and the class scores beside the head.

    A Sequential is called layer by layer, a functional model through clone_model given
    the same layers (no weight is copied). A nested model that holds the target or the head
    is entered, not called whole: rebuilt from a fresh Input of its own (a functional graph
    must start at an Input), then called as a model that also outputs what was tapped
    inside it, so that those tensors belong to the outer graph.
    """

    def __init__(self, model, target: _Placed):
        self.keras = import_keras()
        self.target, self.head = target, _head(model)
        self.entered = {id(m) for m in target.holders + self.head.holders}
        self.taps = {"activations": None, "scores": None}
        self.score_text = ""

    def probe(self, model):
        """A model from the image to (target's output, class scores)."""
        spec = model.inputs[0]
        image = self.keras.Input(batch_shape=tuple(spec.shape), dtype=spec.dtype)
        self.outputs(model, image if isinstance(model, self.keras.Sequential)
                     else self.keras.tree.map_structure(lambda _: image, model.input))
        return self.keras.Model(image, [self.taps["activations"], self.taps["scores"]])

    def outputs(self, model, inputs):
        """The model's output(s) from `inputs` (Input tensors for a functional model)."""
        if isinstance(model, self.keras.Sequential):
            x = inputs
            for layer in model.layers:
                x = self.call(layer, x)
            return x
        return self.keras.models.clone_model(model, input_tensors=inputs,
                                             clone_function=lambda layer: layer,
                                             call_function=self.call).output

    def call(self, layer, *args, **kwargs):
        """One layer's call in the rebuilt graph, tapping the target and the head."""
        if id(layer) in self.entered:
            return self.enter(layer, args[0])
        output = layer(*args, **kwargs)
        if layer is self.target.layer:
            self.taps["activations"] = output
        if layer is self.head.layer:
            self.taps["scores"], self.score_text = _score(self.keras, self.head, args[0],
                                                          output)
        return output

    def enter(self, model, inputs):
        """A nested model's output(s), with the taps made inside it brought out."""
        if isinstance(model, self.keras.Sequential):
            return self.outputs(model, inputs)
        fresh = self.keras.tree.map_structure(
            lambda t: self.keras.Input(batch_shape=tuple(t.shape), dtype=t.dtype), model.input)
        before = dict(self.taps)
        output = self.outputs(model, fresh)
        inside = [name for name, tensor in self.taps.items() if tensor is not before[name]]
        results = self.keras.Model(fresh, [output] + [self.taps[n] for n in inside])(inputs)
        self.taps.update(zip(inside, results[1:]))
        return results[0]


def _head(model) -> _Placed:
    """The layer that makes the model's first output, inside nested models if need be."""
    keras = import_keras()
    holders, path, layer = (), "", model
    while isinstance(layer, keras.Model):
        if layer is not model:
            holders += (layer,)
        path += f"{layer.name}/" if layer is not model else ""
        layer = (layer.layers[-1] if isinstance(layer, keras.Sequential)
                 else producer(layer.outputs[0]))
    return _Placed(path + layer.name, layer, holders)


def _score(keras, head: _Placed, inputs, output):
    """The class scores to differentiate, taken beside the head, and what they are:

    - a Dense layer: its pre-activation logits x @ W + b, recomputed from its input with its
      own variables (for a softmax or sigmoid head the logits, for a linear one its output);
    - a Softmax layer, or an Activation layer of softmax or sigmoid: its input;
    - any other layer: its output as it is, said so (its values are taken as class scores).
    """
    layer, config = head.layer, head.layer.get_config()
    kind = type(layer).__name__
    if kind == "Dense":
        logits = keras.ops.matmul(inputs, layer.kernel)
        if layer.bias is not None:
            logits = keras.ops.add(logits, layer.bias)
        activation = config.get("activation", "linear")
        if activation == "linear":
            return logits, msg("the output of {layer} (a linear Dense layer)", layer=head.path)
        return logits, msg("the pre-{activation} logits of {layer}, recomputed as x @ W + b "
                           "from its input", activation=activation, layer=head.path)
    squashing = "softmax" if kind == "Softmax" else config.get("activation")
    if kind in ("Softmax", "Activation") and squashing in ("softmax", "sigmoid"):
        return inputs, msg("the input of {layer} (before its {activation})", layer=head.path,
                           activation=squashing)
    return output, msg("the output of {layer} as it is (not a Dense or softmax layer)",
                       layer=head.path)


def visualised_layers(model, names: list[str] | None = None) -> list[str]:
    """The layers whose filters are visualised: `names` (--visualise-layer, paths or names,
    each checked as --cam-layer is), else the first and the last convolution with a
    channels-last output larger than 1 x 1 (nested models included); [] for a model that
    is not an image model."""
    keras_model = unwrap(model)
    if len(keras_model.inputs) != 1 or len(keras_model.inputs[0].shape) != 4:
        if names:
            raise ReportInputError(msg("--visualise-layer: the model's input is not an image "
                                       "(batch, height, width, channels)"))
        return []
    placed = _placed_layers(keras_model)
    if names:
        return [_named(placed, name) for name in names]
    eligible = [p.path for p in placed
                if _is_convolution(p.layer) and _channels_last(p.layer) and _wider_than_1(p.layer)]
    return list(dict.fromkeys(eligible[:1] + eligible[-1:]))


def _named(placed, name: str) -> str:
    """The path of the convolution --visualise-layer names, or a one-line refusal."""
    found = [p for p in placed if p.path == name] or [p for p in placed if p.layer.name == name]
    if len(found) != 1 or not _is_convolution(found[0].layer):
        convolutions = ", ".join(p.path for p in placed if _is_convolution(p.layer)) or msg("none")
        raise ReportInputError(msg("--visualise-layer {layer}: not one convolution layer of the "
                                   "model; its convolutions are: {listed}", layer=name,
                                   listed=convolutions))
    return found[0].path
