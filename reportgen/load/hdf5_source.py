"""Where a model's HDF5 data is, opened safely: the file itself, a stored `.keras` member read
in place, or a compressed member extracted no further than its own header declares.

`inspect_hdf5` runs before Keras or the weights reader sees a file: it refuses links and
datasets that point outside the file, tensors larger than the file can hold, and archive
members that expand beyond what they declare (a decompression bomb).
"""

from __future__ import annotations

import contextlib
import io
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import msg
from reportgen.load.guards import EOF_SLACK, expansion_limit, hdf5_declared_size, hdf5_hazard

WEIGHTS_MEMBER = "model.weights.h5"
HEAD_BYTES = 64
COPY_CHUNK = 1 << 20


def is_hdf5_format(file_format: str) -> bool:
    """Whether a detected format is a plain HDF5 file (not a .keras zip)."""
    return file_format.startswith("HDF5")


def hdf5_source(path: Path, file_format: str, stack: contextlib.ExitStack):
    """What h5py should open, valid until `stack` closes; ValueError when there is none."""
    if is_hdf5_format(file_format):
        return str(path)
    archive = stack.enter_context(zipfile.ZipFile(path))
    try:
        info = archive.getinfo(WEIGHTS_MEMBER)
    except KeyError:
        raise ValueError(msg("there is no {member} in the archive",
                             member=WEIGHTS_MEMBER)) from None
    check_member(info, path)
    if info.compress_type == zipfile.ZIP_STORED:
        raw = stack.enter_context(path.open("rb"))
        return MemberFile(raw, _data_offset(raw, info), info.file_size)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="reportgen-")))
    return str(extract_member(archive, info, folder / WEIGHTS_MEMBER, path))


def check_member(info: zipfile.ZipInfo, path: Path) -> None:
    """Refuse a member that declares more than its archive could reasonably expand to."""
    size = path.stat().st_size
    if info.file_size > expansion_limit(size):
        raise ReportInputError(msg("{path}: {filename} declares {file_size:,} bytes in a "
                                   "{size:,}-byte archive: refusing a possible decompression bomb",
                                   path=path, filename=info.filename, file_size=info.file_size,
                                   size=size))


def extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path,
                   path: Path) -> Path:
    """Copy a compressed HDF5 member to disk, stopping at the end its own header declares."""
    with archive.open(info) as member, target.open("wb") as out:
        head = member.read(HEAD_BYTES)
        declared = member_declared_size(info, head, path)
        out.write(head)
        remaining = declared - len(head)
        while remaining > 0:
            chunk = member.read(min(COPY_CHUNK, remaining))
            if not chunk:
                break
            out.write(chunk)
            remaining -= len(chunk)
    return target


def member_declared_size(info: zipfile.ZipInfo, head: bytes, path: Path) -> int:
    """The HDF5 size a member's superblock declares, checked against the member's own size."""
    declared = hdf5_declared_size(head)
    if declared is None:
        raise ValueError(msg("{filename} in the archive is not an HDF5 file",
                             filename=info.filename))
    if info.file_size > declared + EOF_SLACK:
        raise ReportInputError(msg("{path}: {filename} holds {file_size:,} bytes but its HDF5 "
                                   "header declares {declared:,}: refusing a possible "
                                   "decompression bomb", path=path, filename=info.filename,
                                   file_size=info.file_size, declared=declared))
    return min(declared, info.file_size)


def _data_offset(raw, info: zipfile.ZipInfo) -> int:
    """Where a stored zip member's bytes start: after its local header."""
    raw.seek(info.header_offset)
    header = raw.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise ValueError(msg("corrupt zip member header"))
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_length + extra_length


class MemberFile(io.RawIOBase):
    """A read-only window onto part of a file: a stored zip member, readable in place."""

    def __init__(self, raw, start: int, size: int):
        super().__init__()
        self.raw, self.start, self.size, self.position = raw, start, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer) -> int:
        wanted = min(len(buffer), max(0, self.size - self.position))
        self.raw.seek(self.start + self.position)
        data = self.raw.read(wanted)
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def inspect_hdf5(path: Path, file_format: str, read_errors: tuple) -> None:
    """Refuse (ReportInputError) a file whose HDF5 data points outside it or cannot fit in it.

    A file h5py cannot open at all passes: the loaders say so in their own words.
    """
    import h5py

    with contextlib.ExitStack() as stack:
        try:
            source = hdf5_source(path, file_format, stack)
        except read_errors:
            return
        try:
            handle = stack.enter_context(h5py.File(source, "r"))
        except read_errors:
            return
        try:
            problem = hdf5_hazard(handle) or oversized_tensor(handle, path.stat().st_size)
        except read_errors as exc:
            problem = msg("unreadable HDF5 structure: {error}", error=one_line(exc))
    if problem:
        raise ReportInputError(msg("{path}: {problem}", path=path, problem=problem))


def is_tensor(obj) -> bool:
    """Whether an HDF5 object is a numeric array (a weight), not a group or text."""
    return hasattr(obj, "shape") and hasattr(obj, "dtype") and obj.dtype.kind in "biuf"


def oversized_tensor(handle, file_size: int) -> str | None:
    """A tensor whose declared size the file cannot hold (a forged shape), if any."""
    import h5py

    limit = expansion_limit(file_size)
    found: list[str] = []

    def visit(name, obj):
        if found or not isinstance(obj, h5py.Dataset):
            return
        try:
            declared = int(np.prod(obj.shape, dtype=np.float64) * obj.dtype.itemsize)
        except Exception:  # noqa: BLE001 - h5py turns errors in callbacks into SystemError
            return
        if declared > limit:
            found.append(msg("tensor {name} declares {declared:,} bytes, more than the "
                             "{size:,}-byte file can hold", name=name, declared=declared,
                             size=file_size))

    handle.visititems(visit)
    return found[0] if found else None

