"""Fill the Jinja2 templates. Autoescape is always on: model text is untrusted."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

PACKAGE_DIR = Path(__file__).resolve().parent


def templates_dir() -> Path:
    """Where the templates are: inside the installed package, or at the top of a checkout."""
    for candidate in (PACKAGE_DIR / "templates", PACKAGE_DIR.parent / "templates"):
        if (candidate / "report.html.j2").is_file():
            return candidate
    raise FileNotFoundError("reportgen's templates are missing from this installation")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Jinja2 environment: autoescape on, undefined names are errors."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_report(view: dict) -> str:
    """The report page as HTML text."""
    return environment().get_template("report.html.j2").render(**view)
