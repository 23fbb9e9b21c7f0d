from reportgen.analyse.facts import Series
from reportgen.page.anchors import layer_anchors
from reportgen.sections.weights.charts import series_view
from reportgen.sections.weights.layer_view import kernel_scale_text


def test_anchors_are_stable_unique_and_url_safe():
    anchors = layer_anchors(["conv2d_1", "a b", "a-b", "<x>", ""])
    assert anchors["conv2d_1"] == "layer-conv2d_1"
    assert anchors["a b"] == "layer-a-b" and anchors["a-b"] == "layer-a-b-2"
    assert anchors["<x>"] == "layer-x" and anchors[""] == "layer-unnamed"


def test_normalisation_series_are_drawn_around_their_starting_value():
    gamma = series_view(Series("gamma per channel", (0.98, 1.02, 1.09), 3))
    beta = series_view(Series("beta per channel", (-0.1, 0.2), 2))
    norms = series_view(Series("vector norm per token id", (1.0, 2.0), 2))
    assert gamma["chart"].reference and beta["chart"].reference and not norms["chart"].reference
    assert gamma["shown"] == "3 values"
    cut = series_view(Series("gamma per channel", (1.0,) * 4, 10))
    assert cut["shown"] == "first 4 of 10"


def test_the_scale_text_names_the_textbook_scale_and_the_default():
    assert "textbook" in kernel_scale_text("0.5") and "-0.5 to 0.5" in kernel_scale_text("0.5")
    assert "robust" in kernel_scale_text("auto")


def test_a_colour_bar_sits_under_the_pictures_it_explains_only():
    # conv2d_1's viridis norm images once sat right above the RdBu bar of its kernels.
    from reportgen.draw.figures import Figure, Picture
    from reportgen.page.figure_view import figure_view, number_figures

    from reportgen.draw.figures import Axes
    norms = Axes("input channels", "filters")
    pictures = tuple(Picture(f"data:{k}", 4, 4, "", "", axes=norms if k > 1 else None)
                     for k in range(4))
    kernel = figure_view(Figure("kernel", pictures, "", "kernel", -1.0, 1.0, n_on_bar=2), {})
    whole = figure_view(Figure("bias", pictures[:2], "", "kernel", -1.0, 1.0), {})
    number_figures([{"anchor": "layer-c", "figures": [kernel, whole]}])
    assert [e["picture"].uri for e in kernel["on_bar"]] == ["data:0", "data:1"]
    assert [e["picture"].uri for e in kernel["after_bar"]] == ["data:2", "data:3"]
    assert len(whole["on_bar"]) == 2 and whole["after_bar"] == []
    # The norm images' rows and columns are said once, under them, not beside each.
    assert kernel["after_bar_axes"] == "rows: input channels; columns: filters"
    assert kernel["on_bar_axes"] == ""
