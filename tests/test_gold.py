"""Whole outputs against approved files (tests/gold/README.md): an unintended change to any
section of the page, or to any number of the book model's sidecar, shows as a diff."""

from __future__ import annotations

import difflib
import importlib.util
import json

import pytest

from conftest import BOOK, FASHION, REPO, require_shared
from gold_pages import BOOK_SIDECAR, PAGE, VOLATILE_KEYS, book_sidecar, handmade_page


def sidecar_diff():
    """tools/sidecar_diff.py, the key-by-key comparison."""
    spec = importlib.util.spec_from_file_location("sidecar_diff",
                                                  REPO / "tools" / "sidecar_diff.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_handmade_page_is_the_approved_one(tmp_path):
    page = handmade_page()
    approved = PAGE.read_text(encoding="utf-8")
    if page != approved:
        (tmp_path / "actual.html").write_text(page, encoding="utf-8")
        diff = difflib.unified_diff(approved.splitlines(), page.splitlines(), "approved",
                                    "actual", lineterm="", n=1)
        raise AssertionError("the page differs from tests/gold/handmade-page.html (approve an "
                             "intended change with tools/approve_gold.py):\n"
                             + "\n".join(list(diff)[:80]))


@pytest.mark.slow
def test_the_book_sidecar_is_the_approved_one_key_by_key(tmp_path):
    book = require_shared(BOOK / "best-cnn-model.keras")
    image = require_shared(FASHION / "ankle_boot.png")
    found = json.loads(book_sidecar(book, image, tmp_path))
    approved = json.loads(BOOK_SIDECAR.read_text(encoding="utf-8"))
    differences, _added = sidecar_diff().differences(approved, found, ignore=VOLATILE_KEYS)
    assert differences == [], "\n".join(differences[:40])
