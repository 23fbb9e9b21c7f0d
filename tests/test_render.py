"""Render a report from hand-made facts (no Keras) and check the page's structure and safety."""

from html.parser import HTMLParser

import jinja2
import pytest

from handmade import conv_evidence, report_of
from reportgen.pipeline.page import render

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
    return report_of(conv_evidence(layer_name, label)).html


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
        render({"title": "x"})
