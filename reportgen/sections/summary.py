"""The summary: the headline verdict (analyse/verdict.py), a few sentences a reader takes
away first, the errors and warnings grouped by kind (open, red and amber), the notes in a
quiet list, and the table of what was checked (every kind of the registry, with its
threshold)."""

from __future__ import annotations

from reportgen.analyse.alert import NOTE, AlertKind
from reportgen.analyse.facts import ReportFacts, all_layer_facts
from reportgen.analyse.verdict import Basis, Verdict, verdict as headline_of
from reportgen.i18n import N_, _, localised, ngettext
from reportgen.page.formatting import fmt_int, fmt_number
from reportgen.sections.alert_rows import alert_groups
from reportgen.sections.base import Evidence, Page, Section, toc_entry

VERDICT_INPUTS = 3  # inputs whose prediction the summary names
STATUS_NAMES = {"alert": N_("alert"), "ok": N_("ok"), "not checked": N_("not checked")}


def collect(evidence: Evidence) -> Verdict:
    """The headline, from every alert the other sections raised."""
    return headline_of(evidence.alerts, basis(evidence),
                       {name: kind.title for name, kind in evidence.kinds.items()})


def basis(evidence: Evidence) -> Basis:
    """What the checks rested on."""
    activations = evidence.facts.get("activations")
    inputs = activations.inputs if activations is not None else ()
    data = evidence.facts.get("evaluation")
    evaluation = data.evaluation if data is not None else None
    return Basis(evidence.mode, len(inputs), bool(inputs) and all(i.synthetic for i in inputs),
                 evaluation.accuracy if evaluation is not None else None,
                 evaluation.n_samples if evaluation is not None else 0)


def view(headline: Verdict, _pictures, page: Page) -> dict:
    """The headline, the alert groups by severity (notes apart) and the checks."""
    facts = page.facts
    kinds = [kind for kind, _checked in page.checks]
    serious = [row for row in page.alert_rows if row["severity"] != NOTE]
    notes = [row for row in page.alert_rows if row["severity"] == NOTE]
    return {"headline": headline.sentence, "headline_kind": headline.kind.replace(" ", "-"),
            "verdict": verdict_lines(facts),
            "alert_groups": alert_groups(serious, kinds),
            "notes": alert_groups(notes, kinds), "notes_count": str(len(notes)),
            "checks": [check_row(kind, checked, facts) for kind, checked in page.checks]}


def sidecar(headline: Verdict | None, _evidence: Evidence) -> dict:
    """The key `verdict`: the rule that made the headline, its sentence, and the alerts by
    severity."""
    if headline is None:
        return {"verdict": None}
    return {"verdict": {"kind": headline.kind, "sentence": headline.sentence,
                        "errors": headline.n_errors, "warnings": headline.n_warnings,
                        "notes": headline.n_notes}}


def toc(_facts, _view, page: Page) -> list[dict]:
    """The summary's line, with the number of alerts about the model."""
    return [toc_entry(N_("Summary"), "summary", page.warned())]


def check_row(kind: AlertKind, checked: bool, facts: ReportFacts) -> dict:
    """One kind: whether it was checked, how many alerts it raised, its threshold and why."""
    n = sum(1 for a in facts.alerts if a.kind == kind.name and not a.synthetic)
    status = ("alert" if n else "ok") if checked else "not checked"
    return {"title": localised(kind.title), "status": _(STATUS_NAMES[status]),
            "status_class": status.replace(" ", "-"),
            "count": ngettext("{n} alert", "{n} alerts", n).format(n=n) if n else "",
            "threshold": _("{threshold} (a heuristic)").format(
                threshold=localised(kind.threshold))
            if kind.heuristic else localised(kind.threshold),
            "explanation": localised(kind.explanation)}


def verdict_lines(facts: ReportFacts) -> list[str]:
    """The sentences after the headline: the model's size, and what the first inputs were
    predicted to be."""
    activations = facts.section("activations")
    return [size_line(facts)] + prediction_lines(activations.inputs
                                                 if activations is not None else ())


def size_line(facts: ReportFacts) -> str:
    """How big the model is."""
    layers = list(all_layer_facts(facts.section("layers") or ()))
    if facts.mode == "architecture-only":
        return ngettext("{n} layer.", "{n} layers.", len(layers)).format(n=len(layers))
    n_weighted = sum(1 for layer in layers if layer.weights)
    return ngettext("{n} layer, {n_weighted} with weights, {n_params} parameters.",
                    "{n} layers, {n_weighted} with weights, {n_params} parameters.",
                    len(layers)).format(n=len(layers), n_weighted=n_weighted,
                                        n_params=fmt_int(facts.model.n_params))


def prediction_lines(inputs) -> list[str]:
    """What the first inputs were predicted to be, and how many more there are."""
    predicted = [item for item in inputs if item.predictions]
    lines = [_("Input {name}: predicted {label} ({probability}).").format(
        name=item.name, label=item.predictions[0].label,
        probability=fmt_number(item.predictions[0].probability))
        for item in predicted[:VERDICT_INPUTS]]
    if len(predicted) > VERDICT_INPUTS:
        lines.append(ngettext("… and {n} more input: every prediction is in the table under "
                              "Feature maps and prediction.", "… and {n} more inputs: every "
                              "prediction is in the table under Feature maps and prediction.",
                              len(predicted) - VERDICT_INPUTS).format(
            n=len(predicted) - VERDICT_INPUTS))
    return lines


SECTION = Section(name="summary", title=N_("Summary"), template="summary.html.j2",
                  after=("*",), collect=collect, view=view, sidecar=sidecar, toc=toc)
