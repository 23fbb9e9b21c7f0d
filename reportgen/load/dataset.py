"""A labelled sample for evaluation: an .npy pair, a folder per class, or a CSV of path,label.

Nothing is decoded up front. A sample knows its labels and where each image is, and hands
out the images conformed to the model's input a batch at a time (an .npy is memory-mapped,
image files are decoded per batch), so memory stays bounded for any number of images.
Every file is checked before it is read: regular files only (a FIFO or a device would hang
or never end), .npy headers against the file's size and the caps below, image sizes from
the header before any pixel is decoded.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import msg, nmsg
from reportgen.load.guards import require_regular_file
from reportgen.load.inputs import MAX_IMAGE_PIXELS, scaled, conform, npy_header, read_image

# The evaluation keeps every sample's class probabilities; 100,000 images x 1,000 classes
# of float32 is 400 MB, the most a report should hold.
MAX_SAMPLE_IMAGES = 100_000
# Values of one image in an .npy: the pixel cap of image files, with up to 4 channels.
MAX_IMAGE_VALUES = 4 * MAX_IMAGE_PIXELS
# 100,000 lines of path,label with long paths.
MAX_CSV_BYTES = 64 * 2**20
# The files keras.utils.image_dataset_from_directory reads, so both count the same images.
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
DEFAULT_BATCH = 64
_INTEGER = re.compile(r"-?[0-9]+")


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

    @property
    def n_images(self) -> int:
        """How many images the sample holds."""
        return len(self.labels)

    def batches(self) -> Iterator[tuple[int, np.ndarray]]:
        """(index of the first image, images) for every batch in order, batch_size at most."""
        for start in range(0, self.n_images, self.batch_size):
            yield start, self.conformed(range(start, min(start + self.batch_size, self.n_images)))

    def conformed(self, indices: Iterable[int]) -> np.ndarray:
        """The images at these indices, scaled and conformed like --input files, stacked."""
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
                batch_size: int = DEFAULT_BATCH) -> LabelledSample:
    """Index a labelled sample: `data` is an .npy (with `data_labels`), a folder or a CSV.

    `n_classes` is how many classes the model tells apart (2 for one sigmoid output);
    `class_names` (from --labels) name them in the model's order.
    """
    if data.is_dir():
        files, labels, names = _folder_sample(data, class_names, n_classes)
        sources = tuple(str(path.relative_to(data)) for path in files)
    else:
        require_regular_file(data, msg("labelled sample"))
        if data.suffix.lower() == ".npy":
            return _npy_sample(data, data_labels, input_shape, n_classes, class_names, scale,
                               batch_size)
        if data.suffix.lower() != ".csv":
            raise ReportInputError(msg("{path}: a labelled sample is an .npy file, a folder or a "
                                       "CSV", path=data))
        files, labels, names, sources = _csv_sample(data, class_names, n_classes)
    if data_labels is not None:
        raise ReportInputError(msg("{path}: --data-labels goes with an .npy sample only",
                                   path=data_labels))
    _check_labels(labels, n_classes, data)
    return LabelledSample(
        description=nmsg("{name}: {n_images:,} images in {n} class",
                         "{name}: {n_images:,} images in {n} classes", len(set(labels)),
                         name=data.name, n_images=len(files)),
        labels=_frozen(labels), class_names=names, sources=sources, input_shape=input_shape,
        scale=scale, batch_size=batch_size, read_image=lambda i: _decoded(files[i]))


def _npy_sample(data: Path, data_labels: Path | None, input_shape: tuple, n_classes: int,
                class_names: tuple[str, ...], scale: str, batch_size: int) -> LabelledSample:
    """An N-image .npy with an .npy of N labels; the images stay memory-mapped."""
    if data_labels is None:
        raise ReportInputError(msg("{path}: an .npy sample needs its labels (--data-labels "
                                   "FILE.npy)", path=data))
    images = _npy_images(data)
    labels = _npy_labels(data_labels, len(images), data)
    _check_labels(labels, n_classes, data_labels)
    return LabelledSample(
        description=msg("{name} with {labels}: {n:,} images", name=data.name,
                        labels=data_labels.name, n=len(images)),
        labels=_frozen(labels), class_names=class_names,
        sources=tuple(f"{data.name}[{i}]" for i in range(len(images))), input_shape=input_shape,
        scale=scale, batch_size=batch_size, read_image=lambda i: images[i])


def _npy_images(path: Path) -> np.ndarray:
    """The images of an .npy, memory-mapped after its header passed every check."""
    shape, _ = npy_header(path)
    if len(shape) not in (2, 3, 4):
        raise ReportInputError(msg("{path}: an array of shape {shape} is not N images (NxHxW or "
                                   "NxHxWxC)", path=path, shape=str(shape)))
    if shape[0] == 0:
        raise ReportInputError(msg("{path}: holds no images", path=path))
    if shape[0] > MAX_SAMPLE_IMAGES:
        raise ReportInputError(msg("{path}: {n:,} images, more than the {limit:,} a report "
                                   "evaluates", path=path, n=shape[0], limit=MAX_SAMPLE_IMAGES))
    if int(np.prod(shape[1:], dtype=object)) > MAX_IMAGE_VALUES:
        raise ReportInputError(msg("{path}: images of shape {shape} exceed the cap of "
                                   "{limit:,} values per image", path=path,
                                   shape=str(shape[1:]), limit=MAX_IMAGE_VALUES))
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ReportInputError(msg("{path}: not a readable .npy array: {error}", path=path,
                                   error=one_line(exc))) from exc


def _npy_labels(path: Path, n_images: int, data: Path) -> np.ndarray:
    """One integer label per image, shape (N,) or (N, 1) as Keras datasets store them."""
    require_regular_file(path, msg("labels .npy"))
    shape, dtype = npy_header(path)
    if dtype.kind not in "biu":
        raise ReportInputError(msg("{path}: labels must be integers, not {dtype}", path=path,
                                   dtype=dtype))
    if len(shape) not in (1, 2) or shape[1:] not in ((), (1,)):
        raise ReportInputError(msg("{path}: labels must be one integer per image (shape (N,)), "
                                   "not shape {shape}", path=path, shape=str(shape)))
    if shape[0] != n_images:
        raise ReportInputError(msg("{path}: {n:,} labels for the {n_images:,} images of {name}",
                                   path=path, n=shape[0], n_images=n_images, name=data.name))
    try:
        return np.load(path, allow_pickle=False).reshape(-1).astype(np.int64)
    except (OSError, ValueError) as exc:
        raise ReportInputError(msg("{path}: not a readable .npy array: {error}", path=path,
                                   error=one_line(exc))) from exc


def _folder_sample(folder: Path, class_names: tuple[str, ...],
                   n_classes: int) -> tuple[list[Path], list[int], tuple[str, ...]]:
    """Image files, labels and class names of a folder with one sub-folder per class.

    The layout keras.utils.image_dataset_from_directory reads: class names are the sorted
    sub-folder names (hidden ones skipped), files are found recursively in sorted order.
    """
    folders = _class_folders(folder)
    names = class_names or tuple(folders)
    if not class_names and len(folders) != n_classes:
        # Sorted folder names stand for class indices only when every class has a folder.
        raise ReportInputError(nmsg("{path}: {n} class folder but the model has {n_classes} "
                                    "classes; give the class names (--labels)",
                                    "{path}: {n} class folders but the model has {n_classes} "
                                    "classes; give the class names (--labels)", len(folders),
                                    path=folder, n_classes=n_classes))
    unknown = [name for name in folders if name not in names]
    if unknown:
        raise ReportInputError(msg("{path}: the folder is not one of the {n} class names",
                                   path=folder / unknown[0], n=len(names)))
    files: list[Path] = []
    labels: list[int] = []
    for name in sorted(folders, key=names.index):
        found = _image_files(folder / name)
        if not found:
            raise ReportInputError(msg("{path}: the class folder holds no images (PNG, JPEG, BMP "
                                       "or GIF)", path=folder / name))
        files += found
        labels += [names.index(name)] * len(found)
        _check_count(len(files), folder)
    return files, labels, names


def _class_folders(folder: Path) -> list[str]:
    """The sorted names of a folder's visible sub-folders."""
    try:
        names = sorted(entry.name for entry in os.scandir(folder)
                       if entry.is_dir() and not entry.name.startswith("."))
    except OSError as exc:
        raise ReportInputError(msg("{path}: cannot list the folder: {error}", path=folder,
                                   error=one_line(exc))) from exc
    if not names:
        raise ReportInputError(msg("{path}: no class sub-folders (one folder per class is read)",
                                   path=folder))
    return names


def _image_files(folder: Path) -> list[Path]:
    """Image files under a folder, in Keras's order (sorted folders, then sorted names)."""
    found = []
    for root, _, names in sorted(os.walk(folder, onerror=_refuse_listing), key=lambda e: e[0]):
        for name in sorted(names):
            if name.lower().endswith(IMAGE_SUFFIXES):
                found.append(Path(root, name))
                require_regular_file(found[-1], msg("sample image"))
    return found


def _refuse_listing(exc: OSError) -> None:
    """os.walk skips unreadable folders silently; a sample must not lose images unsaid."""
    raise ReportInputError(msg("{path}: cannot list the folder: {error}",
                               path=exc.filename, error=one_line(exc)))


def _csv_sample(path: Path, class_names: tuple[str, ...], n_classes: int
                ) -> tuple[list[Path], list[int], tuple[str, ...], tuple[str, ...]]:
    """Image files, labels, class names and the paths as written, from a CSV of path,label."""
    rows = _csv_rows(path)
    names = class_names
    if not names and not all(_INTEGER.fullmatch(cell) for _, _, cell in rows):
        # Named labels without --labels: sorted names, the rule of the class folders.
        names = tuple(sorted({cell for _, _, cell in rows}))
        if len(names) != n_classes:
            raise ReportInputError(msg("{path}: {n} class names in the labels but the model has "
                                       "{n_classes} classes; give the class names (--labels)",
                                       path=path, n=len(names), n_classes=n_classes))
    index = {name: k for k, name in enumerate(names)}
    labels = []
    for line, _, cell in rows:
        if cell not in index and not _INTEGER.fullmatch(cell):
            raise ReportInputError(msg("{path}: line {line}: unknown label {cell!r}", path=path,
                                       line=line, cell=cell))
        labels.append(index[cell] if cell in index else int(cell))
    files = [_resolved(cell, path.parent) for _, cell, _ in rows]
    for file in files:
        require_regular_file(file, msg("sample image"))
    return files, labels, names, tuple(cell for _, cell, _ in rows)


def _csv_rows(path: Path) -> list[tuple[int, str, str]]:
    """(line number, path, label) of every row; a first row naming no image is a header."""
    if path.stat().st_size > MAX_CSV_BYTES:
        raise ReportInputError(msg("{path}: larger than the {limit} MiB a sample list may have",
                                   path=path, limit=MAX_CSV_BYTES // 2**20))
    try:
        reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""))
        rows = [(reader.line_num, [cell.strip() for cell in row]) for row in reader if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ReportInputError(msg("{path}: not a readable CSV file: {error}", path=path,
                                   error=one_line(exc))) from exc
    if rows and len(rows[0][1]) == 2 and not rows[0][1][0].lower().endswith(IMAGE_SUFFIXES):
        rows = rows[1:]
    if not rows:
        raise ReportInputError(msg("{path}: lists no images", path=path))
    _check_count(len(rows), path)
    for line, cells in rows:
        if len(cells) != 2 or not cells[0].lower().endswith(IMAGE_SUFFIXES):
            raise ReportInputError(msg("{path}: line {line}: expected 'image path,label' with a "
                                       "PNG, JPEG, BMP or GIF image", path=path, line=line))
    return [(line, cells[0], cells[1]) for line, cells in rows]


def _resolved(cell: str, folder: Path) -> Path:
    """A path from a CSV: relative ones are relative to the CSV's folder."""
    path = Path(cell)
    return path if path.is_absolute() else folder / path


def _decoded(path: Path) -> np.ndarray:
    """An image file as an HxW or HxWxC uint8 array, checked again as it is read."""
    require_regular_file(path, msg("sample image"))
    return read_image(path)


def _check_labels(labels: list[int] | np.ndarray, n_classes: int, source: Path) -> None:
    """Every label must be a class index of the model."""
    values = np.asarray(labels, dtype=np.int64)
    bad = np.flatnonzero((values < 0) | (values >= n_classes))
    if bad.size:
        raise ReportInputError(msg("{path}: label {label} of image {index} is outside 0..{last} "
                                   "(the model has {n_classes} classes)", path=source,
                                   label=values[bad[0]], index=bad[0], last=n_classes - 1,
                                   n_classes=n_classes))


def _check_count(n_images: int, source: Path) -> None:
    """Refuse a sample above the image cap while it is being listed."""
    if n_images > MAX_SAMPLE_IMAGES:
        raise ReportInputError(msg("{path}: more than the {limit:,} images a report evaluates",
                                   path=source, limit=MAX_SAMPLE_IMAGES))


def _frozen(labels: list[int] | np.ndarray) -> np.ndarray:
    """Labels as a read-only int64 array, so a sample cannot change after it is read."""
    array = np.array(labels, dtype=np.int64)
    array.flags.writeable = False
    return array

