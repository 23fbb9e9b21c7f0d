"""Load a model with Keras: in safe mode unless trusted, first as the file is, then with a
repair for each refusal a rule in repairs.py answers; or build a config (--architecture, or
a file whose weights Keras cannot place) and give its layers the weights read from a file."""

from __future__ import annotations

import contextlib
import copy
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import msg
from reportgen.load.hdf5_source import WEIGHTS_MEMBER
from reportgen.load.keras.compat import legacy_model_from_config
from reportgen.load.keras.base import walk
from reportgen.load.keras.model import KerasModel
from reportgen.load.keras.runtime import import_keras
from reportgen.load.keras.snapshot import weight_names
from reportgen.load.model_file import (READ_ERRORS, ModelFile, implausible_config, read_config,
                                      staged_copy)
from reportgen.load.repairs import Repair, merged, misread_input_shape, repair_for
from reportgen.load.snapshot import LayerSnapshot, ModelSnapshot, all_layers

MAX_REPAIRS = 12


class ModelNotRebuilt(Exception):
    """Keras could not rebuild the model from its file (the weights may still be readable).

    `needs_trust` is set when safe mode refused code stored in the file.
    """

    def __init__(self, reason: str, needs_trust: bool = False, repairs: tuple = ()):
        super().__init__(reason)
        self.needs_trust = needs_trust
        self.repairs = repairs  # tried before the refusal that stayed: the report says so


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


def load(model_file: ModelFile, trust: bool = False) -> KerasModel:
    """Load in safe mode (unless trusted): first as the file is, then with a repair for each
    refusal a rule in repairs.py answers, until Keras accepts the config or no rule fits."""
    if model_file.shards:
        raise ModelNotRebuilt(msg("a sharded weights save holds no architecture"))
    config = read_config(model_file)
    problem = implausible_config(config) if config is not None else None
    if problem:
        raise ModelNotRebuilt(msg("{problem}, which no real model has", problem=problem))
    missing = missing_weights_member(model_file)
    if missing:
        raise ModelNotRebuilt(missing)
    keras = import_keras()
    repairs: list[Repair] = []
    with tempfile.TemporaryDirectory(prefix="reportgen-") as folder, _with_tried(repairs):
        path = staged_copy(model_file, Path(folder), None)
        while True:
            model, repair = _attempt(keras, path, config, trust, len(repairs))
            if repair is None:
                break
            repairs.append(repair)
            path = _restaged(model_file, Path(folder), config)
    if not getattr(model, "inputs", None) or not getattr(model, "outputs", None):
        raise ModelNotRebuilt(msg("the model has no defined inputs and outputs (a subclassed "
                                  "model)"))
    return KerasModel(model, merged(repairs))


@contextlib.contextmanager
def _with_tried(repairs: list[Repair]):
    """A refusal that ends the loading carries the repairs tried before it."""
    try:
        yield
    except ModelNotRebuilt as refused:
        if not refused.repairs:
            refused.repairs = merged(repairs)
        raise


def _attempt(keras, path: Path, config: dict | None, trust: bool, n_repairs: int):
    """One load: (the model, None) when Keras accepts it as saved; else the repair its
    refusal calls for (with the model when it loaded but misread an input shape).
    ModelNotRebuilt when no rule answers the refusal."""
    can_repair = config is not None and n_repairs < MAX_REPAIRS
    try:
        model = keras.models.load_model(path, compile=False, safe_mode=not trust)
    except Exception as exc:  # Keras raises many types for files it cannot rebuild.
        error = failure_reason(exc)
        repair = repair_for(config, error_chain(exc), error) if can_repair else None
        if repair is None:
            raise ModelNotRebuilt(error, "safe_mode" in str(exc)) from exc
        return None, repair
    # Loaded, but possibly not as saved: a rule may still be needed.
    misread = misread_input_shape(config, input_shapes(model)) if can_repair else None
    return model, (repair_for(config, misread) if misread else None)


def _restaged(model_file: ModelFile, folder: Path, config: dict) -> Path:
    """The file copied again with its repaired config."""
    try:
        return staged_copy(model_file, folder, config)
    except READ_ERRORS as damaged:  # the archive breaks when it is copied
        raise ModelNotRebuilt(msg("the file cannot be copied to repair it: {error}",
                                  error=one_line(damaged))) from damaged


def input_shapes(model) -> dict[str, tuple]:
    """The input shape of a loaded model and of every model nested in it, by name (models
    with one input)."""
    found = {}
    for placed in [None, *walk(model.layers)]:
        layer = model if placed is None else placed.layer
        inputs = getattr(layer, "inputs", None) if isinstance(layer, import_keras().Model) \
            else None
        if inputs and len(inputs) == 1:
            found[layer.name] = tuple(inputs[0].shape)
    return found


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
                           trust: bool = False) -> KerasModel:
    """Build the model a config describes (repairing it as `load` does), then give each of
    its layers the weights stored under the same name with the same shapes.

    Raises ModelNotRebuilt when the config cannot be built, and ReportInputError naming the
    first layer whose weights do not fit.
    """
    keras = import_keras()
    model, repairs = _built(keras, config, trust)
    if not getattr(model, "inputs", None):
        raise ModelNotRebuilt(msg("the architecture has no defined inputs (a subclassed model)"))
    stored_by_name = {layer.name: layer for layer in all_layers(stored.layers) if layer.weights}
    for placed in walk(model.layers):
        layer = placed.layer
        if isinstance(layer, keras.Model) or not layer.weights:
            continue
        found = stored_by_name.get(layer.name)
        if found is None:
            raise ReportInputError(msg("{source}: has no weights for layer {path!r} of the "
                                       "architecture", source=source, path=placed.path))
        layer.set_weights(matched_weights(layer, found, source, placed.path))
    return KerasModel(model, merged(repairs))


def _built(keras, config: dict, trust: bool):
    """The model a config builds, repaired as `load` repairs a file (a refusal, or a
    Sequential built for another input shape than its first layer says): (model, repairs)."""
    repairs: list[Repair] = []
    while True:
        try:
            model = _from_config(keras, config, trust)
        except Exception as exc:  # Keras raises many types for configs it cannot build.
            error = failure_reason(exc)
            repair = repair_for(config, error_chain(exc), error) \
                if len(repairs) < MAX_REPAIRS else None
            if repair is None:
                raise ModelNotRebuilt(error, "safe_mode" in str(exc), merged(repairs)) from exc
            repairs.append(repair)
            continue
        misread = misread_input_shape(config, input_shapes(model)) \
            if len(repairs) < MAX_REPAIRS else None
        repair = repair_for(config, misread) if misread else None
        if repair is None:
            return model, repairs
        repairs.append(repair)


def _from_config(keras, config: dict, trust: bool):
    """A model from a config: Keras 3's own form, or the legacy (Keras 2) form read the way
    Keras's own HDF5 loader reads it, under the same safe-mode rule. Keras is given a copy:
    its legacy reader rewrites the config it reads (batch_input_shape becomes input_shape),
    and the repairs must see the config as saved."""
    config = copy.deepcopy(config)
    if "module" in config:
        return keras.saving.deserialize_keras_object(config, safe_mode=not trust)
    return legacy_model_from_config(config, trust)


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


