"""A heatmap or a mosaic with its rows and columns named: the PNG and the names placed
around it, as the coordinates of an inline SVG (templates/grids.html.j2).

The names are text, never pixels, so they stay sharp, selectable and escaped; the SVG's
viewBox scales the picture and its names together, so they stay aligned at any width
(375 px, full screen, print). Long names are cut with an ellipsis and given whole in a
tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from reportgen.draw.figures import Picture

TEXT_PX = 12            # the names' font size (the CSS sets the same)
CHAR_PX = 7.0           # estimated width of a character at that size
MAX_LABEL_CHARS = 22    # longer names are cut (the whole name is the tooltip)
TITLE_PX = 20           # the band of an axis title
GAP_PX = 6              # between a name and the picture


@dataclass(frozen=True)
class GridText:
    """A name or an axis title (`role` 'name' or 'axis', a CSS class) at (x, y) (its
    baseline), anchored 'start', 'middle' or 'end', turned by `angle` degrees (0, -45 or
    -90); `title` is its whole text when cut."""

    text: str
    x: float
    y: float
    anchor: str
    angle: int
    title: str = ""
    role: str = "name"


@dataclass(frozen=True)
class GridCell:
    """A rectangle over the picture: its tooltip, and a value written inside it ("" for
    none) in the tone that reads on the cell's colour ('light' or 'dark' text)."""

    x: float
    y: float
    width: float
    height: float
    title: str
    text: str = ""
    tone: str = "dark"

    @property
    def text_x(self) -> float:
        """Where the written value is centred."""
        return _r(self.x + self.width / 2)

    @property
    def text_y(self) -> float:
        """The written value's baseline, so that it sits in the middle of the cell."""
        return _r(self.y + self.height / 2 + TEXT_PX / 3)


@dataclass(frozen=True)
class LabelledGrid:
    """A picture placed at (image_x, image_y) in a width x height box, with its names."""

    picture: Picture
    width: float
    height: float
    image_x: float
    image_y: float
    texts: tuple[GridText, ...]
    cells: tuple[GridCell, ...]
    title: str

    @property
    def tall(self) -> bool:
        """Whether fitting the whole grid on one screen would shrink it (a mosaic of 16
        filters, say): its full-size view is then as wide as the screen, and scrolls."""
        return self.height > 1.5 * self.width


@dataclass(frozen=True)
class Span:
    """Where a row (or column) lies in the picture: from `start`, `length` pixels."""

    start: float
    length: float

    @property
    def centre(self) -> float:
        """The middle of the row (or column), where its name is centred."""
        return self.start + self.length / 2


def spans(n: int, cell: float, gap: float = 0) -> tuple[Span, ...]:
    """n equal rows (or columns) of `cell` pixels, `gap` pixels apart."""
    return tuple(Span(k * (cell + gap), cell) for k in range(n))


def named_columns(picture: Picture) -> LabelledGrid | None:
    """A heatmap whose axes name its columns (an output layer's classes) with the names
    written above them; None when it names none. The columns are the picture's width in
    equal parts (one heatmap, no gaps)."""
    axes = picture.axes
    names = axes.column_labels if axes is not None else ()
    if not names or picture.width % len(names):
        return None
    return labelled_grid(picture, (), spans(len(names), picture.width // len(names)), (),
                         names, axes.rows, axes.columns)


def labelled_grid(picture: Picture, rows: Sequence[Span], columns: Sequence[Span],
                  row_labels: Sequence[str], column_labels: Sequence[str], row_title: str,
                  column_title: str, cells: Sequence[GridCell] = ()) -> LabelledGrid:
    """The picture with row names on its left, column names above it (turned when they do
    not fit their column), an axis title on each side, and `cells` moved with the picture."""
    row_texts = [_cut(t) for t in row_labels]
    col_texts = [_cut(t) for t in column_labels]
    column_px = min((c.length for c in columns), default=0)
    widest = max((_width(t) for t, _ in col_texts), default=0)
    angle = 0 if widest <= column_px - 2 else (-90 if widest <= 4 * CHAR_PX else -45)
    rise = {0: TEXT_PX, -90: widest, -45: widest * math.sqrt(0.5) + TEXT_PX / 2}[angle]
    x0 = TITLE_PX + max((_width(t) for t, _ in row_texts), default=0) + GAP_PX
    y0 = TITLE_PX + rise + GAP_PX
    overhang = max(0.0, widest * math.sqrt(0.5) - (columns[-1].length / 2 if columns else 0)) \
        if angle == -45 else 0.0
    width, height = x0 + picture.width + overhang + 2, y0 + picture.height + 2
    texts = [GridText(text, _r(x0 - GAP_PX), _r(y0 + row.centre + TEXT_PX / 3), "end", 0, whole)
             for (text, whole), row in zip(row_texts, rows)]
    texts += [_column_text(text, whole, x0 + col.centre, y0 - GAP_PX, angle)
              for (text, whole), col in zip(col_texts, columns)]
    texts += [GridText(row_title, TEXT_PX, _r(y0 + picture.height / 2), "middle", -90,
                       role="axis"),
              GridText(column_title, _r(x0 + picture.width / 2), TEXT_PX + 2, "middle", 0,
                       role="axis")]
    moved = tuple(GridCell(_r(x0 + c.x), _r(y0 + c.y), c.width, c.height, c.title, c.text, c.tone)
                  for c in cells)
    return LabelledGrid(picture, _r(width), _r(height), _r(x0), _r(y0), tuple(texts), moved,
                        picture.alt)


def _column_text(text: str, whole: str, x: float, bottom: float, angle: int) -> GridText:
    """A column's name: centred above it, or turned and starting just above it."""
    if angle == 0:
        return GridText(text, _r(x), _r(bottom), "middle", 0, whole)
    return GridText(text, _r(x + TEXT_PX / 3), _r(bottom), "start", angle, whole)


def _cut(text: str) -> tuple[str, str]:
    """(shown text, tooltip): the text cut with an ellipsis, and the whole when cut."""
    if len(text) <= MAX_LABEL_CHARS:
        return text, ""
    return text[:MAX_LABEL_CHARS - 1] + "…", text


def _width(text: str) -> float:
    """The estimated width of a name in px."""
    return len(text) * CHAR_PX


def _r(value: float) -> float:
    """A coordinate to one decimal, so the page does not carry float noise."""
    return round(float(value), 1)
