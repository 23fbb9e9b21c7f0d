"""Checks on untrusted files before anything reads them.

A model file, a sample, a labels file: each comes from someone else. These checks make sure
reading one never opens another file on this machine, never blocks on a pipe or a device,
and never reads or writes more than the file's own headers declare.
"""

from __future__ import annotations

import stat
import struct
import zipfile
import zlib
from pathlib import Path

from reportgen.errors import ReportInputError
from reportgen.i18n import msg

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# What reading a damaged zip or HDF5 file can raise, besides OSError (h5py reports some
# damage met inside its own callbacks as SystemError).
READ_ERRORS = (OSError, EOFError, KeyError, ValueError, TypeError, RuntimeError,
               NotImplementedError, SystemError, zipfile.BadZipFile, zlib.error, struct.error)
# A compressed archive member may expand this much beyond the archive (weights are noisy
# floats: real files compress by a few per cent; the allowance covers sparse ones).
MAX_EXPANSION = 64
EXPANSION_ALLOWANCE = 1 << 20
# HDF5 writers leave a little unaccounted space past the declared end of file.
EOF_SLACK = 1 << 16


def require_regular_file(path: Path, role: str) -> None:
    """Refuse anything but an existing regular file (a FIFO would block, /dev/zero never ends)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ReportInputError(msg("{path}: no such {role}", path=path, role=role)) from None
    except OSError as exc:
        raise ReportInputError(msg("{path}: cannot read the {role}: {strerror}", path=path,
                                   role=role, strerror=exc.strerror)) from None
    if stat.S_ISDIR(mode):
        raise ReportInputError(msg("{path}: is a directory; the {role} must be a file", path=path,
                                   role=role))
    if not stat.S_ISREG(mode):
        raise ReportInputError(msg("{path}: not a regular file (a pipe, socket or device), so it "
                                   "cannot be read as the {role}", path=path, role=role))


def require_directory(path: Path, role: str) -> None:
    """Refuse anything but an existing directory."""
    if not path.is_dir():
        raise ReportInputError(msg("{path}: no such {role} (a directory is expected)", path=path,
                                   role=role))


def expansion_limit(archive_size: int) -> int:
    """The most bytes a member of an archive of this size may declare."""
    return MAX_EXPANSION * archive_size + EXPANSION_ALLOWANCE


def hdf5_declared_size(head: bytes) -> int | None:
    """The end-of-file address an HDF5 superblock declares (the file's own size), if readable.

    Superblock versions 0 and 1 keep it after the base and free-space addresses, versions
    2 and 3 after the base and extension addresses (HDF5 File Format Specification, II.A).
    """
    if not head.startswith(HDF5_SIGNATURE) or len(head) < 16:
        return None
    version = head[8]
    if version in (0, 1):
        offset_size = head[13]
        base_at = 24 if version == 0 else 28
    elif version in (2, 3):
        offset_size = head[9]
        base_at = 12
    else:
        return None
    if offset_size not in (2, 4, 8):
        return None
    code = {2: "<H", 4: "<I", 8: "<Q"}[offset_size]
    end_at = base_at + 2 * offset_size
    if len(head) < end_at + offset_size:
        return None
    base = struct.unpack_from(code, head, base_at)[0]
    end = struct.unpack_from(code, head, end_at)[0]
    return base + end


def hdf5_hazard(handle) -> str | None:
    """The first object that would make reading this HDF5 file open another file, if any.

    External links, virtual datasets and datasets with external storage all name paths on
    the reader's machine: a hostile model could copy a local file into the report.
    Links are listed without being followed.
    """
    import h5py

    found: list[str] = []

    def visit(name, link):
        if found:
            return
        if isinstance(link, h5py.ExternalLink):
            found.append(msg("{name} is an external link to {target!r}", name=name,
                             target=link.filename))
            return
        if not isinstance(link, h5py.HardLink):
            return
        try:
            obj = handle.get(name)
        except Exception:  # noqa: BLE001 - a damaged object no reader can open either
            return
        if isinstance(obj, h5py.Dataset):
            if obj.is_virtual:
                found.append(msg("dataset {name} is virtual (its data lives in other files)",
                                 name=name))
            elif obj.external:
                found.append(msg("dataset {name} keeps its data in an outside file "
                                 "({target!r})", name=name, target=obj.external[0][0]))

    handle.visititems_links(visit)
    return found[0] if found else None
