"""The book's report in Korean in Chromium: Hangul glyphs render (no missing-glyph boxes),
nothing overflows at 1400 px or 375 px, and the page prints.

The fonts are the system's (tests/run.sh installs Debian's fonts-noto-cjk); the report names
them (Apple SD Gothic Neo, Malgun Gothic, Noto Sans CJK KR, NanumGothic) and embeds none.
Screenshots go to the browser tests' artifacts folder (REPORTGEN_ARTIFACTS=DIR keeps them).
"""

from __future__ import annotations

import io
import subprocess

import pytest

from conftest import BOOK, FASHION, require_shared
from reportgen.cli import main
from browser import chromium
from test_browser import ARTIFACTS

pytestmark = pytest.mark.browser

WIDTHS = (1400, 375)
HANGUL_SAMPLE = "합성곱층가중치특성맵"
# A code point no font has: Chromium draws the missing-glyph box (tofu) for each.
MISSING_GLYPH = "\U0010FFFF"


@pytest.fixture(scope="module")
def korean_book(tmp_path_factory):
    model = require_shared(BOOK / "best-cnn-model.keras")
    out = tmp_path_factory.mktemp("korean") / "book-ko.html"
    assert main([str(model), "--input", str(FASHION / "ankle_boot.png"),
                 "--labels", str(FASHION / "classes.txt"), "--lang", "ko", "-q",
                 "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def browser():
    fonts = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True)
    if not fonts.stdout.strip():
        pytest.skip("no Hangul font is installed (Debian's fonts-noto-cjk: tests/run.sh "
                    "installs it when run as root)")
    with chromium() as launched:
        yield launched


def grey_pixels(png: bytes):
    """A screenshot as a greyscale image."""
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("L")


def probe(page, text: str, width: float | None = None):
    """A span of `text` in the page's own body font (32 px), optionally clipped to `width`."""
    style = "font-size: 32px; white-space: pre; display: inline-block; overflow: hidden;" + (
        f" width: {width}px;" if width else "")
    element = page.evaluate_handle(
        """([text, style]) => { const s = document.createElement('span');
            s.textContent = text; s.setAttribute('style', style);
            const p = document.createElement('p'); p.appendChild(s);
            document.querySelector('main').prepend(p); return s; }""", [text, style])
    return element.as_element()


@pytest.mark.parametrize("width", WIDTHS)
def test_hangul_renders_with_a_font_not_as_missing_glyph_boxes(browser, korean_book, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(korean_book.as_uri(), wait_until="load")
    assert page.evaluate("document.documentElement.lang") == "ko"
    hangul = probe(page, HANGUL_SAMPLE)
    hangul_box = hangul.bounding_box()
    tofu = probe(page, MISSING_GLYPH * len(HANGUL_SAMPLE))
    # Each Hangul syllable has its own glyph, about an em wide; the boxes are narrower.
    assert abs(hangul_box["width"] - tofu.bounding_box()["width"]) > len(HANGUL_SAMPLE)
    # The same width of missing-glyph boxes looks different from the Hangul.
    boxes = probe(page, MISSING_GLYPH * (2 * len(HANGUL_SAMPLE)), width=hangul_box["width"])
    shot = grey_pixels(hangul.screenshot())
    assert shot.size == grey_pixels(boxes.screenshot()).size
    assert shot.tobytes() != grey_pixels(boxes.screenshot()).tobytes()
    # Two different syllables are two different pictures (boxes would be one picture twice).
    first, second = (probe(page, c) for c in "합곱")
    assert grey_pixels(first.screenshot()).tobytes() != grey_pixels(second.screenshot()).tobytes()
    # And the page's own Korean heading is set in a font that has Hangul.
    session = page.context.new_cdp_session(page)
    session.send("DOM.enable")
    session.send("CSS.enable")
    root = session.send("DOM.getDocument")["root"]["nodeId"]
    heading = session.send("DOM.querySelector", {"nodeId": root, "selector": "#summary h2"})
    fonts = session.send("CSS.getPlatformFontsForNode", {"nodeId": heading["nodeId"]})["fonts"]
    assert fonts and all(font["glyphCount"] > 0 for font in fonts)
    assert any(name in font["familyName"] for font in fonts for name in
               ("Noto Sans CJK", "Noto Sans KR", "NanumGothic", "Malgun", "Apple SD Gothic"))
    page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_korean_page_does_not_overflow(browser, korean_book, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(korean_book.as_uri(), wait_until="load")
    # Open every collapsed part: its text must fit too.
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    outside = page.evaluate("""(width) => Array.from(document.querySelectorAll('main *'))
        .filter(e => e.getBoundingClientRect().right > width + 1
                     && !e.closest('.scroll, .graph-scroll'))
        .map(e => e.tagName + ' ' + (e.textContent || '').slice(0, 40))""", width)
    assert outside == []
    assert page.evaluate("getComputedStyle(document.body).wordBreak") == "keep-all"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"book-ko-{width}.png"), full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(ARTIFACTS / f"book-ko-{width}-dark.png"))
    page.close()


def test_the_korean_page_prints(browser, korean_book):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(korean_book.as_uri(), wait_until="load")
    page.emulate_media(media="print")
    assert not page.locator("nav.toc").is_visible()
    assert page.locator("#summary h2").inner_text() == "요약"
    pdf = page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF")
    n_pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert 1 <= n_pages <= 40
    # A Hangul font is embedded in the PDF: the text printed as text, not as boxes.
    assert b"NotoSansCJK" in pdf or b"Nanum" in pdf or b"Malgun" in pdf
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "book-ko.pdf").write_bytes(pdf)
    page.close()
