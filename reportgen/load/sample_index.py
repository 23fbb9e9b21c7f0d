"""A labelled sample listed and checked before any model is loaded: an .npy pair, a folder
with one sub-folder per class, or a CSV of path,label.

Everything that needs no model is checked here, before TensorFlow is imported: the files are
regular and readable, every image's size comes from its header (nothing is decoded), the
class names match --labels, and the sample stays inside itself:

- a folder's images and class folders are read only where they really are inside the folder:
  a link that leads outside it is skipped, counted and named (the report lists them);
- a CSV's paths are read relative to the CSV's folder; one that leads outside it (an
  absolute path, `..`, a link) is skipped the same way, unless --data-root names a folder
  that holds it;
- the sample's images may hold at most MAX_SAMPLE_PIXELS pixels in all (the decoding cost of
  the whole sample, not only of each image).

Class names are matched to --labels ignoring case, spaces and punctuation (a folder cannot be
called `T-shirt/top`: `T-shirt_top` matches it). Without --labels, classes are numbered in the
sorted order of their names, the order keras.utils.image_dataset_from_directory uses.
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import msg, nmsg
from reportgen.load.guards import require_regular_file
from reportgen.load.inputs import MAX_IMAGE_PIXELS, npy_header

# The evaluation keeps every sample's class probabilities; 100,000 images x 1,000 classes
# of float32 is 400 MB, the most a report should hold.
MAX_SAMPLE_IMAGES = 100_000
# Pixels of the whole sample as its headers declare them: about 20 s of decoding here.
MAX_SAMPLE_PIXELS = 1 << 30
# Values of one image in an .npy: the pixel cap of image files, with up to 4 channels.
MAX_IMAGE_VALUES = 4 * MAX_IMAGE_PIXELS
MAX_CSV_BYTES = 64 * 2**20  # 100,000 lines of path,label with long paths
# The files keras.utils.image_dataset_from_directory reads, so both count the same images.
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_INTEGER = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class Skipped:
    """A file or folder of the sample left out, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class SampleIndex:
    """A sample listed: its images (files, or the shape of an .npy), their labels (class
    indices; the sorted order of the names when no --labels gave them), the class names,
    each image's name for captions, what was skipped, and its pixels in all."""

    path: Path
    labels: np.ndarray
    class_names: tuple[str, ...]
    sources: tuple[str, ...]
    files: tuple[Path, ...] = ()
    npy_shape: tuple[int, ...] | None = None
    names_given: bool = False
    skipped: tuple[Skipped, ...] = ()
    n_pixels: int = 0
    labels_path: Path | None = None  # an .npy sample's labels file

    @property
    def n_images(self) -> int:
        return len(self.labels)


def name_key(name: str) -> str:
    """A class name as it is compared: case, spaces and punctuation left out."""
    return "".join(c for c in unicodedata.normalize("NFKC", name).casefold() if c.isalnum())


def index_sample(data: Path, data_labels: Path | None, class_names: tuple[str, ...] = (),
                 root: Path | None = None) -> SampleIndex:
    """List and check a labelled sample (see the module). `class_names` come from --labels;
    `root` (--data-root) is where a CSV's paths may lead."""
    if data.is_dir():
        if data_labels is not None:
            raise ReportInputError(msg("{path}: --data-labels goes with an .npy sample only",
                                       path=data_labels))
        return _checked(_folder_index(data, class_names))
    require_regular_file(data, msg("labelled sample"))
    if data.suffix.lower() == ".npy":
        return _npy_index(data, data_labels, class_names)
    if data.suffix.lower() != ".csv":
        raise ReportInputError(msg("{path}: a labelled sample is an .npy file, a folder or a "
                                   "CSV", path=data))
    if data_labels is not None:
        raise ReportInputError(msg("{path}: --data-labels goes with an .npy sample only",
                                   path=data_labels))
    return _checked(_csv_index(data, class_names, root or data.parent))


def _checked(index: SampleIndex) -> SampleIndex:
    """A folder's or CSV's index with its images' headers read: each readable and within the
    per-image cap, all of them within the sample's pixel cap."""
    if not index.files:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in index.skipped[:3])
        raise ReportInputError(msg("{path}: no image to read{why}", path=index.path,
                                   why=msg(" ({reasons})", reasons=reasons) if reasons else ""))
    total = sum(_image_pixels(path) for path in index.files)
    _check_pixels(total, index.path)
    return SampleIndex(**{**index.__dict__, "n_pixels": total})


def _check_pixels(total: int, source: Path) -> None:
    if total > MAX_SAMPLE_PIXELS:
        raise ReportInputError(msg("{path}: the sample's images hold {n:,} pixels, more than the "
                                   "{limit:,} a report decodes; give fewer or smaller images",
                                   path=source, n=total, limit=MAX_SAMPLE_PIXELS))


def _image_pixels(path: Path) -> int:
    """An image's pixel count from its header (nothing decoded), checked."""
    from PIL import Image, UnidentifiedImageError

    require_regular_file(path, msg("sample image"))
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError,
            SyntaxError, EOFError) as exc:
        raise ReportInputError(msg("{path}: not a readable image: {error}", path=path,
                                   error=one_line(exc))) from exc
    if width * height > MAX_IMAGE_PIXELS or not width * height:
        raise ReportInputError(msg("{path}: a {width}x{height} image is outside the 1 to "
                                   "{limit:,} pixels reportgen reads", path=path, width=width,
                                   height=height, limit=MAX_IMAGE_PIXELS))
    return width * height


def _inside(path: Path, root: Path) -> bool:
    """Whether a path really is inside the root once every link is followed."""
    try:
        return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))
    except (OSError, ValueError):
        return False


def _outside(path: Path, display: str) -> Skipped:
    return Skipped(display, msg("it leads outside the sample's folder ({path})",
                                path=os.path.realpath(path)))


def _folder_index(folder: Path, class_names: tuple[str, ...]) -> SampleIndex:
    """Image files, labels and class names of a folder with one sub-folder per class (the
    layout keras.utils.image_dataset_from_directory reads: sorted folders, files found
    recursively in sorted order)."""
    skipped: list[Skipped] = []
    folders = []
    for name in _class_folders(folder):
        if _inside(folder / name, folder):
            folders.append(name)
        else:
            skipped.append(_outside(folder / name, name))
    names, index = _class_numbers(folders, class_names, folder)
    files: list[Path] = []
    labels: list[int] = []
    for name in sorted(folders, key=lambda f: index[f]):
        found = _image_files(folder / name, folder, skipped)
        if not found:
            raise ReportInputError(msg("{path}: the class folder holds no images (PNG, JPEG, BMP "
                                       "or GIF)", path=folder / name))
        files += found
        labels += [index[name]] * len(found)
        _check_count(len(files), folder)
    return SampleIndex(folder, _frozen(labels), names,
                       tuple(str(path.relative_to(folder)) for path in files), tuple(files),
                       names_given=bool(class_names), skipped=tuple(skipped))


def _class_numbers(found: list[str], class_names: tuple[str, ...],
                   source: Path) -> tuple[tuple[str, ...], dict[str, int]]:
    """The class names and each found name's class index: by --labels (names matched by
    name_key), else the sorted found names."""
    if not class_names:
        names = tuple(sorted(found))
        return names, {name: k for k, name in enumerate(names)}
    keys = {}
    for k, name in enumerate(class_names):
        keys.setdefault(name_key(name), k)
    unknown = [name for name in found if name_key(name) not in keys]
    if unknown:
        raise ReportInputError(msg("{path}: {name!r} is not one of the {n} class names of "
                                   "--labels ({names}); names are matched ignoring case, spaces "
                                   "and punctuation", path=source, name=unknown[0],
                                   n=len(class_names), names=", ".join(class_names[:12])))
    return tuple(class_names), {name: keys[name_key(name)] for name in found}


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


def _image_files(folder: Path, root: Path, skipped: list[Skipped]) -> list[Path]:
    """Image files under a class folder, in Keras's order (sorted folders, then sorted
    names); links that lead outside the sample are skipped (and os.walk does not enter a
    linked folder)."""
    found = []
    for place, _, names in sorted(os.walk(folder, onerror=_refuse_listing), key=lambda e: e[0]):
        for name in sorted(names):
            path = Path(place, name)
            if not name.lower().endswith(IMAGE_SUFFIXES):
                continue
            if _inside(path, root):
                found.append(path)
            else:
                skipped.append(_outside(path, str(path.relative_to(root))))
    return found


def _refuse_listing(exc: OSError) -> None:
    """os.walk skips unreadable folders silently; a sample must not lose images unsaid."""
    raise ReportInputError(msg("{path}: cannot list the folder: {error}",
                               path=exc.filename, error=one_line(exc)))


def _csv_index(path: Path, class_names: tuple[str, ...], root: Path) -> SampleIndex:
    """Image files, labels and class names from a CSV of path,label (a label an integer or a
    class name); rows whose image is outside `root` are skipped and counted."""
    rows = _csv_rows(path)
    named = [cell for _, _, cell in rows if not _INTEGER.fullmatch(cell)]
    names, index = _class_numbers(sorted(set(named)), class_names, path) if named or \
        class_names else ((), {})
    files, labels, sources, skipped = [], [], [], []
    for line, cell, label in rows:
        image = Path(cell) if Path(cell).is_absolute() else path.parent / cell
        if not _inside(image, root):
            skipped.append(Skipped(f"{path.name}:{line}", msg(
                "{image} is outside the sample's folder {root} (give --data-root to allow it)",
                image=cell, root=root)))
            continue
        files.append(image)
        labels.append(index[label] if label in index else _integer_label(label, path, line))
        sources.append(cell)
    return SampleIndex(path, _frozen(labels), names, tuple(sources), tuple(files),
                       names_given=bool(class_names), skipped=tuple(skipped))


def _integer_label(cell: str, path: Path, line: int) -> int:
    """A label given as a class index; refused past what an int64 holds."""
    value = int(cell)
    if not -2**62 < value < 2**62:
        raise ReportInputError(msg("{path}: line {line}: label {cell} is not a class index",
                                   path=path, line=line, cell=cell[:30]))
    return value


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


def _npy_index(data: Path, data_labels: Path | None,
               class_names: tuple[str, ...]) -> SampleIndex:
    """An N-image .npy with an .npy of N integer labels, both checked from their headers."""
    if data_labels is None:
        raise ReportInputError(msg("{path}: an .npy sample needs its labels (--data-labels "
                                   "FILE.npy)", path=data))
    shape = _npy_images_shape(data)
    labels = _npy_labels(data_labels, shape[0], data)
    return SampleIndex(data, _frozen(labels), tuple(class_names),
                       tuple(f"{data.name}[{i}]" for i in range(shape[0])), npy_shape=shape,
                       names_given=bool(class_names),
                       n_pixels=int(np.prod(shape[:3], dtype=np.int64)), labels_path=data_labels)


def _npy_images_shape(path: Path) -> tuple[int, ...]:
    """The shape of an .npy of N images, checked from its header."""
    shape, _ = npy_header(path)
    if len(shape) not in (2, 3, 4):
        raise ReportInputError(msg("{path}: an array of shape {shape} is not N images (NxHxW or "
                                   "NxHxWxC)", path=path, shape=str(shape)))
    if shape[0] == 0 or 0 in shape[1:]:
        raise ReportInputError(msg("{path}: holds no images (shape {shape})", path=path,
                                   shape=str(shape)))
    if shape[0] > MAX_SAMPLE_IMAGES:
        raise ReportInputError(msg("{path}: {n:,} images, more than the {limit:,} a report "
                                   "evaluates", path=path, n=shape[0], limit=MAX_SAMPLE_IMAGES))
    if int(np.prod(shape[1:], dtype=object)) > MAX_IMAGE_VALUES:
        raise ReportInputError(msg("{path}: images of shape {shape} exceed the cap of "
                                   "{limit:,} values per image", path=path,
                                   shape=str(shape[1:]), limit=MAX_IMAGE_VALUES))
    _check_pixels(int(np.prod(shape[:3], dtype=object)), path)
    return tuple(shape)


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


def _check_count(n_images: int, source: Path) -> None:
    """Refuse a sample above the image cap while it is being listed."""
    if n_images > MAX_SAMPLE_IMAGES:
        raise ReportInputError(msg("{path}: more than the {limit:,} images a report evaluates",
                                   path=source, limit=MAX_SAMPLE_IMAGES))


def _frozen(labels) -> np.ndarray:
    """Labels as a read-only int64 array, so a sample cannot change after it is read."""
    array = np.array(labels, dtype=np.int64)
    array.flags.writeable = False
    return array


def skipped_note(index: SampleIndex) -> str | None:
    """The sentence saying what was left out of the sample, or None."""
    if not index.skipped:
        return None
    listed = "; ".join(f"{s.path}: {s.reason}" for s in index.skipped[:5])
    return nmsg("{n} file of the labelled sample was left out: {listed}",
                "{n} files of the labelled sample were left out: {listed}{more}",
                len(index.skipped), listed=listed,
                more=msg(" (and {n} more)", n=len(index.skipped) - 5)
                if len(index.skipped) > 5 else "")
