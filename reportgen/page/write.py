"""Write a report's files as one unit: a reader sees the old pair or the complete new one.

Every file is written in full to a temporary name beside its target first. A small journal
then lists the renames still to do; if the run is killed between two renames, the next run
on the same output finishes them (or, when a temporary file is missing, removes the rest),
and temporary files of runs that no longer exist are removed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import msg

TEMP_MARK = ".reportgen-tmp"


def check_writable(targets: list[Path]) -> None:
    """Fail fast, before any work, when an output cannot be written where it is asked for."""
    for target in targets:
        folder = _existing_ancestor(target.parent)
        if not folder.is_dir():
            raise ReportInputError(msg("{target}: cannot write there: {folder} is not a directory",
                                       target=target, folder=folder))
        probe = _owned(folder / target.name, "probe")
        try:
            probe.write_bytes(b"")
        except OSError as exc:
            raise ReportInputError(msg("{target}: cannot write there: {strerror}", target=target,
                                       strerror=exc.strerror)) from None
        finally:
            _remove(probe)


def _existing_ancestor(folder: Path) -> Path:
    """The folder itself, or its nearest ancestor that exists (what mkdir would start from)."""
    folder = folder.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def write_all(files: dict[Path, str]) -> None:
    """Write every file to a temporary name beside it, then rename them all into place."""
    targets = list(files)
    recover(targets)
    staged: list[tuple[Path, Path]] = []
    journal = _owned(targets[0], "journal")
    try:
        for target, text in files.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = _owned(target, "part")
            staged.append((temporary, target))
            # errors="replace": a stray surrogate from a damaged file must not cost the report.
            with open(temporary, "w", encoding="utf-8", errors="replace", newline="\n") as out:
                out.write(text)
        _write_journal(targets[0], journal, staged)
        for temporary, target in staged:
            os.replace(temporary, target)
    except OSError as exc:
        raise ReportInputError(msg("{path}: cannot write the report: {error}",
                                   path=targets[0], error=exc.strerror or one_line(exc))) from None
    finally:
        for temporary, _ in staged:
            _remove(temporary)
        _remove(journal)


def recover(targets: list[Path]) -> None:
    """Finish what killed runs on these outputs left half done, and drop their temporary files.

    A journal is written only once every file it lists is complete, so finishing its
    remaining renames always yields a matching pair.
    """
    for journal in _leftovers(targets[0], "journal"):
        try:
            pending = json.loads(journal.read_text("utf-8"))
            for temporary, target in pending:
                if Path(temporary).exists():
                    os.replace(temporary, target)
        except (OSError, ValueError, TypeError):
            pass
        _remove(journal)
    for target in targets:
        for leftover in _leftovers(target, "*"):
            _remove(leftover)


def _owned(target: Path, kind: str) -> Path:
    """A temporary name beside the target that names this process, so another run can tell
    whether it is stale."""
    return target.with_name(f".{target.name}.{os.getpid()}.{kind}{TEMP_MARK}")


def _leftovers(target: Path, kind: str) -> list[Path]:
    """Temporary files of this kind beside the target whose process no longer runs."""
    if not target.parent.is_dir():
        return []
    return [path for path in target.parent.glob(f".{target.name}.*.{kind}{TEMP_MARK}")
            if not _alive(path)]


def _write_journal(first: Path, journal: Path, staged: list[tuple[Path, Path]]) -> None:
    """Record the renames to come, atomically."""
    temporary = _owned(first, "journal-new")
    try:
        temporary.write_text(json.dumps([[str(a), str(b)] for a, b in staged]), encoding="utf-8")
        os.replace(temporary, journal)
    finally:
        _remove(temporary)


def _alive(leftover: Path) -> bool:
    """Whether the process that made a temporary file is still running."""
    parts = leftover.name.split(".")
    pid = parts[-3] if len(parts) >= 4 else ""
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
