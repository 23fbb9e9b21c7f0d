"""Keras 3's sharded weights: `model.save_weights("m.weights.json", max_shard_size=...)` writes
a JSON index and numbered HDF5 shards beside it (`m_00000.weights.h5`, `m_00001...`).

The index (keras/src/saving/saving_lib.py, ShardedH5IOStore) is
`{"metadata": {"total_size": ...}, "weight_map": {"/layers/dense/vars": [shard names]}}`:
each object's `vars` group and the shards that hold its variables. Keras fills one shard,
then opens the next, so a group can be split over consecutive shards; each shard keeps the
object-path layout of a single `.weights.h5`. The set therefore reads as one such file whose
groups are spread over several (weights_file.py merges them).

Everything in the index is untrusted. A shard must be a plain file name in the index's own
folder (no path, no symlink leading out of it), an HDF5 file that passes the checks a model
file passes, and must hold the groups the index places in it; the index must be a small JSON
object of the shape above.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import msg
from reportgen.load.guards import HDF5_SIGNATURE, READ_ERRORS, require_regular_file
from reportgen.load.hdf5_source import inspect_hdf5

# Keras numbers shards with at least five digits after the index's base name.
SHARD_NAME = re.compile(r"(?P<base>.+)_\d{5,}\.weights\.h5", re.DOTALL)
# A real index lists one line per variable group: a model with a million groups stays far
# below this, and json never has to hold more than this in memory.
MAX_INDEX_BYTES = 16 << 20
# Every shard stays open while the report is built, a file descriptor each; at Keras's
# default 5 GB a shard, this many hold 5 TB of weights.
MAX_SHARDS = 1000
JSON_START = (b"{", b"[", b"\xef\xbb\xbf")


@dataclass(frozen=True)
class ShardSet:
    """A checked sharded save: its index and its shards, in the order Keras numbered them."""

    index: Path
    shards: tuple[Path, ...]


def looks_like_json(head: bytes) -> bool:
    """Whether a file's first bytes open a JSON document (an index, say)."""
    return head.lstrip(b" \t\r\n").startswith(JSON_START)


def read_index(path: Path) -> ShardSet:
    """The set a `.weights.json` index names, every shard checked; ReportInputError otherwise."""
    weight_map = parsed_index(path)
    placed: dict[str, list[str]] = {}
    for group, names in weight_map.items():
        for name in names:
            placed.setdefault(name, []).append(group)
    if not placed:
        raise ReportInputError(msg("{path}: the sharded weights index names no shard",
                                   path=path))
    if len(placed) > MAX_SHARDS:
        raise ReportInputError(msg("{path}: the index names {n:,} shards, more than the "
                                   "{limit:,} reportgen opens at once", path=path,
                                   n=len(placed), limit=MAX_SHARDS))
    shards = []
    for name in sorted(placed):
        shard = shard_path(path, name)
        check_shard(shard, path, placed[name])
        shards.append(shard)
    return ShardSet(path, tuple(shards))


def parsed_index(path: Path) -> dict[str, tuple[str, ...]]:
    """The weight map of an index file (group -> shard names), refused unless it is small,
    valid JSON, and of the shape Keras writes."""
    if path.stat().st_size > MAX_INDEX_BYTES:
        raise ReportInputError(msg("{path}: larger than {limit:,} bytes: not a sharded "
                                   "weights index", path=path, limit=MAX_INDEX_BYTES))
    try:
        with path.open("rb") as handle:
            data = json.loads(handle.read(MAX_INDEX_BYTES + 1).decode("utf-8-sig"))
    except OSError as exc:
        raise ReportInputError(msg("{path}: cannot read: {strerror}", path=path,
                                   strerror=exc.strerror)) from None
    except (ValueError, RecursionError) as exc:
        # RecursionError: JSON nested deeper than the parser's stack.
        raise ReportInputError(msg("{path}: not a Keras model file, and not a sharded weights "
                                   "index either: {error}", path=path,
                                   error=one_line(exc))) from None
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict):
        raise ReportInputError(msg("{path}: a JSON file without a weight_map: not a Keras "
                                   "sharded weights index (an architecture goes to "
                                   "--architecture)", path=path))
    return {group: shard_names(path, group, names) for group, names in weight_map.items()}


def shard_names(path: Path, group: str, names) -> tuple[str, ...]:
    """The shard names an index gives a group: one name, or a list of them."""
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, list) or not names or \
            not all(isinstance(name, str) for name in names):
        raise ReportInputError(msg("{path}: the weight map gives {group!r} no shard file "
                                   "names", path=path, group=group))
    return tuple(names)


def shard_path(index: Path, name: str) -> Path:
    """Where a shard the index names is: a plain file in the index's own folder, or refused."""
    # Printable too: a name that moves the terminal is no name Keras wrote.
    plain = name not in ("", ".", "..") and not any(c in name for c in "/\\") and \
        name.isprintable() and len(name) <= 255
    folder = index.parent
    shard = folder / name
    if plain:
        require_regular_file(shard, msg("weights shard (named by {index})", index=index.name))
    if not plain or shard.resolve().parent != folder.resolve():
        raise ReportInputError(msg("{path}: names the shard {name!r}, which is not a file in "
                                   "the index's own folder: refusing to read outside it",
                                   path=index, name=name))
    return shard


def check_shard(shard: Path, index: Path, groups: list[str]) -> None:
    """Refuse a shard that is not HDF5, fails a model file's checks, or lacks a group the
    index places in it (a shard from another save)."""
    import h5py

    with shard.open("rb") as handle:
        if not handle.read(8).startswith(HDF5_SIGNATURE):
            raise ReportInputError(msg("{path}: the shard {name} is not an HDF5 file",
                                       path=index, name=shard.name))
    inspect_hdf5(shard, "HDF5", READ_ERRORS)
    try:
        with h5py.File(shard, "r") as opened:
            missing = next((group for group in groups if not _holds(opened, group)), None)
    except READ_ERRORS as exc:
        raise ReportInputError(msg("{path}: cannot read the shard {name}: {error}", path=index,
                                   name=shard.name, error=one_line(exc))) from None
    if missing is not None:
        raise ReportInputError(msg("{path}: the index places {group!r} in {name}, which does "
                                   "not hold it", path=index, group=missing, name=shard.name))


def _holds(opened, group: str) -> bool:
    """Whether an open shard has the group an index names (looked up, never followed out:
    inspect_hdf5 has refused external links)."""
    try:
        return group.strip("/") != "" and group in opened
    except READ_ERRORS:
        return False


def index_of_shard(path: Path) -> Path | None:
    """The index a shard belongs to: named after it, beside it, and naming it; else None."""
    for candidate in indexes_beside(path):
        if path.name in shards_named(candidate):
            return candidate
    return None


def indexes_beside(path: Path) -> list[Path]:
    """The existing files that would be the index of a file named like a shard.

    Keras names the shards of `m.weights.json` `m_00000.weights.h5`, ...; an index named
    without `.weights` (`mweights.json`) keeps its whole stem.
    """
    found = SHARD_NAME.fullmatch(path.name)
    if found is None:
        return []
    base = found.group("base")
    return [candidate for candidate in (path.with_name(f"{base}.weights.json"),
                                        path.with_name(f"{base}.json")) if candidate.is_file()]


def shards_named(index: Path) -> set[str]:
    """The shard names an index gives (refused as read_index refuses a hostile index)."""
    return {name for names in parsed_index(index).values() for name in names}


def is_shard_name(path: Path) -> bool:
    """Whether a file is named like a shard of a sharded save."""
    return SHARD_NAME.fullmatch(path.name) is not None
