"""Pictures described in words for the page: what their rows and columns are."""

from __future__ import annotations

from reportgen.draw.figures import Picture
from reportgen.i18n import _


def axes_text(picture: Picture | None) -> str:
    """A picture's rows and columns in words, with their names when there are a few."""
    axes = picture.axes if picture is not None else None
    if axes is None:
        return ""
    rows = _("rows: {rows}").format(rows=axes.rows) + (
        f" ({', '.join(axes.row_labels)})" if axes.row_labels else "")
    columns = _("columns: {columns}").format(columns=axes.columns)
    if axes.column_labels and len(axes.column_labels) <= 30 and \
            not all(label.isdigit() for label in axes.column_labels):
        columns += f" ({', '.join(axes.column_labels)})"
    return f"{rows}; {columns}"
