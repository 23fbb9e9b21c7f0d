"""Fill the Jinja2 templates. Autoescape is always on: model text is untrusted."""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import jinja2
import markupsafe

from reportgen.i18n import Message, current_language, translations
from reportgen.text import visible

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the reportgen package


def templates_dir() -> Path:
    """Where the templates are: inside the installed package, or at the top of a checkout."""
    for candidate in (PACKAGE_DIR / "templates", PACKAGE_DIR.parent / "templates"):
        if (candidate / "report.html.j2").is_file():
            return candidate
    raise FileNotFoundError("reportgen's templates are missing from this installation")


def environment(lang: str | None = None) -> jinja2.Environment:
    """The Jinja2 environment of a language (default: the run's)."""
    return _environment(lang or current_language())


@lru_cache(maxsize=None)
def _environment(lang: str) -> jinja2.Environment:
    """One Jinja2 environment per language: autoescape on, undefined names are errors, and
    the language's catalog installed for `_()`, `ngettext()` and `{% trans %}` (new-style
    gettext: the translation is markup, the values given to it are escaped).

    Compiled templates are cached in the user's cache folder when it is writable: compiling
    the report template costs about 0.1 s, a good part of a weights-only run.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        bytecode_cache=bytecode_cache(),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=lambda value: _shown(value, lang),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(lang), newstyle=True)
    env.globals["lang"] = lang
    return env


def _shown(value, lang: str):
    """Every value the templates print: a Message in the page's language, and strings with
    hidden characters made visible (macro output is already markup made of such values)."""
    if isinstance(value, Message):
        value = value.localised(lang)
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return visible(value)
    return value


def bytecode_cache() -> jinja2.BytecodeCache | None:
    """Jinja2's own file cache of compiled templates, or None where no cache folder works."""
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "reportgen"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK):
        return None
    # Jinja2 keys its cache by template source only; settings made here (autoescape,
    # finalize) are compiled in, so this module's own text is part of the key.
    tag = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    return jinja2.FileSystemBytecodeCache(str(folder), pattern=f"reportgen-{tag}-%s.cache")


def render_report(view: dict) -> str:
    """The report page as HTML text."""
    return environment().get_template("report.html.j2").render(**view)
