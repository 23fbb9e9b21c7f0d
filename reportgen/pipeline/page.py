"""The page and the JSON sidecar of a report, made by iterating over the sections: each
section's view in page order (its template partial places it), the table of contents, the
check table, and each section's keys of the JSON."""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator, Mapping

from reportgen.analyse.facts import ReportFacts, all_layer_facts
from reportgen.draw.figures import Picture
from reportgen.draw.pictures import colour_bars
from reportgen.i18n import N_, _, current_language, html_lang
from reportgen.page.anchors import layer_anchors
from reportgen.page.render import environment
from reportgen.page.sidecar import alert_record, strict_json
from reportgen.sections.alert_rows import alert_row
from reportgen.sections.base import Evidence, Page, toc_entry
from reportgen.sections.registry import ALERT_KINDS, SECTIONS, kind_sections

SCHEMA_VERSION = 1
MODE_NAMES = {"full": N_("full"), "weights-only": N_("weights-only"),
              "architecture-only": N_("architecture-only")}
WEIGHTS_ONLY_MISSING = N_("Without a rebuilt model there is no comparison with a fresh "
                          "initialisation, no feature maps and no prediction; every weight, its "
                          "statistics, histogram and images are here.")
STARTED_FROM_MISSING = N_("The model was not run, so there are no feature maps and no "
                          "prediction; the weights are compared with the ones training started "
                          "from.")
ARCHITECTURE_ONLY_MISSING = N_("No weights were read, so there are no statistics, weight "
                               "pictures, activations or predictions: only the layers and the "
                               "config the file describes.")


def page_context(facts: ReportFacts, pictures: Mapping[str, Any],
                 has: frozenset[str]) -> Page:
    """What every section's view may use: anchors, alert rows, checks, bars, pictures."""
    layers = list(all_layer_facts(facts.section("layers") or ()))
    anchors = layer_anchors([layer.path for layer in layers])
    # An alert links to its layer's weights, or to its outputs for a layer without weights.
    targets = {layer.path: anchors[layer.path] if layer.weights else
               (f"act-{anchors[layer.path]}" if facts.section("activations") else "")
               for layer in layers}
    kinds = {kind.name: kind for kind in ALERT_KINDS}
    rows = tuple(alert_row(alert, kinds, targets) for alert in facts.alerts)
    by_layer: dict[str, list[dict]] = {}
    for alert, row in zip(facts.alerts, rows):
        by_layer.setdefault(alert.layer, []).append(row)
    return Page(facts, anchors, rows, by_layer, checks(facts, has), colour_bars(), pictures)


def checks(facts: ReportFacts, has: frozenset[str]) -> tuple:
    """Every alert kind and whether it was checked: the run had what it needs, and the
    section that raises it had facts to check."""
    owners = {section.name: section for section in SECTIONS}
    declared = kind_sections()
    return tuple((kind, kind.needs in has and owners[declared[kind.name]].has_checked(
        facts.section(declared[kind.name]))) for kind in ALERT_KINDS)


def report_view(facts: ReportFacts, page: Page, has: frozenset[str],
                see_also: tuple[dict, ...] = ()) -> dict:
    """Everything report.html.j2 shows: the page's own words, each section's view, and the
    header's links to other reports (`see_also`: text and href each)."""
    sections, toc = [], []
    for section in SECTIONS:
        if not section.runs_with(has):
            continue
        own = facts.section(section.name)
        view = section.view(own, page.pictures.get(section.name), page)
        toc += (section.toc(own, view, page) if section.toc is not None
                else [toc_entry(section.title, section.name)] if view is not None else [])
        if view is not None:
            sections.append({"name": section.name, "view": view,
                             "template": f"sections/{section.template}"})
    return {"title": f"reportgen: {facts.model.file_name}", "model_name": facts.model.file_name,
            "mode": _(MODE_NAMES.get(facts.mode, facts.mode)), "html_lang": html_lang(),
            "banner": banner(facts), "sections": sections, "toc": toc,
            "generator": f"reportgen {facts.model.reportgen_version}", "see_also": see_also}


def banner(facts: ReportFacts) -> dict | None:
    """Why this report is less than full, and what that leaves out; None for a full one."""
    if facts.mode == "weights-only":
        compared = any(layer.init is not None
                       for layer in all_layer_facts(facts.section("layers") or ()))
        return {"title": _("Weights-only report."), "reason": facts.weights_only_reason,
                "missing": _(STARTED_FROM_MISSING if compared else WEIGHTS_ONLY_MISSING)}
    if facts.mode == "architecture-only":
        return {"title": _("Architecture-only report."),
                "reason": facts.architecture_only_reason,
                "missing": _(ARCHITECTURE_ONLY_MISSING)}
    return None


def render(view: dict) -> str:
    """The report page as HTML text."""
    return environment().get_template("report.html.j2").render(**view)


def sidecar_dict(facts: ReportFacts, evidence: Evidence, settings: dict,
                 pictures: dict[str, Any] | None = None) -> dict:
    """The sidecar's content: the report's own keys, then each section's."""
    m = facts.model
    found = {
        "schema_version": SCHEMA_VERSION, "lang": current_language(), "mode": facts.mode,
        "weights_only_reason": facts.weights_only_reason or None,
        "forward_error": facts.forward_error or None,
        "architecture_only_reason": facts.architecture_only_reason or None,
        "trusted": facts.trusted, "generated_at": m.generated_at,
        "generator": {"name": "reportgen", "version": m.reportgen_version},
        "settings": settings,
        "alert_kinds": [dataclasses.asdict(kind) for kind in ALERT_KINDS],
        "alerts": [alert_record(a) for a in facts.alerts],
    }
    for section in SECTIONS:
        found.update(section.sidecar(facts.section(section.name), evidence))
    found["figures"] = figure_records(pictures or {})
    return found


def figure_records(pictures: dict[str, Any]) -> list[dict]:
    """The key `figures`: every picture of the page, section by section in page order, with
    its pixel size and, where its drawing says, what it shows and what it left out (in
    words that do not depend on the page's language, as the whole sidecar)."""
    found = []
    for section, drawn in pictures.items():
        for item in _pictures_in(drawn):
            record = {"section": section, "width": item.width, "height": item.height}
            if item.drawn is not None:
                record |= dataclasses.asdict(item.drawn)
                record["grid"] = list(item.drawn.grid)
            found.append(record)
    return found


def _pictures_in(value: Any) -> Iterator[Picture]:
    """The Pictures in a section's drawn pictures, however it nests them."""
    if isinstance(value, Picture):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _pictures_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _pictures_in(item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _pictures_in(getattr(value, field.name))


def sidecar_text(facts: ReportFacts, evidence: Evidence, settings: dict,
                 pictures: dict[str, Any] | None = None) -> str:
    """The sidecar as strict, compact JSON."""
    return strict_json(sidecar_dict(facts, evidence, settings, pictures))
