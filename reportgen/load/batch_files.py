"""Which files a batch reports, and the name of each one's report: PATH arguments (files,
folders walked recursively, glob patterns) expanded without following links to folders, and
report names that are unique by construction, so that every row of the index links to its
own model's report."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Iterator

from reportgen.errors import ReportInputError
from reportgen.i18n import msg
from reportgen.load.sharded import indexes_beside, is_shard_name

MODEL_SUFFIXES = (".h5", ".hdf5", ".keras")
RESERVED = {"index"}  # the index's own name when --shared-output is OUTDIR


def is_model_name(path: Path) -> bool:
    """Whether a file found in a folder is a model to report: a model file, or the index of a
    sharded save (whose shards, named after it, are read through it, not one by one)."""
    if path.name.lower().endswith(".weights.json"):
        return True
    return path.suffix.lower() in MODEL_SUFFIXES and not (is_shard_name(path)
                                                          and indexes_beside(path))


def find_models(paths: list[str]) -> list[Path]:
    """The files the PATH arguments name, in argument order (sorted within a folder or a
    glob), each once: a file as given, a folder's model files (recursively), a glob's files."""
    found: dict[Path, Path] = {}
    for text in paths:
        path = Path(text)
        if path.is_dir():
            matched = sorted(p for p in path.rglob("*") if p.is_file() and is_model_name(p))
            if not matched:
                raise ReportInputError(msg("{path}: no {suffixes} file in this folder",
                                           path=str(path), suffixes=", ".join(MODEL_SUFFIXES)))
        elif path.exists():
            matched = [path]
        elif is_pattern(text):
            matched = sorted(p for p in glob_files(text) if p.is_file())
            if not matched:
                raise ReportInputError(msg("{pattern}: no file matches this pattern",
                                           pattern=text))
        else:
            raise ReportInputError(msg("{path}: no such file or folder", path=str(path)))
        for model in matched:
            found.setdefault(model.resolve(), model)
    return list(found.values())


def is_pattern(text: str) -> bool:
    """Whether a PATH argument is a glob pattern."""
    return any(char in text for char in "*?[")


def glob_files(pattern: str) -> Iterator[Path]:
    """The paths a glob pattern matches, `**` included, without following links to folders:
    Python's glob.glob follows them, and one link to a parent folder makes it walk forever
    (300,000 paths in 18 s). pathlib's glob keeps to the real tree."""
    parts = Path(pattern).parts
    first = next(i for i, part in enumerate(parts) if is_pattern(part))
    return Path(*parts[:first]).glob(str(Path(*parts[first:])))


def report_names(models: list[Path]) -> list[str]:
    """Each model's report file stem, all different (case aside, for case-blind disks): its
    own stem when no other model has it; else its path below the models' common folder,
    joined with "-" (x/model.h5 → x-model); and a number after any name still taken."""
    stems = [model.stem for model in models]
    shared = Counter(stem.casefold() for stem in stems)
    relative = _below_common_folder(models)
    wanted = [stem if shared[stem.casefold()] == 1 and stem.casefold() not in RESERVED
              else "-".join(rel.with_suffix("").parts)
              for stem, rel in zip(stems, relative)]
    taken = Counter(name.casefold() for name in wanted)
    used: set[str] = set(RESERVED)
    names = []
    for name in wanted:
        unique, n = name, 1
        while unique.casefold() in used or (unique != name and unique.casefold() in taken):
            n += 1
            unique = f"{name}-{n}"
        used.add(unique.casefold())
        names.append(unique)
    return names


def _below_common_folder(models: list[Path]) -> list[Path]:
    """Each model's path relative to the deepest folder that holds them all."""
    # abspath, not resolve: a link's report is named after the link, as the user gave it.
    paths = [Path(os.path.abspath(model)) for model in models]
    folders = [path.parent.parts for path in paths]
    common = 0
    while folders and all(len(f) > common and f[common] == folders[0][common] for f in folders):
        common += 1
    return [Path(*path.parts[common:]) for path in paths]
