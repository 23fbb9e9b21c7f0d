"""Write a report's files as one unit: a reader sees the old pair or the complete new one.

Every file is written in full to a temporary name beside its target first. A small journal
then lists the renames still to do; if the run is killed between two renames, the next run
on the same output finishes them (or, when a temporary file is missing, removes the rest),
and temporary files of runs that no longer exist are removed.

A journal found on disk is data from an unknown source (an archive or a repository can ship
one), so recovery trusts it only as far as it can check it: it may only rename this very
output's own temporary files (the names a writer of that process would have chosen, regular
files of the running user with one link, not symlinks) onto this output's own files, all in
the output folder. Anything else is reported once on stderr and never acted on.

The renames of one output run under an exclusive lock on its folder, so two runs writing the
same output at once leave the pair of one of them, never one file of each.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from reportgen.errors import ReportInputError, one_line
from reportgen.i18n import localised, msg

TEMP_MARK = ".reportgen-tmp"

try:  # POSIX; elsewhere the renames are not serialised between runs
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def check_writable(targets: list[Path]) -> None:
    """Fail fast, before any work, when an output cannot be written where it is asked for."""
    for target in targets:
        folder = _existing_ancestor(target.parent)
        if not folder.is_dir():
            raise ReportInputError(msg("{target}: cannot write there: {folder} is not a directory",
                                       target=target, folder=folder))
        probe = _owned(folder / target.name, "probe")
        try:
            _create(probe).close()
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
    if len({target.parent.absolute() for target in targets}) != 1:
        raise ValueError("the files of one report are written into one folder")
    staged: list[tuple[Path, Path]] = []
    journal = _owned(targets[0], "journal")
    try:
        targets[0].parent.mkdir(parents=True, exist_ok=True)
        with _folder_lock(targets[0].parent):
            recover(targets)
            for target, text in files.items():
                temporary = _owned(target, "part")
                staged.append((temporary, target))
                # errors="replace": a stray surrogate from a damaged file must not cost the
                # report.
                with _create(temporary, "w", encoding="utf-8", errors="replace",
                             newline="\n") as out:
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
        renames = _trusted_renames(journal, targets)
        if renames is None:
            _say_ignored(journal)
        else:
            for temporary, target in renames:
                os.replace(temporary, target)
        _remove(journal)
    for target in targets:
        for leftover in _leftovers(target, "*"):
            _remove(leftover)


def _trusted_renames(journal: Path, targets: list[Path]) -> list[tuple[Path, Path]] | None:
    """The renames a journal asks for that recovery may do, or None when it asks for anything
    else: only this output's own temporary files of the journal's process, onto this output's
    files, in the output folder. A temporary file that is gone is a rename already done."""
    pid = _pid_of(journal)
    if pid is None or not _is_own_regular_file(journal):
        return None
    try:
        pending = json.loads(journal.read_text("utf-8"))
        pairs = [(str(temporary), str(target)) for temporary, target in pending]
    except (OSError, ValueError, TypeError):
        return None
    folder = targets[0].parent
    own = {target.name: target for target in targets}
    renames = []
    for temporary, target in pairs:
        name = target if "/" not in target and "\\" not in target else None
        if name not in own or temporary != _owned(own[name], "part", pid).name:
            return None
        path = folder / temporary
        if path.exists() or path.is_symlink():
            if not _is_own_regular_file(path):
                return None
            renames.append((path, own[name]))
    return renames


def _is_own_regular_file(path: Path) -> bool:
    """A regular file (not a symlink) of the running user with no other name (no hard link
    to a file elsewhere)."""
    try:
        info = path.lstat()
    except OSError:
        return False
    owner = os.getuid() if hasattr(os, "getuid") else info.st_uid
    return stat.S_ISREG(info.st_mode) and info.st_uid == owner and info.st_nlink == 1


def _say_ignored(journal: Path) -> None:
    """One line on stderr: a journal recovery will not act on."""
    from reportgen.text import visible

    print("reportgen: " + localised(msg(
        "{path}: ignored a recovery journal that names files other than this report's own "
        "temporary files (it was not written by reportgen for this output); removed it",
        path=visible(str(journal)))), file=sys.stderr, flush=True)


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on the output folder while one run recovers and renames."""
    if fcntl is None:
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _owned(target: Path, kind: str, pid: int | None = None) -> Path:
    """A temporary name beside the target that names this process (or `pid`), so another run
    can tell whether it is stale."""
    pid = os.getpid() if pid is None else pid
    return target.with_name(f".{target.name}.{pid}.{kind}{TEMP_MARK}")


def _create(path: Path, mode: str = "wb", **options):
    """Open a new file for writing that nobody planted: an existing name (a symlink to a
    user's file, say) is removed, never followed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        descriptor = os.open(path, flags, 0o666)
    except FileExistsError:
        path.unlink()
        descriptor = os.open(path, flags, 0o666)
    return open(descriptor, mode, **options)


def _leftovers(target: Path, kind: str) -> list[Path]:
    """Temporary files of this kind beside the target whose process no longer runs."""
    if not target.parent.is_dir():
        return []
    return [path for path in target.parent.glob(f".{_escaped(target.name)}.*.{kind}{TEMP_MARK}")
            if not _alive(path)]


def _escaped(name: str) -> str:
    """A file name as a glob pattern that matches only itself."""
    return "".join(f"[{char}]" if char in "*?[" else char for char in name)


def _write_journal(first: Path, journal: Path, staged: list[tuple[Path, Path]]) -> None:
    """Record the renames to come, atomically, by file name (all of them are in one folder)."""
    temporary = _owned(first, "journal-new")
    try:
        with _create(temporary, "w", encoding="utf-8") as out:
            out.write(json.dumps([[a.name, b.name] for a, b in staged]))
        os.replace(temporary, journal)
    finally:
        _remove(temporary)


def _pid_of(leftover: Path) -> int | None:
    """The process id a temporary name carries."""
    parts = leftover.name.split(".")
    pid = parts[-3] if len(parts) >= 4 else ""
    return int(pid) if pid.isdigit() else None


def _alive(leftover: Path) -> bool:
    """Whether the process that made a temporary file is still running."""
    pid = _pid_of(leftover)
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OverflowError:  # no process can have that id
        return False
    except OSError:
        return True
    return True


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass
