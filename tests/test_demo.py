"""The built-in demo: trained for real, reported for real, in the time a user will wait."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from conftest import run_cli
from reportgen.demo import CLASSES, shapes_dataset
from reportgen.demo_text import DECIDING, VOCABULARY
from reportgen.sections.registry import SECTIONS


def test_generated_shapes_are_deterministic_and_balanced():
    images, labels = shapes_dataset(n_per_class=5)
    again, _ = shapes_dataset(n_per_class=5)
    assert images.shape == (5 * len(CLASSES), 28, 28, 1) and np.array_equal(images, again)
    assert np.bincount(labels).tolist() == [5] * len(CLASSES)
    assert 0.0 <= images.min() and images.max() <= 1.0


@pytest.mark.slow
def test_demo_trains_visibly_and_writes_its_report(tmp_path):
    result = run_cli("--demo", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # Each report says what it measures, and only that: no Grad-CAM for the text model.
    said = result.stderr.split("loading demo-model.keras")
    assert len(said) == 2
    assert "attributing the sequence inputs" in said[0] and "Grad-CAM" not in said[0]
    assert "finding the input each filter looks for" not in said[0]
    assert "explaining the predictions (Grad-CAM)" in said[1]
    assert "attributing the sequence inputs" not in said[1]
    out = tmp_path / "output"
    assert (out / "demo-model.keras").is_file() and (out / "demo-model.html").is_file()
    data = json.loads((out / "demo-model.json").read_text(encoding="utf-8"))
    conv = data["layers"][0]
    trained_std, init_std = conv["weights"][0]["std"], conv["init"][0]["std"]
    assert trained_std > 1.25 * init_std, (trained_std, init_std)
    assert [p["top"][0]["label"] for p in data["predictions"]] == ["ring", "cross", "triangle"]
    shapes = {a["name"]: a["shape"] for a in data["activations"][0]["layers"]}
    assert shapes["conv2d"] == [28, 28, 32] and shapes["conv2d_1"] == [14, 14, 64]
    # The demo shows every section: its own labelled sample feeds the data sections.
    evaluation = data["evaluation"]
    assert evaluation["n_samples"] == 60 * len(CLASSES)
    assert evaluation["accuracy"]["value"] > 0.5
    assert data["filter_examples"]["layers"] and data["graph"]["nodes"]
    html = (out / "demo-model.html").read_text(encoding="utf-8")
    for section in ("overview", "architecture", "evaluation", "responses", "activations"):
        assert f'id="{section}"' in html
    # The text model's page shows what an image model cannot (which words decided); each
    # page links the other, and between them every section is shown (but the chapter, for
    # --style book, and the notes, for a run that has some).
    text = (out / "demo-text-model.html").read_text(encoding="utf-8")
    assert 'href="demo-text-model.html"' in html and 'href="demo-model.html"' in text
    shown = set(re.findall(r'<section[^>]* id="([^"]+)"', html + text))
    assert {section.name for section in SECTIONS} - shown == {"chapter", "notes"}
    words = json.loads((out / "demo-text-model.json").read_text(encoding="utf-8"))
    deciding = {word for group in DECIDING.values() for word in group}
    for item in words["sequence_attribution"]["inputs"]:
        top = int(np.argmax(np.abs(item["attributions"])))
        assert item["tokens"] and VOCABULARY[item["values"][top]] in deciding, item
    assert words["evaluation"]["accuracy"]["value"] > 0.9
