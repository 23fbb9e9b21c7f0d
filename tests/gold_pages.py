"""How the gold tests make and scrub their outputs (shared by tests/test_gold.py and
tools/approve_gold.py, so that what is approved is exactly what is compared)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from handmade import conv_evidence, report_of

HERE = Path(__file__).resolve().parent
GOLD = HERE / "gold"
PAGE = GOLD / "handmade-page.html"
BOOK_SIDECAR = GOLD / "book-sidecar.json"
# Keys that change with the day, the installed libraries and where the data lies, not with
# reportgen.
VOLATILE_KEYS = ("generated_at", "read_with", "source")
DATA_URI = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")


def handmade_page() -> str:
    """The page of the hand-made model, its images (zlib-dependent bytes) scrubbed."""
    config = {"class_name": "Sequential", "config": {"name": "m", "layers": [
        {"class_name": "Conv2D", "config": {"name": "conv"}},
        {"class_name": "Flatten", "config": {"name": "flat"}}]}}
    return DATA_URI.sub("data:image/png;base64,IMAGE", report_of(conv_evidence(
        config=config)).html)


def book_sidecar(book: Path, image: Path, folder: Path) -> str:
    """The sidecar of the textbook's model with one input, as the command line writes it."""
    out = folder / "book.html"
    done = subprocess.run([sys.executable, "-m", "reportgen", str(book), "--input", str(image),
                           "-o", str(out), "-q"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"})
    if done.returncode:
        raise RuntimeError(done.stderr)
    return out.with_suffix(".json").read_text(encoding="utf-8")

