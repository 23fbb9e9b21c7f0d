"""The pictures of the evaluation on a labelled sample: the row-normalised confusion matrix,
the most confident mistakes, the reliability diagram, and the per-class mean activation of
the layer before the output.

Heatmaps are numpy arrays coloured by the frozen tables (images.py), so a test can read
every cell back; their names come as text beside them (labelled_grid.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from reportgen.analyse.class_activations import ClassActivationFacts
from reportgen.analyse.evaluation import MAX_MATRIX_CLASSES, EvaluationFacts, Mistake
from reportgen.draw import heatmaps, images
from reportgen.draw.diagnostic_charts import ReliabilityChart, reliability_chart
from reportgen.draw.figures import Picture, picture
from reportgen.draw.labelled_grid import GridCell, LabelledGrid, labelled_grid, spans
from reportgen.i18n import _

CONFUSION_CMAP = "viridis"      # scikit-learn's ConfusionMatrixDisplay default
CONFUSION_PX = 360              # what the matrix's side aims for
MIN_CELL_PX, MAX_CELL_PX = 12, 48
MIN_WRITTEN_CELL_PX = 24        # a cell this size or larger gets its percentage written in it
DARK_TEXT_LEVEL = 150           # viridis from here up (green to yellow) takes dark text
THUMB_PX = 96                   # what a mistake thumbnail's longer side aims for
# Classes (rows) of the per-class activation heatmap: as many as the confusion matrix shows,
# so that every row keeps a readable name; the JSON has every class.
MAX_CLASS_ROWS = MAX_MATRIX_CLASSES


@dataclass(frozen=True)
class EvaluationPictures:
    """Every picture of the evaluation section; `confusion` is None above 30 classes (the
    view shows the most-confused pairs instead), `mistakes` follow facts.mistakes."""

    confusion: LabelledGrid | None
    mistakes: tuple[Picture, ...]
    reliability: ReliabilityChart


def evaluation_pictures(facts: EvaluationFacts, mistake_images: np.ndarray,
                        sources: Sequence[str]) -> EvaluationPictures:
    """Draw the section's pictures; mistake_images are the conformed images of
    facts.mistakes in their order (LabelledSample.conformed), sources the sample's names."""
    bins = facts.calibration.bins
    return EvaluationPictures(
        confusion=confusion_picture(facts) if facts.shows_matrix else None,
        mistakes=tuple(mistake_picture(facts, m, image, sources[m.index])
                       for m, image in zip(facts.mistakes, mistake_images)),
        reliability=reliability_chart([b.accuracy for b in bins], [b.count for b in bins],
                                      facts.calibration.ece))


def class_label(names: Sequence[str], index: int) -> str:
    """A class's name, or its index when the classes are not named."""
    return names[index] if index < len(names) and names[index] else str(index)


def confusion_cells(rows: Sequence[Sequence[float] | None], cell: int) -> np.ndarray:
    """The row-normalised matrix as a float image, each value a cell x cell block; a class
    absent from the sample (None) is a row of NaN (transparent)."""
    n = len(rows)
    matrix = np.array([row if row is not None else [np.nan] * n for row in rows], np.float32)
    return matrix.repeat(cell, axis=0).repeat(cell, axis=1)


def confusion_picture(facts: EvaluationFacts) -> LabelledGrid:
    """The row-normalised confusion matrix on 0..1, true classes down, predicted across,
    each cell's share written in it when the cells are large enough."""
    n = facts.n_classes
    cell = int(np.clip(CONFUSION_PX // n, MIN_CELL_PX, MAX_CELL_PX))
    image = images.colourise(confusion_cells(facts.confusion_normalised, cell), 0.0, 1.0,
                             CONFUSION_CMAP)
    names = [class_label(facts.class_names, c) for c in range(n)]
    drawn = picture(image, _("Confusion matrix of {n} classes, each row as shares of its "
                             "true class").format(n=n))
    cells = [GridCell(j * cell, i * cell, cell, cell,
                      _confusion_title(names, facts.confusion, i, j),
                      *_cell_text(row[j] if row is not None else None, cell))
             for i, row in enumerate(facts.confusion_normalised) for j in range(n)]
    return labelled_grid(drawn, spans(n, cell), spans(n, cell), names, names, _("true class"),
                         _("predicted class"), cells)


def _cell_text(share: float | None, cell: int) -> tuple[str, str]:
    """(the percentage written in a cell, its text tone); nothing in small or empty cells."""
    if share is None or cell < MIN_WRITTEN_CELL_PX or share == 0:
        return "", "dark"
    percent = 100 * share
    text = "<1" if percent < 0.5 else f"{percent:.0f}"
    level = images.colour_levels(np.float32(share), 0.0, 1.0)
    return text, "dark" if level >= DARK_TEXT_LEVEL else "light"


def _confusion_title(names: Sequence[str], counts: Sequence[Sequence[int]], i: int,
                     j: int) -> str:
    """A cell's tooltip: how many of the true class went to the predicted one."""
    support = sum(counts[i])
    if not support:
        return _("true {true}: no images in the sample").format(true=names[i])
    share = 100 * counts[i][j] / support
    return _("true {true}, predicted {predicted}: {count:,} of {support:,} ({share:.1f} %)"
             ).format(true=names[i], predicted=names[j], count=counts[i][j], support=support,
                      share=share)


def mistake_picture(facts: EvaluationFacts, mistake: Mistake, image: np.ndarray,
                    source: str) -> Picture:
    """A mistaken image as a thumbnail, drawn as the inputs are (images.input_image),
    captioned with the image's name in the sample."""
    names = facts.class_names
    return picture(thumbnail(image), _("{source}: true {true}, predicted {predicted}").format(
        source=source, true=class_label(names, mistake.true),
        predicted=class_label(names, mistake.predicted)), caption=source)


def thumbnail(image: np.ndarray) -> images.Indexed | np.ndarray:
    """An input image with its longer side near THUMB_PX: whole-pixel zoom for small images,
    block averages for large ones; grey as gray_r on its own range, RGB as in input_image."""
    array = images.as_image(np.asarray(image, np.float32))
    side = max(array.shape[:2])
    down = max(1, side // THUMB_PX)
    planes = images.averaged_down(array.transpose(2, 0, 1), down).transpose(1, 2, 0)
    zoom = max(1, THUMB_PX // max(planes.shape[:2]))
    if planes.shape[2] == 3:
        low, high = ((0.0, 1.0) if images.rgb_as_is(planes)
                     else (float(planes.min()), float(planes.max())))
        unit = (planes - low) / ((high - low) or 1.0)
        rgb = (images.mosaic(unit[None], 1, zoom, gap=0) * 255).round().astype(np.uint8)
        return np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    grey = images.mosaic(planes[None, :, :, 0], 1, zoom, gap=0)
    return images.colourise(grey, float(grey.min()), float(grey.max()), images.INPUT_CMAP)


def class_activation_cells(facts: ClassActivationFacts) -> np.ndarray:
    """Classes x shown units, each unit (column) stretched to 0..1 over the classes present,
    absent classes NaN."""
    means = np.array([[np.nan if v is None else v for v in row] for row in facts.means],
                     np.float64).reshape(len(facts.means), len(facts.units))
    with np.errstate(invalid="ignore"):
        low, high = np.nanmin(means, axis=0), np.nanmax(means, axis=0)
    span = np.where(high > low, high - low, 1.0)
    return ((means - low) / span).astype(np.float32)


def class_activation_picture(facts: ClassActivationFacts,
                             class_names: Sequence[str]) -> LabelledGrid:
    """The per-class mean activation as a heatmap: the first MAX_CLASS_ROWS classes down,
    the units whose class means differ most across, each unit on its own scale (from its
    lowest class mean, dark, to its highest)."""
    n_classes, n_units = min(len(facts.means), MAX_CLASS_ROWS), len(facts.units)
    cell_w = heatmaps.cell_px(n_units, heatmaps.HEATMAP_WIDTH)
    cell_h = heatmaps.cell_px(n_classes, heatmaps.HEATMAP_HEIGHT)
    unit = class_activation_cells(facts)[:n_classes]
    image = images.colourise(unit.repeat(cell_h, axis=0).repeat(cell_w, axis=1), 0.0, 1.0,
                             images.FEATURE_CMAP)
    names = [class_label(class_names, c) for c in range(n_classes)]
    drawn = picture(image, _("Mean activation of {layer} per class, {n} units").format(
        layer=facts.layer, n=n_units), max_display=heatmaps.HEATMAP_WIDTH)
    cells = [GridCell(j * cell_w, i * cell_h, cell_w, cell_h,
                      _("{name}, unit {unit}: {value}").format(
                          name=names[i], unit=u,
                          value=_("mean {mean:.4g}").format(mean=facts.means[i][j])
                          if facts.means[i][j] is not None else _("no images")))
             for i in range(n_classes) for j, u in enumerate(facts.units)]
    return labelled_grid(drawn, spans(n_classes, cell_h), spans(n_units, cell_w), names,
                         [str(u) for u in facts.units], _("class"),
                         _("unit of {layer}").format(layer=facts.layer), cells)
