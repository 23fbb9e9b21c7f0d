import json

import numpy as np
import pytest

from handmade import dense_evidence, report_of

def sidecar_of(values):
    return report_of(dense_evidence(values)).sidecar


def test_documented_keys_and_statistics():
    values = np.arange(6, dtype=np.float32).reshape(3, 2)
    data = json.loads(sidecar_of(values))
    assert data["schema_version"] == 1 and data["mode"] == "full"  # the documented version
    assert data["model"]["saved_by_keras_version"] == "3.0"
    assert data["model"]["params"] == {"total": 6, "trainable": 6, "non_trainable": 0}
    [weight] = data["layers"][0]["weights"]
    assert weight["shape"] == [3, 2] and weight["mean"] == 2.5
    for key in ("std", "min", "max", "p1", "p50", "p99", "zero_fraction", "l2_norm",
                "n_nan", "n_inf", "count", "histogram"):
        assert key in weight
    assert data["layers"][0]["init"][0]["max"] == 0.0
    for key in ("activations", "predictions", "inputs", "settings", "notes"):
        assert key in data


def test_nan_statistics_become_null_and_json_stays_strict():
    values = np.full((2, 2), np.nan, np.float32)
    text = sidecar_of(values)

    def refuse(constant):
        raise AssertionError(f"non-standard JSON constant {constant}")

    weight = json.loads(text, parse_constant=refuse)["layers"][0]["weights"][0]
    assert weight["mean"] is None and weight["n_nan"] == 4


def test_every_non_finite_number_becomes_null_and_strings_stay():
    from reportgen.page.sidecar import strict_json

    data = {"a": [1.0, float("nan"), {"b": float("inf")}], "c": "NaN", "d": 3,
            "e": 'say "-Infinity" \\', "f": -float("inf"), "g": np.bool_(True),
            "series": (0.5, float("nan"), np.float32("inf"), np.float64(2.0), np.int64(7))}
    text = strict_json(data)
    assert text.endswith("\n")
    parsed = json.loads(text, parse_constant=lambda c: pytest.fail(f"constant {c} written"))
    assert parsed == {"a": [1.0, None, {"b": None}], "c": "NaN", "d": 3,
                      "e": 'say "-Infinity" \\', "f": None, "g": True,
                      "series": [0.5, None, None, 2.0, 7]}
    assert type(parsed["series"][4]) is int


@pytest.mark.slow
def test_figures_say_what_each_picture_shows_and_cuts(tiny_model):
    import reportgen
    from conftest import HOSTILE_NAME

    facts = reportgen.report(tiny_model, max_channels=4).facts
    figures = facts["figures"]
    assert all(f["width"] > 0 and f["height"] > 0 and f["section"] for f in figures)
    maps = {f["layer"]: f for f in figures if f.get("kind") == "feature maps"}
    # The first layer's 6 channels, cut to 4 by max_channels: one row of 4.
    first = maps[HOSTILE_NAME]
    assert (first["shown"], first["total"], first["grid"]) == (4, 6, [1, 4])
    assert first["colour_map"] == "viridis"
    kernels = [f for f in figures if f.get("kind") == "kernel" and f["layer"] == "conv_b"]
    # conv_b's kernel is 3x3x6x5: 4 of its 6 input channels (max_channels), 5 filters each.
    assert [(k["shown"], k["total"], k["of"]) for k in kernels] == [(20, 30, "kernel")]
    assert kernels[0]["grid"] == [4, 5] and kernels[0]["colour_map"] == "RdBu_r"
    # Every picture of the page is listed, described or not.
    page = reportgen.report(tiny_model, max_channels=4).html
    assert page.count("<img ") - page.count('class="bar"') >= len(figures) > len(maps)
