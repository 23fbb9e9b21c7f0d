from reportgen.facts import Histogram
from reportgen.view import histogram_view, layer_anchors


def test_anchors_are_stable_unique_and_url_safe():
    anchors = layer_anchors(["conv2d_1", "a b", "a-b", "<x>", ""])
    assert anchors["conv2d_1"] == "layer-conv2d_1"
    assert anchors["a b"] == "layer-a-b" and anchors["a-b"] == "layer-a-b-2"
    assert anchors["<x>"] == "layer-x" and anchors[""] == "layer-unnamed"


def test_histogram_bars_scale_to_their_own_peak():
    trained = Histogram(edges=(-1.0, 0.0, 1.0), counts=(2, 4))
    init = Histogram(edges=(-1.0, 0.0, 1.0), counts=(0, 100))
    view = histogram_view(trained, init)
    assert [b["h"] for b in view["trained"]] == ["45.00", "90.00"]
    assert [b["h"] for b in view["init"]] == ["90.00"]  # the empty bin draws nothing
    assert view["zero_x"] == "160.00" and view["low"] == "-1.000"
