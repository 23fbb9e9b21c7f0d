"""The text of an architecture drawing: model names made safe to draw, and their width in a
monospace font (wide East Asian characters take two columns)."""

from __future__ import annotations

import unicodedata


def full_text(text: str, limit: int = 200) -> str:
    """Text with control and format characters (bidi overrides among them) made visible as
    U+FFFD, capped at `limit` characters: model names are untrusted."""
    text = text[:limit]
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join("\ufffd" if unicodedata.category(c)[0] == "C" or c in "\u2028\u2029"
                   else c for c in text)


def columns(text: str) -> int:
    """Monospace columns the text takes: wide East Asian characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def short_text(text: str, limit: int) -> str:
    """The text cut to `limit` columns with an ellipsis when it is longer."""
    text = full_text(text, limit * 2)
    if columns(text) <= limit:
        return text
    while columns(text) > limit - 1:
        text = text[:-1]
    return text + "…"
