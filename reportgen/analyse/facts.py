"""Plain data describing a model: what the templates and the JSON sidecar are made from.

Nothing here holds a Keras object or a numpy array; every field is a number, a string,
or a tuple of them, so facts can be compared in tests and serialised as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from reportgen.analyse.alert import Alert
from reportgen.analyse.init_test import InitTest
from reportgen.analyse.spectral import SpectralFacts
from reportgen.analyse.tensor_facts import ChannelStats, Histogram, TensorStats


@dataclass(frozen=True)
class WeightFacts:
    """One weight tensor of a layer (kernel, bias, gamma, moving_mean, ...)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    trainable: bool
    sample_step: int
    stats: TensorStats
    histogram: Histogram
    max_filter_cosine: float | None = None
    similar_filter_pairs: int = 0
    relative_change: float | None = None
    spectral: SpectralFacts | None = None  # for weights that mix channels (see spectral.py)
    init_test: InitTest | None = None  # held against its fresh initialisation (init_test.py)
    values: tuple[float, ...] = ()  # every value, for tensors of fewer than 20 (a dot strip)


@dataclass(frozen=True)
class Series:
    """Per-index values worth a chart: a batch norm's per-channel gamma, token vector norms."""

    name: str
    values: tuple[float, ...]
    total: int


@dataclass(frozen=True)
class LayerFacts:
    """One layer as `model.summary()` shows it, plus its weights trained and at initialisation.

    A nested model (a model used as a layer) has no weights of its own: its layers are
    its children.
    """

    index: int
    name: str
    class_name: str
    output_shape: str | None
    n_params: int
    trainable: bool
    activation: str
    weights: tuple[WeightFacts, ...]
    init: tuple[WeightFacts, ...] | None
    path: str = ""
    series: tuple[Series, ...] = ()
    children: tuple["LayerFacts", ...] = ()


@dataclass(frozen=True)
class ActivationFacts:
    """The output of one layer for one input."""

    layer: str
    shape: tuple[int, ...]
    stats: TensorStats
    channels: tuple[ChannelStats, ...]


@dataclass(frozen=True)
class Prediction:
    """One of the top classes for an input."""

    class_index: int
    label: str
    probability: float


@dataclass(frozen=True)
class OutputPrediction:
    """What one model output says for one input, read as its kind asks (see predictions.py)."""

    output: str
    kind: str
    top: tuple[Prediction, ...]
    values: tuple[float, ...]
    n_values: int
    threshold: float | None
    above_threshold: tuple[str, ...] = ()


@dataclass(frozen=True)
class InputFacts:
    """One sample input: where it came from and what the model made of it.

    `predictions` is the top classes of the first output (the one most models have);
    `outputs` reads every output.
    """

    name: str
    source: str
    shape: tuple[int, ...]
    activations: tuple[ActivationFacts, ...]
    predictions: tuple[Prediction, ...]
    output_entropy: float | None = None
    outputs: tuple[OutputPrediction, ...] = ()
    synthetic: bool = False
    shapes: tuple[tuple[int, ...], ...] = ()  # every model input's, for several inputs


@dataclass(frozen=True)
class ModelFacts:
    """The model file and the model as a whole."""

    file_name: str
    file_size: int
    sha256: str
    format: str
    saved_by_keras_version: str
    read_with: tuple[tuple[str, str], ...]
    reportgen_version: str
    generated_at: str
    class_name: str
    n_params: int
    n_trainable_params: int
    n_non_trainable_params: int
    input_shape: str | None
    output_shape: str | None
    inputs: tuple[tuple[str, str | None, str], ...] = ()
    outputs: tuple[tuple[str, str | None, str], ...] = ()
    architecture_file_name: str = ""
    architecture_sha256: str = ""
    in_memory: bool = False  # a model in memory: the name is the model's, the hash its weights'


@dataclass(frozen=True)
class ReportFacts:
    """Everything one report says: its mode, the facts of each section by section name (None
    for a section with nothing to say), every alert (raised while the facts were built), and
    why the report is less than full."""

    mode: str
    model: ModelFacts
    sections: Mapping[str, Any]
    alerts: tuple[Alert, ...] = ()
    weights_only_reason: str = ""
    architecture_only_reason: str = ""
    forward_error: str = ""
    trusted: bool = False
    model_config: dict | None = None  # the config a file holds, for a model not rebuilt

    def section(self, name: str) -> Any:
        """The facts of a section (None when it has none)."""
        return self.sections.get(name)


def all_layer_facts(layers: tuple[LayerFacts, ...]):
    """Every layer's facts, nested models' layers right after their model."""
    for layer in layers:
        yield layer
        yield from all_layer_facts(layer.children)
