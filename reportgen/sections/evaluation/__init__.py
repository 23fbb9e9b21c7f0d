"""The evaluation on a labelled sample (--data): accuracy and top-5 with their intervals,
per-class scores, confusions, the most confident mistakes and calibration, and the alerts
they support. The sample is streamed through the model once by the model run."""

from __future__ import annotations

import dataclasses

from reportgen.analyse.data_run import DataFacts
from reportgen.analyse.evaluation_alerts import EVALUATION_KINDS, evaluation_alerts
from reportgen.analyse.input_likeness import KIND as UNLIKE_KIND, unlike_alerts
from reportgen.draw.data_pictures import evaluation_images
from reportgen.i18n import N_
from reportgen.sections.base import SAMPLE, Evidence, Page, Section
from reportgen.sections.evaluation.evaluation_view import evaluation_view

KINDS = EVALUATION_KINDS + (UNLIKE_KIND,)
KIND_NAMES = frozenset(kind.name for kind in KINDS)


def collect(evidence: Evidence) -> DataFacts | None:
    """The labelled sample's facts, as the model run gathered them."""
    return evidence.outputs.data if evidence.outputs is not None else None


def alerts(data: DataFacts | None, evidence: Evidence):
    """The findings the evaluation supports (none when the outputs were not probabilities),
    and the inputs given that are unlike the sample."""
    if data is None:
        return ()
    found = evaluation_alerts(data.evaluation) if data.evaluation is not None else ()
    given = [(s.name, s.arrays[0]) for s in (evidence.outputs.samples or ())
             if s.arrays and not any(s.synthetic)]
    return found + unlike_alerts(given, data.traits)


def pictures(data: DataFacts | None, evidence: Evidence):
    """The confusion matrix, the mistakes and the reliability diagram."""
    return evaluation_images(data, evidence.outputs.sample) if data is not None else None


def view(data: DataFacts | None, drawn, page: Page) -> dict | None:
    """Everything the section shows (None without a labelled sample)."""
    if data is None:
        return None
    return evaluation_view(data, drawn, [row for row in page.alert_rows
                                         if row["kind"] in KIND_NAMES])


def sidecar(data: DataFacts | None, evidence: Evidence) -> dict:
    """The keys `labelled_sample` and `evaluation` (null without a sample; `evaluation` null
    too when the outputs were not class probabilities), the evaluation's alerts in it."""
    if data is None:
        return {"labelled_sample": None, "evaluation": None}
    found = [{"kind": a.kind, "subject": a.subject, "message": a.message,
              "values": dict(a.values), "threshold": a.threshold}
             for a in evidence.alerts if a.kind in KIND_NAMES]
    skipped = evidence.outputs.sample.skipped if evidence.outputs is not None else ()
    return {
        "labelled_sample": {
            "description": data.description, "n_images": data.n_images,
            "class_names": list(data.class_names), "evaluation_error": data.evaluation_error,
            "activations": [dataclasses.asdict(s) for s in data.activations],
            "skipped": [{"path": s.path, "reason": s.reason} for s in skipped]},
        "evaluation": (dataclasses.asdict(data.evaluation) | {"alerts": found}
                       if data.evaluation is not None else None),
    }


SECTION = Section(name="evaluation", title=N_("Evaluation"), template="evaluation.html.j2",
                  needs=frozenset({SAMPLE}), kinds=KINDS, collect=collect,
                  alerts=alerts, pictures=pictures, view=view, sidecar=sidecar,
                  checked=lambda data: data is not None and data.evaluation is not None)
