"""The evaluation section's view: the facts of a labelled sample and their pictures become
the strings templates/evaluation.html.j2 places (it computes nothing)."""

from __future__ import annotations

from reportgen.analyse.data_run import DataFacts
from reportgen.analyse.evaluation import (ClassScores, ConfusedPair, EvaluationFacts, Mistake,
                                          RateInterval)
from reportgen.draw.evaluation_pictures import EvaluationPictures, class_label
from reportgen.draw.figures import Picture
from reportgen.i18n import _, localised
from reportgen.page.formatting import MISSING, fmt_int, fmt_percent

ANCHOR = "evaluation"


def evaluation_view(data: DataFacts, pictures: EvaluationPictures | None,
                    alerts: list[dict] = (), anchor: str = ANCHOR) -> dict:
    """Everything the evaluation section shows; `error` alone when the model's outputs
    could not be evaluated as class probabilities (then `pictures` is None)."""
    view = {"anchor": anchor, "sample": data.description, "error": data.evaluation_error,
            "n_images": fmt_int(data.n_images),
            "lede": _("{sample}, each run through the model once, in batches.").format(
                sample=localised(data.description)),
            "error_text": _("No evaluation: the model's outputs are not class probabilities "
                            "({error}).").format(error=localised(data.evaluation_error))}
    facts = data.evaluation
    if facts is None:
        return view
    names = facts.class_names
    return view | {
        "headline": headline_rows(facts),
        "alerts": list(alerts),
        "classes": [class_row(c, names) for c in facts.classes],
        "confusion": pictures.confusion,
        "confusion_id": f"{anchor}-confusion",
        "confusion_back": f"{anchor}-confusions",
        "pairs": [pair_row(p, names) for p in facts.confused_pairs],
        "pairs_note": ("" if facts.shows_matrix else
                       _("{n_classes:,} classes are too many for a readable matrix: these are "
                         "the {n_pairs} most frequent confusions (the JSON has the whole matrix "
                         "as counts).").format(n_classes=facts.n_classes,
                                               n_pairs=len(facts.confused_pairs))),
        "mistakes": [mistake_item(k, m, pic, names, anchor)
                     for k, (m, pic) in enumerate(zip(facts.mistakes, pictures.mistakes))],
        "n_mistakes": fmt_int(facts.accuracy.n - facts.accuracy.hits),
        "n_shown_mistakes": fmt_int(len(facts.mistakes)),
        "reliability": pictures.reliability,
        "calibration": calibration_rows(facts),
    }


def rate_text(rate: RateInterval) -> tuple[str, str]:
    """(the proportion, its interval and counts):
    ('0.9289', '95 % interval 0.9102–0.9439 · 836 of 900')."""
    return (f"{rate.value:.4f}",
            _("95 % interval {low:.4f}–{high:.4f} · {hits:,} of {n:,}").format(
                low=rate.low, high=rate.high, hits=rate.hits, n=rate.n))


def headline_rows(facts: EvaluationFacts) -> list[dict]:
    """Accuracy, top-5, the majority-class baseline and how a prediction is made."""
    rows = [{"label": _("Accuracy"),
             **dict(zip(("value", "detail"), rate_text(facts.accuracy)))}]
    if facts.top5 is not None:
        rows.append({"label": _("Top-5 accuracy"),
                     **dict(zip(("value", "detail"), rate_text(facts.top5)))})
    majority = class_label(facts.class_names, facts.majority_class)
    rows.append({"label": _("Majority class"), "value": f"{facts.majority_accuracy:.4f}",
                 "detail": _("the accuracy of always answering {majority}").format(
                     majority=majority)})
    if facts.threshold is not None:
        rows.append({"label": _("Decision"), "value": f"p > {facts.threshold:g}",
                     "detail": _("one sigmoid output: class 1 when its probability p is above "
                                 "{threshold:g}, else class 0").format(
                                     threshold=facts.threshold)})
    else:
        rows.append({"label": _("Decision"), "value": "argmax",
                     "detail": _("the most probable of {n:,} softmax outputs").format(
                         n=facts.n_classes)})
    return rows


def _score(value: float | None) -> str:
    """A score to 3 decimals; '—' where it is undefined (a class never predicted)."""
    return MISSING if value is None else f"{value:.3f}"


def class_row(scores: ClassScores, names: tuple[str, ...]) -> dict:
    """One class's precision, recall, F1 (3 decimals, '—' when undefined) and counts."""
    return {"index": str(scores.index), "name": class_label(names, scores.index),
            "precision": _score(scores.precision), "recall": _score(scores.recall),
            "f1": _score(scores.f1), "support": fmt_int(scores.support),
            "predicted": fmt_int(scores.n_predicted)}


def pair_row(pair: ConfusedPair, names: tuple[str, ...]) -> dict:
    """A most-confused pair: true class, predicted class, count and share of the true class."""
    return {"true": class_label(names, pair.true), "predicted": class_label(names, pair.predicted),
            "count": fmt_int(pair.count), "share": fmt_percent(pair.share)}


def mistake_item(k: int, mistake: Mistake, picture: Picture, names: tuple[str, ...],
                 anchor: str) -> dict:
    """A thumbnail of the gallery with its anchor (for the full-size view) and caption."""
    return {"id": f"{anchor}-mistake-{k}", "back": f"{anchor}-mistakes", "picture": picture,
            "true": class_label(names, mistake.true),
            "predicted": class_label(names, mistake.predicted),
            "confidence": fmt_percent(mistake.confidence),
            "source": picture.caption,
            "tooltip": _("{source}: true {true} ({true_share}), predicted {predicted} "
                         "({confidence}); select for full size").format(
                             source=picture.caption, true=class_label(names, mistake.true),
                             true_share=fmt_percent(mistake.true_probability),
                             predicted=class_label(names, mistake.predicted),
                             confidence=fmt_percent(mistake.confidence))}


def calibration_rows(facts: EvaluationFacts) -> list[dict]:
    """The calibration scores with what each measures."""
    cal = facts.calibration
    return [
        {"label": _("Expected calibration error"), "value": f"{cal.ece:.4f}",
         "detail": _("mean |accuracy − confidence| over the {n} bins, weighted by their share "
                     "of images").format(n=len(cal.bins))},
        {"label": _("Mean confidence"), "value": f"{cal.mean_confidence:.4f}",
         "detail": _("against accuracy {accuracy:.4f}").format(accuracy=facts.accuracy.value)},
        {"label": _("Negative log-likelihood"), "value": f"{cal.nll:.4f}",
         "detail": _("mean −ln p(true class), p clipped at {floor:.3g}").format(
             floor=cal.probability_floor)},
        {"label": _("Brier score"), "value": f"{cal.brier:.4f}",
         "detail": localised(cal.brier_definition)},
    ]
