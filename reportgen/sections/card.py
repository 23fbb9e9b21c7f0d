"""A model card written from the audit: the facts a card needs that a file and a labelled
sample can tell (identity, architecture, evaluation with intervals, per-class results,
calibration, int8 readiness, limitations from the report's errors and warnings), and marked
places for what they cannot (intended use, owners, licence, training data, ethics).

The same card is this section of the page, the sidecar's `card` and, with --card, OUT.card.md
(Markdown with the YAML front matter the Hugging Face Hub reads; page/card_markdown.py).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

from reportgen.analyse.alert import NOTE
from reportgen.i18n import N_, Message, msg, nmsg
from reportgen.load.snapshot import all_layers
from reportgen.page.card_markdown import card_markdown
from reportgen.sections.base import Evidence, Page, Section

# What no file can tell: the card's marked places, each a heading and what belongs there.
TO_FILL = (
    (N_("Intended use"), N_("What the model is for, and for whom; uses it is not meant for.")),
    (N_("Owners and contact"), N_("Who is responsible for the model, and how to reach them.")),
    (N_("Licence"), N_("The licence the model is shared under.")),
    (N_("Training data"), N_("What the model was trained on, how it was collected and "
                             "labelled, and its known gaps.")),
    (N_("Ethical considerations"), N_("Risks, people affected, and the mitigations taken.")),
)


@dataclass(frozen=True)
class CardFacts:
    """The card as plain data: identity, architecture, evaluation, readiness, limitations."""

    name: str
    identity: tuple[tuple[str, str], ...]
    architecture: str
    evaluation: dict | None
    readiness: tuple[Message, ...]  # English in the JSON
    limitations: tuple[tuple[str, str], ...]  # (layer, Message): English in the JSON
    image_input: bool


def collect(evidence: Evidence) -> CardFacts:
    """The card's facts from the model's header and the other sections' facts."""
    model = evidence.model
    identity = (("file", model.file_name), ("sha256", model.sha256),
                ("format", model.format),
                ("saved_by_keras", model.saved_by_keras_version or "unknown"),
                ("read_with", ", ".join(f"{k} {v}" for k, v in model.read_with)),
                ("parameters", f"{model.n_params:,}"),
                ("inputs", "; ".join(f"{n} {s} {d}" for n, s, d in model.inputs)),
                ("outputs", "; ".join(f"{n} {s} {d}" for n, s, d in model.outputs)))
    shape = model.inputs[0][1] if model.inputs else None
    return CardFacts(model.file_name, identity, _architecture(evidence),
                     _evaluation(evidence), _readiness(evidence),
                     tuple((a.layer, a.message) for a in evidence.alerts if a.severity != NOTE),
                     bool(shape) and str(shape).count(",") == 3)


def _architecture(evidence: Evidence) -> str:
    """'Sequential of 8 layers: 2 Conv2D, 2 MaxPooling2D, ...'."""
    if evidence.snapshot is None:
        return evidence.model.class_name
    layers = list(all_layers(evidence.snapshot.layers))
    counts = Counter(layer.class_name for layer in layers)
    return f"{evidence.model.class_name}, {len(layers)} layers: " + ", ".join(
        f"{n} {name}" for name, n in counts.most_common())


def _evaluation(evidence: Evidence) -> dict | None:
    """Accuracy and top-5 with intervals, per class, calibration, and the sample."""
    data = evidence.facts.get("evaluation")
    evaluation = data.evaluation if data is not None else None
    if evaluation is None:
        return None
    return {"sample": str(data.description), "n": evaluation.n_samples,
            "accuracy": asdict(evaluation.accuracy),
            "top5": asdict(evaluation.top5) if evaluation.top5 else None,
            "ece": evaluation.calibration.ece,
            "classes": [{"name": c.name or str(c.index), "precision": c.precision,
                         "recall": c.recall, "f1": c.f1, "support": c.support}
                        for c in evaluation.classes]}


def _readiness(evidence: Evidence) -> tuple[Message, ...]:
    """int8 readiness in sentences (Messages: English in the JSON, the card's language in
    the card): the SQNRs, and the measured accuracies."""
    lines = []
    quant = evidence.facts.get("quantisation")
    if quant is not None:
        kinds = Counter(a.kind for a in evidence.alerts
                        if a.kind.startswith("int8") and a.severity != NOTE)
        lines.append(nmsg("{n} weight tensor audited for int8; {per_channel} need per-channel "
                          "scales, {poor} lose too much even per channel.",
                          "{n} weight tensors audited for int8; {per_channel} need "
                          "per-channel scales, {poor} lose too much even per channel.",
                          len(quant.tensors), per_channel=kinds.get("int8_per_tensor", 0),
                          poor=kinds.get("int8_poor", 0)))
    shipping = evidence.facts.get("shipping")
    for v in (shipping.quantised if shipping is not None else ()):
        lines.append(msg("{variant}: accuracy {value} ({low}–{high}), {agreement} agree with "
                         "float ({path}).", variant=msg(v.label),
                         value=f"{v.accuracy.value:.4f}", low=f"{v.accuracy.low:.4f}",
                         high=f"{v.accuracy.high:.4f}", agreement=f"{v.agreement:.1%}",
                         path=msg(v.path)))
    return tuple(lines)


def view(facts: CardFacts, _pictures, _page: Page) -> dict:
    """The card's Markdown, shown as it will be written."""
    return {"markdown": card_markdown(facts, TO_FILL)}


def sidecar(facts: CardFacts | None, _evidence: Evidence) -> dict:
    """The key `card`: the card's facts and its Markdown."""
    if facts is None:
        return {"card": None}
    return {"card": asdict(facts) | {"markdown": card_markdown(facts, TO_FILL, "en")}}


SECTION = Section(name="card", title=N_("Model card"), template="card.html.j2",
                  after=("*",), collect=collect, view=view, sidecar=sidecar)
