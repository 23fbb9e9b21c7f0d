"""Which pixels drove each prediction, and can the maps be trusted: Integrated Gradients and
SmoothGrad of each drawn input's top class, beside Grad-CAM, and a sanity check of every
map method (Adebayo et al. 2018): the maps of the model against those of copies whose
weights are re-initialised from the top down. A method whose maps survive the randomisation
explains the input, not the model; it is said beside its pictures.

The model is never changed: gradients are taken on a rebuilt graph of its own layers, and
the randomised models are clones (load/keras/attribution.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.analyse.alert import NOTE, Alert, AlertKind
from reportgen.analyse.attribution_maps import SURVIVES_SPEARMAN
from reportgen.draw.cam_pictures import overlay_rgb
from reportgen.draw import images
from reportgen.draw.figures import picture
from reportgen.i18n import N_, _, msg
from reportgen.sections.attribution.attribution_run import (AttributionFacts, AttributionRun,
                                                            measure)
from reportgen.sections.attribution.attribution_view import attribution_sidecar, attribution_view
from reportgen.sections.base import GRADIENTS, Evidence, Page, Section, input_rank

MAX_SIDE = 75  # inputs larger than this are drawn averaged down (ResNet's 224: a third)
ATTRIBUTION_KINDS = (
    AlertKind("map_survives_randomisation", msg("A map method survives randomisation"),
              msg("median Spearman correlation above {limit:g} between the maps of the model "
                  "and of the model with every weighted layer re-initialised",
                  limit=SURVIVES_SPEARMAN),
              msg("Its maps barely change when the weights are random, so they show the "
                  "input more than what the model learned (Adebayo et al. 2018); read them "
                  "with care. A fact about the method on this model, not a defect of it."),
              heuristic=True, severity=NOTE, needs=GRADIENTS),
)


@dataclass(frozen=True)
class _Drawn:
    """One input's pictures: the input, and an overlay per method drawn here."""

    plain: object
    overlays: tuple


def prepare(_model, evidence: Evidence) -> bool:
    """Whether the model reads one image: the section has work."""
    return input_rank(evidence) == 3


def collect(evidence: Evidence) -> AttributionFacts | None:
    run: AttributionRun | None = evidence.measured.get("attribution")
    return run.facts if run is not None else None


def alerts(facts: AttributionFacts | None, _evidence: Evidence):
    """A note for each method whose maps survive full randomisation."""
    if facts is None:
        return ()
    return tuple(Alert("map_survives_randomisation", NOTE, "", msg(
        "{method}: median Spearman {rho:.2f} between the maps of the model and of the model "
        "with all {n} weighted layers re-initialised", method=check.method,
        rho=check.full_median, n=facts.n_weighted), check.method,
        (("spearman", round(check.full_median, 3)),), SURVIVES_SPEARMAN)
        for check in facts.checks if check.survives)


def pictures(facts: AttributionFacts | None, evidence: Evidence):
    """Each attributed input, plain and with each method's map over it."""
    if facts is None:
        return ()
    run: AttributionRun = evidence.measured["attribution"]
    step = -(-max(run.images[0].shape[:2]) // MAX_SIDE)  # a large input drawn smaller
    shown = [images.block_mean(image, step) for image in run.images]
    return tuple(_Drawn(picture(images.input_image(image),
                                _("input {name}").format(name=item.name)),
                        tuple(picture(overlay_rgb(image, images.block_mean(run.maps[method][k],
                                                                           step)),
                                      _("{method} over input {name}").format(method=method,
                                                                             name=item.name))
                              for method in facts.methods))
                 for k, (item, image) in enumerate(zip(facts.inputs, shown)))


def view(facts: AttributionFacts | None, drawn, page: Page) -> dict | None:
    if facts is None:
        return None
    return attribution_view(facts, drawn, [row for row in page.alert_rows
                                           if row["kind"] == "map_survives_randomisation"])


def sidecar(facts: AttributionFacts | None, evidence: Evidence) -> dict:
    """The key `attribution`."""
    run = evidence.measured.get("attribution")
    return {"attribution": attribution_sidecar(facts, run.reason if run is not None else "")}


SECTION = Section(name="attribution", title=N_("Which pixels decided"),
                  template="attribution.html.j2", needs=frozenset({GRADIENTS}),
                  kinds=ATTRIBUTION_KINDS, collect=collect, alerts=alerts, pictures=pictures,
                  view=view, sidecar=sidecar, prepare=prepare, measure=measure,
                  measuring=N_("attributing the predictions (Integrated Gradients, SmoothGrad) "
                               "and checking the maps against randomised weights"))

