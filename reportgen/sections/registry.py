"""The report's sections, in page order: the one list the facts, the page, the JSON, the
table of contents and the check table are made from. A new section is a module (or package)
of reportgen/sections/ with its template partial, and one line here."""

from __future__ import annotations

from reportgen.analyse.alert import AlertKind
from reportgen.analyse.compare import KINDS as COMPARE_KINDS
from reportgen.sections import (activations, architecture, attribution, cam, card, chapter,
                                evaluation, features, glossary, layers, model, notes, overview,
                                quantisation, representation, responses, sequence, shipping,
                                summary, weights)
from reportgen.sections.base import Section

SECTIONS: tuple[Section, ...] = (
    summary.SECTION,
    model.SECTION,
    notes.SECTION,
    chapter.SECTION,
    overview.SECTION,
    architecture.SECTION,
    layers.SECTION,
    weights.SECTION,
    features.SECTION,
    quantisation.SECTION,
    evaluation.SECTION,
    responses.SECTION,
    representation.SECTION,
    cam.SECTION,
    attribution.SECTION,
    sequence.SECTION,
    activations.SECTION,
    shipping.SECTION,
    card.SECTION,
    glossary.SECTION,
)


def report_kinds() -> tuple[AlertKind, ...]:
    """Every alert kind a report checks, in page order, each once (a kind raised by two
    sections is declared by the first)."""
    seen: dict[str, AlertKind] = {}
    for section in SECTIONS:
        for kind in section.kinds:
            seen.setdefault(kind.name, kind)
    return tuple(seen.values())


def kind_sections() -> dict[str, str]:
    """Which section declares each report kind."""
    found: dict[str, str] = {}
    for section in SECTIONS:
        for kind in section.kinds:
            found.setdefault(kind.name, section.name)
    return found


ALERT_KINDS = report_kinds()
# Every kind there is: the report's, and `reportgen compare`'s (a page of its own).
ALL_KINDS = ALERT_KINDS + COMPARE_KINDS


def collection_order(sections: tuple[Section, ...] = SECTIONS) -> list[Section]:
    """The sections in the order their facts can be collected: each after the sections it
    reads (`after`; "*" reads every other), otherwise in page order."""
    done: list[Section] = []
    pending = list(sections)
    while pending:
        names = {s.name for s in done}
        ready = next((s for s in pending if _ready(s, names, pending)), None)
        if ready is None:
            raise ValueError(f"sections wait for each other: {[s.name for s in pending]}")
        done.append(ready)
        pending.remove(ready)
    return done


def _ready(section: Section, done: set[str], pending: list[Section]) -> bool:
    """Whether every section `section` reads is collected (or absent from the list)."""
    if "*" in section.after:
        return all(other is section or "*" in other.after for other in pending)
    known = {s.name for s in pending} | done
    return all(name in done or name not in known for name in section.after)
