"""The summary: a few sentences a reader takes away first, every alert grouped by kind, and
the table of what was checked (every kind of the registry, with its threshold)."""

from __future__ import annotations

from reportgen.analyse.alert import AlertKind
from reportgen.analyse.facts import ReportFacts, all_layer_facts
from reportgen.i18n import N_, _, localised, ngettext
from reportgen.page.formatting import fmt_int, fmt_number, fmt_percent
from reportgen.sections.alert_rows import alert_groups
from reportgen.sections.base import Page, Section, toc_entry

VERDICT_INPUTS = 3  # inputs whose prediction the summary names
STATUS_NAMES = {"alert": N_("alert"), "ok": N_("ok"), "not checked": N_("not checked")}


def view(_facts, _pictures, page: Page) -> dict:
    """The verdict, the alert groups (the synthetic pattern's apart) and the checks."""
    facts = page.facts
    kinds = [kind for kind, _checked in page.checks]
    model_rows = [row for row, alert in zip(page.alert_rows, facts.alerts) if not alert.synthetic]
    synthetic = [row for row, alert in zip(page.alert_rows, facts.alerts) if alert.synthetic]
    return {"verdict": verdict(facts, kinds),
            "alert_groups": alert_groups(model_rows, kinds),
            "synthetic_alerts": synthetic, "synthetic_count": str(len(synthetic)),
            "checks": [check_row(kind, checked, facts) for kind, checked in page.checks]}


def toc(_facts, _view, page: Page) -> list[dict]:
    """The summary's line, with the number of alerts about the model."""
    return [toc_entry(N_("Summary"), "summary",
                      sum(1 for a in page.facts.alerts if not a.synthetic))]


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


def verdict(facts: ReportFacts, kinds: list[AlertKind]) -> list[str]:
    """A few plain sentences a reader takes away first."""
    lines = [size_line(facts), alert_line(facts, kinds)]
    evaluation = _evaluation(facts)
    if evaluation is not None:
        lines.append(_("Accuracy on the labelled sample: {accuracy} of {n} images (95 % "
                       "interval {low} to {high}).").format(
            accuracy=fmt_percent(evaluation.accuracy.value), n=fmt_int(evaluation.n_samples),
            low=fmt_percent(evaluation.accuracy.low), high=fmt_percent(evaluation.accuracy.high)))
    activations = facts.section("activations")
    return lines + prediction_lines(activations.inputs if activations is not None else ())


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


def alert_line(facts: ReportFacts, kinds: list[AlertKind]) -> str:
    """How many alerts, of which kinds; or that every check passed."""
    alerts = [a for a in facts.alerts if not a.synthetic]
    if alerts:
        titles = {kind.name: kind.title for kind in kinds}
        named = sorted({localised(titles[a.kind]).lower() for a in alerts})
        return ngettext("{n} alert: {kinds}.", "{n} alerts: {kinds}.", len(alerts)).format(
            n=len(alerts), kinds="; ".join(named))
    if facts.mode == "architecture-only":
        return _("No weights were read, so no check could run.")
    return _("No alert: every check below passed.")


def _evaluation(facts: ReportFacts):
    """The labelled sample's evaluation, if there is one."""
    data = facts.section("evaluation")
    return data.evaluation if data is not None else None


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


SECTION = Section(name="summary", title=N_("Summary"), template="summary.html.j2", view=view,
                  toc=toc)
