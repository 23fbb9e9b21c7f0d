"""The report's language: English or Korean, through the standard library's gettext.

A run has one language (`--lang`, or the locale of LANG/LC_ALL), set for its duration with
`language(...)`. Three ways a string is translated:

- `_("...")` and `ngettext(...)` translate at once into the run's language: the page's
  own words (views, templates, progress lines). Templates get the same catalog through
  `jinja2.ext.i18n` (see page/render.py).
- `msg("... {name} ...", name=value)` and `nmsg(singular, plural, n, ...)` make a
  `Message`: a string whose text is English (what the JSON sidecar, the tests and logs
  see) and which keeps its msgid and values, so that the page shows it in the run's
  language (`localised`). Facts that reach the JSON (alerts, notes, reasons) and error
  messages are Messages: the sidecar stays language-neutral.
- `N_("...")` only marks a string for extraction; it is translated where it is shown.

The catalogs are `reportgen/locale/<lang>/LC_MESSAGES/reportgen.po` (the source, edited
by hand, following `reportgen/locale/GLOSSARY.md`) compiled to the `.mo` next to it, which
ships in the wheel; `tools/i18n.py` extracts, merges and compiles them with Babel (a
development tool, not a run-time dependency).
"""

from __future__ import annotations

import gettext as _gettext
import os
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping

DOMAIN = "reportgen"
LANGUAGES = ("en", "ko")
SOURCE_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# The locale variables in POSIX precedence: the first one set decides.
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")
# The language name written in the page's <html lang> and the sidecar's `lang`.
HTML_LANG = {"en": "en", "ko": "ko"}

_active: ContextVar[str | None] = ContextVar("reportgen_language", default=None)


def default_language(environ: Mapping[str, str] | None = None) -> str:
    """'ko' when the locale (LC_ALL, LC_MESSAGES or LANG, the first one set) is Korean
    (ko_KR.UTF-8, ko, ...), else 'en'."""
    environ = os.environ if environ is None else environ
    for name in LOCALE_VARIABLES:
        value = environ.get(name, "")
        if value:
            return "ko" if value.lower().split(".")[0].split("_")[0] == "ko" else "en"
    return SOURCE_LANGUAGE


def checked_language(lang: str | None) -> str:
    """A language reportgen speaks ('en', 'ko'); None means the locale's."""
    if lang is None:
        return default_language()
    if lang not in LANGUAGES:
        raise UnknownLanguage(msg("unknown language {lang!r}: reportgen speaks {known}",
                                  lang=lang, known=", ".join(LANGUAGES)))
    return lang


class UnknownLanguage(ValueError):
    """A language reportgen does not speak (the options check --lang and lang= before any
    run; this is the last guard)."""


@lru_cache(maxsize=None)
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalog of a language (English is the source: no catalog). A missing .mo is an
    installation error, raised, never a silent fall-back to English."""
    if lang == SOURCE_LANGUAGE:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[lang])


def current_language() -> str:
    """The language of the run in progress ('en' outside any)."""
    return _active.get() or SOURCE_LANGUAGE


@contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Run the enclosed code in `lang`; None keeps the language of the run in progress, or
    outside any takes the locale's. Yields the language."""
    lang = checked_language(lang) if lang is not None else \
        _active.get() or default_language()
    translations(lang)  # fail here, before any work, when the catalog is missing
    token = _active.set(lang)
    try:
        yield lang
    finally:
        _active.reset(token)


def gettext(message: str) -> str:
    """`message` in the run's language."""
    return translations(current_language()).gettext(message)


_ = gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the run's language."""
    return translations(current_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - the conventional name of the marker
    """Mark `message` for extraction; it is translated where it is shown."""
    return message


class Message(str):
    """A sentence that is English wherever it is used as a string (the JSON sidecar, logs,
    tests) and shows in the run's language through `localised`. Its values are formatted
    into it with str.format; values that are Messages are localised with it."""

    __slots__ = ("msgid", "plural", "n", "values")

    def __new__(cls, msgid: str, values: Mapping[str, Any] | None = None,
                plural: str | None = None, n: int | None = None) -> "Message":
        values = dict(values or {})
        source = plural if plural is not None and n != 1 else msgid
        english = {key: str(value) if isinstance(value, Message) else value
                   for key, value in values.items()}
        self = super().__new__(cls, source.format(**english) if values or plural else source)
        self.msgid, self.plural, self.n, self.values = msgid, plural, n, values
        return self

    def localised(self, lang: str | None = None) -> str:
        """The message in `lang` (default: the run's language)."""
        catalog = translations(lang or current_language())
        text = (catalog.ngettext(self.msgid, self.plural, self.n) if self.plural is not None
                else catalog.gettext(self.msgid))
        if not self.values and self.plural is None:
            return text
        return text.format(**{key: localised(value, lang)
                              for key, value in self.values.items()})

    def __format__(self, spec: str) -> str:
        """In an f-string or str.format (the page's own text), the run's language."""
        return format(self.localised(), spec)

    def with_values(self, function) -> "Message":
        """The same message with `function` applied to each of its string values (and to
        those of the Messages among them)."""
        def mapped(value):
            if isinstance(value, Message):
                return value.with_values(function)
            return function(value) if isinstance(value, str) else value

        return Message(self.msgid, {key: mapped(value) for key, value in self.values.items()},
                       self.plural, self.n)

    def __reduce__(self):
        return (Message, (self.msgid, self.values, self.plural, self.n))

    def __copy__(self) -> "Message":
        return self

    def __deepcopy__(self, memo) -> "Message":
        return self


class Joined(Message):
    """Items (Messages or plain strings) joined by a separator, each shown in the run's
    language."""

    __slots__ = ("separator", "items")

    def __new__(cls, separator: str, items) -> "Joined":
        items = tuple(items)
        self = str.__new__(cls, separator.join(items))
        self.msgid, self.plural, self.n, self.values = str(self), None, None, {}
        self.separator, self.items = separator, items
        return self

    def localised(self, lang: str | None = None) -> str:
        """The items in `lang` (default: the run's language), joined."""
        return self.separator.join(localised(item, lang) for item in self.items)

    def with_values(self, function) -> "Joined":
        """The same items with `function` applied to the strings among them."""
        return Joined(self.separator, [item.with_values(function) if isinstance(item, Message)
                                       else function(item) for item in self.items])

    def __reduce__(self):
        return (Joined, (self.separator, self.items))


def msg(msgid: str, /, **values: Any) -> Message:
    """A Message: English now, the run's language where it is shown."""
    return Message(msgid, values)


def nmsg(singular: str, plural: str, n: int, /, **values: Any) -> Message:
    """A Message with a plural form chosen by `n` (also given to the text as {n})."""
    return Message(singular, {"n": n, **values}, plural, n)


def localised(value: Any, lang: str | None = None) -> Any:
    """A Message in the run's language (or `lang`); any other value as it is."""
    return value.localised(lang) if isinstance(value, Message) else value


def html_lang(lang: str | None = None) -> str:
    """The value of the page's <html lang> attribute."""
    return HTML_LANG[lang or current_language()]
