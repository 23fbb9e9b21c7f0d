"""The alerts an evaluation supports, each with its rule written down (docs/alerts.md):

- label_order (error): a one-to-one relabelling of the classes explains the predictions far
  better than the labels as given — the labels are in another class order than the model's.
- no_better_than_majority (warning): the accuracy's 95 % interval reaches the accuracy of
  always answering the most frequent class.
- low_recall (warning): a class whose recall, even at the top of its interval, is under half
  the mean recall.
- overconfidence (warning): expected calibration error above 0.1 with mean confidence above
  accuracy.

Under a label_order error the other three rest on labels in the wrong order: they are notes.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from reportgen.analyse.alert import ERROR, NOTE, SAMPLE, WARNING, Alert, AlertKind
from reportgen.analyse.evaluation import EvaluationFacts, wilson_interval
from reportgen.i18n import msg

# A class is flagged when even the top of its recall's 95 % interval stays below half the
# mean recall: relative, so it singles out classes that lag the model's own level (a 1,000-
# class model is not flooded with alerts), and interval-based, so 2 images cannot fire it.
LOW_RECALL_FACTOR = 0.5
# Confidence 10 points above accuracy on average: plainly visible on the diagram, and the
# size of the overconfidence of uncalibrated deep networks (Guo et al. 2017).
ECE_THRESHOLD = 0.1
# Labels whose best relabelling agrees with the predictions this much more (and this many
# times as often) are not in the model's class order: a healthy model's best relabelling is
# its own (the gain is 0), a poor one's gains a few points of chance agreement.
ORDER_GAIN, ORDER_RATIO = 0.2, 1.5

EVALUATION_KINDS = (
    AlertKind("label_order", msg("The labels are not in the model's class order"),
              msg("a one-to-one relabelling of the classes agrees with the predictions at least "
                  "{gain:g} points and {ratio:g} times more than the labels as given",
                  gain=100 * ORDER_GAIN, ratio=ORDER_RATIO),
              msg("The accuracy as given is not the model's: the labels number the classes in "
                  "another order than the model's outputs (folders sorted by name, a different "
                  "class list). Give the class names in the model's order (--labels)."),
              severity=ERROR, needs=SAMPLE),
    AlertKind("no_better_than_majority", msg("No better than the majority class"),
              msg("the accuracy's 95 % Wilson interval reaches the majority-class accuracy"),
              msg("Always answering the most frequent class of the sample would do as well: "
                  "the model has not shown that it learned anything about these images."),
              needs=SAMPLE),
    AlertKind("low_recall", msg("A class is rarely recognised"),
              msg("a class's 95 % Wilson recall interval lies below {factor:g} x the mean "
                  "recall of the classes present", factor=LOW_RECALL_FACTOR),
              msg("The model finds this class far less often than the others; it may be rare "
                  "in training, confused with a look-alike, or labelled differently."),
              needs=SAMPLE),
    AlertKind("overconfidence", msg("Overconfident predictions"),
              msg("expected calibration error above {threshold:g} with mean confidence above "
                  "accuracy", threshold=ECE_THRESHOLD),
              msg("The predicted probabilities claim more certainty than the model earns: do "
                  "not read them as probabilities without calibration (e.g. temperature "
                  "scaling)."), needs=SAMPLE),
)


def evaluation_alerts(facts: EvaluationFacts) -> tuple[Alert, ...]:
    """The findings of EVALUATION_KINDS that the numbers support. Under a label_order error
    the others rest on labels in the wrong order: they are kept, as notes."""
    order = label_order_alerts(facts)
    found = accuracy_alerts(facts)
    if order:
        found = [replace(alert, severity=NOTE) for alert in found]
    return tuple(order + found)


def accuracy_alerts(facts: EvaluationFacts) -> list[Alert]:
    """The sample's accuracy against the majority class, recall per class, calibration."""
    found = []
    accuracy = facts.accuracy
    if accuracy.low <= facts.majority_accuracy:
        majority = _class_label(facts, facts.majority_class)
        found.append(Alert(
            "no_better_than_majority", WARNING, "",
            msg("accuracy {accuracy:.4f} (95 % down to {low:.4f}) against {threshold:.4f} for "
                "always answering {majority}", accuracy=accuracy.value, low=accuracy.low,
                threshold=facts.majority_accuracy, majority=majority), majority,
            (("accuracy", accuracy.value), ("accuracy_low", accuracy.low)),
            facts.majority_accuracy))
    found += low_recall_alerts(facts)
    cal = facts.calibration
    if cal.ece > ECE_THRESHOLD and cal.mean_confidence > accuracy.value:
        found.append(Alert(
            "overconfidence", WARNING, "",
            msg("expected calibration error {ece:.4f} above {threshold:g}: mean confidence "
                "{confidence:.4f}, accuracy {accuracy:.4f}", ece=cal.ece,
                threshold=ECE_THRESHOLD, confidence=cal.mean_confidence,
                accuracy=accuracy.value), "",
            (("ece", cal.ece), ("mean_confidence", cal.mean_confidence),
             ("accuracy", accuracy.value)), ECE_THRESHOLD))
    return found


def label_order_alerts(facts: EvaluationFacts) -> list[Alert]:
    """The error when a relabelling explains the predictions far better than the labels as
    given: the class order of the labels is not the model's."""
    match, given = facts.matched, facts.accuracy.value
    if match is None or match.accuracy - given < ORDER_GAIN or match.accuracy < ORDER_RATIO * given:
        return []
    pairs = ", ".join(f"{_class_label(facts, label)} → {_class_label(facts, output)}"
                      for label, output in match.moved[:6])
    more = msg(" and {n} more", n=len(match.moved) - 6) if len(match.moved) > 6 else ""
    return [Alert("label_order", ERROR, "",
                  msg("the class order of the labels does not match the model's outputs: "
                      "accuracy {given:.1%} as given, {matched:.1%} with the labels matched to "
                      "the outputs ({pairs}{more})", given=given, matched=match.accuracy,
                      pairs=pairs, more=more), "",
                  (("accuracy", given), ("matched_accuracy", match.accuracy),
                   ("n_moved", len(match.moved))), ORDER_GAIN)]


def low_recall_alerts(facts: EvaluationFacts) -> list[Alert]:
    """Classes whose recall, even at the top of its interval, is under half the mean recall."""
    present = [c for c in facts.classes if c.support]
    threshold = LOW_RECALL_FACTOR * float(np.mean([c.recall for c in present]))
    found = []
    for c in present:
        recall = wilson_interval(c.n_correct, c.support)
        if recall.high < threshold:
            name = _class_label(facts, c.index)
            found.append(Alert(
                "low_recall", WARNING, "",
                msg("class {name}: recall {recall:.4f} (95 % up to {high:.4f}) below "
                    "{threshold:.4f}, half the mean recall", name=name, recall=recall.value,
                    high=recall.high, threshold=threshold), name,
                (("recall", recall.value), ("recall_high", recall.high), ("support", c.support)),
                threshold))
    return found


def _class_label(facts: EvaluationFacts, index: int) -> str:
    """A class for messages: '6 (shirt)' when named, else '6'."""
    name = facts.class_names[index] if index < len(facts.class_names) else ""
    return f"{index} ({name})" if name else str(index)
