"""A report from a request: gather the evidence of its mode, build the sections' facts and
pictures, then the page and the JSON (and, for `generate_report`, write them)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from reportgen.analyse.facts import ReportFacts
from reportgen.i18n import _
from reportgen.load.model_file import check_model_file, read_architecture
from reportgen.parallel import one_blas_thread
from reportgen.progress import Progress
from reportgen.pipeline.build import Built, build_facts, draw_pictures
from reportgen.pipeline.modes import file_evidence, full_evidence, memory_weights_evidence
from reportgen.pipeline.output import Output
from reportgen.pipeline.page import page_context, render, report_view, sidecar_text
from reportgen.pipeline.request import Given, ReportRequest, see_also_links
from reportgen.page.card_markdown import card_markdown
from reportgen.sections.base import MODEL, Evidence
from reportgen.sections.card import TO_FILL


@dataclass(frozen=True)
class Rendered:
    """A finished report: the page, the JSON sidecar's text, and the facts behind both."""

    html: str
    sidecar: str
    facts: ReportFacts
    card: str = ""  # the model card's Markdown in the run's language ("" without one)


def generate_report(request: ReportRequest, progress: Progress) -> tuple[Path, Path]:
    """Write the HTML report and its JSON sidecar; return their paths."""
    output = Output(request.output, request.protected())
    rendered = build_report(request, progress)
    return output.write(rendered.html, rendered.sidecar, progress,
                        rendered.card if request.value("card") else None)


def build_report(request: ReportRequest, progress: Progress, model=None,
                 initial: dict | None = None) -> Rendered:
    """The report of the model file the request names, or of `model`, a Keras model in
    memory (then `request.model_path` only names it). `initial` maps layer paths to the
    weights a model started training from, to compare with instead of a fresh
    initialisation (the training callback's).

    numpy's BLAS runs one thread from start to end, not only in the parallel parts: an
    OpenBLAS thread spins on the other core for a while after every call, which cost a
    training beside the callback's reports as much CPU again as the reports themselves."""
    with one_blas_thread():
        given = request.read_given()
        with gathered(request, given, progress, model, initial) as (evidence, built):
            return rendered(evidence, built, request.settings, progress,
                            see_also_links(request.value("see_also"), request.output))


def rendered(evidence: Evidence, built: Built | None, settings: dict,
             progress: Progress | None = None, links: tuple[dict, ...] = ()) -> Rendered:
    """The report the evidence makes: every section's facts and pictures, the page (with
    `links` to other reports in its header) and the JSON."""
    progress = progress or Progress(quiet=True)
    progress.step(_("computing statistics"))
    facts = build_facts(evidence, built)
    progress.step(_("drawing kernels and feature maps") if MODEL in evidence.has
                  else _("drawing kernels"))
    pictures = draw_pictures(evidence, built)
    progress.step(_("rendering the page"))
    page = page_context(facts, pictures, evidence.has)
    html = render(report_view(facts, page, evidence.has, links))
    card = facts.section("card")
    return Rendered(html, sidecar_text(facts, evidence, settings, pictures), facts,
                    card_markdown(card, TO_FILL) if card is not None else "")


@contextlib.contextmanager
def gathered(request: ReportRequest, given: Given, progress: Progress, model,
             initial: dict | None) -> Iterator[tuple[Evidence, Built | None]]:
    """The evidence of the request's mode (and the sections built beside its model run), kept
    valid while the report is built from it (a weights file stays open). `model` is a
    KerasModel, or a HeldModel (weights held by the training callback)."""
    if model is not None and request.weights_only:
        yield memory_weights_evidence(model, request, initial, progress), None
    elif model is not None:
        progress.step(_("reading the in-memory model {name}").format(name=model.name))
        yield full_evidence(model.memory_file(), model, request, given, progress)
    else:
        model_file = check_model_file(request.model_path)
        architecture = (read_architecture(request.architecture_path)
                        if request.architecture_path else None)
        with file_evidence(model_file, architecture, request, given, progress) as found:
            found[0].notes.extend(model_file.notes)
            yield found
