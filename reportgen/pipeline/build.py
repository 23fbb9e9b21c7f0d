"""The facts of every section, built once from the evidence of any mode: each section that
the run has what it needs for collects its facts, then raises its alerts from them, in the
order the sections read each other's facts; then each draws its pictures.

The sections that need nothing from a model run (the layers and weights, the heavy part of
a big model) can be built beforehand, beside the model run (`prebuild`): their facts,
pictures and notes are kept apart and joined in at their turn, and their alerts are raised
at that turn, from the facts of every section before them and the model run's measurements
(an int8 warning reads the accuracy measured after int8), so that the report is the same as
when everything is built in one go."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from reportgen.analyse.facts import ReportFacts
from reportgen.sections.base import Evidence
from reportgen.sections.registry import ALERT_KINDS, SECTIONS, collection_order


@dataclass
class Built:
    """Sections built ahead: their facts and pictures by section, and their notes."""

    facts: dict[str, Any] = field(default_factory=dict)
    pictures: dict[str, Any] = field(default_factory=dict)
    notes: list = field(default_factory=list)


def prebuild(evidence: Evidence, names: tuple[str, ...]) -> Built:
    """Build the named sections (in collection order) on a copy of the evidence that other
    threads do not touch, pictures included."""
    own = dataclasses.replace(evidence, facts={}, alerts=[], notes=[])
    built = Built()
    for section in collection_order():
        if section.name in names and section.runs_with(own.has):
            built.facts[section.name] = own.facts[section.name] = section.collect(own)
    for section in SECTIONS:
        if section.name in built.facts:
            built.pictures[section.name] = section.pictures(built.facts[section.name], own)
    built.notes = own.notes
    return built


def build_facts(evidence: Evidence, built: Built | None = None) -> ReportFacts:
    """Collect every section's facts and alerts (those built ahead joined in at their
    turn; their notes before the sections that read every other's)."""
    built = built or Built()
    evidence.kinds = {kind.name: kind for kind in ALERT_KINDS}
    for section in collection_order():
        if "*" in section.after and built.notes:
            evidence.notes.extend(built.notes)
            built.notes = []
        if not section.runs_with(evidence.has):
            continue
        facts = built.facts[section.name] if section.name in built.facts else \
            section.collect(evidence)
        evidence.facts[section.name] = facts
        evidence.alerts.extend(section.alerts(facts, evidence))
    return ReportFacts(
        mode=evidence.mode, model=evidence.model, sections=dict(evidence.facts),
        alerts=tuple(evidence.alerts), weights_only_reason=evidence.reasons.get("weights_only", ""),
        architecture_only_reason=evidence.reasons.get("architecture_only", ""),
        forward_error=evidence.outputs.error if evidence.outputs is not None else "",
        trusted=evidence.trusted, model_config=evidence.file_config)


def draw_pictures(evidence: Evidence, built: Built | None = None) -> dict[str, Any]:
    """Every section's pictures (those built ahead as they are); a section spreads its own
    drawing over the cores (parallel.ordered_map)."""
    built = built or Built()
    return {section.name: built.pictures[section.name] if section.name in built.pictures
            else section.pictures(evidence.facts.get(section.name), evidence)
            for section in SECTIONS if section.runs_with(evidence.has)}
