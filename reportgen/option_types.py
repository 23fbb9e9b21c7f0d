"""The kinds of value options take: each a function from the command line's text to the
value (argparse's `type`), raising argparse.ArgumentTypeError in the run's language."""

from __future__ import annotations

import argparse

from reportgen.i18n import LANGUAGES, _


class OptionError(ValueError):
    """A value an option does not take (argparse says it as a usage error; the API raises
    it as a ReportInputError)."""


def positive(text: str) -> int:
    """A whole number of at least 1."""
    text = str(text)
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(_("{text!r} is not a whole number of at least 1").format(
            text=text))
    return int(text)


def _number(text: str) -> float:
    """A finite positive number, for scales."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(_("{text!r} is not a positive number").format(
            text=text))
    return value


def input_scale(text: str) -> str:
    """--input-scale: 'auto' or a positive number (kept as its repr: a setting's text)."""
    text = str(text)
    return text if text == "auto" else repr(_number(text))


STYLES = ("default", "book")
BOOK_KERNEL_SCALE = "0.5"  # the chapter's imshow(vmin=-0.5, vmax=0.5)


def style_name(text: str) -> str:
    """--style: a look reportgen draws in."""
    if text not in STYLES:
        raise argparse.ArgumentTypeError(_("unknown style {style!r}: choose {known}").format(
            style=text, known=", ".join(STYLES)))
    return text


def kernel_scale(text: str) -> str:
    """--kernel-scale: 'auto', 'layer' or a positive number."""
    text = str(text)
    return text if text in ("auto", "layer") else repr(_number(text))


def language_name(text: str) -> str:
    """--lang: a language reportgen speaks."""
    if text not in LANGUAGES:
        raise argparse.ArgumentTypeError(_("unknown language {lang!r}: reportgen speaks "
                                           "{known}").format(lang=text,
                                                             known=", ".join(LANGUAGES)))
    return text


PROJECTIONS = ("pca", "tsne")


def projection_name(text: str) -> str:
    """--projection: a way of placing the representation in 2-D."""
    if text not in PROJECTIONS:
        raise argparse.ArgumentTypeError(_("unknown projection {name!r}: choose {known}").format(
            name=text, known=", ".join(PROJECTIONS)))
    return text
