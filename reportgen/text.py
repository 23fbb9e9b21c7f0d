"""Untrusted text made safe to show: names from a model file reach the page, the terminal and
error lines, and must not drive or disguise them."""

from __future__ import annotations

import re

# C0 and C1 controls, and the invisible characters that reorder or hide text (bidirectional
# overrides and isolates, zero-width marks): shown as escapes so a name cannot disguise itself.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064"
                     "\u2066-\u2069\ufeff]")


def visible(text: str) -> str:
    """Untrusted text with control and direction-changing characters written as \\uXXXX."""
    return _HIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
