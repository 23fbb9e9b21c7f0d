"""Sample inputs for the forward pass: image and .npy files, or a synthetic test pattern."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reportgen.errors import InputMismatch, ReportInputError, one_line
from reportgen.i18n import N_, msg
from reportgen.load.guards import require_regular_file
from reportgen.load.model_file import MAX_INPUT_VALUES

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
DEFAULT_SIDE = 64
SYNTHETIC_NAME = msg("synthetic test pattern")
# Caps on what one input file may make reportgen read: far above any real sample.
MAX_IMAGE_PIXELS = 40_000_000
MAX_NPY_BYTES = 2 << 30
# A vocabulary of 500,000 tokens of 30 bytes.
MAX_VOCABULARY_BYTES = 16 * 2**20
MAX_LABELS_BYTES = 4 << 20


@dataclass(frozen=True)
class SampleInput:
    """One input ready for the model: `array` has the model's input shape, no batch axis."""

    name: str
    source: str
    array: np.ndarray


def load_inputs(paths: list[Path], input_shape: tuple, scale: str,
                token_limit: int | None = None) -> list[SampleInput]:
    """Read every input file and convert it to the model's input shape."""
    check_input_size(input_shape)
    samples: list[SampleInput] = []
    for path in paths:
        for k, raw in enumerate(_read_arrays(path, input_shape)):
            name = path.name if k == 0 else f"{path.name}[{k}]"
            if token_limit is not None:
                array = token_ids(raw, input_shape, token_limit, path)
            else:
                array = conform(scaled(raw, scale), input_shape, path)
            samples.append(SampleInput(name=name, source=str(path), array=array))
    return samples


def _read_arrays(path: Path, input_shape: tuple) -> list[np.ndarray]:
    """The samples in one file: one for a picture, one or more for a .npy array."""
    require_regular_file(path, msg("input file"))
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _split_batch(read_npy(path), input_shape, path)
    if suffix in IMAGE_SUFFIXES:
        return [read_image(path)]
    raise ReportInputError(msg("{path}: unsupported input type (use PNG, JPEG or .npy)",
                               path=path))


def npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype a .npy file declares, checked against its size before any read."""
    try:
        with path.open("rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(msg("unsupported .npy version {version}", version=version))
            shape, _, dtype = read_header(handle, max_header_size=10_000)
            data_start = handle.tell()
    except (OSError, ValueError, EOFError, SyntaxError) as exc:
        raise ReportInputError(msg("{path}: not a readable .npy array: {error}", path=path,
                                   error=one_line(exc))) from None
    require_numbers(dtype, path)
    declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if declared > MAX_NPY_BYTES:
        raise ReportInputError(msg("{path}: declares {declared:,} bytes of data, more than the "
                                   "{limit:,} reportgen reads", path=path,
                                   declared=declared, limit=MAX_NPY_BYTES))
    if declared > path.stat().st_size - data_start:
        raise ReportInputError(msg("{path}: declares {declared:,} bytes of data but the file "
                                   "holds {size:,}", path=path, declared=declared,
                                   size=path.stat().st_size - data_start))
    return tuple(shape), dtype


def read_npy(path: Path) -> np.ndarray:
    """A numeric .npy array (never pickled objects), memory-mapped after its header is checked."""
    shape, dtype = npy_header(path)
    require_values(shape, dtype, path)
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ReportInputError(msg("{path}: not a readable .npy array: {error}", path=path,
                                   error=one_line(exc))) from exc


def require_numbers(dtype: np.dtype, where: Path | str) -> None:
    """Refuse an array that does not hold numbers (strings, objects: never unpickled)."""
    if dtype.kind not in "biuf" or dtype.hasobject:
        raise ReportInputError(msg("{path}: an array of {dtype} is no input (numbers only)",
                                   path=where, dtype=dtype))


def require_values(shape: tuple, dtype: np.dtype, where: Path | str) -> None:
    """Refuse a scalar or an empty array: neither is a sample."""
    if not shape or 0 in shape:
        raise ReportInputError(msg("{path}: an array of {dtype} {shape} is no input", path=where,
                                   dtype=dtype, shape=shape))


def _split_batch(array: np.ndarray, input_shape: tuple, path: Path) -> list[np.ndarray]:
    """One sample, or a batch of them on the first axis: an array of the input's rank is one
    sample, one of its rank + 1 a batch. Images are also HxW, and a 3-D array that does not
    fit the input's shape and whose last axis is no channel count (1, 3, 4) is N stacked HxW."""
    rank = len(input_shape)
    if rank == 3:
        if array.ndim == 4 or (array.ndim == 3 and not _fits(array.shape, input_shape)
                               and array.shape[-1] not in (1, 3, 4)):
            return list(array)
        if array.ndim in (2, 3):
            return [array]
        raise ReportInputError(msg("{path}: an array of shape {shape} is not HxW, HxWxC or NxHxWxC",
                                   path=path, shape=str(array.shape)))
    if array.ndim not in (rank, rank + 1):
        raise InputMismatch(msg("{path}: an array of shape {shape} does not fit the model's "
                                   "input shape {input_shape}", path=path, shape=str(array.shape),
                                   input_shape=input_shape))
    return list(array) if array.ndim == rank + 1 else [array]


def token_ids(raw: np.ndarray, input_shape: tuple, token_limit: int, path: Path) -> np.ndarray:
    """Integer token ids for an Embedding model, checked against its vocabulary."""
    if raw.dtype.kind not in "iub":
        raise InputMismatch(msg("{path}: this model reads token ids; give an .npy of integers",
                                   path=path))
    ids = raw.reshape(-1) if raw.ndim > 1 else raw
    length = input_shape[0] if input_shape and input_shape[0] is not None else len(ids)
    if len(ids) != length:
        raise InputMismatch(msg("{path}: {n} token ids, the model reads {length}", path=path,
                                   n=len(ids), length=length))
    if ids.min() < 0 or ids.max() >= token_limit:
        raise InputMismatch(msg("{path}: token ids must lie in 0..{last}", path=path,
                                   last=token_limit - 1))
    return ids.astype(np.int32)


def read_image(path: Path) -> np.ndarray:
    """A picture file as an HxWxC uint8 array; its pixel count is checked from the header
    before anything is decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise ReportInputError(msg("{path}: a {width}x{height} image has more than the "
                                           "{limit:,} pixels reportgen reads",
                                           path=path, width=width, height=height,
                                           limit=MAX_IMAGE_PIXELS))
            image.load()
            mode = "L" if image.mode in ("1", "L", "I", "I;16", "F") else "RGB"
            return np.asarray(image.convert(mode))
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError,
            SyntaxError, EOFError) as exc:
        raise ReportInputError(msg("{path}: not a readable image: {error}", path=path,
                                   error=one_line(exc))) from exc


def scaled(raw: np.ndarray, scale: str) -> np.ndarray:
    """Values scaled as the model expects: integers / 255 by default, like the textbook."""
    values = raw.astype(np.float32)
    if scale == "auto":
        return values / 255.0 if raw.dtype.kind in "biu" else values
    return values / float(scale)


def conform(image: np.ndarray, input_shape: tuple, path: Path | str) -> np.ndarray:
    """Resize and convert an HxW or HxWxC image to the model's input shape.

    An array that already has the model's input shape (a sequence, say) is used as it is.
    """
    if _fits(image.shape, input_shape):
        return image.astype(np.float32)
    if image.ndim == 2:
        image = image[:, :, None]
    if len(input_shape) == 1 and input_shape[0] is not None:
        side = int(round(np.sqrt(input_shape[0])))
        if side * side != input_shape[0]:
            raise InputMismatch(msg("{path}: cannot map an image onto input shape {input_shape}",
                                       path=path, input_shape=input_shape))
        return _resized(_channels(image, 1), side, side).reshape(input_shape)
    if len(input_shape) != 3:
        raise InputMismatch(msg("{path}: the model's input shape {input_shape} is not an image",
                                   path=path, input_shape=input_shape))
    height, width, n_channels = input_shape
    image = _channels(image, n_channels or image.shape[-1])
    return _resized(image, height or image.shape[0], width or image.shape[1])


def _fits(shape: tuple, input_shape: tuple) -> bool:
    """Whether an array shape matches an input shape, None matching any size."""
    return len(shape) == len(input_shape) and all(
        want is None or have == want for have, want in zip(shape, input_shape))


def _channels(image: np.ndarray, n_channels: int) -> np.ndarray:
    """Grayscale or colour as the model wants: average to one channel or repeat to three."""
    have = image.shape[-1]
    if have == n_channels:
        return image
    if n_channels == 1:
        return image[:, :, :3].mean(axis=2, keepdims=True)
    if have == 1:
        return np.repeat(image, n_channels, axis=2)
    if have == 4 and n_channels == 3:
        return image[:, :, :3]
    raise InputMismatch(msg("cannot convert {have} channels to the model's {n_channels}",
                               have=have, n_channels=n_channels))


def _resized(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of float HxWxC (Pillow, per channel), unchanged when already that size."""
    if image.shape[:2] == (height, width):
        return image.astype(np.float32)
    from PIL import Image

    planes = [np.asarray(Image.fromarray(image[:, :, c].astype(np.float32), mode="F")
                         .resize((width, height), Image.BILINEAR))
              for c in range(image.shape[2])]
    return np.stack(planes, axis=2).astype(np.float32)


def check_input_size(input_shape: tuple) -> None:
    """Refuse an input shape too large to make or run (a corrupt or hostile config)."""
    probe = [d if d is not None else DEFAULT_SIDE for d in input_shape]
    if any(d < 0 for d in probe) or float(np.prod(probe, dtype=np.float64)) > MAX_INPUT_VALUES:
        raise ReportInputError(msg("the model's input shape {input_shape} is too large to run",
                                   input_shape=input_shape))


def synthetic_input(input_shape: tuple, token_limit: int | None = None) -> SampleInput:
    """A deterministic test input of the model's input shape.

    Images get stripes, a ring, an edge and a gradient; token models a fixed spread of
    valid ids; other inputs smooth waves of several frequencies.
    """
    check_input_size(input_shape)
    probe = tuple(d if d is not None else DEFAULT_SIDE for d in input_shape)
    if token_limit is not None:
        length = probe[0] if probe else DEFAULT_SIDE
        array = ((np.arange(length) * 7919 + 11) % token_limit).astype(np.int32)
    elif len(probe) == 3:
        array = conform(pattern_image(probe[0], probe[1]), probe, SYNTHETIC_NAME)
    elif len(probe) == 1 and round(np.sqrt(probe[0])) ** 2 == probe[0]:
        side = int(round(np.sqrt(probe[0])))
        array = pattern_image(side, side).reshape(probe)
    else:
        array = waves(probe)
    return SampleInput(name=SYNTHETIC_NAME, source=msg("generated by reportgen"), array=array)


def waves(shape: tuple) -> np.ndarray:
    """Sine waves along the first axis, a different frequency for each feature."""
    steps = np.linspace(0.0, 1.0, shape[0], dtype=np.float32)[:, None]
    n_features = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    freqs = np.arange(1, n_features + 1, dtype=np.float32)[None, :]
    return np.sin(2 * np.pi * steps * freqs).reshape(shape).astype(np.float32)


def pattern_image(height: int, width: int) -> np.ndarray:
    """An HxW float image with four quadrants: stripes, a ring, a diagonal edge, a gradient."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    y, x = y / max(height - 1, 1), x / max(width - 1, 1)
    top, left = y < 0.5, x < 0.5
    stripes = (np.sin(2 * np.pi * 4 * x) > 0).astype(np.float32)
    radius = np.hypot(x - 0.75, y - 0.25)
    ring = ((radius > 0.12) & (radius < 0.2)).astype(np.float32)
    diagonal = (x - 0.5 > 0.5 - (y - 0.5)).astype(np.float32)
    gradient = (x - 0.5) * 2
    return np.where(top & left, stripes,
                    np.where(top, ring, np.where(left, diagonal, gradient))).astype(np.float32)


def read_labels(path: Path | None) -> list[str]:
    """Class names from a text file, one a line; empty list when no file is given."""
    if path is None:
        return []
    text = _small_text(path, msg("labels file"), MAX_LABELS_BYTES,
                       msg("{path}: a labels file larger than {limit:,} bytes is not a list of "
                           "class names", path=path, limit=MAX_LABELS_BYTES),
                       N_("{path}: cannot read labels: {error}"))
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_vocabulary(path: Path | None) -> list[str]:
    """Tokens from a text file, line k is token id k (an empty line stays: it holds an id)."""
    if path is None:
        return []
    text = _small_text(path, msg("vocabulary file"), MAX_VOCABULARY_BYTES,
                       msg("{path}: a vocabulary file larger than {limit:,} bytes is not a "
                           "list of tokens", path=path, limit=MAX_VOCABULARY_BYTES),
                       N_("{path}: cannot read the vocabulary: {error}"))
    return [line.rstrip("\r") for line in text.split("\n")]


def _small_text(path: Path, what: str, limit: int, too_large: str, unreadable: str) -> str:
    """A text file of at most `limit` bytes, read as UTF-8 (one-line errors otherwise)."""
    require_regular_file(path, what)
    if path.stat().st_size > limit:
        raise ReportInputError(too_large)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportInputError(msg(unreadable, path=path, error=one_line(exc))) from exc
