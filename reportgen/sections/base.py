"""A report section as a unit, and what it is given.

A `Section` declares its name and heading, what it needs from the run, the alert kinds it
raises, and its functions:

    collect(evidence) -> facts          plain data (None: the section has nothing to say)
    alerts(facts, evidence) -> alerts   its findings, raised while the facts are built
    pictures(facts, evidence) -> ...    its images, drawn once
    view(facts, pictures, page) -> dict the plain strings and pictures its template places
    sidecar(facts, evidence) -> dict    its keys of the JSON sidecar
    prepare(model, evidence) -> ...     (optional) checks against the loaded model before
                                        any heavy work (a bad --cam-layer is refused there);
                                        a false value says there is nothing to measure (its
                                        progress line is not printed)
    measure(model, evidence) -> ...     (optional) what it must compute with the model itself
                                        (gradients, say), after the forward passes

and its template partial, `templates/sections/<template>`, which receives its view as `v`.
The report's facts, page, JSON, table of contents and check table are made by iterating over
the registry (sections/registry.py); docs/ARCHITECTURE.md has the recipe for a new section.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reportgen.analyse.activations import SampleActivation
from reportgen.analyse.alert import Alert, AlertKind
from reportgen.analyse.facts import ModelFacts, ReportFacts
from reportgen.load.samples import Sample
from reportgen.load.snapshot import ModelSnapshot
from reportgen.options import Options

# What a run can have, the vocabulary of a section's needs (analyse/alert.py uses the same
# words for its kinds): the weights' values, the model config, a fresh (or starting)
# initialisation, a model Keras rebuilt, a model run on the inputs, a labelled sample, and
# gradients (a model that can be differentiated: the full mode).
WEIGHTS, CONFIG, INIT, MODEL, INPUTS, SAMPLE, GRADIENTS = (
    "weights", "config", "init", "model", "inputs", "sample", "gradients")


@dataclass(frozen=True)
class ModelOutputs:
    """What running the model gave: the samples run (the drawn ones first), every drawn
    layer's outputs for the drawn samples, each model output for every sample, the per-channel
    activations over all of them, and why the model could not run ("" when it could); and the
    labelled sample with its facts, when one was given."""

    samples: tuple[Sample, ...] = ()
    drawn: Mapping[str, np.ndarray] = field(default_factory=dict)
    scores: tuple[np.ndarray, ...] = ()
    summaries: tuple[SampleActivation, ...] = ()
    error: str = ""
    sample: Any = None  # load.dataset.LabelledSample
    data: Any = None  # analyse.data_run.DataFacts


@dataclass
class Evidence:
    """What the run gathered, for the sections: the mode and what it has (`has`, the needs
    vocabulary above), the model's header facts, its snapshot, fresh weights and config, the
    outputs of the model run, each section's measurements, and the facts and alerts of the
    sections collected so far."""

    mode: str
    has: frozenset[str]
    options: Options
    model: ModelFacts
    snapshot: ModelSnapshot | None = None
    init: Any = None
    config: dict | None = None
    file_config: dict | None = None  # the config as a file holds it, for a report without a
    # rebuilt model (the JSON's model_config and the page's "config stored in the file")
    values: Mapping[str, Any] = field(default_factory=dict)  # every option, by dest
    labels: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = ()  # --vocabulary: token k's text
    notes: list = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # why the report is not full
    trusted: bool = False  # loaded with --trust-model
    repairs: tuple = ()
    stored_state: tuple = ()
    custom_layers: tuple = ()  # layers of classes the file names but does not carry
    outputs: ModelOutputs | None = None
    prepared: dict[str, Any] = field(default_factory=dict)  # each section's `prepare`
    measured: dict[str, Any] = field(default_factory=dict)  # each section's `measure`
    facts: dict[str, Any] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    kinds: Mapping[str, AlertKind] = field(default_factory=dict)  # every kind, by name


@dataclass(frozen=True)
class Page:
    """What every section's view may use beside its own facts: the report's facts, each
    layer's anchor, every alert as a row (and those of each layer), the checks with their
    status, the colour bars, and each section's pictures."""

    facts: ReportFacts
    anchors: Mapping[str, str]
    alert_rows: tuple[dict, ...]
    by_layer: Mapping[str, list[dict]]
    checks: tuple[tuple[AlertKind, bool], ...]
    bars: Mapping[str, Any]
    pictures: Mapping[str, Any]

    def alerts_of(self, layer: str) -> list[dict]:
        """The alert rows about one layer."""
        return self.by_layer.get(layer, [])

    def warned(self, layer: str | None = None) -> int:
        """How many errors and warnings (not notes) there are about a layer, or in all: the
        number a badge shows."""
        rows = self.alert_rows if layer is None else self.alerts_of(layer)
        return sum(1 for row in rows if row["severity"] != "note")


def input_rank(evidence: Evidence) -> int | None:
    """The rank (without the batch axis) of a model's one input; None for several or
    unknown: 3 for an image, 1 or 2 for token ids or a signal."""
    inputs = evidence.snapshot.inputs if evidence.snapshot is not None else ()
    return len(inputs[0].shape) if len(inputs) == 1 and inputs[0].shape is not None else None


def class_label(evidence: Evidence, index: int) -> str:
    """Class `index`'s name from --labels; "" when it has none."""
    labels = evidence.labels
    return labels[index] if 0 <= index < len(labels) else ""


def nothing(*_args) -> None:
    """A section function with nothing to give."""
    return None


def no_alerts(*_args) -> tuple[Alert, ...]:
    return ()


def no_keys(*_args) -> dict:
    return {}


def toc_entry(label: str, anchor: str, n_alerts: int = 0, depth: int = 0) -> dict:
    """One line of the table of contents."""
    from reportgen.i18n import _

    return {"label": _(label), "anchor": anchor, "alerts": str(n_alerts) if n_alerts else "",
            "depth": str(depth)}


@dataclass(frozen=True)
class Section:
    """One section of the report (see the module's docstring)."""

    name: str
    title: str
    template: str = ""
    needs: frozenset[str] = frozenset()
    kinds: tuple[AlertKind, ...] = ()
    after: tuple[str, ...] = ()  # sections whose facts `collect` reads
    collect: Callable[[Evidence], Any] = nothing
    alerts: Callable[[Any, Evidence], tuple[Alert, ...]] = no_alerts
    pictures: Callable[[Any, Evidence], Any] = nothing
    view: Callable[[Any, Any, Page], dict | None] = nothing
    sidecar: Callable[[Any, Evidence], dict] = no_keys
    # The table of contents' lines; None: one line, the title, when there is a view.
    toc: Callable[[Any, dict | None, Page], list[dict]] | None = None
    # Whether its alert kinds were checked, given its facts (None: when it has facts).
    checked: Callable[[Any], bool] | None = None
    prepare: Callable[[Any, Evidence], Any] | None = None
    measure: Callable[[Any, Evidence], Any] | None = None
    measuring: str = ""  # the progress line said before `measure` (N_ marked)

    def runs_with(self, has: frozenset[str]) -> bool:
        """Whether the run has what this section needs."""
        return self.needs <= has

    def has_checked(self, facts: Any) -> bool:
        """Whether its alert kinds were checked (the run had what they need, too)."""
        return facts is not None if self.checked is None else self.checked(facts)
