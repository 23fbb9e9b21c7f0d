from reportgen.analyse.facts import Histogram
from reportgen.report.view import bar_path, histogram_boxes, histogram_view, layer_anchors


def test_anchors_are_stable_unique_and_url_safe():
    anchors = layer_anchors(["conv2d_1", "a b", "a-b", "<x>", ""])
    assert anchors["conv2d_1"] == "layer-conv2d_1"
    assert anchors["a b"] == "layer-a-b" and anchors["a-b"] == "layer-a-b-2"
    assert anchors["<x>"] == "layer-x" and anchors[""] == "layer-unnamed"


def test_histogram_bars_scale_to_their_own_peak():
    trained = Histogram(edges=(-1.0, 0.0, 1.0), counts=(2, 4))
    init = Histogram(edges=(-1.0, 0.0, 1.0), counts=(0, 100))
    assert [box[3] for box in histogram_boxes(trained.counts, 160)] == [45.0, 90.0]
    assert histogram_boxes(init.counts, 160) == [(160, 0.0, 160, 90.0)]  # empty bins: no bar
    view = histogram_view(trained, init)
    assert view["init"] == "M160.0 0.0h160.0v90.0h-160.0z"
    assert view["zero_x"] == "160.00" and view["low"] == "-1.000"


def test_bar_path_draws_one_closed_box_per_bar():
    assert bar_path([(0, 1, 2, 3), (2, 0, 2, 4)]) == "M0.0 1.0h2.0v3.0h-2.0zM2.0 0.0h2.0v4.0h-2.0z"
