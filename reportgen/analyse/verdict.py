"""The report's headline: one sentence from a documented rule over its alerts. The first rule
that applies makes it (docs/alerts.md lists them):

1. untrained: the model_untrained error — "Untrained: 54 of 54 layers with weights are
   indistinguishable from a fresh initialisation".
2. broken: NaN or Inf in weights or outputs — "Broken: NaN or Inf in conv2d_1 (kernel: 3 NaN
   ...)".
3. suspect labels: the label_order error — the class order of the labels does not match the
   model's outputs, with both accuracies.
4. broken: any other error.
5. evaluated: a labelled sample — its accuracy with the 95 % interval, and the warnings.
6. warnings: how many, of which kinds.
7. no warnings: and on what the checks rested (weights only, the synthetic pattern, inputs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reportgen.analyse.alert import ERROR, NOTE, WARNING, Alert
from reportgen.i18n import Joined, msg, nmsg

SEVERITY_RANK = {ERROR: 0, WARNING: 1, NOTE: 2}


@dataclass(frozen=True)
class Verdict:
    """The headline: which rule made it, its sentence, and the alerts by severity."""

    kind: str
    sentence: str
    n_errors: int
    n_warnings: int
    n_notes: int


@dataclass(frozen=True)
class Basis:
    """What the checks rested on: the report's mode, the inputs run (and whether they were
    the synthetic pattern only), and a labelled sample's evaluation."""

    mode: str
    n_inputs: int = 0
    synthetic: bool = False
    accuracy: object = None  # evaluation.RateInterval, with the sample's size
    n_labelled: int = 0


def verdict(alerts: Sequence[Alert], basis: Basis, titles: dict[str, str]) -> Verdict:
    """The headline of a report with these alerts (see the module for the rule)."""
    errors = [a for a in alerts if a.severity == ERROR]
    warnings = [a for a in alerts if a.severity == WARNING]
    counts = (len(errors), len(warnings), sum(1 for a in alerts if a.severity == NOTE))
    kind, sentence = headline(errors, warnings, basis, titles)
    return Verdict(kind, sentence, *counts)


def headline(errors: list[Alert], warnings: list[Alert], basis: Basis,
             titles: dict[str, str]) -> tuple[str, str]:
    """(rule, sentence) of the first rule that applies."""
    first = {kind: next((a for a in errors if a.kind == kind), None)
             for kind in ("model_untrained", "non_finite", "label_order")}
    if first["model_untrained"] is not None:
        return "untrained", msg("Untrained: {message}.", message=first["model_untrained"].message)
    if first["non_finite"] is not None:
        return "broken", broken(first["non_finite"], len(errors))
    if first["label_order"] is not None:
        return "suspect labels", msg("Suspect labels: {message}.",
                                     message=first["label_order"].message)
    if errors:
        return "broken", broken(errors[0], len(errors), titles[errors[0].kind])
    warned = warning_text(warnings, titles)
    if basis.accuracy is not None:
        return "evaluated", msg(
            "Evaluated: accuracy {accuracy:.1%} [{low:.1%}, {high:.1%}] on {n:,} labelled "
            "inputs; {warned}.", accuracy=basis.accuracy.value, low=basis.accuracy.low,
            high=basis.accuracy.high, n=basis.n_labelled, warned=warned)
    if warnings:
        return "warnings", msg("{warned}.", warned=warned)
    return "clean", msg("No warnings ({basis}).", basis=basis_text(basis))


def broken(alert: Alert, n_errors: int, title: str = "") -> str:
    """The first error, and how many more there are."""
    where = msg("{title} in {layer}", title=title, layer=alert.layer) if title and alert.layer \
        else (alert.layer or title)
    text = msg("Broken: NaN or Inf in {where}: {message}", where=where, message=alert.message) \
        if alert.kind == "non_finite" else msg("Broken: {where}: {message}", where=where,
                                               message=alert.message)
    more = n_errors - 1
    return msg("{text} (and {n} more errors).", text=text, n=more) if more else \
        msg("{text}.", text=text)


def warning_text(warnings: list[Alert], titles: dict[str, str]) -> str:
    """'no warnings', or how many of which kinds."""
    if not warnings:
        return msg("no warnings")
    kinds = sorted({titles[a.kind] for a in warnings}, key=str)
    return nmsg("{n} warning: {kinds}", "{n} warnings: {kinds}", len(warnings),
                kinds=Joined("; ", kinds))


def basis_text(basis: Basis) -> str:
    """On what the checks rested, for a report without warnings."""
    if basis.mode == "architecture-only":
        return msg("no weights were read, so nothing could be checked")
    if basis.mode == "weights-only" or not basis.n_inputs:
        return msg("weights only")
    if basis.synthetic:
        return msg("weights and the synthetic test pattern only")
    return nmsg("weights and one input", "weights and {n} inputs", basis.n_inputs)
