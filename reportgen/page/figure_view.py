"""Weight figures for a page (a report's weights section, compare's changed kernels): each
picture with an id to open it at full size, its colour legend and how its scale was chosen."""

from __future__ import annotations

from reportgen.draw.figures import Figure, Picture
from reportgen.draw.labelled_grid import named_columns
from reportgen.page.formatting import fmt_number
from reportgen.page.picture_text import axes_text


def number_figures(sections: list[dict]) -> list[dict]:
    """Give every weight picture a stable id, so it can be opened at full size."""
    n = 0
    for section in sections:
        for figure in section["figures"]:
            figure["entries"] = []
            bar_after = (figure["n_on_bar"] or len(figure["pictures"])) - 1
            for picture in figure["pictures"]:
                n += 1
                figure["entries"].append({"picture": picture, "id": f"fig-{n}",
                                          "back": section["anchor"],
                                          "grid": named_columns(picture),
                                          "axes": axes_text(picture)})
            figure["on_bar"] = figure["entries"][:bar_after + 1]
            figure["after_bar"] = figure["entries"][bar_after + 1:]
            # What rows and columns are, said once under the pictures it is true of (it
            # once floated beside each norm image, the same words twice).
            for part in ("on_bar", "after_bar"):
                figure[f"{part}_axes"] = " ".join(dict.fromkeys(
                    e["axes"] for e in figure[part] if e["axes"] and not e["grid"]))
    return sections


def figure_view(figure: Figure, bars: dict[str, Picture]) -> dict:
    """A weight's pictures with their colour legend and how its scale was chosen."""
    return {
        "title": figure.title,
        "pictures": list(figure.pictures),
        "note": figure.note,
        "scale_note": figure.scale_note,
        "bar": bars.get(figure.bar),
        "low": fmt_number(figure.low),
        "high": fmt_number(figure.high),
        "n_on_bar": figure.n_on_bar,
    }
