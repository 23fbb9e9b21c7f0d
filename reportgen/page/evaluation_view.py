"""The evaluation section's view: the facts of a labelled sample and their pictures become
the strings templates/evaluation.html.j2 places (it computes nothing)."""

from __future__ import annotations

from reportgen.analyse.data_run import DataFacts
from reportgen.analyse.evaluation import (EVALUATION_KINDS, ClassScores, ConfusedPair,
                                          EvaluationAlert, EvaluationFacts, Mistake,
                                          RateInterval)
from reportgen.draw.evaluation_pictures import EvaluationPictures, class_label
from reportgen.draw.figures import Picture
from reportgen.page.formatting import MISSING, fmt_int, fmt_percent

ANCHOR = "evaluation"
KIND_TITLES = {kind.name: kind.title for kind in EVALUATION_KINDS}


def evaluation_view(data: DataFacts, pictures: EvaluationPictures | None,
                    anchor: str = ANCHOR) -> dict:
    """Everything the evaluation section shows; `error` alone when the model's outputs
    could not be evaluated as class probabilities (then `pictures` is None)."""
    view = {"anchor": anchor, "sample": data.description, "error": data.evaluation_error,
            "n_images": fmt_int(data.n_images)}
    facts = data.evaluation
    if facts is None:
        return view
    names = facts.class_names
    return view | {
        "headline": headline_rows(facts),
        "alerts": [alert_row(a) for a in data.alerts],
        "classes": [class_row(c, names) for c in facts.classes],
        "confusion": pictures.confusion,
        "confusion_id": f"{anchor}-confusion",
        "confusion_back": f"{anchor}-confusions",
        "pairs": [pair_row(p, names) for p in facts.confused_pairs],
        "pairs_note": ("" if facts.shows_matrix else
                       f"{facts.n_classes:,} classes are too many for a readable matrix: these "
                       f"are the {len(facts.confused_pairs)} most frequent confusions (the JSON "
                       "has the whole matrix as counts)."),
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
            f"95 % interval {rate.low:.4f}–{rate.high:.4f} · {rate.hits:,} of {rate.n:,}")


def headline_rows(facts: EvaluationFacts) -> list[dict]:
    """Accuracy, top-5, the majority-class baseline and how a prediction is made."""
    rows = [{"label": "Accuracy", **dict(zip(("value", "detail"), rate_text(facts.accuracy)))}]
    if facts.top5 is not None:
        rows.append({"label": "Top-5 accuracy",
                     **dict(zip(("value", "detail"), rate_text(facts.top5)))})
    majority = class_label(facts.class_names, facts.majority_class)
    rows.append({"label": "Majority class", "value": f"{facts.majority_accuracy:.4f}",
                 "detail": f"the accuracy of always answering {majority}"})
    if facts.threshold is not None:
        rows.append({"label": "Decision", "value": f"p > {facts.threshold:g}",
                     "detail": "one sigmoid output: class 1 when its probability p is above "
                               f"{facts.threshold:g}, else class 0"})
    else:
        rows.append({"label": "Decision", "value": "argmax",
                     "detail": f"the most probable of {facts.n_classes:,} softmax outputs"})
    return rows


def alert_row(alert: EvaluationAlert) -> dict:
    """One finding about the sample: its kind's title and the message from its values."""
    return {"kind": alert.kind, "title": KIND_TITLES[alert.kind], "message": alert.message}


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
            "tooltip": (f"{picture.caption}: true {class_label(names, mistake.true)} "
                        f"({fmt_percent(mistake.true_probability)}), predicted "
                        f"{class_label(names, mistake.predicted)} "
                        f"({fmt_percent(mistake.confidence)}); select for full size")}


def calibration_rows(facts: EvaluationFacts) -> list[dict]:
    """The calibration scores with what each measures."""
    cal = facts.calibration
    return [
        {"label": "Expected calibration error", "value": f"{cal.ece:.4f}",
         "detail": f"mean |accuracy − confidence| over the {len(cal.bins)} bins, weighted by "
                   "their share of images"},
        {"label": "Mean confidence", "value": f"{cal.mean_confidence:.4f}",
         "detail": f"against accuracy {facts.accuracy.value:.4f}"},
        {"label": "Negative log-likelihood", "value": f"{cal.nll:.4f}",
         "detail": f"mean −ln p(true class), p clipped at {cal.probability_floor:.3g}"},
        {"label": "Brier score", "value": f"{cal.brier:.4f}", "detail": cal.brier_definition},
    ]


def evaluation_checks(data: DataFacts) -> list[dict]:
    """The evaluation's rows for the 'what was checked' table, shaped as view.check_rows'."""
    rows = []
    for kind in EVALUATION_KINDS:
        n = sum(1 for a in data.alerts if a.kind == kind.name)
        status = "not checked" if data.evaluation is None else ("alert" if n else "ok")
        rows.append({"title": kind.title, "status": status,
                     "status_class": status.replace(" ", "-"),
                     "count": f"{n} alert{'s' if n != 1 else ''}" if n else "",
                     "threshold": kind.threshold, "explanation": kind.explanation})
    return rows
