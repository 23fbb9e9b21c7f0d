"""What can be learnt about a model file without Keras: format, size, hash, saving version."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import N_, msg, nmsg
from reportgen.load.guards import (HDF5_SIGNATURE, READ_ERRORS, expansion_limit,
                                   require_regular_file)
from reportgen.load.hdf5_source import inspect_hdf5
from reportgen.load.sharded import (ShardSet, index_of_shard, is_shard_name, looks_like_json,
                                    read_index)

ZIP_SIGNATURE = b"PK\x03\x04"
LONE_SHARD_NOTE = N_("{name} is named like one shard of a Keras sharded save, but no index "
                     "beside it names it: the report covers this file alone.")


@dataclass(frozen=True)
class ModelFile:
    """A checked model file: where it is and what kind of file it is."""

    path: Path
    format: str
    size: int
    sha256: str
    saved_by_keras_version: str
    in_memory: bool = False  # stands for a model that lives in memory: no file at all
    # A sharded save: `path` is its index, these the HDF5 files that hold its weights.
    shards: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()  # what the report must say about the file given


def check_model_file(path: Path, role: str | None = None) -> ModelFile:
    """Check that `path` is a readable .h5 or .keras file that is safe to open, or raise
    ReportInputError. `role` names the file in messages (default: "model file")."""
    require_regular_file(path, role if role is not None else msg("model file"))
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise ReportInputError(msg("{path}: cannot read: {strerror}", path=path,
                                   strerror=exc.strerror)) from exc
    if not head:
        raise ReportInputError(msg("{path}: the file is empty", path=path))
    if looks_like_json(head):
        return sharded_model_file(read_index(path))
    file_format = _detect_format(path, head)
    notes: tuple[str, ...] = ()
    if file_format.startswith("HDF5") and is_shard_name(path):
        index = index_of_shard(path)
        if index is not None:
            return sharded_model_file(read_index(index), given=path)
        notes = (msg(LONE_SHARD_NOTE, name=path.name),)
    if not file_format.startswith("HDF5"):
        check_archive(path)
    inspect_hdf5(path, file_format, READ_ERRORS)
    return ModelFile(
        path=path,
        format=file_format,
        size=path.stat().st_size,
        sha256=file_sha256(path),
        saved_by_keras_version=_saved_by_version(path, file_format),
        notes=notes,
    )


def sharded_model_file(found: ShardSet, given: Path | None = None) -> ModelFile:
    """A sharded save as one model file: its index, size, and the SHA-256 of the index and
    its shards read one after the other (`cat INDEX SHARDS... | sha256sum`)."""
    files = (found.index, *found.shards)
    n = len(found.shards)
    notes = () if given is None else (
        nmsg("{given} is the one shard of {index}: the report reads it through its index.",
             "{given} is one of the {n} shards of {index}: the report covers all of them, "
             "read through the index.", n, given=given.name, index=found.index.name),)
    return ModelFile(
        path=found.index,
        format=nmsg("Keras 3 sharded weights (a .weights.json index and {n} shard)",
                    "Keras 3 sharded weights (a .weights.json index and {n} shards)", n),
        size=sum(item.stat().st_size for item in files),
        sha256=file_sha256(*files),
        saved_by_keras_version=msg("unknown"),  # neither the index nor a shard records it
        shards=found.shards,
        notes=notes,
    )


# The archive members Keras and reportgen read whole (as JSON text).
TEXT_MEMBERS = ("config.json", "metadata.json")


def check_archive(path: Path) -> None:
    """Refuse a .keras archive that is damaged (cut short, or a member failing its CRC), or
    whose config or metadata would inflate beyond any real model's (a deflated gigabyte of
    JSON in a small file); zipfile never reads a member past the size it declares, so the
    declared size bounds the read."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                _check_text_size(path, info)
            _check_sums(path, archive)
    except READ_ERRORS as exc:
        # A cut-off download or copy loses the archive's table of contents (at its end).
        raise ReportInputError(msg("{path}: a damaged .keras archive (cut short?): {error}",
                                   path=path, error=one_line(exc))) from None


def _check_text_size(path: Path, info: zipfile.ZipInfo) -> None:
    if info.filename in TEXT_MEMBERS and info.file_size > MAX_JSON_BYTES:
        raise ReportInputError(msg("{path}: {member} declares {size:,} bytes, above the "
                                   "{limit:,} of any real model's: refusing a possible "
                                   "decompression bomb", path=path, member=info.filename,
                                   size=info.file_size, limit=MAX_JSON_BYTES))


def _check_sums(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse an archive whose members fail their CRC: Keras reads the weights member in
    parts and never reaches the end, where zipfile checks it, so a damaged byte would become
    a silently wrong weight. A member declaring more than the archive could expand to is
    left to inspect_hdf5, which refuses it as a bomb without inflating it."""
    if any(info.file_size > expansion_limit(path.stat().st_size)
           for info in archive.infolist()):
        return
    damaged = archive.testzip()
    if damaged is not None:
        raise ReportInputError(msg("{path}: a damaged .keras archive: {member} fails its "
                                   "checksum", path=path, member=damaged))


def _detect_format(path: Path, head: bytes) -> str:
    """The model format from the file's first bytes (its suffix may lie)."""
    if head.startswith(HDF5_SIGNATURE):
        return msg("HDF5 (legacy .h5)")
    if head.startswith(ZIP_SIGNATURE):
        return msg("Keras v3 (.keras zip)")
    raise ReportInputError(
        msg("{path}: not a Keras model file (neither HDF5 nor a .keras zip archive)", path=path))


def file_sha256(*paths: Path) -> str:
    """Hex SHA-256 of a file (of several, read one after the other), read in chunks so large
    checkpoints are not held in memory."""
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _saved_by_version(path: Path, file_format: str) -> str:
    """The Keras version recorded in the file by whoever saved it, or 'unknown'."""
    try:
        if file_format.startswith("HDF5"):
            return _hdf5_keras_version(path)
        with zipfile.ZipFile(path) as archive:
            metadata = json.loads(archive.read("metadata.json"))
        version = metadata.get("keras_version")
        return printable(str(version)) if version is not None else msg("unknown")
    except READ_ERRORS:
        return msg("unknown")


def _hdf5_keras_version(path: Path) -> str:
    """The root `keras_version` attribute of a legacy HDF5 model."""
    import h5py

    with h5py.File(path, "r") as handle:
        version = handle.attrs.get("keras_version")
    if version is None:
        return msg("unknown")
    return printable(version.decode("utf-8", "replace") if isinstance(version, bytes)
                     else str(version))


def printable(text: str) -> str:
    """Text from a file made safe to write as UTF-8 (undecodable bytes become U+FFFD)."""
    return text.encode("utf-8", "replace").decode("utf-8", "replace")


def read_config(model_file: ModelFile) -> dict | None:
    """The model config stored in the file (HDF5 `model_config` or the zip's config.json)."""
    if model_file.shards:
        return None  # a sharded save holds weights only
    try:
        if model_file.format.startswith("HDF5"):
            import h5py

            with h5py.File(model_file.path, "r") as handle:
                raw = handle.attrs.get("model_config")
        else:
            with zipfile.ZipFile(model_file.path) as archive:
                raw = archive.read("config.json")
    except READ_ERRORS:
        return None
    if raw is None:
        return None
    try:
        config = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else printable(str(raw)))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return config if isinstance(config, dict) else None


@dataclass(frozen=True)
class Architecture:
    """A model config read from an --architecture file (a model file or to_json() text)."""

    path: Path
    config: dict
    sha256: str


MAX_JSON_BYTES = 64 << 20


def read_architecture(path: Path) -> Architecture:
    """The config of an --architecture file, or a one-line refusal."""
    require_regular_file(path, msg("architecture file"))
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith((HDF5_SIGNATURE, ZIP_SIGNATURE)):
        config = read_config(check_model_file(path, msg("architecture file")))
    elif path.stat().st_size > MAX_JSON_BYTES:
        raise ReportInputError(msg("{path}: larger than {limit:,} bytes: not a model "
                                   "config", path=path, limit=MAX_JSON_BYTES))
    else:
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except RecursionError:
            raise ReportInputError(msg("{path}: {problem}, which no real model has", path=path,
                                       problem=msg("the config is nested more than {n} levels "
                                                   "deep", n=MAX_CONFIG_DEPTH))) from None
        except (OSError, ValueError) as exc:
            raise ReportInputError(msg("{path}: not a model file or a model.to_json() file: {error}",
                                       path=path, error=str(exc))) from None
    if not isinstance(config, dict) or not isinstance(config.get("config"), (dict, list)):
        raise ReportInputError(msg("{path}: holds no model config", path=path))
    problem = implausible_config(config)
    if problem:
        raise ReportInputError(msg("{path}: {problem}, which no real model has", path=path,
                                   problem=problem))
    return Architecture(path, config, file_sha256(path))


def keras_suffix(model_file: ModelFile) -> str:
    """The suffix Keras needs to pick the right loader (it goes by name, not content)."""
    return ".h5" if model_file.format.startswith("HDF5") else ".keras"


def staged_copy(model_file: ModelFile, folder: Path, config: dict | None) -> Path:
    """A path Keras can load: the file itself, or a copy with the right suffix / a new config.

    Called again with a config, it rewrites the same copy: an HDF5 copy is made once and
    only its config attribute is replaced afterwards.
    """
    suffix = keras_suffix(model_file)
    if config is None and model_file.path.suffix.lower() in (suffix, ".hdf5"):
        return model_file.path
    target = folder / f"model{suffix}"
    if config is None:
        target.symlink_to(model_file.path.resolve())
    elif suffix == ".h5":
        import h5py

        if target.is_symlink() or not target.exists():
            target.unlink(missing_ok=True)
            shutil.copyfile(model_file.path, target)
        with h5py.File(target, "r+") as handle:
            handle.attrs["model_config"] = json.dumps(config).encode("utf-8")
    else:
        target.unlink(missing_ok=True)
        _rewrite_zip(model_file.path, target, {"config.json": json.dumps(config).encode("utf-8")})
    return target


def _rewrite_zip(source: Path, target: Path, replaced: dict[str, bytes]) -> None:
    """Copy a zip archive, replacing some members."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename in replaced:
                new.writestr(info, replaced[info.filename])
                continue
            # Streamed: a member is never held in memory whole.
            with old.open(info) as member, new.open(info, "w") as copy:
                shutil.copyfileobj(member, copy, 1 << 20)


SIZE_KEYS = ("units", "filters", "input_dim", "output_dim", "depth_multiplier", "num_heads",
             "key_dim")
SHAPE_KEYS = ("batch_shape", "batch_input_shape", "input_shape", "kernel_size", "pool_size",
              "target_shape", "dims", "size")
MAX_SIZE = 10_000_000
MAX_INPUT_VALUES = 50_000_000
# JSON levels: the book's config is 7 deep, a Teachable Machine-like export (MobileNetV2
# inside two Sequentials) 17; Keras reads configs recursively and runs out
# of stack near 1,000, so a file nested deeper than this is refused before it gets there.
MAX_CONFIG_DEPTH = 256


def implausible_config(config: dict) -> str | None:
    """A declared size no real model has (it would make Keras allocate without bound), or a
    nesting deeper than any real model's (Keras reads a config recursively), if any."""
    stack = [(config, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            return msg("the config is nested more than {n} levels deep", n=MAX_CONFIG_DEPTH)
        if isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if key in SIZE_KEYS and isinstance(value, int) and not 0 <= value <= MAX_SIZE:
                return msg("the config declares {key}={value}", key=key, value=value)
            if key in SHAPE_KEYS and isinstance(value, list) and _implausible_shape(value):
                return msg("the config declares {key}={value}", key=key, value=value)
            if isinstance(value, (dict, list)):
                stack.append((value, depth + 1))
    return None


def _implausible_shape(shape: list) -> bool:
    """A shape with a negative or huge dimension, or too many values in all."""
    dims = [d for d in shape if isinstance(d, int)]
    if any(d < 0 or d > MAX_SIZE for d in dims):
        return True
    total = 1
    for d in dims:
        total *= max(d, 1)
    return total > MAX_INPUT_VALUES
