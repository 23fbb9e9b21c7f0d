"""Headless Chromium for the browser tests: found on PATH (Debian's `chromium` package, which
tests/run.sh installs when run as root), launched offline. Without one, the tests that ask for
it skip and say why, or fail where CI requires a browser (REPORTGEN_REQUIRE_BROWSER=1)."""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

NAMES = ("chromium", "chromium-browser", "google-chrome")
# CI sets this: there a missing browser is a failure, not quiet skips.
REQUIRED = os.environ.get("REPORTGEN_REQUIRE_BROWSER") == "1"
MISSING = ("Chromium is not installed (Debian package 'chromium'; tests/run.sh installs it "
           "when run as root)")


def chromium_path() -> str | None:
    """The browser on PATH, or None."""
    return next((found for found in map(shutil.which, NAMES) if found), None)


def require_chromium() -> str:
    """The browser's path; skip (or fail, where one is required) without one."""
    found = chromium_path()
    if found is None:
        if REQUIRED:
            pytest.fail(f"REPORTGEN_REQUIRE_BROWSER=1: {MISSING}", pytrace=False)
        pytest.skip(MISSING)
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    return found


@contextlib.contextmanager
def chromium():
    """Chromium, headless and offline (no background connections)."""
    from playwright.sync_api import sync_playwright

    path = require_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield launched
        finally:
            launched.close()
