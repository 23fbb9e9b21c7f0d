"""The reports in a real browser: headless Chromium driven by Playwright.

Screenshots (1280 px and 375 px) and a printed PDF of each report are saved in a temporary
folder for a person to look at (REPORTGEN_ARTIFACTS=DIR keeps them in DIR instead; tests never
write into the repository).
"""

from __future__ import annotations

import json
import re
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from browser import chromium
from conftest import BOOK, FASHION
from reportgen.cli import main

pytestmark = pytest.mark.browser

ARTIFACTS = Path(os.environ.get("REPORTGEN_ARTIFACTS")
                 or tempfile.mkdtemp(prefix="reportgen-browser-"))


def write_report(folder: Path, *args: str) -> Path:
    out = folder / "report.html"
    assert main([*args, "-q", "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def reports(tmp_path_factory, tiny_files) -> dict[str, Path]:
    import keras

    made = {}
    root = tmp_path_factory.mktemp("browser")
    if BOOK.exists():
        made["book"] = write_report(root / "book", str(BOOK / "best-cnn-model.keras"),
                                    "--input", str(FASHION / "ankle_boot.png"),
                                    "--labels", str(FASHION / "classes.txt"))
    demo = root / "demo"
    demo.mkdir()
    assert main(["--demo", "-q", "-o", str(demo / "demo-model.html")]) == 0
    made["demo"] = demo / "demo-model.html"
    # A model with alerts: a NaN, dead channels, a duplicated filter.
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((12, 12, 3)),
                              keras.layers.Conv2D(8, 3, activation="relu", name="conv"),
                              keras.layers.Flatten(), keras.layers.Dense(4, activation="softmax")])
    kernel, bias = model.get_layer("conv").get_weights()
    kernel[..., 1] = kernel[..., 0]
    kernel[0, 0, 0, 7] = np.nan
    bias[2:4] = -100
    model.get_layer("conv").set_weights([kernel, bias])
    model.save(root / "alerts.keras")
    made["alerts"] = write_report(root / "alerts", str(root / "alerts.keras"))
    made["weights-only"] = write_report(root / "wo", str(tiny_files["h5"]), "--weights-only")
    return made


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def open_page(browser, path: Path, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    seen = {"requests": [], "errors": []}
    page.on("request", lambda request: seen["requests"].append(request.url))
    page.on("console", lambda msg: seen["errors"].append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    page.goto(path.as_uri(), wait_until="load")
    return page, seen


NAMES = ["book", "demo", "alerts", "weights-only"]


def report_for(reports, name) -> Path:
    if name not in reports:
        pytest.skip(f"no {name} report: its reference data (../shared/data) is absent")
    return reports[name]


@pytest.mark.parametrize("name", NAMES)
def test_report_is_self_contained_and_error_free(browser, reports, name):
    path = report_for(reports, name)
    page, seen = open_page(browser, path)
    outside = [u for u in seen["requests"] if not u.startswith("data:") and u != path.as_uri()]
    assert outside == []
    assert seen["errors"] == []
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
    assert images and all(done and width > 0 for done, width in images)
    broken = page.evaluate("""Array.from(document.querySelectorAll('a[href^="#"]'))
        .map(a => decodeURIComponent(a.getAttribute('href').slice(1)))
        .filter(id => !document.getElementById(id))""")
    assert broken == []
    levels = page.evaluate("Array.from(document.querySelectorAll('h1,h2,h3,h4'))"
                           ".map(h => Number(h.tagName[1]))")
    assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:]))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-1280.png"), full_page=True)
    page.close()


@pytest.mark.parametrize("name", NAMES)
def test_report_reads_on_a_phone(browser, reports, name):
    page, seen = open_page(browser, report_for(reports, name), width=375)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(ARTIFACTS / f"{name}-375.png"), full_page=True)
    page.close()


@pytest.mark.parametrize("name", NAMES)
def test_report_prints_to_pdf_without_per_channel_tables(browser, reports, name):
    page, _ = open_page(browser, report_for(reports, name))
    page.emulate_media(media="print")
    assert not page.locator("nav.toc").is_visible()
    # Per-channel tables would print open (5 of the book's 13 pages): print leaves them out.
    shown = page.evaluate("""Array.from(document.querySelectorAll('details.channels'))
        .filter(d => d.getBoundingClientRect().height > 0).length""")
    assert shown == 0
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
    (ARTIFACTS / f"{name}.pdf").write_bytes(pdf)
    page.close()


def test_alerts_are_listed_and_link_to_their_layer(browser, reports):
    path = reports["alerts"]
    page, _ = open_page(browser, path)
    kinds = {a["kind"] for a in json.loads(path.with_suffix(".json").read_text("utf-8"))["alerts"]}
    assert {"non_finite", "dead_channels", "duplicate_filters"} <= kinds
    summary_links = page.locator("#summary ul.alerts a")
    assert summary_links.count() >= 3
    summary_links.first.click()
    assert page.evaluate("location.hash") == "#layer-conv"
    assert page.locator("nav.toc .badge").count() >= 2
    page.close()


def test_keyboard_reaches_the_skip_link_and_images_open_full_size(browser, reports):
    page, _ = open_page(browser, reports["demo"])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#summary"
    opener = page.locator("figure.zoomable a.open").first
    opener.focus()
    page.keyboard.press("Enter")
    figure = page.locator("figure.zoomable:target")
    assert figure.count() == 1
    assert figure.evaluate("f => getComputedStyle(f).position") == "fixed"
    box = figure.locator("img").bounding_box()
    assert box["width"] > 900  # shown far larger than in the page
    figure.locator("a.close").click()
    assert page.locator("figure.zoomable:target").count() == 0
    page.close()


def test_dark_colour_scheme_is_applied(browser, reports):
    page = browser.new_page(color_scheme="dark")
    page.goto(reports["demo"].as_uri())
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(21, 24, 29)"
    page.screenshot(path=str(ARTIFACTS / "demo-dark.png"))
    page.close()


@pytest.fixture(scope="module")
def resnet_report(tmp_path_factory) -> Path:
    """A ResNet50 with fresh weights (no download), the size the page budgets are set for."""
    import keras

    root = tmp_path_factory.mktemp("resnet")
    keras.utils.set_random_seed(0)
    keras.applications.ResNet50(weights=None).save(root / "resnet50.keras")
    return write_report(root, str(root / "resnet50.keras"))


@pytest.mark.big_model
def test_a_resnet50_report_stays_within_its_page_budgets(browser, resnet_report):
    assert resnet_report.stat().st_size <= 4_000_000
    page, seen = open_page(browser, resnet_report, width=1400)
    assert seen["errors"] == []
    assert page.evaluate("document.documentElement.scrollHeight") <= 40_000
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) <= 80
    page.close()
    phone, _ = open_page(browser, resnet_report, width=375)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    phone.close()


def test_the_graph_links_every_layer_to_its_place(browser, resnet_report, reports):
    for path in [resnet_report] + ([reports["book"]] if "book" in reports else []):
        page, _ = open_page(browser, path)
        links = page.evaluate("""Array.from(document.querySelectorAll('svg.graph a'))
            .map(a => a.getAttribute('href'))""")
        assert links and all(href.startswith("#") for href in links)
        missing = page.evaluate("""Array.from(document.querySelectorAll('svg.graph a'))
            .map(a => a.getAttribute('href').slice(1))
            .filter(id => !document.getElementById(decodeURIComponent(id)))""")
        assert missing == []
        page.close()


@pytest.mark.parametrize("name", NAMES)
def test_every_picture_can_be_enlarged_and_no_chart_overflows_a_phone(browser, reports, name):
    page, _ = open_page(browser, report_for(reports, name), width=375)
    lone = page.evaluate("""Array.from(document.images)
        .filter(i => !i.closest('.colourbar') && !i.closest('figure.zoomable a.open'))
        .map(i => i.alt)""")
    assert lone == []
    wide = page.evaluate("""Array.from(document.querySelectorAll('svg.plot'))
        .filter(s => s.getBoundingClientRect().right > 375).length""")
    assert wide == 0
    page.close()


@pytest.fixture(scope="module")
def other_pages(tmp_path_factory, tiny_files) -> dict[str, Path]:
    """A compare page and a batch index, built from the tiny CNN's two files."""
    from reportgen.batch import main as batch_main
    from reportgen.compare import main as compare_main

    root = tmp_path_factory.mktemp("pages")
    assert compare_main([str(tiny_files["keras"]), str(tiny_files["h5"]), "-q", "-o",
                         str(root / "compare.html")]) == 0
    folder = root / "models"
    folder.mkdir()
    for kind in ("keras", "h5"):
        (folder / tiny_files[kind].name).write_bytes(tiny_files[kind].read_bytes())
    assert batch_main([str(folder), "-q", "--jobs", "1", "-o", str(root / "batch")]) == 0
    return {"compare": root / "compare.html", "batch": root / "batch" / "index.html"}


# Every table, and every box that scrolls, wider than the column that holds it.
OVERFLOWING = """() => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  return Array.from(document.querySelectorAll('table, .scroll')).filter(e =>
      e.getBoundingClientRect().width > e.parentElement.clientWidth + 1
      || (e.classList.contains('scroll') && e.scrollWidth > e.clientWidth + 1))
    .map(e => (e.closest('[id]') || {}).id + ': ' + Math.round(e.scrollWidth) + ' px in '
              + e.parentElement.clientWidth);
}"""


@pytest.mark.parametrize("name", NAMES + ["compare", "batch"])
def test_no_table_is_wider_than_its_column_and_no_page_than_a_phone(browser, reports,
                                                                     other_pages, name):
    path = other_pages[name] if name in other_pages else report_for(reports, name)
    assert_fits(browser, path, name)


def assert_fits(browser, path: Path, name: str) -> None:
    """No table wider than its column at 1400 px; no page wider than a 375 px phone, every
    section open."""
    page, _ = open_page(browser, path, width=1400)
    assert page.evaluate(OVERFLOWING) == []
    page.close()
    page, _ = open_page(browser, path, width=375)
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(ARTIFACTS / f"{name}-375-open.png"), full_page=True)
    page.close()


def test_the_books_feature_maps_and_kernels_are_the_chapters_figures(browser, reports):
    path = report_for(reports, "book")
    page, _ = open_page(browser, path, width=1400)
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    sizes = page.evaluate("""(ids) => ids.map(id => { const i = document.querySelector(
        '#' + id + ' img'); return [i.naturalWidth, i.naturalHeight, i.clientWidth]; })""",
                          ["act-layer-conv2d-grid-0", "act-layer-conv2d_1-grid-0", "fig-1"])
    # conv2d: 32 maps of 28x28 drawn 2x (56 px), 4 rows of 8; conv2d_1: 64 of 14x14 drawn 4x.
    assert sizes[0] == [8 * 58 - 2, 4 * 58 - 2, 8 * 58 - 2]
    assert sizes[1] == [8 * 58 - 2, 8 * 58 - 2, 8 * 58 - 2]
    # The first layer's 32 filters: the chapter's 2x16, 48 px each, shown at full size.
    assert sizes[2] == [16 * 50 - 2, 2 * 50 - 2, 16 * 50 - 2]
    page.close()
    # On a phone the maps keep their 56 px and scroll sideways in their own box.
    page, _ = open_page(browser, path, width=375)
    shown = page.evaluate("""(() => { const i = document.querySelector(
        '#act-layer-conv2d_1-grid-0 img'); return [i.naturalWidth, i.clientWidth]; })()""")
    assert shown == [8 * 58 - 2, 8 * 58 - 2]
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.close()


@pytest.mark.big_model
def test_a_resnet50_report_fits_1400_px_and_a_phone(browser, resnet_report):
    assert_fits(browser, resnet_report, "resnet50")
