"""Render a report from hand-made facts (no Keras) and check the page's structure and safety."""

from html.parser import HTMLParser

import jinja2
import numpy as np
import pytest

from reportgen.analyse.collect import collect_input, collect_layer, collect_model
from reportgen.analyse.facts import ReportFacts
from reportgen.options import Options
from reportgen.draw.pictures import colour_bars, input_picture, layer_figures, output_picture
from reportgen.page.render import render_report
from reportgen.load.snapshot import LayerSnapshot, ModelSnapshot, TensorSpec, WeightArray
from reportgen.page.view import report_view

SCRIPT_NAME = "<script>alert(1)</script>"


class PageParser(HTMLParser):
    """Collects the tags, <img> sources, ids and links of a page."""

    def __init__(self):
        super().__init__()
        self.tags, self.images, self.ids, self.links, self.text = [], [], set(), [], []
        self.references = []  # every src/href value, to prove nothing is fetched


    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self.references += [v for k, v in attrs.items() if k in ("src", "href", "srcset")]
        if tag == "img":
            self.images.append(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])

    def handle_data(self, data):
        self.text.append(data)


def hand_made_report(layer_name=SCRIPT_NAME, label="<b>boot</b>"):
    rng = np.random.default_rng(0)
    kernel = WeightArray("kernel", rng.normal(0, 0.2, (3, 3, 1, 4)).astype(np.float32), True)
    bias = WeightArray("bias", np.zeros(4, np.float32), True)
    layers = (LayerSnapshot(layer_name, "Conv2D", "(None, 6, 6, 4)", 40, True, "relu",
                            (kernel, bias), path=layer_name),
              LayerSnapshot("flat", "Flatten", "(None, 144)", 0, True, "", (), path="flat"))
    snapshot = ModelSnapshot("Sequential", layers, (TensorSpec("in", (6, 6, 1)),),
                             (TensorSpec("flat", (144,)),))
    init = {layer_name: [rng.normal(0, 0.1, (3, 3, 1, 4)).astype(np.float32), np.zeros(4, np.float32)]}
    outputs = {layer_name: rng.random((6, 6, 4)).astype(np.float32), "flat": rng.random(144)}
    image = rng.random((6, 6, 1)).astype(np.float32)
    file_info = dict(file_name=f"{layer_name}.keras", file_size=10, sha256="ab", format="Keras v3",
                     saved_by_keras_version="3.0", read_with=(("keras", "3"),),
                     reportgen_version="0", generated_at="2020-01-01 00:00:00 UTC")
    facts = ReportFacts(
        mode="full", model=collect_model(snapshot, file_info),
        layers=tuple(collect_layer(i, l, init) for i, l in enumerate(layers)),
        inputs=(collect_input("in.png", "in.png", image.shape, outputs,
                              [(TensorSpec("probs", (2,), activation="softmax"),
                                np.array([0.9, 0.1]))], [label, "other"]),),
        notes=("a note",), kernel_scale="0.5")
    options = Options()
    maps = {name: p for name, out in outputs.items() if (p := output_picture(name, out, options))}
    view = report_view(facts, layer_figures(snapshot, init, options),
                       [[input_picture("in.png", image)]], maps, colour_bars())
    return render_report(view)


def test_model_text_is_escaped_never_markup():
    html = hand_made_report()
    page = PageParser()
    page.feed(html)
    assert "script" not in page.tags and "b" not in page.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT_NAME not in html
    assert any(SCRIPT_NAME in t for t in page.text)  # shown to the reader as text
    assert "&lt;b&gt;boot&lt;/b&gt;" in html


def test_every_image_is_inline_and_every_link_resolves():
    page = PageParser()
    page.feed(hand_made_report(layer_name="conv"))
    # kernel trained + init, the input, the feature map, two colour bars
    assert len(page.images) == 6
    assert all(img["src"].startswith("data:image/png;base64,") for img in page.images)
    assert all(img.get("alt") for img in page.images)
    assert page.links and all(link[1:] in page.ids for link in page.links)
    assert "layer-conv" in page.ids


def test_no_external_reference_anywhere():
    html = hand_made_report(layer_name="conv")
    page = PageParser()
    page.feed(html)
    assert all(ref.startswith(("data:", "#")) for ref in page.references)
    for marker in ("http://", "https://", "//cdn", "<link", "<script", "@import", "url("):
        assert marker not in html


def test_missing_view_fields_are_errors_not_blanks():
    with pytest.raises(jinja2.UndefinedError):
        render_report({"title": "x"})
