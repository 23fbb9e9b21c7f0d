"""The pictures of the labelled sample's sections, drawn from their facts and the few images
they name (the mistakes, the filters' examples), read back from the sample by index."""

from __future__ import annotations

from dataclasses import dataclass

from reportgen.analyse.data_run import DataFacts
from reportgen.draw.evaluation_pictures import (EvaluationPictures, class_activation_picture,
                                                evaluation_pictures)
from reportgen.draw.filter_pictures import filter_mosaic
from reportgen.draw.labelled_grid import LabelledGrid
from reportgen.load.dataset import LabelledSample


@dataclass(frozen=True)
class ResponsePictures:
    """One filter mosaic per layer of data.filter_examples.layers (None for a layer without
    a finite value), and the per-class activation heatmap (or None)."""

    filters: tuple[LabelledGrid | None, ...]
    class_activations: LabelledGrid | None


def evaluation_images(data: DataFacts, sample: LabelledSample) -> EvaluationPictures | None:
    """The evaluation's pictures (None without an evaluation): only the mistakes shown are
    read from the sample."""
    if data.evaluation is None:
        return None
    mistakes = [m.index for m in data.evaluation.mistakes]
    return evaluation_pictures(data.evaluation, sample.conformed(mistakes) if mistakes else [],
                               sample.sources)


def response_images(data: DataFacts, sample: LabelledSample) -> ResponsePictures:
    """The filters' examples and the per-class activation heatmap; only the images shown are
    read from the sample."""
    wanted = sorted({e.index for layer in data.filter_examples.layers
                     for f in layer.filters for e in f.examples})
    shown = dict(zip(wanted, sample.conformed(wanted))) if wanted else {}
    return ResponsePictures(
        filters=tuple(filter_mosaic(layer, shown, sample.sources)
                      for layer in data.filter_examples.layers),
        class_activations=(class_activation_picture(data.class_activations, data.class_names)
                           if data.class_activations is not None else None))
