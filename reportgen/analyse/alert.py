"""The one alert type every section (and compare) raises, and the kinds it comes in.

An alert is data: its kind, its severity, the layer and part it is about, the numbers it
rests on (and the threshold they were held against), and a message built from those
numbers for people (nothing reads the message back). A kind says, once, what it checks, its
threshold in words, why it matters, its default severity and what it needs to be checked.

Severities, highest first:
- `error`: the model cannot be trusted as it is (NaN or Inf in weights or outputs, ...);
- `warning`: a specific problem with evidence a reader can check;
- `note`: a heuristic, or an observation on too little to be a finding.
"""

from __future__ import annotations

from dataclasses import dataclass

ERROR, WARNING, NOTE = "error", "warning", "note"
SEVERITIES = (ERROR, WARNING, NOTE)

# What a kind needs to be checked (see sections/base.py, where the run says what it has):
# the weights' values, a fresh initialisation to compare with, a model run on inputs, a
# labelled sample, gradients of the model, two checkpoints.
WEIGHTS, INIT, INPUTS, SAMPLE, GRADIENTS, TWO_FILES = ("weights", "init", "inputs", "sample",
                                                       "gradients", "two files")


@dataclass(frozen=True)
class AlertKind:
    """One kind of finding: its name, title, threshold in words, what it means, its severity
    (the rule that raises it may lower it, say for a single input), what it needs to be
    checked, and whether it is a heuristic (a rule of thumb from published experience, not a
    fact about this model)."""

    name: str
    title: str
    threshold: str
    explanation: str
    heuristic: bool = False
    severity: str = WARNING
    needs: str = WEIGHTS


@dataclass(frozen=True)
class Alert:
    """One finding about one layer (or about the model, an input or the sample, with `layer`
    empty).

    `subject` says what part it is about (a weight's name, "output" for a layer's output, an
    input's name, a class); `values` the numbers it rests on and `threshold` the one they
    were held against (None when the kind has several, named in `values`). `synthetic`: it
    rests on the synthetic test pattern only, not on real data.
    """

    kind: str
    severity: str
    layer: str
    message: str
    subject: str = ""
    values: tuple[tuple[str, float | int | str], ...] = ()
    threshold: float | None = None
    synthetic: bool = False


def kinds_by_name(kinds) -> dict[str, AlertKind]:
    """A lookup of kinds by name."""
    return {kind.name: kind for kind in kinds}
