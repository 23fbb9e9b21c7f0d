"""Approve the current outputs as the gold files of tests/test_gold.py (after reading the
diff the failing test printed: an approval says the change was meant).

    python3 tools/approve_gold.py          # both
    python3 tools/approve_gold.py page     # the hand-made page only
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from gold_pages import BOOK_SIDECAR, PAGE, book_sidecar, handmade_page  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def main(argv: list[str]) -> int:
    which = set(argv) or {"page", "book"}
    if "page" in which:
        PAGE.write_text(handmade_page(), encoding="utf-8")
        print(f"approved {PAGE}")
    if "book" in which:
        with tempfile.TemporaryDirectory() as folder:
            text = book_sidecar(SHARED / "book" / "best-cnn-model.keras",
                                SHARED / "fashion-mnist-sample" / "ankle_boot.png", Path(folder))
        BOOK_SIDECAR.write_text(text, encoding="utf-8")
        print(f"approved {BOOK_SIDECAR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
