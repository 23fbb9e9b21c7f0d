"""A labelled sample for evaluation, bound to a model: the index of sample_index.py (listed
and checked before any model is loaded) with the model's input shape and class count.

Nothing is decoded up front. A sample knows its labels and where each image is, and hands
out the images conformed to the model's input a batch at a time (an .npy is memory-mapped,
image files are decoded per batch), so memory stays bounded for any number of images.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import msg, nmsg
from reportgen.load.guards import require_regular_file
from reportgen.load.inputs import MAX_IMAGE_PIXELS, conform, read_image, scaled, token_ids
from reportgen.load.sample_index import SampleIndex, Skipped, index_sample

__all__ = ["DEFAULT_BATCH", "MAX_IMAGE_PIXELS", "LabelledSample", "bind", "read_sample"]
DEFAULT_BATCH = 64


@dataclass(frozen=True, eq=False)
class LabelledSample:
    """Labelled images, read on demand and conformed to the model's input.

    `labels` are class indices (read-only int64), `class_names` empty when unknown,
    `sources` name each image for captions ("images.npy[17]", "shirt/003.png").
    """

    description: str
    labels: np.ndarray
    class_names: tuple[str, ...]
    sources: tuple[str, ...]
    input_shape: tuple
    scale: str
    batch_size: int
    read_image: Callable[[int], np.ndarray]
    skipped: tuple[Skipped, ...] = ()
    token_limit: int | None = None  # a model that reads token ids: they are not scaled

    @property
    def n_images(self) -> int:
        """How many images the sample holds."""
        return len(self.labels)

    def batches(self) -> Iterator[tuple[int, np.ndarray]]:
        """(index of the first image, images) for every batch in order, batch_size at most."""
        for start in range(0, self.n_images, self.batch_size):
            yield start, self.conformed(range(start, min(start + self.batch_size, self.n_images)))

    def conformed(self, indices: Iterable[int]) -> np.ndarray:
        """The images at these indices, scaled and conformed like --input files, stacked;
        for a model that reads token ids, the ids as they are (checked like --input's: they
        were once divided by 255 as if pixels, and a perfect text model scored 50 %)."""
        if self.token_limit is not None:
            return np.stack([token_ids(np.asarray(self.read_image(i)), self.input_shape,
                                       self.token_limit, self.sources[i]) for i in indices])
        images = [(i, conform(scaled(self.read_image(i), self.scale), self.input_shape,
                              self.sources[i])) for i in indices]
        for i, image in images:
            if image.shape != images[0][1].shape:
                # Only a model with an open input size lets images keep different sizes.
                raise ReportInputError(msg("{source}: {shape} differs from the {first_shape} of "
                                           "image {first}; the model's input {input_shape} does "
                                           "not fix the size", source=self.sources[i],
                                           shape=str(image.shape),
                                           first_shape=str(images[0][1].shape),
                                           first=images[0][0],
                                           input_shape=str(self.input_shape)))
        return np.stack([image for _, image in images])


def read_sample(data: Path, data_labels: Path | None, input_shape: tuple, n_classes: int,
                class_names: tuple[str, ...] = (), scale: str = "auto",
                batch_size: int = DEFAULT_BATCH, root: Path | None = None) -> LabelledSample:
    """Index a labelled sample (`data` an .npy with `data_labels`, a folder or a CSV) and bind
    it to a model that reads `input_shape` and tells `n_classes` classes apart (2 for one
    sigmoid output); `class_names` (--labels) name them in the model's order."""
    return bind(index_sample(data, data_labels, class_names, root), input_shape, n_classes,
                scale, batch_size)


def bind(index: SampleIndex, input_shape: tuple, n_classes: int, scale: str = "auto",
         batch_size: int = DEFAULT_BATCH, token_limit: int | None = None) -> LabelledSample:
    """An indexed sample read for a model: its classes checked against the model's, its
    images conformed to the model's input (`token_limit`: the model reads token ids below
    it, and the sample's rows are sequences of them)."""
    if index.npy_shape is None and not index.names_given and index.class_names and \
            len(index.class_names) != n_classes:
        # Sorted names stand for class indices only when every class is named.
        raise ReportInputError(nmsg("{path}: {n} class name but the model has {n_classes} "
                                    "classes; give the class names (--labels)",
                                    "{path}: {n} class names but the model has {n_classes} "
                                    "classes; give the class names (--labels)",
                                    len(index.class_names), path=index.path,
                                    n_classes=n_classes))
    _check_labels(index.labels, n_classes, index.labels_path or index.path)
    return LabelledSample(
        description=_description(index, token_limit is not None), labels=index.labels,
        class_names=index.class_names, sources=index.sources, input_shape=input_shape,
        scale=scale, batch_size=batch_size, read_image=_reader(index), skipped=index.skipped,
        token_limit=token_limit)


def _description(index: SampleIndex, sequences: bool = False) -> str:
    """What the sample is, in a few words."""
    if sequences:
        return msg("{name}: {n:,} sequences", name=index.path.name, n=index.n_images)
    if index.npy_shape is not None:
        return msg("{name}: {n:,} images", name=index.path.name, n=index.n_images)
    return nmsg("{name}: {n_images:,} images in {n} class",
                "{name}: {n_images:,} images in {n} classes", len(set(index.labels.tolist())),
                name=index.path.name, n_images=index.n_images)


def _reader(index: SampleIndex) -> Callable[[int], np.ndarray]:
    """How image i is read: from the memory-mapped .npy, or decoded from its file."""
    if index.npy_shape is None:
        files = index.files
        return lambda i: _decoded(files[i])
    try:
        images = np.load(index.path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ReportInputError(msg("{path}: not a readable .npy array: {error}",
                                   path=index.path, error=one_line(exc))) from exc
    return lambda i: images[i]


def _decoded(path: Path) -> np.ndarray:
    """An image file as an HxW or HxWxC uint8 array, checked again as it is read."""
    require_regular_file(path, msg("sample image"))
    return read_image(path)


def _check_labels(labels: np.ndarray, n_classes: int, source: Path) -> None:
    """Every label must be a class index of the model."""
    values = np.asarray(labels, dtype=np.int64)
    bad = np.flatnonzero((values < 0) | (values >= n_classes))
    if bad.size:
        raise ReportInputError(msg("{path}: label {label} of image {index} is outside 0..{last} "
                                   "(the model has {n_classes} classes)", path=source,
                                   label=values[bad[0]], index=bad[0], last=n_classes - 1,
                                   n_classes=n_classes))
