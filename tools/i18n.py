"""The report's catalogs, with Babel (a development tool: the `test` extra installs it; at run
time reportgen reads the compiled .mo with the standard library's gettext).

    python3 tools/i18n.py update    # extract the strings of reportgen/ and templates/ and
                                    # merge them into every reportgen/locale/*/.../reportgen.po
    python3 tools/i18n.py compile   # .po -> .mo beside it (both are committed; the .mo ships)
    python3 tools/i18n.py check     # every string translated, placeholders kept, .mo current

Translators edit the .po by hand and follow reportgen/locale/GLOSSARY.md; `update` keeps
their translations, adds new strings untranslated and drops strings no longer used.
tests/test_i18n.py runs the same extraction and check.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "reportgen" / "locale"
DOMAIN = "reportgen"
LANGUAGES = ("ko",)  # English is the source language: it has no catalog
# The functions that mark a string (reportgen/i18n.py), with the arguments that are msgids.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "msg": None,
            "nmsg": (1, 2)}
METHOD_MAP = [("reportgen/**.py", "python"), ("templates/**.j2", "jinja2")]
# The settings of page/render.py's environment, so that whitespace extracts as it renders.
OPTIONS_MAP = {"templates/**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                                   "lstrip_blocks": "true", "newstyle_gettext": "true"}}
PLURAL_FORMS = {"ko": "nplurals=1; plural=0;"}
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}|%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[a-z]")


def po_path(lang: str) -> Path:
    """The editable catalog of a language."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    """The compiled catalog that ships in the package."""
    return po_path(lang).with_suffix(".mo")


def extract():
    """Every translatable string of the sources, as a Babel catalog (a template, no
    translations)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    template = Catalog(project="reportgen", domain=DOMAIN)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), METHOD_MAP, OPTIONS_MAP, keywords=KEYWORDS, comment_tags=("i18n:",),
            strip_comment_tags=True):
        if filename.startswith(("build/", "tools/", "tests/")):
            continue
        template.add(message, None, [(filename, lineno)], auto_comments=comments,
                     context=context)
    return template


def read_catalog(lang: str):
    """The .po of a language as a Babel catalog."""
    from babel.messages.pofile import read_po

    with po_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang, domain=DOMAIN)


def write_catalog(lang: str, catalog) -> None:
    """Write a language's .po: file names without line numbers (they churn), sorted by msgid
    so that a change reads as a small diff."""
    from babel.messages.pofile import write_po

    buffer = io.BytesIO()
    write_po(buffer, catalog, width=96, include_lineno=False, sort_output=True,
             ignore_obsolete=True)
    po_path(lang).parent.mkdir(parents=True, exist_ok=True)
    po_path(lang).write_bytes(buffer.getvalue())


def update() -> None:
    """Merge the extracted strings into every language's .po (new ones untranslated)."""
    from babel.messages.catalog import Catalog

    template = extract()
    for lang in LANGUAGES:
        catalog = read_catalog(lang) if po_path(lang).exists() else \
            Catalog(locale=lang, domain=DOMAIN, project="reportgen")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False  # the header: a fuzzy one would be left out of the .mo
        catalog.version = template.version = ""
        catalog.last_translator = catalog.language_team = "reportgen <LL@li.org>"
        catalog._set_mime_headers([("Plural-Forms", PLURAL_FORMS[lang])])
        write_catalog(lang, catalog)
        print(f"{po_path(lang).relative_to(ROOT)}: {len(catalog)} messages")


def compiled(lang: str) -> bytes:
    """A language's .po compiled to .mo bytes."""
    from babel.messages.mofile import write_mo

    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(lang), use_fuzzy=False)
    return buffer.getvalue()


def compile_all() -> None:
    """Write the .mo of every language beside its .po."""
    for lang in LANGUAGES:
        mo_path(lang).write_bytes(compiled(lang))
        print(f"{mo_path(lang).relative_to(ROOT)} written")


def placeholders(text: str) -> list[str]:
    """The names of a text's str.format and %-style placeholders, sorted."""
    return sorted(a or b for a, b in PLACEHOLDER.findall(text.replace("{{", "").replace(
        "}}", "").replace("%%", "")))


def problems(lang: str) -> list[str]:
    """What keeps a language's catalog from being complete and shippable: a string of the
    sources missing from it or untranslated, a fuzzy entry, a translation that drops or adds
    a placeholder, a .mo older than its .po."""
    import gettext

    found = []
    catalog = read_catalog(lang)
    for message in extract():
        if not message.id:
            continue
        entry = catalog.get(message.id, message.context)
        where = ", ".join(sorted({f for f, _ in message.locations}))
        if entry is None:
            found.append(f"{lang}: not in the catalog: {message.id!r} ({where})")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(strings):
            found.append(f"{lang}: no translation: {message.id!r} ({where})")
        if entry.fuzzy:
            found.append(f"{lang}: fuzzy: {message.id!r}")
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(placeholders(ids[-1])) | set(placeholders(ids[0]))
        for text in strings:
            if text and set(placeholders(text)) - wanted:
                found.append(f"{lang}: placeholders differ: {message.id!r} -> {text!r}")
            elif text and set(placeholders(ids[0])) - {"n", "num"} - set(placeholders(text)):
                found.append(f"{lang}: a placeholder is missing: {message.id!r} -> {text!r}")
    if not mo_path(lang).exists():
        found.append(f"{lang}: {mo_path(lang)} is missing: run tools/i18n.py compile")
    else:
        with mo_path(lang).open("rb") as handle:
            shipped = gettext.GNUTranslations(handle)
        for entry in catalog:
            if not entry.id or entry.fuzzy:
                continue
            if isinstance(entry.id, tuple):
                same = shipped.ngettext(entry.id[0], entry.id[1], 2) == entry.string[0]
            else:
                same = shipped.gettext(entry.id) == entry.string
            if not same:
                found.append(f"{lang}: {mo_path(lang).name} is older than the .po "
                             f"({entry.id!r}): run tools/i18n.py compile")
                break
    return found


def main(argv: list[str]) -> int:
    """The command line of this tool."""
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        found = [p for lang in LANGUAGES for p in problems(lang)]
        print("\n".join(found) or "every string is translated; the .mo files are current")
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
