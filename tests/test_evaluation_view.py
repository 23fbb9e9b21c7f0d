"""The evaluation section as a reader sees it: the strings of the view against scikit-learn,
the confusion heatmap's pixels against the matrix computed here, and the rendered partial."""

import base64
import io
import math
from html.parser import HTMLParser
from statistics import NormalDist

import numpy as np
import pytest
from PIL import Image

from reportgen.analyse.data_run import run_sample
from reportgen.draw import images
from reportgen.draw.data_pictures import evaluation_images
from reportgen.load.dataset import read_sample
from reportgen.sections.evaluation.evaluation_view import evaluation_view
from reportgen.page.render import environment

NAMES = ("ant", "bee", "<b>cat</b>", "dog", "eel", "fox", "gnu")


@pytest.fixture(scope="module")
def metrics():
    return pytest.importorskip("sklearn.metrics", reason="scikit-learn is the reference")


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)


def known_sample() -> tuple[np.ndarray, np.ndarray]:
    """80 samples of 7 classes: class 5 never predicted, class 6 never true but predicted
    for every 9th sample, one sample predicted with certainty."""
    rng = np.random.default_rng(11)
    labels = rng.integers(0, 6, size=80)
    logits = rng.normal(size=(80, 7))
    logits[np.arange(80), labels] += 2.0
    logits[:, 5] -= 10.0
    logits[::9, 6] += 6.0
    logits[1, :] = -50.0
    logits[1, labels[1]] = 50.0
    return labels, softmax(logits)


def lookup_forward(probs: np.ndarray):
    """A 'model' whose images carry their own index: it answers that row of probs."""
    def forward(batch):
        index = batch[:, 0, 0, 0].astype(int)
        return {"conv": batch}, [probs[index]]
    return forward


def evaluated(tmp_path, labels, probs, names, batch_size=9):
    """The sample written as an .npy pair (4x4 images holding their index), run and viewed."""
    n = len(labels)
    np.save(tmp_path / "images.npy", np.repeat(np.arange(n, dtype=np.float32), 16).reshape(n, 4, 4))
    np.save(tmp_path / "labels.npy", labels.astype(np.int64))
    n_classes = max(probs.shape[1], 2)
    sample = read_sample(tmp_path / "images.npy", tmp_path / "labels.npy", (4, 4, 1), n_classes,
                         names, batch_size=batch_size)
    facts = run_sample(sample, lookup_forward(probs), probs.shape[1], ["conv"], None)
    pictures = evaluation_images(facts, sample)
    return facts, pictures, evaluation_view(facts, pictures)


def wilson_by_hand(hits: int, n: int) -> tuple[float, float]:
    """The p with |hits/n - p| = z sqrt(p(1-p)/n): roots of a quadratic in p."""
    z = NormalDist().inv_cdf(0.975)
    phat = hits / n
    a, b, c = 1 + z * z / n, -(2 * phat + z * z / n), phat * phat
    root = math.sqrt(b * b - 4 * a * c)
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


def test_the_numbers_shown_are_scikit_learns(tmp_path, metrics):
    dummy = pytest.importorskip("sklearn.dummy")
    labels, probs = known_sample()
    _, _, view = evaluated(tmp_path, labels, probs, NAMES)
    predicted = probs.argmax(axis=1)
    classes = list(range(7))
    headline = {row["label"]: row for row in view["headline"]}
    accuracy = metrics.accuracy_score(labels, predicted)
    hits = int((predicted == labels).sum())
    low, high = wilson_by_hand(hits, 80)
    assert headline["Accuracy"]["value"] == f"{accuracy:.4f}"
    assert headline["Accuracy"]["detail"] == (f"95 % interval {low:.4f}–{high:.4f} · "
                                              f"{hits} of 80")
    top5 = metrics.top_k_accuracy_score(labels, probs, k=5, labels=classes)
    assert headline["Top-5 accuracy"]["value"] == f"{top5:.4f}"
    baseline = dummy.DummyClassifier(strategy="most_frequent").fit(np.zeros((80, 1)), labels)
    assert headline["Majority class"]["value"] == f"{baseline.score(np.zeros((80, 1)), labels):.4f}"
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        labels, predicted, labels=classes, zero_division=np.nan)
    shown = lambda v: "—" if np.isnan(v) else f"{v:.3f}"  # noqa: E731
    for c, row in enumerate(view["classes"]):
        assert (row["name"], row["support"]) == (NAMES[c], str(support[c]))
        assert (row["precision"], row["recall"], row["f1"]) == (
            shown(precision[c]), shown(recall[c]), shown(f1[c]))
    assert view["classes"][5]["precision"] == "—" and view["classes"][6]["recall"] == "—"
    calibration = {row["label"]: row["value"] for row in view["calibration"]}
    nll = metrics.log_loss(labels, probs, labels=classes)
    assert calibration["Negative log-likelihood"] == f"{nll:.4f}"
    brier = metrics.brier_score_loss(labels, probs, labels=classes, scale_by_half=False)
    assert calibration["Brier score"] == f"{brier:.4f}"
    assert calibration["Expected calibration error"] == f"{ece_by_hand(labels, probs):.4f}"


def ece_by_hand(labels, probs, bins=15) -> float:
    """Sum over equal-width confidence bins of |accuracy - mean confidence| x share."""
    confidence, correct = probs.max(axis=1).astype(np.float64), probs.argmax(axis=1) == labels
    total = 0.0
    for b in range(bins):
        inside = ((confidence >= b / bins) & (confidence < (b + 1) / bins)) | (
            (b == bins - 1) & (confidence == 1.0))
        if inside.any():
            total += inside.sum() * abs(correct[inside].mean() - confidence[inside].mean())
    return total / len(labels)


def test_the_mistakes_are_the_most_confident_wrong_predictions(tmp_path):
    labels, probs = known_sample()
    _, pictures, view = evaluated(tmp_path, labels, probs, NAMES)
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    order = wrong[np.argsort(-probs[wrong].max(axis=1), kind="stable")][:16]
    assert view["n_mistakes"] == str(len(wrong)) and len(view["mistakes"]) == 16
    for item, i in zip(view["mistakes"], order):
        assert item["source"] == f"images.npy[{i}]"
        assert (item["true"], item["predicted"]) == (NAMES[labels[i]], NAMES[predicted[i]])
        assert item["confidence"] == f"{100 * probs[i].max():.1f} %"
    assert len(pictures.mistakes) == 16


def decoded(uri: str) -> np.ndarray:
    """The RGBA pixels of a data: URI's PNG."""
    payload = base64.b64decode(uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(payload)).convert("RGBA"))


def test_confusion_heatmap_rows_are_the_row_normalised_matrix(tmp_path):
    labels, probs = known_sample()
    _, pictures, view = evaluated(tmp_path, labels, probs, NAMES)
    counts = np.zeros((7, 7))
    np.add.at(counts, (labels, probs.argmax(axis=1)), 1)
    grid = view["confusion"]
    pixels = decoded(grid.picture.uri)
    cell = pixels.shape[0] // 7
    assert pixels.shape[:2] == (7 * cell, 7 * cell) and cell >= 24
    table = images.colour_table("viridis")
    for i in range(7):
        block = pixels[i * cell:(i + 1) * cell].reshape(cell, 7, cell, 4)
        if counts[i].sum() == 0:                       # class 6 is never true: no row
            assert (block[..., 3] == 0).all()
            continue
        shares = (counts[i] / counts[i].sum()).astype(np.float32)
        levels = np.minimum(np.floor(shares * np.float32(256)), 255).astype(int)
        assert (block == table[levels][None, :, None, :]).all(), i
    # The names on both axes and a cell's written share, as text beside the picture.
    texts = [t.text for t in grid.texts]
    assert texts[:7] == list(NAMES) and texts[7:14] == list(NAMES)
    assert "true class" in texts and "predicted class" in texts
    first = next(c for c in grid.cells if c.text)
    assert first.text == f"{100 * counts[0, 0] / counts[0].sum():.0f}"


class Page(HTMLParser):
    """The ids, links and figures of a rendered fragment."""

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.figures, self.references = [], [], [], []
        self._figure = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        self.references += [v for k, v in attrs.items() if k in ("src", "href")]
        if tag == "figure":
            self._figure = {"id": attrs.get("id"), "links": []}
            self.figures.append(self._figure)
        if tag == "a" and self._figure is not None:
            self._figure["links"].append((attrs.get("class"), attrs.get("href")))

    def handle_endtag(self, tag):
        if tag == "figure":
            self._figure = None


def rendered(view: dict) -> str:
    return environment().from_string('{% include "sections/evaluation.html.j2" %}').render(v=view)


def test_rendered_section_escapes_names_and_every_picture_opens_and_closes(tmp_path):
    labels, probs = known_sample()
    _, _, view = evaluated(tmp_path, labels, probs, NAMES)
    html = rendered(view)
    assert "<b>cat</b>" not in html and "&lt;b&gt;cat&lt;/b&gt;" in html
    page = Page()
    page.feed(html)
    assert len(page.ids) == len(set(page.ids))
    assert len(page.figures) == 1 + 16           # the matrix and every mistake
    for figure in page.figures:
        assert ("open", f"#{figure['id']}") in figure["links"]
        (back,) = [href for kind, href in figure["links"] if kind == "close"]
        assert back[1:] in page.ids
    assert all(ref.startswith(("data:image/png;base64,", "#")) for ref in page.references)
    for text in ("Per class", "Most confident mistakes", "Reliability diagram, 15 confidence bins"):
        assert text in html


def test_above_30_classes_the_most_confused_pairs_replace_the_matrix(tmp_path):
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 35, size=300)
    logits = rng.normal(size=(300, 35))
    logits[np.arange(300), labels] += 1.5
    _, pictures, view = evaluated(tmp_path, labels, softmax(logits), ())
    assert view["confusion"] is None and pictures.confusion is None
    assert len(view["pairs"]) == 20 and "35 classes" in view["pairs_note"]
    counts = np.zeros((35, 35), int)
    np.add.at(counts, (labels, logits.argmax(axis=1)), 1)
    np.fill_diagonal(counts, 0)
    assert view["pairs"][0]["count"] == str(counts.max())
    html = rendered(view)
    assert "The most frequent confusions" in html and "evaluation-confusion\"" not in html


def test_a_sigmoid_output_states_its_threshold(tmp_path, metrics):
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, size=40)
    p = np.clip(labels * 0.6 + rng.uniform(0, 0.4, size=40), 0.01, 0.99).astype(np.float32)
    _, _, view = evaluated(tmp_path, labels, p[:, None], ("no", "yes"))
    headline = {row["label"]: row for row in view["headline"]}
    assert headline["Decision"]["value"] == "p > 0.5" and "Top-5 accuracy" not in headline
    assert headline["Accuracy"]["value"] == f"{metrics.accuracy_score(labels, p > 0.5):.4f}"


def test_outputs_that_are_not_probabilities_are_said_instead(tmp_path):
    labels, probs = known_sample()
    _, _, view = evaluated(tmp_path, labels, np.log(probs), NAMES)
    html = rendered(view)
    assert "No evaluation" in html and "not probabilities" in html and "Per class" not in html
