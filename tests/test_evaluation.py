"""Evaluation numbers against scikit-learn and hand computations, on samples with known mistakes."""

import math
from statistics import NormalDist

import numpy as np
import pytest

from conftest import BOOK, FASHION, require_shared
from reportgen.analyse.evaluation import (MAX_STORED_PROBABILITIES, ProbabilityAccumulator,
                                          evaluate, wilson_interval)
from reportgen.analyse.evaluation_alerts import EVALUATION_KINDS, evaluation_alerts
from reportgen.errors import ReportInputError

NAMES = ("a", "b", "c", "d", "e", "f", "g")


@pytest.fixture(scope="module")
def metrics():
    """scikit-learn's metrics, the reference every number is held against."""
    return pytest.importorskip("sklearn.metrics",
                               reason="scikit-learn is the reference for the evaluation numbers")


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, returned as float32 like a model's output."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)


def known_sample() -> tuple[np.ndarray, np.ndarray]:
    """80 samples of 7 classes: mostly right, class 5 never predicted, class 6 never true
    but predicted for every 9th sample, and one sample predicted with certainty."""
    rng = np.random.default_rng(11)
    labels = rng.integers(0, 6, size=80)
    logits = rng.normal(size=(80, 7))
    logits[np.arange(80), labels] += 2.0
    logits[:, 5] -= 10.0
    logits[::9, 6] += 6.0
    logits[1, :] = -50.0
    logits[1, labels[1]] = 50.0
    return labels, softmax(logits)


def test_known_sample_has_the_mistakes_it_claims():
    labels, probs = known_sample()
    predicted = probs.argmax(axis=1)
    assert 5 in labels and 5 not in predicted and 6 not in labels and 6 in predicted
    assert 0.4 < (predicted == labels).mean() < 0.9 and probs[1].max() == 1.0


def test_scores_equal_scikit_learn(metrics):
    labels, probs = known_sample()
    facts = evaluate(labels, probs, NAMES)
    predicted = probs.argmax(axis=1)
    classes = range(7)
    assert facts.accuracy.value == pytest.approx(metrics.accuracy_score(labels, predicted))
    assert facts.accuracy.n == 80 and facts.n_classes == 7 and facts.output == "softmax"
    assert facts.top5.value == pytest.approx(
        metrics.top_k_accuracy_score(labels, probs, k=5, labels=list(classes)))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        labels, predicted, labels=list(classes), zero_division=np.nan)
    for c, scores in enumerate(facts.classes):
        assert scores.name == NAMES[c] and scores.support == support[c]
        for ours, theirs in ((scores.precision, precision[c]), (scores.recall, recall[c]),
                             (scores.f1, f1[c])):
            assert (ours is None) if np.isnan(theirs) else ours == pytest.approx(theirs)
    assert np.array_equal(facts.confusion, metrics.confusion_matrix(labels, predicted,
                                                                    labels=list(classes)))
    normalised = metrics.confusion_matrix(labels, predicted, labels=list(classes), normalize="true")
    for c, row in enumerate(facts.confusion_normalised):
        assert row is None if support[c] == 0 else np.allclose(row, normalised[c])
    assert facts.calibration.nll == pytest.approx(
        metrics.log_loss(labels, probs, labels=list(classes)), rel=1e-5)
    assert facts.calibration.brier == pytest.approx(
        metrics.brier_score_loss(labels, probs, labels=list(classes), scale_by_half=False),
        rel=1e-5)


def test_brier_is_the_multiclass_sum_by_hand():
    labels, probs = known_sample()
    one_hot = np.eye(7)[labels]
    by_hand = np.mean(np.sum((probs.astype(np.float64) - one_hot) ** 2, axis=1))
    facts = evaluate(labels, probs)
    assert facts.calibration.brier == pytest.approx(by_hand, rel=1e-9)
    assert "sum over classes" in facts.calibration.brier_definition


def test_majority_class_accuracy_is_the_dummy_classifiers(metrics):
    dummy = pytest.importorskip("sklearn.dummy")
    labels, probs = known_sample()
    facts = evaluate(labels, probs)
    features = np.zeros((len(labels), 1))
    baseline = dummy.DummyClassifier(strategy="most_frequent").fit(features, labels)
    assert facts.majority_accuracy == pytest.approx(baseline.score(features, labels))
    assert facts.majority_class == baseline.predict(features[:1])[0]


def test_top5_ties_rank_like_scikit_learn(metrics):
    uniform = np.full((8, 8), 1 / 8, np.float32)
    mixed = np.array([[0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05]] * 8, np.float32)
    labels = np.arange(8)
    for probs in (uniform, mixed):
        facts = evaluate(labels, probs)
        assert facts.top5.hits / 8 == pytest.approx(
            metrics.top_k_accuracy_score(labels, probs, k=5, labels=list(range(8))))


def test_binary_sigmoid_uses_threshold_half(metrics):
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, size=60)
    p = np.clip(labels * 0.6 + rng.uniform(0, 0.4, size=60), 0.01, 0.99).astype(np.float32)
    p[:3] = 0.5
    facts = evaluate(labels, p[:, None], ("no", "yes"))
    predicted = (p > 0.5).astype(int)
    assert predicted[:3].tolist() == [0, 0, 0]
    assert facts.output == "sigmoid" and facts.threshold == 0.5 and facts.top5 is None
    assert facts.accuracy.value == pytest.approx(metrics.accuracy_score(labels, predicted))
    assert np.array_equal(facts.confusion, metrics.confusion_matrix(labels, predicted))
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(labels, predicted)
    assert [c.precision for c in facts.classes] == pytest.approx(precision)
    assert [c.recall for c in facts.classes] == pytest.approx(recall)
    assert [c.f1 for c in facts.classes] == pytest.approx(f1)
    assert facts.calibration.nll == pytest.approx(metrics.log_loss(labels, p), rel=1e-5)
    assert facts.calibration.brier == pytest.approx(metrics.brier_score_loss(labels, p),
                                                    rel=1e-5)
    assert "probability of class 1" in facts.calibration.brier_definition


def wilson_by_hand(hits: int, n: int) -> tuple[float, float]:
    """The p with |hits/n - p| = z sqrt(p(1-p)/n): roots of a quadratic in p."""
    z = NormalDist().inv_cdf(0.975)
    phat = hits / n
    a, b, c = 1 + z * z / n, -(2 * phat + z * z / n), phat * phat
    root = math.sqrt(b * b - 4 * a * c)
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


@pytest.mark.parametrize("hits, n", [(836, 900), (0, 20), (20, 20), (1, 3), (45, 80)])
def test_wilson_interval_matches_the_quadratic_by_hand(hits, n):
    low, high = wilson_by_hand(hits, n)
    interval = wilson_interval(hits, n)
    assert interval.value == hits / n
    assert interval.low == pytest.approx(low, abs=1e-12)
    assert interval.high == pytest.approx(high, abs=1e-12)


def test_accuracy_interval_is_wilson():
    labels, probs = known_sample()
    facts = evaluate(labels, probs)
    low, high = wilson_by_hand(facts.accuracy.hits, 80)
    assert (facts.accuracy.low, facts.accuracy.high) == pytest.approx((low, high))


def test_reliability_bins_and_ece_by_hand():
    labels, probs = known_sample()
    facts = evaluate(labels, probs)
    confidence = probs.max(axis=1).astype(np.float64)
    correct = probs.argmax(axis=1) == labels
    counts, conf_sums, hit_sums = [0] * 15, [0.0] * 15, [0] * 15
    for conf, hit in zip(confidence, correct):
        b = min(int(conf * 15), 14)
        counts[b] += 1
        conf_sums[b] += conf
        hit_sums[b] += hit
    bins = facts.calibration.bins
    assert len(bins) == 15 and bins[0].low == 0 and bins[-1].high == 1
    assert [b.count for b in bins] == counts and bins[-1].count >= 1
    ece = 0.0
    for b, count, conf_sum, hit_sum in zip(bins, counts, conf_sums, hit_sums):
        if count:
            assert b.mean_confidence == pytest.approx(conf_sum / count)
            assert b.accuracy == pytest.approx(hit_sum / count)
            ece += abs(hit_sum - conf_sum) / 80
        else:
            assert b.mean_confidence is None and b.accuracy is None
    assert facts.calibration.ece == pytest.approx(ece)
    assert facts.calibration.mean_confidence == pytest.approx(confidence.mean())


def test_confident_mistakes_by_hand():
    labels, probs = known_sample()
    facts = evaluate(labels, probs)
    wrong = [i for i in range(80) if probs[i].argmax() != labels[i]]
    expected = sorted(wrong, key=lambda i: (-probs[i].max(), i))[:16]
    assert [m.index for m in facts.mistakes] == expected
    first = facts.mistakes[0]
    assert first.true == labels[first.index] and first.predicted == probs[first.index].argmax()
    assert first.confidence == pytest.approx(probs[first.index].max())
    assert first.true_probability == pytest.approx(probs[first.index, first.true])


def test_above_30_classes_the_most_confused_pairs_replace_the_matrix(metrics):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 40, size=2000)
    logits = rng.normal(size=(2000, 40))
    logits[np.arange(2000), labels] += 1.5
    logits[labels == 3, 7] += 2.0
    probs = softmax(logits)
    facts = evaluate(labels, probs)
    matrix = metrics.confusion_matrix(labels, probs.argmax(axis=1), labels=list(range(40)))
    assert not facts.shows_matrix and facts.confusion_normalised == ()
    assert np.array_equal(facts.confusion, matrix)
    np.fill_diagonal(matrix, 0)
    pairs = facts.confused_pairs
    assert len(pairs) == 20 and (pairs[0].true, pairs[0].predicted) == (3, 7)
    assert [p.count for p in pairs] == sorted(matrix.reshape(-1), reverse=True)[:20]
    assert all(matrix[p.true, p.predicted] == p.count for p in pairs)
    assert pairs[0].share == pytest.approx(pairs[0].count / (labels == 3).sum())


def test_a_good_model_raises_no_alert():
    labels = np.repeat(np.arange(4), 50)
    logits = np.full((200, 4), 0.0)
    logits[np.arange(200), labels] = 3.0
    logits[::10, (labels[::10] + 1) % 4] = 4.0
    assert evaluation_alerts(evaluate(labels, softmax(logits))) == ()


def test_guessing_on_skewed_data_is_no_better_than_the_majority():
    rng = np.random.default_rng(9)
    labels = np.where(rng.uniform(size=300) < 0.8, 0, rng.integers(1, 3, size=300))
    facts = evaluate(labels, softmax(rng.normal(size=(300, 3))), ("cat", "dog", "fox"))
    [alert] = [a for a in evaluation_alerts(facts) if a.kind == "no_better_than_majority"]
    assert alert.layer == "" and alert.threshold == pytest.approx((labels == 0).mean())
    assert alert.subject == "0 (cat)" and "0 (cat)" in alert.message


def test_a_class_far_below_the_mean_recall_is_flagged_unless_too_rare_to_tell():
    labels, probs = known_sample()
    facts = evaluate(labels, probs, NAMES)
    flagged = {a.subject: a for a in evaluation_alerts(facts) if a.kind == "low_recall"}
    present = [c.recall for c in facts.classes if c.support]
    assert "5 (f)" in flagged and flagged["5 (f)"].threshold == pytest.approx(
        0.5 * np.mean(present))
    assert dict(flagged["5 (f)"].values)["recall"] == 0.0
    rare = np.concatenate([np.repeat(np.arange(3), 40), [3, 3]])
    logits = np.zeros((122, 4))
    logits[np.arange(122), np.minimum(rare, 2)] = 5.0
    assert not evaluation_alerts(evaluate(rare, softmax(logits)))


def test_confident_but_often_wrong_is_overconfidence():
    labels = np.repeat(np.arange(2), 100)
    logits = np.zeros((200, 2))
    logits[:, 0] = 6.0
    logits[::2, 0], logits[::2, 1] = 0.0, 6.0
    facts = evaluate(labels, softmax(logits))
    [alert] = [a for a in evaluation_alerts(facts) if a.kind == "overconfidence"]
    assert alert.threshold == 0.1 and dict(alert.values)["ece"] == pytest.approx(
        facts.calibration.ece)
    assert facts.calibration.ece > 0.4 and "expected calibration error" in alert.message


def test_every_alert_kind_states_its_threshold():
    assert {k.name for k in EVALUATION_KINDS} == {
        "label_order", "no_better_than_majority", "low_recall", "overconfidence"}
    assert all(k.threshold and k.explanation for k in EVALUATION_KINDS)


def test_accumulator_keeps_batches_in_order():
    probs = known_sample()[1]
    store = ProbabilityAccumulator(80, 7)
    for start in range(0, 80, 32):
        store.add(probs[start:start + 32])
    assert np.array_equal(store.result(), probs) and store.result().dtype == np.float32
    with pytest.raises(ValueError):
        store.add(probs[:1])


def test_accumulator_refuses_a_partial_result_and_a_sample_above_the_cap():
    store = ProbabilityAccumulator(10, 1)
    store.add(np.full((4, 1), 0.3))
    with pytest.raises(ValueError, match="4 of 10"):
        store.result()
    with pytest.raises(ReportInputError):
        ProbabilityAccumulator(MAX_STORED_PROBABILITIES // 1000 + 1, 1000)


@pytest.mark.parametrize("outputs", [
    np.array([[np.nan, 1.0], [0.5, 0.5]]),
    np.array([[2.0, -1.0], [0.3, 0.7]]),
    np.array([[0.9, 0.9], [0.3, 0.7]]),
])
def test_outputs_that_are_not_probabilities_are_refused(outputs):
    with pytest.raises(ValueError, match="NaN|not probabilities"):
        evaluate(np.array([0, 1]), outputs)


def test_book_model_on_the_900_images_scores_the_reference_accuracy():
    model_file = require_shared(BOOK / "best-cnn-model.keras")
    folder = require_shared(FASHION)
    import keras

    from reportgen.load.dataset import read_sample

    names = tuple(line for line in (folder / "classes.txt").read_text().splitlines() if line)
    model = keras.models.load_model(model_file)
    sample = read_sample(folder / "images.npy", folder / "labels.npy", (28, 28, 1), 10, names)
    store = ProbabilityAccumulator(sample.n_images, 10)
    for _, batch in sample.batches():
        store.add(model.predict_on_batch(batch))
    facts = evaluate(sample.labels, store.result(), names)
    # ../shared/data/README.md: accuracy 0.9289 (836 of 900).
    assert facts.accuracy.hits == 836 and round(facts.accuracy.value, 4) == 0.9289
    assert [sum(row) for row in facts.confusion] == [90] * 10


def test_an_input_unlike_the_sample_gets_a_note_and_one_like_it_none():
    from reportgen.analyse.input_likeness import TraitAccumulator, unlike_alerts

    rng = np.random.default_rng(3)

    def garment(light_on_dark: bool) -> np.ndarray:
        image = np.zeros((28, 28, 1))
        top, left = rng.integers(3, 9, size=2)
        image[top:top + 16, left:left + 14] = rng.uniform(0.5, 1.0)
        return image if light_on_dark else 1 - image

    sample = TraitAccumulator()
    sample.add(np.stack([garment(True) for _ in range(200)]))
    traits = sample.result()
    notes = unlike_alerts([("like.png", garment(True)), ("photo.png", garment(False)),
                           ("vector", np.zeros(10))], traits)
    assert [(a.kind, a.severity, a.subject) for a in notes] == [
        ("input_unlike_sample", "note", "photo.png")]
    values = dict(notes[0].values)
    assert values["background"] == 1.0 and values["sample_median"] == 0.0
    assert unlike_alerts([("photo.png", garment(False))], None) == ()
