"""Write output files atomically: a reader sees the old file or the complete new one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_all(files: dict[Path, str]) -> None:
    """Write every file to a temporary name beside it, then rename them all into place."""
    staged: list[tuple[Path, Path]] = []
    try:
        for target, text in files.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                                 dir=target.parent)
            staged.append((Path(temporary), target))
            # errors="replace": a stray surrogate from a damaged file must not cost the report.
            with os.fdopen(handle, "w", encoding="utf-8", errors="replace", newline="\n") as out:
                out.write(text)
            os.chmod(temporary, 0o666 & ~_umask())
        for temporary, target in staged:
            os.replace(temporary, target)
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)


def _umask() -> int:
    """The process umask (mkstemp makes private files; a report is as shareable as any file)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
