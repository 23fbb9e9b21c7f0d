"""Everything that touches Keras: load a model, read its layers, re-initialise it, run it.

This is the one module that imports Keras (and so TensorFlow); the rest of reportgen
works on the plain snapshots and numpy arrays it returns.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
import sys
import tempfile
import threading
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import msg
from reportgen.load.hdf5_source import WEIGHTS_MEMBER
from reportgen.load.model_file import (READ_ERRORS, ModelFile, implausible_config, read_config,
                                      staged_copy)
from reportgen.load.repairs import Repair, merged, misread_input_shape, repair_for
from reportgen.load.snapshot import (LayerSnapshot, ModelSnapshot, TensorSpec, WeightArray,
                                     all_layers, weight_display_names)

INIT_SEED = 1234
KEEP_FRESH_VALUES = 1 << 22
# Variables up to this many values are read whole for a slice (16 MB of float32).
SLICE_WHOLE_VALUES = 1 << 22
FORWARD_BATCH = 32


@contextlib.contextmanager
def _native_stderr_silenced():
    """Hide the C++ log lines TensorFlow prints at import, which no environment variable stops."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_IMPORT_LOCK = threading.Lock()


def import_keras():
    """Import Keras with the TensorFlow backend, quietly, once.

    Once only and under a lock: the stderr redirection around the first import swaps a
    process-wide file descriptor, and two threads doing it at once could leave stderr on
    /dev/null for the rest of the run.
    """
    with _IMPORT_LOCK:
        if "keras" in sys.modules:
            return sys.modules["keras"]
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        with _native_stderr_silenced():
            import keras
        # Keras's advice to model authors (legacy format, input_shape arguments) is noise here.
        logging.getLogger("absl").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", module=r"keras(\.|$)")
        return keras


def read_with() -> tuple[tuple[str, str], ...]:
    """The libraries that read a model in the full report, with their versions."""
    keras = import_keras()
    import tensorflow

    return (("keras", keras.__version__), ("tensorflow", tensorflow.__version__))


class VariableArray:
    """A Keras variable seen as a read-on-demand array, like an h5py dataset.

    Snapshots hold these instead of copies, so a large model's weights are not duplicated
    in memory: a stage reads one tensor (or the slice it draws) at a time.
    """

    def __init__(self, variable):
        self.variable = variable
        self.shape = tuple(int(d) for d in variable.shape)
        self.dtype = np.dtype(str(variable.dtype))
        self.ndim = len(self.shape)
        self.size = int(np.prod(self.shape, dtype=np.int64))

    def __array__(self, dtype=None, copy=None):
        values = np.asarray(self.variable.numpy())
        return values if dtype is None else values.astype(dtype)

    def __getitem__(self, key):
        # A TensorFlow slice costs about 0.6 ms; reading a small variable whole costs less.
        if self.size <= SLICE_WHOLE_VALUES:
            return np.asarray(self.variable.numpy())[key]
        return np.asarray(self.variable[key])


class ModelNotRebuilt(Exception):
    """Keras could not rebuild the model from its file (the weights may still be readable).

    `needs_trust` is set when safe mode refused code stored in the file.
    """

    def __init__(self, reason: str, needs_trust: bool = False):
        super().__init__(reason)
        self.needs_trust = needs_trust


def deepest_error(exc: BaseException) -> BaseException:
    """The innermost cause of a Keras loading error (Keras wraps the cause in context)."""
    deepest = exc
    while deepest.__cause__ is not None or deepest.__context__ is not None:
        deepest = deepest.__cause__ or deepest.__context__
    return deepest


def error_chain(exc: BaseException) -> str:
    """Every message of a Keras error and its causes, outermost first (rules match parts
    that only the wrapping message names, such as the class being deserialised)."""
    texts, seen = [], exc
    while seen is not None and len(texts) < 20:
        texts.append(str(seen))
        seen = seen.__cause__ or seen.__context__
    return "\n".join(texts)


def failure_reason(exc: BaseException) -> str:
    """The most specific sentence of a Keras loading error."""
    deepest = deepest_error(exc)
    text = str(deepest) or str(exc)
    text = text.rsplit("Exception encountered:", 1)[-1]
    line = one_line(ValueError(text)) if text.strip() else type(deepest).__name__
    sentence = line.split(". ", 1)[0].rstrip(".")
    # Keras pastes whole tensors into some messages ("Invalid input shape for input
    # [[0.037 0.12 ...": numbers mean nothing in a report's sentence.
    return NUMBERS_DUMP.sub("[…]", sentence)[:300]


NUMBERS_DUMP = re.compile(r"\[+\s*-?\d[\d.eE+-]*(?:[\s,]+(?:\.\.\.|\[*-?\d[\d.eE+-]*\]*))"
                          r"{7,}\s*\]*")


@dataclass(frozen=True)
class LoadedModel:
    """A model Keras rebuilt, with the config repairs it needed (none for a file this Keras
    reads as it is)."""

    model: object
    repairs: tuple[Repair, ...]


MAX_REPAIRS = 12


def load(model_file: ModelFile, trust: bool = False) -> LoadedModel:
    """Load in safe mode (unless trusted): first as the file is, then with a repair for each
    refusal a rule in repairs.py answers, until Keras accepts the config or no rule fits."""
    config = read_config(model_file)
    problem = implausible_config(config) if config is not None else None
    if problem:
        raise ModelNotRebuilt(msg("{problem}, which no real model has", problem=problem))
    missing = missing_weights_member(model_file)
    if missing:
        raise ModelNotRebuilt(missing)
    keras = import_keras()
    repairs: list[Repair] = []
    with tempfile.TemporaryDirectory(prefix="reportgen-") as folder:
        path = staged_copy(model_file, Path(folder), None)
        while True:
            try:
                model = keras.models.load_model(path, compile=False, safe_mode=not trust)
            except Exception as exc:  # Keras raises many types for files it cannot rebuild.
                error = failure_reason(exc)
                repair = (repair_for(config, error_chain(exc), error)
                          if config is not None and len(repairs) < MAX_REPAIRS else None)
                if repair is None:
                    raise ModelNotRebuilt(failure_reason(exc), "safe_mode" in str(exc)) from exc
            else:
                # Loaded, but possibly not as saved: a rule may still be needed.
                misread = misread_input_shape(config, input_shapes(model)) \
                    if config is not None and len(repairs) < MAX_REPAIRS else None
                repair = repair_for(config, misread) if misread else None
                if repair is None:
                    break
            repairs.append(repair)
            try:
                path = staged_copy(model_file, Path(folder), config)
            except READ_ERRORS as damaged:  # the archive breaks when it is copied
                raise ModelNotRebuilt(msg("the file cannot be copied to repair it: {error}",
                                          error=one_line(damaged))) from damaged
    if not getattr(model, "inputs", None) or not getattr(model, "outputs", None):
        raise ModelNotRebuilt(msg("the model has no defined inputs and outputs (a subclassed "
                                  "model)"))
    return LoadedModel(model, merged(repairs))


def input_shapes(model) -> dict[str, tuple]:
    """The input shape of a loaded model and of every model nested in it, by name (models
    with one input)."""
    found = {}
    for placed in [None, *_walk(model.layers)]:
        layer = model if placed is None else placed.layer
        inputs = getattr(layer, "inputs", None) if isinstance(layer, import_keras().Model) \
            else None
        if inputs and len(inputs) == 1:
            found[layer.name] = tuple(inputs[0].shape)
    return found


def memory_model_file(model) -> ModelFile:
    """What stands for the file of a model that lives in memory: its name, the size and the
    SHA-256 of its weights' bytes (in order), and the Keras that holds it."""
    return _memory_file(model.name, [variable.numpy() for variable in model.weights])


def _memory_file(name: str, weights) -> ModelFile:
    """memory_model_file of the weights given (arrays, in the model's order)."""
    digest = hashlib.sha256()
    size = 0
    for values in weights:
        values = np.ascontiguousarray(values)
        digest.update(values)
        size += values.nbytes
    return ModelFile(path=Path(name), format=msg("in-memory Keras model (not saved)"),
                     size=size, sha256=digest.hexdigest(),
                     saved_by_keras_version=msg("not saved (in memory, Keras {version})",
                                                version=import_keras().__version__))


@dataclass(frozen=True)
class HeldModel:
    """A model in memory as it stood at one moment, in plain data: its snapshot with copies
    of its weights (`weights`: all of them in the model's order), its config and the
    libraries that hold it. A thread can report on it while the model itself trains on (the
    training callback's)."""

    name: str
    snapshot: ModelSnapshot
    config: dict | None
    weights: tuple[np.ndarray, ...]
    read_with: tuple[tuple[str, str], ...]

    def model_file(self) -> ModelFile:
        """What stands for its file, as memory_model_file says it of the live model."""
        return _memory_file(self.name, self.weights)


def hold(model, copy: bool = True) -> HeldModel:
    """The model as it stands now, every weight copied (the one cost in the caller's
    thread; hashing and everything else can wait for the reporting thread); with
    copy=False, a view that reads the live weights when asked (for a model that stands
    still meanwhile: no second copy of a large model)."""
    held = snapshot(model)
    if not copy:
        return HeldModel(model.name, held, model_config(model),
                         tuple(VariableArray(v) for v in model.weights), read_with())
    copies = {id(variable): np.array(variable.numpy()) for variable in model.weights}
    return HeldModel(model.name, dataclasses.replace(held, layers=tuple(
        _with_copies(layer, copies) for layer in held.layers)), model_config(model),
        tuple(copies[id(variable)] for variable in model.weights), read_with())


def _with_copies(layer: LayerSnapshot, copies: dict) -> LayerSnapshot:
    """A layer snapshot whose weights are the copies, by variable, instead of the variables."""
    return dataclasses.replace(
        layer,
        weights=tuple(dataclasses.replace(w, values=copies[id(w.values.variable)])
                      for w in layer.weights),
        children=tuple(_with_copies(child, copies) for child in layer.children))


def missing_weights_member(model_file: ModelFile) -> str:
    """Why Keras must not be handed a .keras archive, or "": one without HDF5 weights (an
    .npz of weights can carry pickled objects, which Keras would unpickle)."""
    if model_file.format.startswith("HDF5"):
        return ""
    try:
        with zipfile.ZipFile(model_file.path) as archive:
            names = set(archive.namelist())
    except READ_ERRORS:
        return ""  # damaged: Keras's own refusal will say so
    if WEIGHTS_MEMBER in names:
        return ""
    found = sorted(n for n in names if n.startswith("model.weights"))
    return (msg("the archive holds {found}, not {member}; reportgen does not open other "
                "weight formats (an .npz can carry pickled objects)", found=", ".join(found),
                member=WEIGHTS_MEMBER) if found
            else msg("the archive holds no {member}", member=WEIGHTS_MEMBER))


def load_with_architecture(config: dict, stored: ModelSnapshot, source: str,
                           trust: bool = False) -> LoadedModel:
    """Build the model a config describes (repairing it as `load` does), then give each of
    its layers the weights stored under the same name with the same shapes.

    Raises ModelNotRebuilt when the config cannot be built, and ReportInputError naming the
    first layer whose weights do not fit.
    """
    keras = import_keras()
    repairs: list[Repair] = []
    while True:
        try:
            model = _from_config(keras, config, trust)
            break
        except Exception as exc:  # Keras raises many types for configs it cannot build.
            error = failure_reason(exc)
            repair = repair_for(config, error_chain(exc), error) \
                if len(repairs) < MAX_REPAIRS else None
            if repair is None:
                raise ModelNotRebuilt(error, "safe_mode" in str(exc)) from exc
            repairs.append(repair)
    if not getattr(model, "inputs", None):
        raise ModelNotRebuilt(msg("the architecture has no defined inputs (a subclassed model)"))
    stored_by_name = {layer.name: layer for layer in all_layers(stored.layers) if layer.weights}
    for placed in _walk(model.layers):
        layer = placed.layer
        if isinstance(layer, keras.Model) or not layer.weights:
            continue
        found = stored_by_name.get(layer.name)
        if found is None:
            raise ReportInputError(msg("{source}: has no weights for layer {path!r} of the "
                                       "architecture", source=source, path=placed.path))
        layer.set_weights(matched_weights(layer, found, source, placed.path))
    return LoadedModel(model, merged(repairs))


def _from_config(keras, config: dict, trust: bool):
    """A model from a config: Keras 3's own form, or the legacy (Keras 2) form read the way
    Keras's own HDF5 loader reads it, under the same safe-mode rule."""
    if "module" in config:
        return keras.saving.deserialize_keras_object(config, safe_mode=not trust)
    # The scopes Keras's own HDF5 loader enters, taken from it: their modules moved between
    # Keras releases (saving_options is keras.src.legacy.saving's in 3.15).
    from keras.src.legacy.saving import legacy_h5_format as loader

    with loader.saving_options.keras_option_scope(use_legacy_config=True), \
            loader.serialization_lib.SafeModeScope(not trust):
        return loader.saving_utils.model_from_config(config, custom_objects={})


def matched_weights(layer, stored: LayerSnapshot, source: str, path: str) -> list[np.ndarray]:
    """The stored weights of a layer in the order the built layer holds them: by name where
    the names agree, else in the stored order; ReportInputError when the shapes differ."""
    wanted = list(zip(weight_names(layer), [tuple(w.shape) for w in layer.weights]))
    have = {w.name.rsplit("/", 1)[-1]: w for w in stored.weights}
    if set(have) >= {name.rsplit("/", 1)[-1] for name, _ in wanted}:
        ordered = [have[name.rsplit("/", 1)[-1]] for name, _ in wanted]
    else:
        ordered = list(stored.weights)
    shapes = [tuple(w.values.shape) for w in ordered]
    if len(ordered) != len(wanted) or shapes != [shape for _, shape in wanted]:
        expected = ", ".join(f"{name} {shape}" for name, shape in wanted)
        found = ", ".join(f"{w.name} {tuple(w.values.shape)}" for w in stored.weights)
        raise ReportInputError(msg("{source}: layer {path!r} does not fit the architecture: it "
                                   "expects {expected}; the weights file has {found}",
                                   source=source, path=path, expected=expected, found=found))
    return [np.asarray(w.values) for w in ordered]


def model_config(model) -> dict | None:
    """The model's config in the form saved files hold, as plain JSON data (for the graph)."""
    try:
        return json.loads(json.dumps({"class_name": type(model).__name__,
                                      "config": model.get_config()}, default=str))
    except (NotImplementedError, TypeError, ValueError):
        return None  # a model whose config cannot be written has no graph


def snapshot(model) -> ModelSnapshot:
    """Read the model's layers, weights, inputs and outputs into plain data."""
    limit = _token_limit(model)
    return ModelSnapshot(
        class_name=type(model).__name__,
        layers=tuple(_layer_snapshot(layer, "") for layer in model.layers),
        inputs=tuple(TensorSpec(name=_tensor_name(tensor, f"input_{k}"),
                                shape=_shape_without_batch(tensor.shape),
                                dtype=str(tensor.dtype),
                                token_limit=limit if "int" in str(tensor.dtype) else None)
                     for k, tensor in enumerate(model.inputs)),
        outputs=tuple(TensorSpec(name=_tensor_name(tensor, f"output_{k}"),
                                 shape=_shape_without_batch(tensor.shape),
                                 dtype=str(tensor.dtype), activation=_made_by_activation(tensor))
                      for k, tensor in enumerate(model.outputs)),
    )


def _tensor_name(tensor, default: str) -> str:
    """A model input's or output's name: the layer that makes it."""
    history = getattr(tensor, "_keras_history", None)
    layer = getattr(history, "operation", None) if history is not None else None
    return str(getattr(layer, "name", "") or default)


def _made_by_activation(tensor) -> str:
    """The activation of the layer that makes an output ("softmax", "sigmoid", ...), or ""."""
    history = getattr(tensor, "_keras_history", None)
    layer = getattr(history, "operation", None) if history is not None else None
    if layer is None:
        return ""
    if type(layer).__name__ == "Softmax":
        return "softmax"
    try:
        activation = layer.get_config().get("activation")
    except (AttributeError, NotImplementedError, TypeError):
        return ""
    return activation if isinstance(activation, str) else ""


def _token_limit(model) -> int | None:
    """For models that start with an Embedding: the number of valid token ids."""
    dims = [layer.get_config().get("input_dim") for layer in model.layers
            if type(layer).__name__ == "Embedding"]
    return int(min(dims)) if dims and all(isinstance(d, int) for d in dims) else None


def _layer_snapshot(layer, prefix: str) -> LayerSnapshot:
    """One layer's summary fields and weights; a nested model's layers become its children."""
    config = layer.get_config()
    path = f"{prefix}{layer.name}"
    nested = isinstance(layer, import_keras().Model)
    return LayerSnapshot(
        name=layer.name,
        class_name=type(layer).__name__,
        output_shape=_output_shape_text(layer),
        n_params=int(layer.count_params()) if layer.built else 0,
        trainable=bool(layer.trainable),
        activation=str(config.get("activation") or "") if isinstance(config, dict) else "",
        weights=() if nested else tuple(
            WeightArray(name=name, values=VariableArray(w), trainable=bool(w.trainable))
            for name, w in zip(weight_names(layer), layer.weights)),
        path=path,
        input_shape=_input_shape(layer),
        children=tuple(_layer_snapshot(inner, path + "/") for inner in layer.layers)
        if nested else (),
    )


def weight_names(layer) -> list[str]:
    """The layer's weight names, from their paths inside the layer."""
    marker = f"{layer.name}/"
    return weight_display_names([w.path.split(marker, 1)[-1] for w in layer.weights])


def _input_shape(layer) -> tuple[int | None, ...] | None:
    """The layer's input shape without the batch axis, when it has one input."""
    try:
        shape = layer.input.shape
    except (AttributeError, ValueError):
        return None
    return _shape_without_batch(shape) if isinstance(shape, tuple) else None


def _output_shape_text(layer) -> str:
    """The layer's output shape as model.summary() writes it."""
    try:
        return str(tuple(layer.output.shape))
    except (AttributeError, ValueError):
        return "multiple"


def _shape_without_batch(shape) -> tuple[int | None, ...]:
    """A tensor shape without its leading batch axis."""
    return tuple(None if d is None else int(d) for d in tuple(shape)[1:])


class FreshWeights:
    """Each layer's weights freshly initialised from its own config, made when asked for.

    This is the textbook's "no_training_model": the same layer before any training. One
    layer is rebuilt at a time (never a second copy of the whole model), with a seed fixed
    per layer so that two reports of one file are identical.
    """

    def __init__(self, model, corner: int = 64):
        # The seed is global: two threads rebuilding layers at once would mix their draws.
        self.lock = threading.Lock()
        self.corner = corner
        self.kept: dict[str, list[VariableArray]] = {}
        self.layers = {}
        for index, layer in enumerate(_walk(model.layers)):
            self.layers[layer.path] = (index, layer.layer)

    def get(self, path: str, default=None) -> list[VariableArray] | None:
        """The fresh weights of the layer at `path`, in its own order; default if it cannot
        be rebuilt."""
        if path in self.kept:
            return self.kept[path]
        if path not in self.layers:
            return default
        index, layer = self.layers[path]
        keras = import_keras()
        try:
            with self.lock:
                keras.utils.set_random_seed(INIT_SEED + index)
                fresh = type(layer).from_config(layer.get_config())
                if not fresh.built:
                    fresh.build(layer.input.shape)
        except Exception:  # A layer that cannot rebuild simply has no comparison.
            return default
        if [tuple(w.shape) for w in fresh.weights] != [tuple(w.shape) for w in layer.weights]:
            return default
        arrays = [VariableArray(w) for w in fresh.weights]
        # Asked for again by the pictures: big layers keep only the corner a picture shows,
        # so that no layer is ever rebuilt twice and no big copy stays in memory.
        self.kept[path] = arrays if sum(a.size for a in arrays) <= KEEP_FRESH_VALUES else \
            [KeptCorner(a, self.corner) for a in arrays]
        return arrays


class KeptCorner:
    """What is kept of a big fresh weight: its first `corner` entries along the last two axes
    (the part a kernel mosaic draws), answering to the whole weight's shape."""

    def __init__(self, values, corner: int):
        self.shape, self.dtype, self.ndim = values.shape, values.dtype, values.ndim
        self.size, self.corner = values.size, corner
        self.values = np.asarray(values[(Ellipsis, slice(0, corner), slice(0, corner))]) \
            if values.ndim >= 2 else np.zeros((0,), values.dtype)

    def __getitem__(self, key):
        if not (isinstance(key, tuple) and len(key) == 3 and key[0] is Ellipsis
                and all(s.start in (0, None) and s.stop is not None and s.stop <= self.corner
                        for s in key[1:])):
            raise IndexError("only the kept corner of a big fresh weight can be read")
        return self.values[key]


@dataclass(frozen=True)
class _Placed:
    path: str
    layer: object


def _walk(layers, prefix: str = ""):
    """Every layer with its path, nested models' layers after their model."""
    for layer in layers:
        path = f"{prefix}{layer.name}"
        yield _Placed(path, layer)
        if isinstance(layer, import_keras().Model):
            yield from _walk(layer.layers, path + "/")


def initial_weights(model, corner: int = 64) -> FreshWeights:
    """Fresh initial weights of every layer, rebuilt on demand (see FreshWeights); `corner`
    is how much of a big kernel the pictures draw."""
    return FreshWeights(model, corner)


def forward(model, batches: list[np.ndarray]) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """Every top-level layer's output and each of the model's outputs, for a batch of samples
    given as one array per model input (all in memory: for a few samples)."""
    runs = list(forward_chunks(model, batches))
    names = list(runs[0][0]) if runs else []
    layers = {name: np.concatenate([run[0][name] for run in runs]) for name in names}
    outputs = [np.concatenate([run[1][k] for run in runs]) for k in range(len(model.outputs))]
    return layers, outputs


def forward_chunks(model, batches: list[np.ndarray]):
    """The same, FORWARD_BATCH samples at a time: (layer outputs, model outputs) per chunk,
    so that a large sample never has all its activations in memory at once."""
    n_outputs = len(model.outputs)
    if isinstance(model, import_keras().Sequential):
        names = [layer.name for layer in model.layers]

        def run(chunk):
            return _sequential_pass(model, chunk[0])
    else:
        tapped = _connected_taps(model)
        names = [layer.name for layer in tapped]
        probe = import_keras().Model(model.inputs,
                                     [layer.output for layer in tapped] + list(model.outputs))

        def run(chunk):
            return probe(chunk, training=False)
    for start in range(0, len(batches[0]), FORWARD_BATCH):
        results = [np.asarray(r) for r in run([b[start:start + FORWARD_BATCH] for b in batches])]
        yield dict(zip(names, results[:len(names)])), results[len(names):len(names) + n_outputs]


def _sequential_pass(model, chunk: np.ndarray) -> list:
    """A Sequential model run layer by layer: each output, then the last again as the result.

    Layer by layer because a nested model's own output tensor is not part of the outer graph.
    """
    outputs, x = [], chunk
    for layer in model.layers:
        x = layer(x, training=False)
        outputs.append(x)
    return outputs + [x]


def _connected_taps(model) -> list:
    """The layers of a functional model whose single output belongs to the model's graph."""
    keras = import_keras()
    tapped = [layer for layer in model.layers if _has_single_output(layer)]
    try:
        keras.Model(model.inputs, [layer.output for layer in tapped])
        return tapped
    except ValueError:
        pass  # Some layer (a nested model, say) is not connected: keep the others.
    connected = []
    for layer in tapped:
        try:
            keras.Model(model.inputs, layer.output)
            connected.append(layer)
        except ValueError:
            continue
    return connected


def _has_single_output(layer) -> bool:
    """Whether the layer has exactly one symbolic output tensor to tap."""
    try:
        return not isinstance(layer.output, (list, tuple, dict))
    except (AttributeError, ValueError):
        return False


def book_cnn(n_classes: int):
    """The textbook's Fashion-MNIST CNN (chapter 8), with the layer names its notebook shows."""
    keras = import_keras()
    layers = keras.layers
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu", padding="same", name="conv2d"),
        layers.MaxPooling2D(2, name="max_pooling2d"),
        layers.Conv2D(64, 3, activation="relu", padding="same", name="conv2d_1"),
        layers.MaxPooling2D(2, name="max_pooling2d_1"),
        layers.Flatten(name="flatten"),
        layers.Dense(100, activation="relu", name="dense"),
        layers.Dropout(0.4, name="dropout"),
        layers.Dense(n_classes, activation="softmax", name="dense_1"),
    ], name="demo_cnn")


def train_demo_model(images: np.ndarray, labels: np.ndarray, n_classes: int, path: Path,
                     seed: int = 42, epochs: int = 4) -> float:
    """Train the book's CNN deterministically, save it to path; return held-out accuracy."""
    keras = import_keras()
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    model = book_cnn(n_classes)
    model.compile(optimizer=keras.optimizers.Adam(2e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    n_train = int(len(images) * 0.8)
    model.fit(images[:n_train], labels[:n_train], batch_size=64, epochs=epochs,
              shuffle=True, verbose=0)
    _, accuracy = model.evaluate(images[n_train:], labels[n_train:], verbose=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return float(accuracy)
